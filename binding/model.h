// Model: an ObjectWrap around one whisper_context and its executor (the compute thread).
// Every operation on it is a job on that executor, in submission order; each job holds a
// reference to the wrapper, so it cannot be collected while native work is queued or running.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "common.h"
#include "whisper.h"

namespace wp {

// What a load hands to the Model constructor.
struct LoadedModel {
  whisper_context* ctx;
  std::shared_ptr<Executor> executor;
};

void FreeContext(whisper_context*& ctx);

// What jobs run on: a compute thread, an abort flag for the job in progress, a lock.
struct Target {
  std::shared_ptr<Executor> executor;  // the one thread that computes on it
  std::atomic<bool> abortRequested{false};
  std::mutex mu;
};

class Model : public Napi::ObjectWrap<Model>, public Target {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Value Load(const Napi::CallbackInfo& info);  // loadModel(path, opts) -> Promise<{model}>
  static Napi::Value LoadHere(const Napi::CallbackInfo& info);  // the same load on the calling thread

  explicit Model(const Napi::CallbackInfo& info);
  ~Model() override;

  whisper_context* ctx = nullptr;
  int64_t externalBytes = 0;
  std::atomic<int> liveStates{0};  // State objects over this context's weights, not yet freed

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value PcmToMel(const Napi::CallbackInfo& info);
  Napi::Value SetMel(const Napi::CallbackInfo& info);
  Napi::Value Encode(const Napi::CallbackInfo& info);
  Napi::Value Decode(const Napi::CallbackInfo& info);
  Napi::Value Full(const Napi::CallbackInfo& info);
  Napi::Value Bench(const Napi::CallbackInfo& info);
  Napi::Value BenchHere(const Napi::CallbackInfo& info);
  Napi::Value Timings(const Napi::CallbackInfo& info);
  Napi::Value ResetTimings(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value ThreadId(const Napi::CallbackInfo& info);
  Napi::Value CreateState(const Napi::CallbackInfo& info);

  void EnsureAlive(Napi::Env env);
  bool disposed_ = false;
};

// What a state creation hands to the State constructor.
struct CreatedState {
  Model* model;
  whisper_state* state;
  std::shared_ptr<Executor> executor;
};

void FreeState(whisper_state*& state, Model* model);

// State: one whisper_state (KV caches, compute buffers, results) over a model's weights, with
// its own compute thread: several states transcribe at once over one copy of the weights. It
// holds a reference to its model's wrapper, so the model outlives it.
class State : public Napi::ObjectWrap<State>, public Target {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit State(const Napi::CallbackInfo& info);
  ~State() override;

  Model* model = nullptr;
  whisper_state* state = nullptr;

 private:
  Napi::Value Full(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value ThreadId(const Napi::CallbackInfo& info);

  Napi::ObjectReference modelRef_;
  bool disposed_ = false;
};

}  // namespace wp
