// PromiseWorker: the base of every asynchronous operation.
#include "addon.h"

namespace wp {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

PromiseWorker::PromiseWorker(Napi::Env env, const char* name)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      queuedAt_(std::chrono::steady_clock::now()) {}

void PromiseWorker::Execute() {
  queueMs_ = MsSince(queuedAt_);
  ScopedLogSink sink(&logs_);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Run();
  } catch (const std::exception& e) {
    Fail("NATIVE_FAILURE", std::string("native exception: ") + e.what());
  } catch (...) {
    Fail("NATIVE_FAILURE", "unknown native exception");
  }
  runMs_ = MsSince(t0);
  if (Failed()) SetError(message_);
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Object result = Napi::Object::New(env);
  result.Set("queueMs", queueMs_);
  result.Set("runMs", runMs_);
  result.Set("logs", LogsToJs(env, logs_));
  try {
    Fill(env, result);
    deferred_.Resolve(result);
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

void PromiseWorker::OnError(const Napi::Error& /*e*/) {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  Napi::Error err = MakeError(env, code_.empty() ? "NATIVE_FAILURE" : code_, message_);
  err.Value().Set("logs", LogsToJs(env, logs_));
  deferred_.Reject(err.Value());
}

}  // namespace wp
