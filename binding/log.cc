// Log capture: one process-wide callback for whisper.cpp and ggml, routed to the
// running worker's buffer through a thread-local pointer.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "common.h"
#include "ggml-backend.h"
#include "whisper.h"

namespace wp {

static thread_local LogBuffer* tls_sink = nullptr;

static bool EchoUnsunk() {
  static const bool echo = [] {
    const char* v = std::getenv("WHISPER_PERF_NATIVE_LOG");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return echo;
}

static void LogCallback(enum ggml_log_level level, const char* text, void* /*user*/) {
  if (text == nullptr) return;
  if (tls_sink != nullptr) {
    tls_sink->push_back({static_cast<int>(level), text});
  } else if (EchoUnsunk()) {
    std::fputs(text, stderr);
  }
}

void InstallLogCallbacks() {
  static std::once_flag once;
  std::call_once(once, [] {
    whisper_log_set(LogCallback, nullptr);  // also sets ggml's
    ggml_log_set(LogCallback, nullptr);
  });
}

// ggml registers its backends, and each probes its devices, the first time anything asks the
// registry. What they log then (a device dropped as unsupported, no platform, no devices found) is
// the only word on why a GPU backend compiled in has no device, so it is kept for systemInfo().
// The addon's init calls this before anything else can touch the registry (a model load would
// otherwise take those lines into its own log). WHISPER_PERF_NATIVE_LOG=1 still echoes them.
const LogBuffer& RegistryLog() {
  static const LogBuffer logs = [] {
    LogBuffer b;
    {
      ScopedLogSink sink(&b);
      (void)ggml_backend_dev_count();
    }
    if (EchoUnsunk()) for (const LogLine& l : b) std::fputs(l.text.c_str(), stderr);
    return b;
  }();
  return logs;
}

ScopedLogSink::ScopedLogSink(LogBuffer* sink) : previous_(tls_sink) { tls_sink = sink; }
ScopedLogSink::~ScopedLogSink() { tls_sink = previous_; }

Napi::Array LogsToJs(Napi::Env env, const LogBuffer& logs) {
  Napi::Array arr = Napi::Array::New(env, logs.size());
  for (size_t i = 0; i < logs.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("level", logs[i].level);
    o.Set("text", logs[i].text);
    arr.Set(static_cast<uint32_t>(i), o);
  }
  return arr;
}

}  // namespace wp
