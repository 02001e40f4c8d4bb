// Whisper states over a model's weights: their creation (on the new state's own compute thread),
// the State wrapper, and its disposal.
#include <memory>
#include <mutex>

#include "full_job.h"
#include "jobs.h"

namespace wp {

namespace {

// Creates a whisper_state over a model's weights, on the new state's own thread.
class CreateStateJob : public PromiseJob {
 public:
  CreateStateJob(Napi::Env env, std::shared_ptr<Executor> ex, Model* m)
      : PromiseJob(env, std::move(ex)), model_(m), ref_(Napi::Persistent(m->Value())) {}
  void Abandon() override { ref_.SuppressDestruct(); }
  void Run() override {
    whisper_context* ctx = model_->ctx;  // the model cannot be freed while this job holds it (see Dispose)
    if (ctx == nullptr) { Fail("DISPOSED", "model is disposed"); return; }
    {
      std::lock_guard<std::mutex> init(InitMutex());
      state_ = whisper_init_state(ctx);
    }
    if (state_ == nullptr) { Fail("NATIVE_FAILURE", "whisper_init_state failed (out of memory?)"); return; }
    model_->liveStates++;
  }
  void Fill(Napi::Env env, Napi::Object r) override {
    CreatedState cs{model_, state_, executor_};  // read by the constructor during New()
    Napi::Object obj = Data(env)->stateCtor.Value().New({Napi::External<CreatedState>::New(env, &cs)});
    state_ = nullptr;  // owned by the wrapper now
    r.Set("state", obj);
  }
  ~CreateStateJob() override {
    if (state_ != nullptr) FreeState(state_, model_);
  }

 private:
  Model* model_;
  Napi::ObjectReference ref_;
  whisper_state* state_ = nullptr;
};

class FreeStateJob : public TargetJob {
 public:
  FreeStateJob(Napi::Env env, State* s) : TargetJob(env, s, s->Value()), s_(s) {}
  void Run() override {
    std::lock_guard<std::mutex> lock(s_->mu);
    FreeState(s_->state, s_->model);
  }
  void Fill(Napi::Env, Napi::Object) override { s_->executor->Stop(); }

 private:
  State* s_;
};

}  // namespace

Napi::Value Model::CreateState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  // a state computes on its own thread, beside the model's and every other state's
  std::shared_ptr<Executor> ex = Executor::Create(env, "whisper-perf:state");
  return (new CreateStateJob(env, ex, this))->Queue(env);
}

// ---- State -------------------------------------------------------------------------

Napi::Function State::Define(Napi::Env env) {
  return DefineClass(env, "NativeState", {
      InstanceMethod<&State::Full>("full"),
      InstanceMethod<&State::Abort>("abort"),
      InstanceMethod<&State::Dispose>("dispose"),
      InstanceMethod<&State::IsDisposed>("isDisposed"),
      InstanceMethod<&State::ThreadId>("threadId"),
  });
}

State::State(const Napi::CallbackInfo& info) : Napi::ObjectWrap<State>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    ThrowError(info.Env(), "INVALID_ARGUMENT", "NativeState cannot be constructed directly: use model.createState()");
  }
  const CreatedState* cs = info[0].As<Napi::External<CreatedState>>().Data();
  model = cs->model;
  state = cs->state;
  executor = cs->executor;
  modelRef_ = Napi::Persistent(model->Value());
}

// Finalizer path: no job is queued (each holds a reference to this wrapper); the model is still
// alive (this wrapper referenced it until now).
State::~State() {
  if (executor) executor->Stop();
  std::lock_guard<std::mutex> lock(mu);
  FreeState(state, model);
}

Napi::Value State::Full(const Napi::CallbackInfo& info) {
  if (disposed_ || state == nullptr) ThrowError(info.Env(), "DISPOSED", "state is disposed");
  return QueueFull(info, this, Value(), &model->ctx, &state);
}

Napi::Value State::Abort(const Napi::CallbackInfo& info) {
  abortRequested.store(true);
  return info.Env().Undefined();
}

Napi::Value State::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) ThrowError(env, "DISPOSED", "state is already disposed");
  disposed_ = true;
  abortRequested.store(true);
  return (new FreeStateJob(env, this))->Queue(env);
}

Napi::Value State::IsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

Napi::Value State::ThreadId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(executor ? executor->ThreadId() : 0));
}

}  // namespace wp
