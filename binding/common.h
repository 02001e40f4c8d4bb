// What every unit of the addon shares: per-instance data, the error helper, log capture, the
// promise-owning job base class and small helpers (see common.cc).
#pragma once

#include <napi.h>

#include <memory>

#include <atomic>
#include <mutex>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "executor.h"

namespace wp {

// Per-instance (per Node environment / worker thread) state. Owned by the
// environment through SetInstanceData and deleted by its cleanup hook.
struct AddonData {
  Napi::FunctionReference errorClass;   // WhisperPerfError, handed in from TypeScript
  Napi::FunctionReference modelCtor;    // the Model ObjectWrap constructor
  Napi::FunctionReference stateCtor;    // the State ObjectWrap constructor
  std::shared_ptr<Executor> micro;      // home thread of the memcpy / mul_mat benchmarks
};

// whisper contexts allocated and not yet freed, process-wide (for leak tests).
extern std::atomic<int> g_liveContexts;

AddonData* Data(Napi::Env env);

// One whisper context or state creation at a time, process-wide (see common.cc).
std::mutex& InitMutex();

// Option readers for the plain objects TypeScript passes: the value when it has the right type,
// else the default.
int IntOpt(const Napi::Object& o, const char* key, int def);
float FloatOpt(const Napi::Object& o, const char* key, float def);
bool BoolOpt(const Napi::Object& o, const char* key, bool def);

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

// What ggml's backends logged while registering (see log.cc); the same lines on every call.
const LogBuffer& RegistryLog();

// ---- jobs -----------------------------------------------------------------------
// Every heavy operation is a PromiseJob: it owns its deferred promise, runs Run() on an
// executor's thread with its own log sink, catches everything, and turns failures into
// WhisperPerfError rejections with a code. Run() never touches V8. Each result carries
// queueMs (submitted → started), runMs, cpuMs (process CPU time during Run), tid (the OS
// thread that ran it) and the log lines written meanwhile.
class PromiseJob : public Job {
 public:
  PromiseJob(Napi::Env env, std::shared_ptr<Executor> executor);
  Napi::Promise Promise() { return deferred_.Promise(); }
  // Submits this job to its executor and returns its promise; a stopped executor rejects it
  // with DISPOSED. Takes ownership of the job either way.
  Napi::Promise Queue(Napi::Env env);
  // Runs this job on the calling (JavaScript) thread now, and returns its promise, already settled.
  // Blocks the event loop for the whole job: for `ab`'s side processes only (see Model::BenchHere).
  // Takes ownership of the job.
  Napi::Promise RunHere(Napi::Env env);

 protected:
  virtual void Run() = 0;
  // Called on the JavaScript thread after a successful Run(); fills the result object.
  virtual void Fill(Napi::Env env, Napi::Object result) = 0;
  void Fail(const std::string& code, const std::string& message) {
    if (code_.empty()) { code_ = code; message_ = message; }
  }
  bool Failed() const { return !code_.empty(); }
  std::shared_ptr<Executor> executor_;

 private:
  void Execute() final;
  void Complete(Napi::Env env) final;

  Napi::Promise::Deferred deferred_;
  std::chrono::steady_clock::time_point queuedAt_;
  double queueMs_ = 0, runMs_ = 0, cpuMs_ = 0;
  long tid_ = 0;
  std::string code_, message_;
  LogBuffer logs_;
};

double MsSince(std::chrono::steady_clock::time_point t0);

}  // namespace wp
