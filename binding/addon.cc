// Registration only: module init, per-instance data and the exports.
#include "common.h"
#include "exports.h"
#include "model.h"

namespace wp {

namespace {

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) ThrowError(info.Env(), "INVALID_ARGUMENT", "setErrorClass(fn)");
  Data(info.Env())->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLogCallbacks();
  (void)RegistryLog();  // the backends' registration lines, before any operation can take them
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by the environment's cleanup hook
  Napi::Function ctor = Model::Define(env);
  data->modelCtor = Napi::Persistent(ctor);
  data->stateCtor = Napi::Persistent(State::Define(env));
  exports.Set("NativeModel", ctor);
  exports.Set("load", Napi::Function::New(env, Model::Load, "load"));
  exports.Set("loadHere", Napi::Function::New(env, Model::LoadHere, "loadHere"));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  exports.Set("systemInfo", Napi::Function::New(env, SystemInfo, "systemInfo"));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("microBench", Napi::Function::New(env, MicroBench, "microBench"));
  exports.Set("stats", Napi::Function::New(env, Stats, "stats"));
  exports.Set("shutdown", Napi::Function::New(env, Shutdown, "shutdown"));
  exports.Set("quantize", Napi::Function::New(env, Quantize, "quantize"));
  exports.Set("typeInfo", Napi::Function::New(env, TypeInfo, "typeInfo"));
  return exports;
}

}  // namespace wp

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return wp::Init(env, exports); }

NODE_API_MODULE(whisper_perf, InitAddon)
