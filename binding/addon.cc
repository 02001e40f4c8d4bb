// Registration only: module init, per-instance data, and the module-level functions
// (system/build information and the memcpy / mul_mat micro-benchmarks).
#include <cstring>
#include <mutex>
#include <vector>
#include <thread>

#include "addon.h"
#include "build_info.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "model.h"
#include "whisper.h"

namespace wp {

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

namespace {

// whisper_bench_*_str write into one static string each: one at a time per process.
std::mutex g_micro_bench_mutex;

class MicroBenchJob : public PromiseJob {
 public:
  MicroBenchJob(Napi::Env env, std::shared_ptr<Executor> ex, bool mulmat, int threads)
      : PromiseJob(env, std::move(ex)), mulmat_(mulmat), threads_(threads) {}
  void Run() override {
    std::lock_guard<std::mutex> lock(g_micro_bench_mutex);
    const char* s = mulmat_ ? whisper_bench_ggml_mul_mat_str(threads_) : whisper_bench_memcpy_str(threads_);
    text_ = s != nullptr ? s : "";
  }
  void Fill(Napi::Env, Napi::Object r) override { r.Set("text", text_); }
 private:
  bool mulmat_;
  int threads_;
  std::string text_;
};

// Quantizes rows of f32 or f16 values into a ggml type (ggml_quantize_chunk), off the JS thread.
class QuantizeJob : public PromiseJob {
 public:
  QuantizeJob(Napi::Env env, std::shared_ptr<Executor> ex, const void* src, size_t n, bool f16, ggml_type type, int64_t rows, int64_t perRow)
      : PromiseJob(env, std::move(ex)), f16_(f16), type_(type), rows_(rows), perRow_(perRow) {
    const size_t bytes = n * (f16 ? sizeof(ggml_fp16_t) : sizeof(float));
    src_.resize(bytes);
    std::memcpy(src_.data(), src, bytes);
  }
  void Run() override {
    const int64_t n = rows_ * perRow_;
    std::vector<float> f32;
    const float* src;
    if (f16_) {
      f32.resize(n);
      ggml_fp16_to_fp32_row(reinterpret_cast<const ggml_fp16_t*>(src_.data()), f32.data(), n);
      src = f32.data();
    } else {
      src = reinterpret_cast<const float*>(src_.data());
    }
    out_.resize(ggml_row_size(type_, perRow_) * rows_);
    const size_t written = ggml_quantize_chunk(type_, src, out_.data(), 0, rows_, perRow_, nullptr);
    out_.resize(written);
  }
  void Fill(Napi::Env env, Napi::Object r) override {
    r.Set("data", Napi::Buffer<uint8_t>::Copy(env, out_.data(), out_.size()));
  }

 private:
  std::vector<uint8_t> src_;
  bool f16_;
  ggml_type type_;
  int64_t rows_, perRow_;
  std::vector<uint8_t> out_;
};

// quantize(src: Float32Array | Uint16Array (f16 bits), type, rows, perRow) → Promise<{ data: Buffer }>
// Every precondition ggml asserts on is checked here, so bad arguments reject instead of aborting.
Napi::Value Quantize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    ThrowError(env, "INVALID_ARGUMENT", "quantize(src: Float32Array | Uint16Array, type: number, rows: number, perRow: number)");
  }
  Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
  const bool f16 = ta.TypedArrayType() == napi_uint16_array;
  if (!f16 && ta.TypedArrayType() != napi_float32_array) ThrowError(env, "INVALID_ARGUMENT", "quantize: src must be a Float32Array or a Uint16Array of f16 bits");
  const int type = info[1].As<Napi::Number>().Int32Value();
  const int64_t rows = info[2].As<Napi::Number>().Int64Value();
  const int64_t perRow = info[3].As<Napi::Number>().Int64Value();
  if (type < 0 || type >= GGML_TYPE_COUNT || ggml_get_type_traits(static_cast<ggml_type>(type))->blck_size == 0 ||
      !ggml_get_type_traits(static_cast<ggml_type>(type))->is_quantized) {
    ThrowError(env, "INVALID_ARGUMENT", "quantize: not a quantized ggml type: " + std::to_string(type));
  }
  const ggml_type t = static_cast<ggml_type>(type);
  if (ggml_quantize_requires_imatrix(t)) ThrowError(env, "INVALID_ARGUMENT", std::string("quantize: ") + ggml_type_name(t) + " needs an importance matrix");
  if (rows < 1 || perRow < 1 || static_cast<size_t>(rows * perRow) != ta.ElementLength()) {
    ThrowError(env, "INVALID_ARGUMENT", "quantize: rows × perRow must equal the number of values");
  }
  if (perRow % ggml_blck_size(t) != 0) {
    ThrowError(env, "INVALID_ARGUMENT", std::string("quantize: ") + ggml_type_name(t) + " needs rows of a multiple of " +
                                            std::to_string(ggml_blck_size(t)) + " values, not " + std::to_string(perRow));
  }
  AddonData* d = Data(env);
  if (!d->micro || d->micro->Stopped()) d->micro = Executor::Create(env, "whisper-perf:micro");
  const uint8_t* base = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  return (new QuantizeJob(env, d->micro, base, ta.ElementLength(), f16, t, rows, perRow))->Queue(env);
}

// ggml's facts about a type: name, block size, bytes per block, quantized or not.
Napi::Value TypeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowError(env, "INVALID_ARGUMENT", "typeInfo(type: number)");
  const int type = info[0].As<Napi::Number>().Int32Value();
  if (type < 0 || type >= GGML_TYPE_COUNT || ggml_get_type_traits(static_cast<ggml_type>(type))->blck_size == 0) return env.Null();
  const ggml_type t = static_cast<ggml_type>(type);
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", ggml_type_name(t));
  o.Set("blockSize", static_cast<double>(ggml_blck_size(t)));
  o.Set("typeSize", static_cast<double>(ggml_type_size(t)));
  o.Set("quantized", ggml_get_type_traits(t)->is_quantized);
  o.Set("needsImatrix", ggml_quantize_requires_imatrix(t));
  return o;
}

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsFunction()) ThrowError(info.Env(), "INVALID_ARGUMENT", "setErrorClass(fn)");
  Data(info.Env())->errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value SystemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("whisper", whisper_print_system_info());
  o.Set("hardwareConcurrency", std::thread::hardware_concurrency());
  Napi::Array devs = Napi::Array::New(env);
  const size_t n = ggml_backend_dev_count();
  for (size_t i = 0; i < n; i++) {
    ggml_backend_dev_t d = ggml_backend_dev_get(i);
    size_t freeMem = 0, totalMem = 0;
    ggml_backend_dev_memory(d, &freeMem, &totalMem);
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("index", static_cast<double>(i));
    dev.Set("name", ggml_backend_dev_name(d));
    dev.Set("description", ggml_backend_dev_description(d));
    const char* type = "cpu";
    switch (ggml_backend_dev_type(d)) {
      case GGML_BACKEND_DEVICE_TYPE_CPU: type = "cpu"; break;
      case GGML_BACKEND_DEVICE_TYPE_GPU: type = "gpu"; break;
      case GGML_BACKEND_DEVICE_TYPE_IGPU: type = "igpu"; break;
      case GGML_BACKEND_DEVICE_TYPE_ACCEL: type = "accel"; break;
      default: type = "other"; break;
    }
    dev.Set("type", type);
    dev.Set("backend", ggml_backend_reg_name(ggml_backend_dev_backend_reg(d)));
    dev.Set("memoryFree", static_cast<double>(freeMem));
    dev.Set("memoryTotal", static_cast<double>(totalMem));
    devs.Set(static_cast<uint32_t>(devs.Length()), dev);
  }
  o.Set("devices", devs);
  return o;
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), WHISPER_PERF_BUILD_INFO);
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), whisper_version());
}

Napi::Value MicroBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    ThrowError(env, "INVALID_ARGUMENT", "microBench(what: 'memcpy'|'mulmat', threads: number)");
  }
  const std::string what = info[0].As<Napi::String>().Utf8Value();
  const int threads = info[1].As<Napi::Number>().Int32Value();
  if ((what != "memcpy" && what != "mulmat") || threads < 1) ThrowError(env, "INVALID_ARGUMENT", "microBench: bad arguments");
  // one home thread per environment for these graphs too (one OpenMP team, not one per pool thread)
  AddonData* d = Data(env);
  if (!d->micro || d->micro->Stopped()) d->micro = Executor::Create(env, "whisper-perf:micro");
  return (new MicroBenchJob(env, d->micro, what == "mulmat", threads))->Queue(env);
}

// Live native objects, process-wide: whisper contexts not yet freed and executor threads not
// yet joined. For leak tests.
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("liveContexts", g_liveContexts.load());
  o.Set("liveExecutors", g_liveExecutors.load());
  return o;
}

// Stops every compute thread of this environment: running jobs are asked to stop, queued ones
// abandoned. Called from process.on('exit') (see lib/native.ts): the main thread's exit() runs
// ggml's static destructors without the environment's cleanup hooks.
Napi::Value Shutdown(const Napi::CallbackInfo& info) {
  Executor::StopAll(info.Env());
  return info.Env().Undefined();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLogCallbacks();
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);  // deleted by the environment's cleanup hook
  Napi::Function ctor = Model::Define(env);
  data->modelCtor = Napi::Persistent(ctor);
  data->stateCtor = Napi::Persistent(State::Define(env));
  exports.Set("NativeModel", ctor);
  exports.Set("load", Napi::Function::New(env, Model::Load, "load"));
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
