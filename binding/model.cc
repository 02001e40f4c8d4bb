// The Model wrapper and the jobs it queues on its compute thread: load, free, mel, set-mel,
// encode, decode, whisper-bench's loop and the timings. Over 400 lines because the jobs are private
// to the wrapper (one class each, in the order of the wrapper's methods); the transcription job is
// in full_job.cc and the states in state.cc.
#include "model.h"

#include "full_job.h"
#include "jobs.h"

#include "bench_loop.h"
#include "set_mel.h"

#include <cstdlib>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <algorithm>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace wp {

// Frees a context and gives its memory back to the OS. whisper.cpp's KV caches and smaller
// compute buffers come from malloc arenas (glibc raises its mmap threshold after the first large
// free), and each model's compute thread has its own arena: without a trim, a disposed model's
// tens of MB stay in the process until another thread happens to reuse that arena.
void FreeState(whisper_state*& state, Model* model) {
  if (state == nullptr) return;
  whisper_free_state(state);
  state = nullptr;
  model->liveStates--;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

void FreeContext(whisper_context*& ctx) {
  if (ctx == nullptr) return;
  whisper_free(ctx);
  ctx = nullptr;
  g_liveContexts--;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

namespace {

class LoadJob : public PromiseJob {
 public:
  LoadJob(Napi::Env env, std::shared_ptr<Executor> ex, std::string path, whisper_context_params params)
      : PromiseJob(env, std::move(ex)), path_(std::move(path)), params_(params) {}

  void Run() override {
    std::unique_lock<std::mutex> init(InitMutex());
    const auto t0 = Clock::now();  // after the wait for another creation: the load alone
    ctx_ = whisper_init_from_file_with_params(path_.c_str(), params_);
    loadMs_ = MsSince(t0);
    init.unlock();
    if (ctx_ != nullptr) g_liveContexts++;
    if (ctx_ == nullptr) {
      Fail("MODEL_INVALID", "whisper.cpp could not load the model: " + path_);
      return;
    }
    // Start from a defined mel (silence), as whisper-bench does, so encode is always valid.
    if (SetMelNoNull(ctx_, nullptr, 0, whisper_model_n_mels(ctx_)) != 0) {
      FreeContext(ctx_);
      Fail("NATIVE_FAILURE", "whisper_set_mel failed after load");
      return;
    }
    std::error_code ec;
    bytes_ = static_cast<int64_t>(std::filesystem::file_size(path_, ec));
    if (ec) bytes_ = 0;
  }

  void Fill(Napi::Env env, Napi::Object result) override {
    LoadedModel lm{ctx_, executor_};  // read by the constructor during New()
    Napi::Object obj = Data(env)->modelCtor.Value().New({Napi::External<LoadedModel>::New(env, &lm)});
    ctx_ = nullptr;  // owned by the wrapper now
    Model* m = Model::Unwrap(obj);
    m->externalBytes = bytes_;
    if (bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, bytes_);
    result.Set("model", obj);
    result.Set("ms", loadMs_);
  }

  ~LoadJob() override {
    if (ctx_ != nullptr) FreeContext(ctx_);  // rejected, never adopted, or abandoned at teardown
  }

 private:
  std::string path_;
  whisper_context_params params_;
  whisper_context* ctx_ = nullptr;
  double loadMs_ = 0;
  int64_t bytes_ = 0;
};

class FreeJob : public ModelJob {
 public:
  using ModelJob::ModelJob;
  void Run() override {
    std::lock_guard<std::mutex> lock(model_->mu);
    FreeContext(model_->ctx);
  }
  void Fill(Napi::Env env, Napi::Object) override {
    if (model_->externalBytes > 0) {
      Napi::MemoryManagement::AdjustExternalMemory(env, -model_->externalBytes);
      model_->externalBytes = 0;
    }
    // nothing can be queued behind a dispose: the compute thread ends here
    model_->executor->Stop();
  }
};

class MelJob : public ModelJob {
 public:
  MelJob(Napi::Env env, Model* m, Napi::Float32Array pcm, int threads)
      : ModelJob(env, m), pcm_(pcm.Data(), pcm.Data() + pcm.ElementLength()), threads_(threads) {
    PadShortPcm(pcm_);
  }
  void Run() override {
    WP_LOCKED_CTX();
    const auto t0 = Clock::now();
    const int rc = whisper_pcm_to_mel(ctx, pcm_.data(), static_cast<int>(pcm_.size()), threads_);
    ms_ = MsSince(t0);
    if (rc != 0) { Fail("NATIVE_FAILURE", "whisper_pcm_to_mel failed: " + std::to_string(rc)); return; }
    nLen_ = whisper_n_len(ctx);
  }
  void Fill(Napi::Env, Napi::Object r) override { r.Set("ms", ms_); r.Set("nLen", nLen_); }
 private:
  std::vector<float> pcm_;
  int threads_;
  double ms_ = 0;
  int nLen_ = 0;
};

class SetMelJob : public ModelJob {
 public:
  SetMelJob(Napi::Env env, Model* m, Napi::Float32Array mel, int nLen, int nMel)
      : ModelJob(env, m), mel_(mel.Data(), mel.Data() + mel.ElementLength()), nLen_(nLen), nMel_(nMel) {}
  void Run() override {
    WP_LOCKED_CTX();
    const auto t0 = Clock::now();
    const int rc = SetMelNoNull(ctx, mel_.empty() ? nullptr : mel_.data(), nLen_, nMel_);
    ms_ = MsSince(t0);
    if (rc != 0) Fail("NATIVE_FAILURE", "whisper_set_mel failed: " + std::to_string(rc));
  }
  void Fill(Napi::Env, Napi::Object r) override { r.Set("ms", ms_); r.Set("nLen", nLen_); }
 private:
  std::vector<float> mel_;
  int nLen_, nMel_;
  double ms_ = 0;
};

class EncodeJob : public ModelJob {
 public:
  EncodeJob(Napi::Env env, Model* m, int offset, int threads)
      : ModelJob(env, m), offset_(offset), threads_(threads) {}
  void Run() override {
    WP_LOCKED_CTX();
    const auto t0 = Clock::now();
    const int rc = whisper_encode(ctx, offset_, threads_);
    ms_ = MsSince(t0);
    if (rc != 0) Fail("NATIVE_FAILURE", "whisper_encode failed: " + std::to_string(rc));
  }
  void Fill(Napi::Env, Napi::Object r) override { r.Set("ms", ms_); }
 private:
  int offset_, threads_;
  double ms_ = 0;
};

class DecodeJob : public ModelJob {
 public:
  DecodeJob(Napi::Env env, Model* m, Napi::Int32Array tokens, int nPast, int threads)
      : ModelJob(env, m),
        tokens_(tokens.Data(), tokens.Data() + tokens.ElementLength()), nPast_(nPast), threads_(threads) {}
  void Run() override {
    WP_LOCKED_CTX();
    const auto t0 = Clock::now();
    const int rc = whisper_decode(ctx, tokens_.data(), static_cast<int>(tokens_.size()), nPast_, threads_);
    ms_ = MsSince(t0);
    if (rc != 0) Fail("NATIVE_FAILURE", "whisper_decode failed: " + std::to_string(rc));
  }
  void Fill(Napi::Env, Napi::Object r) override { r.Set("ms", ms_); }
 private:
  std::vector<whisper_token> tokens_;
  int nPast_, threads_;
  double ms_ = 0;
};

// whisper-bench's workload on an already loaded model (bench_loop.h).
class BenchJob : public ModelJob {
 public:
  BenchJob(Napi::Env env, Model* m, BenchSpec spec) : ModelJob(env, m), spec_(spec) {}

  void Run() override {
    WP_LOCKED_CTX();
    RunBenchLoop(ctx, spec_, out_, [this] { return target_->abortRequested.load(); });
    if (out_.aborted) Fail("ABORTED", "benchmark aborted");
    else if (!out_.error.empty()) Fail("NATIVE_FAILURE", out_.error);
  }

  void Fill(Napi::Env env, Napi::Object r) override {
    const double counts[4] = {static_cast<double>(spec_.nEncode), static_cast<double>(spec_.nDecode),
                              static_cast<double>(spec_.nBatch), static_cast<double>(spec_.nPrompt)};
    // whisper.cpp counts a batchd or prompt "run" per token: per-run wall figures do the same
    const double tokens[4] = {1, 1, 5, 256};
    const char* names[4] = {"encode", "decode", "batchd", "prompt"};
    Napi::Object wall = Napi::Object::New(env), perRunWall = Napi::Object::New(env), c = Napi::Object::New(env);
    for (int i = 0; i < 4; i++) {
      wall.Set(names[i], out_.wallMs[i]);
      perRunWall.Set(names[i], counts[i] > 0 ? out_.wallMs[i] / (counts[i] * tokens[i]) : 0.0);
      c.Set(names[i], counts[i]);
    }
    r.Set("heatMs", out_.heatMs);
    r.Set("wallTotalMs", wall);
    r.Set("wallPerRunMs", perRunWall);
    r.Set("counts", c);
    r.Set("measuredCpuMs", out_.cpuMs);
    r.Set("injected", spec_.inject);
    if (out_.haveTimings) {
      Napi::Object w = Napi::Object::New(env);
      w.Set("encode", out_.timings.encode_ms);
      w.Set("decode", out_.timings.decode_ms);
      w.Set("batchd", out_.timings.batchd_ms);
      w.Set("prompt", out_.timings.prompt_ms);
      r.Set("perRunMs", w);
    }
  }

 private:
  BenchSpec spec_;
  BenchOutcome out_;
};

class TimingsJob : public ModelJob {
 public:
  TimingsJob(Napi::Env env, Model* m, bool reset) : ModelJob(env, m), reset_(reset) {}
  void Run() override {
    WP_LOCKED_CTX();
    if (reset_) {
      whisper_reset_timings(ctx);
    } else {
      ScopedLogSink sink(&lines_);  // whisper_print_timings' lines carry the run counts
      whisper_print_timings(ctx);
    }
  }
  void Fill(Napi::Env env, Napi::Object r) override { r.Set("lines", LogsToJs(env, lines_)); }
 private:
  bool reset_;
  LogBuffer lines_;
};

}  // namespace

// ---- Model -------------------------------------------------------------------------

Napi::Function Model::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel", {
      InstanceMethod<&Model::Info>("info"),
      InstanceMethod<&Model::PcmToMel>("pcmToMel"),
      InstanceMethod<&Model::SetMel>("setMel"),
      InstanceMethod<&Model::Encode>("encode"),
      InstanceMethod<&Model::Decode>("decode"),
      InstanceMethod<&Model::Full>("full"),
      InstanceMethod<&Model::Bench>("bench"),
      InstanceMethod<&Model::BenchHere>("benchHere"),
      InstanceMethod<&Model::Timings>("timings"),
      InstanceMethod<&Model::ResetTimings>("resetTimings"),
      InstanceMethod<&Model::Abort>("abort"),
      InstanceMethod<&Model::Dispose>("dispose"),
      InstanceMethod<&Model::IsDisposed>("isDisposed"),
      InstanceMethod<&Model::ThreadId>("threadId"),
      InstanceMethod<&Model::CreateState>("createState"),
  });
}

Model::Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    ThrowError(info.Env(), "INVALID_ARGUMENT", "NativeModel cannot be constructed directly: use loadModel()");
  }
  const LoadedModel* lm = info[0].As<Napi::External<LoadedModel>>().Data();
  ctx = lm->ctx;
  executor = lm->executor;
}

// Finalizer path: a model that was never disposed is freed when collected. No job can be
// queued (each holds a reference to this wrapper), so the compute thread is idle: stop it,
// then free the context.
Model::~Model() {
  if (executor) executor->Stop();
  std::lock_guard<std::mutex> lock(mu);
  FreeContext(ctx);
}

void Model::EnsureAlive(Napi::Env env) {
  if (disposed_ || ctx == nullptr) ThrowError(env, "DISPOSED", "model is disposed");
}

namespace {
// load(path, options)'s and loadHere(path, options)'s job
PromiseJob* NewLoadJob(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
    ThrowError(env, "INVALID_ARGUMENT", "load(path: string, options: object)");
  }
  Napi::Object o = info[1].As<Napi::Object>();
  whisper_context_params p = whisper_context_default_params();
  p.use_gpu = BoolOpt(o, "useGpu", p.use_gpu);
  p.gpu_device = IntOpt(o, "gpuDevice", p.gpu_device);
  p.flash_attn = BoolOpt(o, "flashAttn", p.flash_attn);
  // the model's compute thread is born here: the load (unless it runs on the calling thread) and
  // every later call on the model run on it
  std::shared_ptr<Executor> ex = Executor::Create(env, "whisper-perf:model");
  return new LoadJob(env, ex, info[0].As<Napi::String>().Utf8Value(), p);
}
}  // namespace

Napi::Value Model::Load(const Napi::CallbackInfo& info) {
  return NewLoadJob(info)->Queue(info.Env());
}

// The load on the calling thread, blocking the event loop until it ends: for `ab`'s side processes
// with several slots, whose workloads run on the calling thread too (BenchHere). whisper.cpp's
// buffers then come from that thread's malloc arena, as they do for a model alone, instead of
// each slot's compute thread keeping an arena (and its layout) of its own from reload to reload.
Napi::Value Model::LoadHere(const Napi::CallbackInfo& info) {
  return NewLoadJob(info)->RunHere(info.Env());
}

Napi::Value Model::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", whisper_model_type_readable(ctx));
  o.Set("typeId", whisper_model_type(ctx));
  o.Set("ftype", whisper_model_ftype(ctx));
  o.Set("multilingual", whisper_is_multilingual(ctx) != 0);
  o.Set("nVocab", whisper_model_n_vocab(ctx));
  o.Set("nAudioCtx", whisper_model_n_audio_ctx(ctx));
  o.Set("nAudioState", whisper_model_n_audio_state(ctx));
  o.Set("nAudioHead", whisper_model_n_audio_head(ctx));
  o.Set("nAudioLayer", whisper_model_n_audio_layer(ctx));
  o.Set("nTextCtx", whisper_model_n_text_ctx(ctx));
  o.Set("nTextState", whisper_model_n_text_state(ctx));
  o.Set("nTextHead", whisper_model_n_text_head(ctx));
  o.Set("nTextLayer", whisper_model_n_text_layer(ctx));
  o.Set("nMels", whisper_model_n_mels(ctx));
  o.Set("nLen", whisper_n_len(ctx));
  o.Set("tokenEot", whisper_token_eot(ctx));
  o.Set("tokenSot", whisper_token_sot(ctx));
  return o;
}

static int ThreadsArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) ThrowError(info.Env(), "INVALID_ARGUMENT", "threads must be a number");
  const int t = info[i].As<Napi::Number>().Int32Value();
  if (t < 1) ThrowError(info.Env(), "INVALID_ARGUMENT", "threads must be >= 1");
  return t;
}

Napi::Value Model::PcmToMel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowError(env, "AUDIO_INVALID", "pcm must be a Float32Array");
  }
  Napi::Float32Array pcm = info[0].As<Napi::Float32Array>();
  if (pcm.ElementLength() == 0) ThrowError(env, "AUDIO_INVALID", "pcm is empty");
  return (new MelJob(env, this, pcm, ThreadsArg(info, 1)))->Queue(env);
}

Napi::Value Model::SetMel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[1].IsNumber() || !info[2].IsNumber()) {
    ThrowError(env, "INVALID_ARGUMENT", "setMel(mel: Float32Array, nLen: number, nMel: number)");
  }
  Napi::Float32Array mel = info[0].As<Napi::Float32Array>();
  const int nLen = info[1].As<Napi::Number>().Int32Value();
  const int nMel = info[2].As<Napi::Number>().Int32Value();
  if (nMel != whisper_model_n_mels(ctx) || nLen < 0 || static_cast<size_t>(nLen) * nMel != mel.ElementLength()) {
    ThrowError(env, "INVALID_ARGUMENT", "mel shape does not match the model");
  }
  return (new SetMelJob(env, this, mel, nLen, nMel))->Queue(env);
}

Napi::Value Model::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowError(env, "INVALID_ARGUMENT", "encode(offset, threads)");
  const int offset = info[0].As<Napi::Number>().Int32Value();
  const int nLen = whisper_n_len(ctx);
  if (offset < 0 || (offset > 0 && offset >= nLen)) ThrowError(env, "INVALID_ARGUMENT", "offset outside the mel");
  return (new EncodeJob(env, this, offset, ThreadsArg(info, 1)))->Queue(env);
}

Napi::Value Model::Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !info[1].IsNumber()) {
    ThrowError(env, "INVALID_ARGUMENT", "decode(tokens: Int32Array, nPast: number, threads: number)");
  }
  Napi::Int32Array tokens = info[0].As<Napi::Int32Array>();
  const int nPast = info[1].As<Napi::Number>().Int32Value();
  const int nVocab = whisper_model_n_vocab(ctx);
  const int nCtx = whisper_model_n_text_ctx(ctx);
  const size_t n = tokens.ElementLength();
  // Last line of defence; the TypeScript layer validates the same with better messages.
  if (n == 0 || nPast < 0 || static_cast<size_t>(nPast) + n > static_cast<size_t>(nCtx)) {
    ThrowError(env, "INVALID_ARGUMENT", "tokens/nPast outside the text context");
  }
  for (size_t i = 0; i < n; i++) {
    if (tokens[i] < 0 || tokens[i] >= nVocab) ThrowError(env, "INVALID_ARGUMENT", "token outside the vocabulary");
  }
  return (new DecodeJob(env, this, tokens, nPast, ThreadsArg(info, 2)))->Queue(env);
}

Napi::Value Model::Full(const Napi::CallbackInfo& info) {
  EnsureAlive(info.Env());
  return QueueFull(info, this, Value(), &ctx, nullptr);
}

namespace {
// bench(options)'s and benchHere(options)'s job
BenchJob* NewBenchJob(const Napi::CallbackInfo& info, Model* m) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowError(env, "INVALID_ARGUMENT", "bench(options: object)");
  Napi::Object o = info[0].As<Napi::Object>();
  BenchSpec b;
  b.threads = IntOpt(o, "threads", b.threads);
  b.heat = IntOpt(o, "heat", b.heat);
  b.heatDecodes = IntOpt(o, "heatDecodes", b.heatDecodes);
  b.nEncode = IntOpt(o, "nEncode", b.nEncode);
  b.nDecode = IntOpt(o, "nDecode", b.nDecode);
  b.nBatch = IntOpt(o, "nBatch", b.nBatch);
  b.nPrompt = IntOpt(o, "nPrompt", b.nPrompt);
  if (b.threads < 1 || b.heat < 0 || b.heatDecodes < 0 || b.heatDecodes > 256 || b.nEncode < 0 || b.nDecode < 0 ||
      b.nDecode > 256 || b.nBatch < 0 || b.nPrompt < 0) {
    ThrowError(env, "INVALID_ARGUMENT", "bench options out of range");
  }
  // bench:parity's self-check only: a known slowdown (fraction of each measured call), read on
  // the JavaScript thread at each call so the check can switch it per call
  if (const char* inj = std::getenv("WHISPER_PERF_INJECT_SLOWDOWN")) {
    const double f = std::atof(inj);
    if (f > 0 && f < 10) b.inject = f;
  }
  if (whisper_model_n_text_ctx(m->ctx) < 256 + 5) ThrowError(env, "INVALID_ARGUMENT", "the model's text context is shorter than the bench workload");
  m->abortRequested.store(false);
  return new BenchJob(env, m, b);
}
}  // namespace

Napi::Value Model::Bench(const Napi::CallbackInfo& info) {
  EnsureAlive(info.Env());
  return NewBenchJob(info, this)->Queue(info.Env());
}

// The bench workload on the calling thread instead of the model's compute thread, blocking the
// event loop until it ends: for `ab`'s side processes, whose slots (models of one build or of
// several) then all compute from one thread and so share one OpenMP team, the team a process with
// one model has. A compute thread per model gives each model a team of its own, and two teams in
// one process slow decode down (docs/store.md). Refused while the model has calls in flight.
Napi::Value Model::BenchHere(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  if (executor->Pending() != 0) ThrowError(env, "INVALID_ARGUMENT", "benchHere: the model has calls in flight (it runs on the calling thread only while the compute thread is idle)");
  return NewBenchJob(info, this)->RunHere(env);
}

// Queued like every other call (the context belongs to the compute thread): whisper_print_timings'
// lines are captured and returned for parsing in TypeScript (they carry the run counts no
// function returns).
Napi::Value Model::Timings(const Napi::CallbackInfo& info) {
  EnsureAlive(info.Env());
  return (new TimingsJob(info.Env(), this, false))->Queue(info.Env());
}

Napi::Value Model::ResetTimings(const Napi::CallbackInfo& info) {
  EnsureAlive(info.Env());
  return (new TimingsJob(info.Env(), this, true))->Queue(info.Env());
}

Napi::Value Model::Abort(const Napi::CallbackInfo& info) {
  abortRequested.store(true);
  return info.Env().Undefined();
}

Napi::Value Model::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) ThrowError(env, "DISPOSED", "model is already disposed");
  // states compute on this context's weights: they go first (the TypeScript layer disposes them)
  if (liveStates.load() > 0) ThrowError(env, "INVALID_ARGUMENT", "the model still has states: dispose them first");
  disposed_ = true;
  abortRequested.store(true);
  return (new FreeJob(env, this))->Queue(env);
}

Napi::Value Model::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

Napi::Value Model::ThreadId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(executor ? executor->ThreadId() : 0));
}

}  // namespace wp
