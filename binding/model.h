// Model: an ObjectWrap around one whisper_context. Operations on it run in
// workers that hold a reference to the wrapper, so it cannot be collected while
// native work is in flight; its mutex serializes work on the context.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "addon.h"
#include "whisper.h"

namespace wp {

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Value Load(const Napi::CallbackInfo& info);  // loadModel(path, opts) -> Promise<{model}>

  explicit Model(const Napi::CallbackInfo& info);
  ~Model() override;

  whisper_context* ctx = nullptr;
  std::mutex mu;
  std::atomic<bool> abortRequested{false};
  int64_t externalBytes = 0;

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value PcmToMel(const Napi::CallbackInfo& info);
  Napi::Value SetMel(const Napi::CallbackInfo& info);
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value Decode(const Napi::CallbackInfo& info);
  Napi::Value Full(const Napi::CallbackInfo& info);
  Napi::Value Bench(const Napi::CallbackInfo& info);
  Napi::Value Timings(const Napi::CallbackInfo& info);
  Napi::Value ResetTimings(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);

  void EnsureAlive(Napi::Env env);
  bool disposed_ = false;
};

}  // namespace wp
