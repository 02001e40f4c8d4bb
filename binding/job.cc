// PromiseJob: the base of every asynchronous operation.
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"
#include "bench_loop.h"

namespace wp {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

PromiseJob::PromiseJob(Napi::Env env, std::shared_ptr<Executor> executor)
    : executor_(std::move(executor)),
      deferred_(Napi::Promise::Deferred::New(env)),
      queuedAt_(std::chrono::steady_clock::now()) {}

Napi::Promise PromiseJob::Queue(Napi::Env env) {
  Napi::Promise p = deferred_.Promise();
  if (!executor_ || !executor_->Submit(this)) {
    Fail("DISPOSED", "model is disposed");
    Complete(env);
    delete this;
  }
  return p;
}

Napi::Promise PromiseJob::RunHere(Napi::Env env) {
  Napi::Promise p = deferred_.Promise();
  Execute();
  Complete(env);
  delete this;
  return p;
}

void PromiseJob::Execute() {
  queueMs_ = MsSince(queuedAt_);
  tid_ = static_cast<long>(syscall(SYS_gettid));
  ScopedLogSink sink(&logs_);
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = ProcessCpuMs();
  try {
    Run();
  } catch (const std::exception& e) {
    Fail("NATIVE_FAILURE", std::string("native exception: ") + e.what());
  } catch (...) {
    Fail("NATIVE_FAILURE", "unknown native exception");
  }
  cpuMs_ = ProcessCpuMs() - cpu0;
  runMs_ = MsSince(t0);
}

void PromiseJob::Complete(Napi::Env env) {
  Napi::HandleScope scope(env);
  if (Failed()) {
    Napi::Error err = MakeError(env, code_, message_);
    err.Value().Set("logs", LogsToJs(env, logs_));
    deferred_.Reject(err.Value());
    return;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("queueMs", queueMs_);
  result.Set("runMs", runMs_);
  result.Set("cpuMs", cpuMs_);
  result.Set("tid", static_cast<double>(tid_));
  result.Set("logs", LogsToJs(env, logs_));
  try {
    Fill(env, result);
    deferred_.Resolve(result);
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

}  // namespace wp
