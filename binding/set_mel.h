// whisper_set_mel without a null memcpy (binding/model.cc and the whisper-bench loop).
#pragma once

#include <vector>

#include "whisper.h"

namespace wp {

// whisper_set_mel copies into its mel vector even for zero frames: with n_len 0 that vector's
// data() is null (and so is the pointer callers have for no frames), and memcpy with a null
// pointer is undefined behaviour even for 0 bytes (UBSan: "null pointer passed as argument 1" in
// whisper.cpp's whisper_set_mel_with_state). For zero frames: set one frame first, so the vector
// owns storage (shrinking a std::vector keeps its capacity), then zero frames from a non-null
// pointer. The context ends as whisper_set_mel(ctx, nullptr, 0, n_mel) leaves it: n_len 0.
inline int SetMelNoNull(whisper_context* ctx, const float* data, int nLen, int nMel) {
  if (nLen > 0 && data != nullptr) return whisper_set_mel(ctx, data, nLen, nMel);
  std::vector<float> frame(static_cast<size_t>(nMel > 0 ? nMel : 1), 0.0f);
  const int rc = whisper_set_mel(ctx, frame.data(), 1, nMel);
  if (rc != 0) return rc;
  return whisper_set_mel(ctx, frame.data(), 0, nMel);
}

}  // namespace wp
