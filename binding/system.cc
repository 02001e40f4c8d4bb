// System and build information, the memcpy / mul_mat micro-benchmarks, and the process-wide
// counters and shutdown the leak tests and process exit use.
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "build_info.h"
#include "common.h"
#include "exports.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "whisper.h"

namespace wp {

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

}  // namespace

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
  o.Set("registryLog", LogsToJs(env, RegistryLog()));
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

}  // namespace wp
