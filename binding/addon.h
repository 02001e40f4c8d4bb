// Shared declarations of the whisper-perf addon: per-instance data, error helper,
// log capture and the promise-owning worker base class.
#pragma once

#include <napi.h>

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace wp {

// Per-instance (per Node environment / worker thread) state. Owned by the
// environment through SetInstanceData and deleted by its cleanup hook.
struct AddonData {
  Napi::FunctionReference errorClass;   // WhisperPerfError, handed in from TypeScript
  Napi::FunctionReference modelCtor;    // the Model ObjectWrap constructor
};

AddonData* Data(Napi::Env env);

// Builds a WhisperPerfError (or a plain Error before the class was registered).
Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message);
[[noreturn]] void ThrowError(Napi::Env env, const std::string& code, const std::string& message);

// ---- log capture ----------------------------------------------------------------
// whisper.cpp and ggml log through one process-wide callback. Each worker points a
// thread-local sink at its own buffer while it runs, so the lines of an operation
// come back with that operation's result. Lines logged with no sink are dropped
// unless WHISPER_PERF_NATIVE_LOG=1.
struct LogLine {
  int level;
  std::string text;
};
using LogBuffer = std::vector<LogLine>;

void InstallLogCallbacks();

class ScopedLogSink {
 public:
  explicit ScopedLogSink(LogBuffer* sink);
  ~ScopedLogSink();
 private:
  LogBuffer* previous_;
};

Napi::Array LogsToJs(Napi::Env env, const LogBuffer& logs);

// ---- workers --------------------------------------------------------------------
// Every heavy operation is a PromiseWorker: it owns its deferred promise, runs Run()
// on the libuv pool with its own log sink, catches everything, and turns failures
// into WhisperPerfError rejections with a code. Run() never touches V8.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name);
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  // Called on the main thread after a successful Run(); fills the result object.
  virtual void Fill(Napi::Env env, Napi::Object result) = 0;
  void Fail(const std::string& code, const std::string& message) {
    if (code_.empty()) { code_ = code; message_ = message; }
  }
  bool Failed() const { return !code_.empty(); }

 private:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& e) override;

  Napi::Promise::Deferred deferred_;
  std::chrono::steady_clock::time_point queuedAt_;
  double queueMs_ = 0, runMs_ = 0;
  std::string code_, message_;
  LogBuffer logs_;
};

double MsSince(std::chrono::steady_clock::time_point t0);

}  // namespace wp
