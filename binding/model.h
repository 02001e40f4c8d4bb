// Model: an ObjectWrap around one whisper_context and its executor (the compute thread).
// Every operation on it is a job on that executor, in submission order; each job holds a
// reference to the wrapper, so it cannot be collected while native work is queued or running.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "addon.h"
#include "whisper.h"

namespace wp {

// What a load hands to the Model constructor.
struct LoadedModel {
  whisper_context* ctx;
  std::shared_ptr<Executor> executor;
};

void FreeContext(whisper_context*& ctx);

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Value Load(const Napi::CallbackInfo& info);  // loadModel(path, opts) -> Promise<{model}>

  explicit Model(const Napi::CallbackInfo& info);
  ~Model() override;

  whisper_context* ctx = nullptr;
  std::shared_ptr<Executor> executor;  // the one thread that computes on ctx
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
  Napi::Value ThreadId(const Napi::CallbackInfo& info);

  void EnsureAlive(Napi::Env env);
  bool disposed_ = false;
};

}  // namespace wp
