// What every job bound to a model or a state shares: the base classes that keep the wrapper alive
// while the job is queued or running, and the helpers the jobs use.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common.h"
#include "model.h"

namespace wp {

using Clock = std::chrono::steady_clock;

// Base for jobs bound to a target (a model or a state): runs on its executor and keeps its
// wrapper alive while queued or running.
class TargetJob : public PromiseJob {
 public:
  TargetJob(Napi::Env env, Target* t, Napi::Object holder)
      : PromiseJob(env, t->executor), target_(t), ref_(Napi::Persistent(holder)) {}
  void Abandon() override { ref_.SuppressDestruct(); }
  void RequestStop() override { target_->abortRequested.store(true); }

 protected:
  Target* target_;

 private:
  Napi::ObjectReference ref_;
};

class ModelJob : public TargetJob {
 public:
  ModelJob(Napi::Env env, Model* model) : TargetJob(env, model, model->Value()), model_(model) {}

 protected:
  Model* model_;
};

// Locks the model's context for a job's Run(); fails the job with DISPOSED when it is gone.
#define WP_LOCKED_CTX()                                  \
  std::lock_guard<std::mutex> lock(model_->mu);          \
  whisper_context* ctx = model_->ctx;                    \
  if (ctx == nullptr) { Fail("DISPOSED", "model is disposed"); return; }

// whisper.cpp's log-mel spectrogram reflects the first 200 samples past the start
// (std::reverse_copy(samples + 1, samples + 201, ...)) whatever the length: a PCM shorter than 201
// samples (12.5 ms) was read out of bounds (AddressSanitizer, found by the fuzz suite). Such a PCM
// is padded with silence to that length; whisper_full_parallel cuts the PCM into one piece per
// processor, so each piece must be that long.
constexpr size_t kMinPcmSamples = 201;
inline void PadShortPcm(std::vector<float>& pcm, int pieces = 1) {
  const size_t min = kMinPcmSamples * static_cast<size_t>(pieces < 1 ? 1 : pieces);
  if (pcm.size() < min) pcm.resize(min, 0.0f);
}

}  // namespace wp
