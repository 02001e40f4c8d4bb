// Model ObjectWrap and the workers that run on it.
#include "model.h"

#include <filesystem>
#include <string>
#include <vector>

namespace wp {

namespace {

using Clock = std::chrono::steady_clock;

// Base for workers bound to one model: keeps the wrapper alive and locks the context.
class ModelWorker : public PromiseWorker {
 public:
  ModelWorker(Napi::Env env, const char* name, Model* model)
      : PromiseWorker(env, name), model_(model), ref_(Napi::Persistent(model->Value())) {}

 protected:
  Model* model_;

 private:
  Napi::ObjectReference ref_;
};

#define WP_LOCKED_CTX()                                  \
  std::lock_guard<std::mutex> lock(model_->mu);          \
  whisper_context* ctx = model_->ctx;                    \
  if (ctx == nullptr) { Fail("DISPOSED", "model is disposed"); return; }

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, whisper_context_params params)
      : PromiseWorker(env, "whisper-perf:load"), path_(std::move(path)), params_(params) {}

  void Run() override {
    const auto t0 = Clock::now();
    ctx_ = whisper_init_from_file_with_params(path_.c_str(), params_);
    loadMs_ = MsSince(t0);
    if (ctx_ == nullptr) {
      Fail("MODEL_INVALID", "whisper.cpp could not load the model: " + path_);
      return;
    }
    // Start from a defined mel (silence), as whisper-bench does, so encode is always valid.
    if (whisper_set_mel(ctx_, nullptr, 0, whisper_model_n_mels(ctx_)) != 0) {
      whisper_free(ctx_);
      ctx_ = nullptr;
      Fail("NATIVE_FAILURE", "whisper_set_mel failed after load");
      return;
    }
    std::error_code ec;
    bytes_ = static_cast<int64_t>(std::filesystem::file_size(path_, ec));
    if (ec) bytes_ = 0;
  }

  void Fill(Napi::Env env, Napi::Object result) override {
    Napi::Object obj = Data(env)->modelCtor.Value().New({Napi::External<whisper_context>::New(env, ctx_)});
    ctx_ = nullptr;  // owned by the wrapper now
    Model* m = Model::Unwrap(obj);
    m->externalBytes = bytes_;
    if (bytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, bytes_);
    result.Set("model", obj);
    result.Set("ms", loadMs_);
  }

  ~LoadWorker() override {
    if (ctx_ != nullptr) whisper_free(ctx_);  // rejected or never adopted
  }

 private:
  std::string path_;
  whisper_context_params params_;
  whisper_context* ctx_ = nullptr;
  double loadMs_ = 0;
  int64_t bytes_ = 0;
};

class FreeWorker : public ModelWorker {
 public:
  using ModelWorker::ModelWorker;
  void Run() override {
    std::lock_guard<std::mutex> lock(model_->mu);
    if (model_->ctx != nullptr) {
      whisper_free(model_->ctx);
      model_->ctx = nullptr;
    }
  }
  void Fill(Napi::Env env, Napi::Object) override {
    if (model_->externalBytes > 0) {
      Napi::MemoryManagement::AdjustExternalMemory(env, -model_->externalBytes);
      model_->externalBytes = 0;
    }
  }
};

class MelWorker : public ModelWorker {
 public:
  MelWorker(Napi::Env env, Model* m, Napi::Float32Array pcm, int threads)
      : ModelWorker(env, "whisper-perf:mel", m), pcm_(pcm.Data(), pcm.Data() + pcm.ElementLength()), threads_(threads) {}
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

class SetMelWorker : public ModelWorker {
 public:
  SetMelWorker(Napi::Env env, Model* m, Napi::Float32Array mel, int nLen, int nMel)
      : ModelWorker(env, "whisper-perf:set-mel", m), mel_(mel.Data(), mel.Data() + mel.ElementLength()), nLen_(nLen), nMel_(nMel) {}
  void Run() override {
    WP_LOCKED_CTX();
    const auto t0 = Clock::now();
    const int rc = whisper_set_mel(ctx, mel_.empty() ? nullptr : mel_.data(), nLen_, nMel_);
    ms_ = MsSince(t0);
    if (rc != 0) Fail("NATIVE_FAILURE", "whisper_set_mel failed: " + std::to_string(rc));
  }
  void Fill(Napi::Env, Napi::Object r) override { r.Set("ms", ms_); r.Set("nLen", nLen_); }
 private:
  std::vector<float> mel_;
  int nLen_, nMel_;
  double ms_ = 0;
};

class EncodeWorker : public ModelWorker {
 public:
  EncodeWorker(Napi::Env env, Model* m, int offset, int threads)
      : ModelWorker(env, "whisper-perf:encode", m), offset_(offset), threads_(threads) {}
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

class DecodeWorker : public ModelWorker {
 public:
  DecodeWorker(Napi::Env env, Model* m, Napi::Int32Array tokens, int nPast, int threads)
      : ModelWorker(env, "whisper-perf:decode", m),
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

// Full transcription. Options are parsed into this baton on the main thread.
struct FullBaton {
  int strategy = WHISPER_SAMPLING_GREEDY;
  int threads = 4;
  std::string language = "en";
  bool translate = false;
  bool noContext = true;
  bool singleSegment = false;
  bool noTimestamps = false;
  bool noFallback = false;
  int maxTokens = 0;
  int audioCtx = 0;
  int beamSize = 5;
  int bestOf = 5;
  float temperature = 0.0f;
};

struct Segment {
  int64_t t0, t1;
  std::string text;
  int nTokens;
};

static bool AbortCb(void* user) { return static_cast<std::atomic<bool>*>(user)->load(); }

class FullWorker : public ModelWorker {
 public:
  FullWorker(Napi::Env env, Model* m, Napi::Float32Array pcm, FullBaton baton)
      : ModelWorker(env, "whisper-perf:full", m), pcm_(pcm.Data(), pcm.Data() + pcm.ElementLength()), b_(std::move(baton)) {}
  void Run() override {
    WP_LOCKED_CTX();
    whisper_full_params p = whisper_full_default_params(static_cast<whisper_sampling_strategy>(b_.strategy));
    p.n_threads = b_.threads;
    p.language = b_.language.c_str();
    p.translate = b_.translate;
    p.no_context = b_.noContext;
    p.single_segment = b_.singleSegment;
    p.no_timestamps = b_.noTimestamps;
    p.max_tokens = b_.maxTokens;
    p.audio_ctx = b_.audioCtx;
    p.temperature = b_.temperature;
    if (b_.noFallback) p.temperature_inc = 0.0f;
    p.greedy.best_of = b_.bestOf;
    p.beam_search.beam_size = b_.beamSize;
    p.print_progress = false;
    p.print_realtime = false;
    p.print_special = false;
    p.print_timestamps = false;
    p.abort_callback = AbortCb;
    p.abort_callback_user_data = &model_->abortRequested;
    const auto t0 = Clock::now();
    const int rc = whisper_full(ctx, p, pcm_.data(), static_cast<int>(pcm_.size()));
    ms_ = MsSince(t0);
    if (model_->abortRequested.load()) { Fail("ABORTED", "transcription aborted"); return; }
    if (rc != 0) { Fail("NATIVE_FAILURE", "whisper_full failed: " + std::to_string(rc)); return; }
    const int n = whisper_full_n_segments(ctx);
    for (int i = 0; i < n; i++) {
      segments_.push_back({whisper_full_get_segment_t0(ctx, i), whisper_full_get_segment_t1(ctx, i),
                           whisper_full_get_segment_text(ctx, i), whisper_full_n_tokens(ctx, i)});
    }
    langId_ = whisper_full_lang_id(ctx);
  }
  void Fill(Napi::Env env, Napi::Object r) override {
    r.Set("ms", ms_);
    r.Set("language", langId_ >= 0 ? Napi::Value(Napi::String::New(env, whisper_lang_str(langId_))) : env.Null());
    Napi::Array segs = Napi::Array::New(env, segments_.size());
    for (size_t i = 0; i < segments_.size(); i++) {
      Napi::Object s = Napi::Object::New(env);
      s.Set("t0", static_cast<double>(segments_[i].t0));
      s.Set("t1", static_cast<double>(segments_[i].t1));
      s.Set("text", segments_[i].text);
      s.Set("tokens", segments_[i].nTokens);
      segs.Set(static_cast<uint32_t>(i), s);
    }
    r.Set("segments", segs);
  }
 private:
  std::vector<float> pcm_;
  FullBaton b_;
  double ms_ = 0;
  int langId_ = -1;
  std::vector<Segment> segments_;
};

// whisper-bench's workload (examples/bench/bench.cpp), on an already loaded model:
// `heat` heat-up loops, a timing reset, then one encode, nDecode single-token decodes,
// nBatch five-token decodes and nPrompt prompt decodes of 256 tokens.
struct BenchBaton {
  int threads = 4;
  int heat = 2;
  int nDecode = 256;
  int nBatch = 64;
  int nPrompt = 16;
};

class BenchWorker : public ModelWorker {
 public:
  BenchWorker(Napi::Env env, Model* m, BenchBaton b) : ModelWorker(env, "whisper-perf:bench", m), b_(b) {}

  bool Check(int rc, const char* what) {
    if (model_->abortRequested.load()) { Fail("ABORTED", "benchmark aborted"); return false; }
    if (rc != 0) { Fail("NATIVE_FAILURE", std::string(what) + " failed: " + std::to_string(rc)); return false; }
    return true;
  }

  void Run() override {
    WP_LOCKED_CTX();
    const int nt = b_.threads;
    if (!Check(whisper_set_mel(ctx, nullptr, 0, whisper_model_n_mels(ctx)), "whisper_set_mel")) return;
    whisper_token tokens[512] = {0};
    const auto th = Clock::now();
    for (int h = 0; h < b_.heat; ++h) {
      if (!Check(whisper_encode(ctx, 0, nt), "whisper_encode")) return;
      if (!Check(whisper_decode(ctx, tokens, 256, 0, nt), "whisper_decode")) return;
      for (int i = 0; i < 256; i++) if (!Check(whisper_decode(ctx, tokens, 1, i, nt), "whisper_decode")) return;
      if (!Check(whisper_decode(ctx, tokens, 5, 0, nt), "whisper_decode")) return;
    }
    heatMs_ = MsSince(th);
    whisper_reset_timings(ctx);

    auto t0 = Clock::now();
    if (!Check(whisper_encode(ctx, 0, nt), "whisper_encode")) return;
    wallEncode_ = MsSince(t0);
    t0 = Clock::now();
    for (int i = 0; i < b_.nDecode; i++) if (!Check(whisper_decode(ctx, tokens, 1, i, nt), "whisper_decode")) return;
    wallDecode_ = MsSince(t0);
    t0 = Clock::now();
    for (int i = 0; i < b_.nBatch; i++) if (!Check(whisper_decode(ctx, tokens, 5, 0, nt), "whisper_decode")) return;
    wallBatchd_ = MsSince(t0);
    t0 = Clock::now();
    for (int i = 0; i < b_.nPrompt; i++) if (!Check(whisper_decode(ctx, tokens, 256, 0, nt), "whisper_decode")) return;
    wallPrompt_ = MsSince(t0);

    whisper_timings* t = whisper_get_timings(ctx);  // allocated by whisper.cpp: ours to free
    if (t != nullptr) {
      timings_ = *t;
      haveTimings_ = true;
      delete t;
    }
  }

  void Fill(Napi::Env env, Napi::Object r) override {
    r.Set("heatMs", heatMs_);
    Napi::Object wall = Napi::Object::New(env);
    wall.Set("encode", wallEncode_);
    wall.Set("decode", wallDecode_);
    wall.Set("batchd", wallBatchd_);
    wall.Set("prompt", wallPrompt_);
    r.Set("wallTotalMs", wall);
    Napi::Object counts = Napi::Object::New(env);
    counts.Set("encode", 1);
    counts.Set("decode", b_.nDecode);
    counts.Set("batchd", b_.nBatch);
    counts.Set("prompt", b_.nPrompt);
    r.Set("counts", counts);
    if (haveTimings_) {
      Napi::Object w = Napi::Object::New(env);
      w.Set("encode", timings_.encode_ms);
      w.Set("decode", timings_.decode_ms);
      w.Set("batchd", timings_.batchd_ms);
      w.Set("prompt", timings_.prompt_ms);
      r.Set("perRunMs", w);
    }
  }

 private:
  BenchBaton b_;
  double heatMs_ = 0, wallEncode_ = 0, wallDecode_ = 0, wallBatchd_ = 0, wallPrompt_ = 0;
  whisper_timings timings_{};
  bool haveTimings_ = false;
};

int IntOpt(const Napi::Object& o, const char* key, int def) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : def;
}
bool BoolOpt(const Napi::Object& o, const char* key, bool def) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : def;
}

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
      InstanceMethod<&Model::Timings>("timings"),
      InstanceMethod<&Model::ResetTimings>("resetTimings"),
      InstanceMethod<&Model::Abort>("abort"),
      InstanceMethod<&Model::Dispose>("dispose"),
      InstanceMethod<&Model::IsDisposed>("isDisposed"),
  });
}

Model::Model(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Model>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    ThrowError(info.Env(), "INVALID_ARGUMENT", "NativeModel cannot be constructed directly: use loadModel()");
  }
  ctx = info[0].As<Napi::External<whisper_context>>().Data();
}

// Finalizer path: a model that was never disposed is freed when collected.
Model::~Model() {
  std::lock_guard<std::mutex> lock(mu);
  if (ctx != nullptr) {
    whisper_free(ctx);
    ctx = nullptr;
  }
}

void Model::EnsureAlive(Napi::Env env) {
  if (disposed_ || ctx == nullptr) ThrowError(env, "DISPOSED", "model is disposed");
}

Napi::Value Model::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsObject()) {
    ThrowError(env, "INVALID_ARGUMENT", "load(path: string, options: object)");
  }
  Napi::Object o = info[1].As<Napi::Object>();
  whisper_context_params p = whisper_context_default_params();
  p.use_gpu = BoolOpt(o, "useGpu", p.use_gpu);
  p.gpu_device = IntOpt(o, "gpuDevice", p.gpu_device);
  p.flash_attn = BoolOpt(o, "flashAttn", p.flash_attn);
  auto* w = new LoadWorker(env, info[0].As<Napi::String>().Utf8Value(), p);
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
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
  auto* w = new MelWorker(env, this, pcm, ThreadsArg(info, 1));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
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
  auto* w = new SetMelWorker(env, this, mel, nLen, nMel);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Model::Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowError(env, "INVALID_ARGUMENT", "encode(offset, threads)");
  const int offset = info[0].As<Napi::Number>().Int32Value();
  const int nLen = whisper_n_len(ctx);
  if (offset < 0 || (offset > 0 && offset >= nLen)) ThrowError(env, "INVALID_ARGUMENT", "offset outside the mel");
  auto* w = new EncodeWorker(env, this, offset, ThreadsArg(info, 1));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
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
  auto* w = new DecodeWorker(env, this, tokens, nPast, ThreadsArg(info, 2));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Model::Full(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  if (info.Length() < 2 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[1].IsObject()) {
    ThrowError(env, "INVALID_ARGUMENT", "full(pcm: Float32Array, options: object)");
  }
  Napi::Float32Array pcm = info[0].As<Napi::Float32Array>();
  if (pcm.ElementLength() == 0) ThrowError(env, "AUDIO_INVALID", "pcm is empty");
  Napi::Object o = info[1].As<Napi::Object>();
  FullBaton b;
  b.strategy = BoolOpt(o, "beamSearch", false) ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY;
  b.threads = IntOpt(o, "threads", b.threads);
  if (o.Get("language").IsString()) b.language = o.Get("language").As<Napi::String>().Utf8Value();
  if (b.language != "auto" && whisper_lang_id(b.language.c_str()) < 0) ThrowError(env, "INVALID_ARGUMENT", "unknown language: " + b.language);
  b.translate = BoolOpt(o, "translate", b.translate);
  b.noContext = BoolOpt(o, "noContext", b.noContext);
  b.singleSegment = BoolOpt(o, "singleSegment", b.singleSegment);
  b.noTimestamps = BoolOpt(o, "noTimestamps", b.noTimestamps);
  b.noFallback = BoolOpt(o, "noFallback", b.noFallback);
  b.maxTokens = IntOpt(o, "maxTokens", b.maxTokens);
  b.audioCtx = IntOpt(o, "audioCtx", b.audioCtx);
  b.beamSize = IntOpt(o, "beamSize", b.beamSize);
  b.bestOf = IntOpt(o, "bestOf", b.bestOf);
  if (o.Get("temperature").IsNumber()) b.temperature = o.Get("temperature").As<Napi::Number>().FloatValue();
  abortRequested.store(false);
  auto* w = new FullWorker(env, this, pcm, b);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Model::Bench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  if (info.Length() < 1 || !info[0].IsObject()) ThrowError(env, "INVALID_ARGUMENT", "bench(options: object)");
  Napi::Object o = info[0].As<Napi::Object>();
  BenchBaton b;
  b.threads = IntOpt(o, "threads", b.threads);
  b.heat = IntOpt(o, "heat", b.heat);
  b.nDecode = IntOpt(o, "nDecode", b.nDecode);
  b.nBatch = IntOpt(o, "nBatch", b.nBatch);
  b.nPrompt = IntOpt(o, "nPrompt", b.nPrompt);
  if (b.threads < 1 || b.heat < 0 || b.nDecode < 0 || b.nBatch < 0 || b.nPrompt < 0) {
    ThrowError(env, "INVALID_ARGUMENT", "bench options out of range");
  }
  if (whisper_model_n_text_ctx(ctx) < 256 + 5) ThrowError(env, "INVALID_ARGUMENT", "the model's text context is shorter than the bench workload");
  abortRequested.store(false);
  auto* w = new BenchWorker(env, this, b);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// Synchronous and cheap: whisper_print_timings' lines are captured and returned for
// parsing in TypeScript (they carry the run counts no function returns).
Napi::Value Model::Timings(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  std::lock_guard<std::mutex> lock(mu);
  LogBuffer logs;
  {
    ScopedLogSink sink(&logs);
    whisper_print_timings(ctx);
  }
  return LogsToJs(env, logs);
}

Napi::Value Model::ResetTimings(const Napi::CallbackInfo& info) {
  EnsureAlive(info.Env());
  std::lock_guard<std::mutex> lock(mu);
  whisper_reset_timings(ctx);
  return info.Env().Undefined();
}

Napi::Value Model::Abort(const Napi::CallbackInfo& info) {
  abortRequested.store(true);
  return info.Env().Undefined();
}

Napi::Value Model::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) ThrowError(env, "DISPOSED", "model is already disposed");
  disposed_ = true;
  abortRequested.store(true);
  auto* w = new FreeWorker(env, "whisper-perf:free", this);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value Model::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

}  // namespace wp
