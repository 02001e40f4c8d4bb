// What every unit of the addon shares (see common.h): instance data, errors, the creation lock
// and the option readers.
#include "common.h"

namespace wp {

std::atomic<int> g_liveContexts{0};

AddonData* Data(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message) {
  AddonData* d = Data(env);
  if (d != nullptr && !d->errorClass.IsEmpty()) {
    Napi::Object e = d->errorClass.Value().New({Napi::String::New(env, message), Napi::String::New(env, code)});
    return Napi::Error(env, e);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", code);
  return e;
}

void ThrowError(Napi::Env env, const std::string& code, const std::string& message) {
  throw MakeError(env, code, message);
}

// whisper.cpp sets ggml's process-wide logger (ggml_log_set in whisper_backend_init_gpu) each time
// it creates a context or a state, and ggml's backend set-up logs through it; two models or states
// created at once on their compute threads wrote it together (ThreadSanitizer: data race in
// ggml_log_set, both from whisper_init_state). One creation at a time, process-wide: the library
// is loaded once per process, so this mutex is shared by every worker_thread's instance too.
std::mutex& InitMutex() {
  static std::mutex mu;
  return mu;
}

int IntOpt(const Napi::Object& o, const char* key, int def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : def;
}
float FloatOpt(const Napi::Object& o, const char* key, float def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().FloatValue() : def;
}
bool BoolOpt(const Napi::Object& o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : def;
}

}  // namespace wp
