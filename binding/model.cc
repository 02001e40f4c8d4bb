// Model ObjectWrap and the workers that run on it.
#include "model.h"

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

std::atomic<int> g_liveContexts{0};

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

using Clock = std::chrono::steady_clock;

// Base for jobs bound to a target (a model or a state): runs on its executor and keeps its
// wrapper alive while queued or running.
class TargetJob : public PromiseJob {
 public:
  TargetJob(Napi::Env env, Target* t, Napi::Object holder)
      : PromiseJob(env, t->executor), target_(t), ref_(Napi::Persistent(holder)) {}
  void Abandon() override { ref_.SuppressDestruct(); }
  void RequestStop() override { target_->abortRequested.store(true); }

 protected:
  Target* target_;

 private:
  Napi::ObjectReference ref_;
};

class ModelJob : public TargetJob {
 public:
  ModelJob(Napi::Env env, Model* model) : TargetJob(env, model, model->Value()), model_(model) {}

 protected:
  Model* model_;
};

// whisper.cpp sets ggml's process-wide logger (ggml_log_set in whisper_backend_init_gpu) each time
// it creates a context or a state, and ggml's backend set-up logs through it; two models or states
// created at once on their compute threads wrote it together (ThreadSanitizer: data race in
// ggml_log_set, both from whisper_init_state). One creation at a time, process-wide: the library
// is loaded once per process, so this mutex is shared by every worker_thread's instance too.
static std::mutex& InitMutex() {
  static std::mutex mu;
  return mu;
}

#define WP_LOCKED_CTX()                                  \
  std::lock_guard<std::mutex> lock(model_->mu);          \
  whisper_context* ctx = model_->ctx;                    \
  if (ctx == nullptr) { Fail("DISPOSED", "model is disposed"); return; }

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

// whisper.cpp's log-mel spectrogram reflects the first 200 samples past the start
// (std::reverse_copy(samples + 1, samples + 201, ...)) whatever the length: a PCM shorter than 201
// samples (12.5 ms) was read out of bounds (AddressSanitizer, found by the fuzz suite). Such a PCM
// is padded with silence to that length; whisper_full_parallel cuts the PCM into one piece per
// processor, so each piece must be that long.
constexpr size_t kMinPcmSamples = 201;
static void PadShortPcm(std::vector<float>& pcm, int pieces = 1) {
  const size_t min = kMinPcmSamples * static_cast<size_t>(pieces < 1 ? 1 : pieces);
  if (pcm.size() < min) pcm.resize(min, 0.0f);
}

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

// Full transcription. Options are parsed into this baton on the JavaScript thread.
struct FullBaton {
  int strategy = WHISPER_SAMPLING_GREEDY;
  int threads = 4;
  int processors = 1;            // > 1: whisper_full_parallel
  std::string language = "en";  // "auto": detect
  bool detectLanguage = false;   // detect and stop (no transcription)
  bool translate = false;
  bool noContext = true;
  bool singleSegment = false;
  bool noTimestamps = false;
  bool tokenTimestamps = false;
  bool splitOnWord = false;
  bool suppressBlank = true;
  bool suppressNst = false;
  int maxLen = 0;
  int maxTokens = 0;
  int audioCtx = 0;
  int maxTextCtx = 16384;
  int offsetMs = 0;
  int durationMs = 0;
  int beamSize = 5;
  int bestOf = 5;
  float temperature = 0.0f;
  float temperatureInc = 0.2f;
  float entropyThold = 2.4f;
  float logprobThold = -1.0f;
  float noSpeechThold = 0.6f;
  std::string initialPrompt;
  bool wantProgress = false;
  bool wantSegments = false;
};

struct TokenData {
  int id;
  std::string text;
  float p;
  int64_t t0, t1;
};

struct SegmentData {
  int index;
  int64_t t0, t1;  // centiseconds
  std::string text;
  float noSpeechProb;
  std::vector<TokenData> tokens;
};

// state: the one a callback was handed; nullptr: the context's default state (the results of
// whisper_full and whisper_full_parallel are gathered there)
static SegmentData ReadSegment(whisper_context* ctx, whisper_state* state, int i) {
  SegmentData s;
  s.index = i;
  s.t0 = state ? whisper_full_get_segment_t0_from_state(state, i) : whisper_full_get_segment_t0(ctx, i);
  s.t1 = state ? whisper_full_get_segment_t1_from_state(state, i) : whisper_full_get_segment_t1(ctx, i);
  const char* text = state ? whisper_full_get_segment_text_from_state(state, i) : whisper_full_get_segment_text(ctx, i);
  s.text = text != nullptr ? text : "";
  s.noSpeechProb = state ? whisper_full_get_segment_no_speech_prob_from_state(state, i) : whisper_full_get_segment_no_speech_prob(ctx, i);
  const int n = state ? whisper_full_n_tokens_from_state(state, i) : whisper_full_n_tokens(ctx, i);
  for (int j = 0; j < n; j++) {
    const whisper_token_data d = state ? whisper_full_get_token_data_from_state(state, i, j) : whisper_full_get_token_data(ctx, i, j);
    const char* t = whisper_token_to_str(ctx, d.id);
    s.tokens.push_back({d.id, t != nullptr ? t : "", d.p, d.t0, d.t1});
  }
  return s;
}

static Napi::Object SegmentToJs(Napi::Env env, const SegmentData& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", s.index);
  o.Set("t0", static_cast<double>(s.t0));
  o.Set("t1", static_cast<double>(s.t1));
  o.Set("text", s.text);
  o.Set("noSpeechProb", s.noSpeechProb);
  Napi::Array toks = Napi::Array::New(env, s.tokens.size());
  for (size_t j = 0; j < s.tokens.size(); j++) {
    Napi::Object t = Napi::Object::New(env);
    t.Set("id", s.tokens[j].id);
    t.Set("text", s.tokens[j].text);
    t.Set("p", s.tokens[j].p);
    t.Set("t0", static_cast<double>(s.tokens[j].t0));
    t.Set("t1", static_cast<double>(s.tokens[j].t1));
    toks.Set(static_cast<uint32_t>(j), t);
  }
  o.Set("tokens", toks);
  return o;
}

static bool AbortCb(void* user) { return static_cast<std::atomic<bool>*>(user)->load(); }

class FullJob;

// Progress and new segments, delivered to the JavaScript callbacks while whisper_full runs.
class FullEvent : public Event {
 public:
  FullEvent(FullJob* job, int progress) : job_(job), progress_(progress) {}
  FullEvent(FullJob* job, std::vector<SegmentData> segs, double atMs) : job_(job), segments_(std::move(segs)), atMs_(atMs) {}
  void Complete(Napi::Env env) override;

 private:
  FullJob* job_;
  int progress_ = -1;
  std::vector<SegmentData> segments_;
  double atMs_ = 0;
};

// On a model's default state (state slot null) or on a State (whisper_full_with_state).
class FullJob : public TargetJob {
 public:
  FullJob(Napi::Env env, Target* t, Napi::Object holder, whisper_context** ctxSlot, whisper_state** stateSlot,
          Napi::Float32Array pcm, FullBaton baton, Napi::Function onEvent)
      : TargetJob(env, t, holder), ctxSlot_(ctxSlot), stateSlot_(stateSlot),
        pcm_(pcm.Data(), pcm.Data() + pcm.ElementLength()), b_(std::move(baton)) {
    PadShortPcm(pcm_, b_.processors);
    if (!onEvent.IsEmpty()) onEvent_ = Napi::Persistent(onEvent);
  }
  void Abandon() override {
    TargetJob::Abandon();
    onEvent_.SuppressDestruct();
  }

  void Run() override {
    std::lock_guard<std::mutex> lock(target_->mu);
    whisper_context* ctx = *ctxSlot_;
    whisper_state* state = stateSlot_ ? *stateSlot_ : nullptr;
    if (ctx == nullptr || (stateSlot_ && state == nullptr)) { Fail("DISPOSED", "model is disposed"); return; }
    whisper_full_params p = whisper_full_default_params(static_cast<whisper_sampling_strategy>(b_.strategy));
    p.n_threads = b_.threads;
    p.language = b_.language.c_str();
    p.detect_language = b_.detectLanguage;
    p.translate = b_.translate;
    p.no_context = b_.noContext;
    p.single_segment = b_.singleSegment;
    p.no_timestamps = b_.noTimestamps;
    p.token_timestamps = b_.tokenTimestamps;
    p.split_on_word = b_.splitOnWord;
    p.suppress_blank = b_.suppressBlank;
    p.suppress_nst = b_.suppressNst;
    p.max_len = b_.maxLen;
    p.max_tokens = b_.maxTokens;
    p.audio_ctx = b_.audioCtx;
    p.n_max_text_ctx = b_.maxTextCtx;
    p.offset_ms = b_.offsetMs;
    p.duration_ms = b_.durationMs;
    p.temperature = b_.temperature;
    p.temperature_inc = b_.temperatureInc;
    p.entropy_thold = b_.entropyThold;
    p.logprob_thold = b_.logprobThold;
    p.no_speech_thold = b_.noSpeechThold;
    p.greedy.best_of = b_.bestOf;
    p.beam_search.beam_size = b_.beamSize;
    p.initial_prompt = b_.initialPrompt.empty() ? nullptr : b_.initialPrompt.c_str();
    p.print_progress = false;
    p.print_realtime = false;
    p.print_special = false;
    p.print_timestamps = false;
    p.abort_callback = AbortCb;
    p.abort_callback_user_data = &target_->abortRequested;
    // runs on this thread, inside whisper_full: copies what it needs and posts it
    p.new_segment_callback = [](whisper_context* c, whisper_state* state, int nNew, void* user) {
      auto* self = static_cast<FullJob*>(user);
      const double at = MsSince(self->t0_);
      if (self->firstSegmentMs_ < 0) self->firstSegmentMs_ = at;
      if (!self->b_.wantSegments) return;
      const int n = whisper_full_n_segments_from_state(state);
      std::vector<SegmentData> segs;
      for (int i = std::max(0, n - nNew); i < n; i++) segs.push_back(ReadSegment(c, state, i));
      self->target_->executor->Post(new FullEvent(self, std::move(segs), at));
    };
    p.new_segment_callback_user_data = this;
    if (b_.wantProgress) {
      p.progress_callback = [](whisper_context*, whisper_state*, int progress, void* user) {
        auto* self = static_cast<FullJob*>(user);
        self->target_->executor->Post(new FullEvent(self, progress));
      };
      p.progress_callback_user_data = this;
    }
    if (state == nullptr) whisper_reset_timings(ctx);
    t0_ = Clock::now();
    int rc;
    if (state != nullptr) rc = whisper_full_with_state(ctx, state, p, pcm_.data(), static_cast<int>(pcm_.size()));
    else if (b_.processors > 1) rc = whisper_full_parallel(ctx, p, pcm_.data(), static_cast<int>(pcm_.size()), b_.processors);
    else rc = whisper_full(ctx, p, pcm_.data(), static_cast<int>(pcm_.size()));
    ms_ = MsSince(t0_);
    if (state == nullptr) {
      // whisper.cpp prints only its default state's timings: a State's have no public accessor
      ScopedLogSink sink(&timingLines_);
      whisper_print_timings(ctx);
    }
    if (target_->abortRequested.load()) { Fail("ABORTED", "transcription aborted"); return; }
    if (rc != 0) { Fail("NATIVE_FAILURE", "whisper_full failed: " + std::to_string(rc)); return; }
    const int n = state ? whisper_full_n_segments_from_state(state) : whisper_full_n_segments(ctx);
    for (int i = 0; i < n; i++) segments_.push_back(ReadSegment(ctx, state, i));
    langId_ = state ? whisper_full_lang_id_from_state(state) : whisper_full_lang_id(ctx);
  }

  void Fill(Napi::Env env, Napi::Object r) override {
    r.Set("ms", ms_);
    r.Set("language", langId_ >= 0 ? Napi::Value(Napi::String::New(env, whisper_lang_str(langId_))) : env.Null());
    Napi::Array segs = Napi::Array::New(env, segments_.size());
    for (size_t i = 0; i < segments_.size(); i++) segs.Set(static_cast<uint32_t>(i), SegmentToJs(env, segments_[i]));
    r.Set("segments", segs);
    r.Set("firstSegmentMs", firstSegmentMs_ >= 0 ? Napi::Value(Napi::Number::New(env, firstSegmentMs_)) : env.Null());
    r.Set("timingLines", LogsToJs(env, timingLines_));
  }

  // JavaScript thread, from FullEvent::Complete
  void Deliver(Napi::Env env, int progress, const std::vector<SegmentData>& segs, double atMs) {
    if (onEvent_.IsEmpty()) return;
    Napi::HandleScope scope(env);
    Napi::Object e = Napi::Object::New(env);
    if (progress >= 0) {
      e.Set("type", "progress");
      e.Set("progress", progress);
    } else {
      e.Set("type", "segments");
      e.Set("atMs", atMs);
      Napi::Array arr = Napi::Array::New(env, segs.size());
      for (size_t i = 0; i < segs.size(); i++) arr.Set(static_cast<uint32_t>(i), SegmentToJs(env, segs[i]));
      e.Set("segments", arr);
    }
    try {
      onEvent_.Call({e});
    } catch (const Napi::Error&) {
      // the TypeScript layer catches its callbacks' errors; nothing reaches the event loop
    }
  }

 private:
  whisper_context** ctxSlot_;
  whisper_state** stateSlot_;
  LogBuffer timingLines_;
  std::vector<float> pcm_;
  FullBaton b_;
  Napi::FunctionReference onEvent_;
  std::chrono::steady_clock::time_point t0_;
  double ms_ = 0;
  double firstSegmentMs_ = -1;
  int langId_ = -1;
  std::vector<SegmentData> segments_;
};

void FullEvent::Complete(Napi::Env env) { job_->Deliver(env, progress_, segments_, atMs_); }

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

// Creates a whisper_state over a model's weights, on the new state's own thread.
class CreateStateJob : public PromiseJob {
 public:
  CreateStateJob(Napi::Env env, std::shared_ptr<Executor> ex, Model* m)
      : PromiseJob(env, std::move(ex)), model_(m), ref_(Napi::Persistent(m->Value())) {}
  void Abandon() override { ref_.SuppressDestruct(); }
  void Run() override {
    whisper_context* ctx = model_->ctx;  // the model cannot be freed while this job holds it (see Dispose)
    if (ctx == nullptr) { Fail("DISPOSED", "model is disposed"); return; }
    {
      std::lock_guard<std::mutex> init(InitMutex());
      state_ = whisper_init_state(ctx);
    }
    if (state_ == nullptr) { Fail("NATIVE_FAILURE", "whisper_init_state failed (out of memory?)"); return; }
    model_->liveStates++;
  }
  void Fill(Napi::Env env, Napi::Object r) override {
    CreatedState cs{model_, state_, executor_};  // read by the constructor during New()
    Napi::Object obj = Data(env)->stateCtor.Value().New({Napi::External<CreatedState>::New(env, &cs)});
    state_ = nullptr;  // owned by the wrapper now
    r.Set("state", obj);
  }
  ~CreateStateJob() override {
    if (state_ != nullptr) FreeState(state_, model_);
  }

 private:
  Model* model_;
  Napi::ObjectReference ref_;
  whisper_state* state_ = nullptr;
};

class FreeStateJob : public TargetJob {
 public:
  FreeStateJob(Napi::Env env, State* s) : TargetJob(env, s, s->Value()), s_(s) {}
  void Run() override {
    std::lock_guard<std::mutex> lock(s_->mu);
    FreeState(s_->state, s_->model);
  }
  void Fill(Napi::Env, Napi::Object) override { s_->executor->Stop(); }

 private:
  State* s_;
};

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
  // the model's compute thread is born here: the load and every later call on the model run on it
  std::shared_ptr<Executor> ex = Executor::Create(env, "whisper-perf:model");
  return (new LoadJob(env, ex, info[0].As<Napi::String>().Utf8Value(), p))->Queue(env);
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

// Parses full()'s arguments into a baton on the JavaScript thread.
static FullBaton ParseFull(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
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
  b.processors = IntOpt(o, "processors", b.processors);
  if (o.Get("language").IsString()) b.language = o.Get("language").As<Napi::String>().Utf8Value();
  if (b.language != "auto" && whisper_lang_id(b.language.c_str()) < 0) ThrowError(env, "INVALID_ARGUMENT", "unknown language: " + b.language);
  b.detectLanguage = BoolOpt(o, "detectLanguage", b.detectLanguage);
  b.translate = BoolOpt(o, "translate", b.translate);
  b.noContext = BoolOpt(o, "noContext", b.noContext);
  b.singleSegment = BoolOpt(o, "singleSegment", b.singleSegment);
  b.noTimestamps = BoolOpt(o, "noTimestamps", b.noTimestamps);
  b.tokenTimestamps = BoolOpt(o, "tokenTimestamps", b.tokenTimestamps);
  b.splitOnWord = BoolOpt(o, "splitOnWord", b.splitOnWord);
  b.suppressBlank = BoolOpt(o, "suppressBlank", b.suppressBlank);
  b.suppressNst = BoolOpt(o, "suppressNst", b.suppressNst);
  b.maxLen = IntOpt(o, "maxLen", b.maxLen);
  b.maxTokens = IntOpt(o, "maxTokens", b.maxTokens);
  b.audioCtx = IntOpt(o, "audioCtx", b.audioCtx);
  b.maxTextCtx = IntOpt(o, "maxTextCtx", b.maxTextCtx);
  b.offsetMs = IntOpt(o, "offsetMs", b.offsetMs);
  b.durationMs = IntOpt(o, "durationMs", b.durationMs);
  b.beamSize = IntOpt(o, "beamSize", b.beamSize);
  b.bestOf = IntOpt(o, "bestOf", b.bestOf);
  b.temperature = FloatOpt(o, "temperature", b.temperature);
  b.temperatureInc = FloatOpt(o, "temperatureInc", b.temperatureInc);
  if (BoolOpt(o, "noFallback", false)) b.temperatureInc = 0.0f;
  b.entropyThold = FloatOpt(o, "entropyThold", b.entropyThold);
  b.logprobThold = FloatOpt(o, "logprobThold", b.logprobThold);
  b.noSpeechThold = FloatOpt(o, "noSpeechThold", b.noSpeechThold);
  if (o.Get("initialPrompt").IsString()) b.initialPrompt = o.Get("initialPrompt").As<Napi::String>().Utf8Value();
  b.wantProgress = BoolOpt(o, "wantProgress", false);
  b.wantSegments = BoolOpt(o, "wantSegments", false);
  if (b.threads < 1 || b.processors < 1 || b.beamSize < 1 || b.bestOf < 1 || b.maxLen < 0 || b.maxTokens < 0 ||
      b.audioCtx < 0 || b.maxTextCtx < 0 || b.offsetMs < 0 || b.durationMs < 0) {
    ThrowError(env, "INVALID_ARGUMENT", "full: an option is out of range");
  }
  return b;
}

static Napi::Function EventCallback(const Napi::CallbackInfo& info) {
  Napi::Value cb = info.Length() > 2 ? info[2] : info.Env().Undefined();
  return cb.IsFunction() ? cb.As<Napi::Function>() : Napi::Function();
}

Napi::Value Model::Full(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  FullBaton b = ParseFull(info);
  abortRequested.store(false);
  return (new FullJob(env, this, Value(), &ctx, nullptr, info[0].As<Napi::Float32Array>(), b, EventCallback(info)))->Queue(env);
}

Napi::Value Model::Bench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
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
  if (whisper_model_n_text_ctx(ctx) < 256 + 5) ThrowError(env, "INVALID_ARGUMENT", "the model's text context is shorter than the bench workload");
  abortRequested.store(false);
  return (new BenchJob(env, this, b))->Queue(env);
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

Napi::Value Model::CreateState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EnsureAlive(env);
  // a state computes on its own thread, beside the model's and every other state's
  std::shared_ptr<Executor> ex = Executor::Create(env, "whisper-perf:state");
  return (new CreateStateJob(env, ex, this))->Queue(env);
}

// ---- State -------------------------------------------------------------------------

Napi::Function State::Define(Napi::Env env) {
  return DefineClass(env, "NativeState", {
      InstanceMethod<&State::Full>("full"),
      InstanceMethod<&State::Abort>("abort"),
      InstanceMethod<&State::Dispose>("dispose"),
      InstanceMethod<&State::IsDisposed>("isDisposed"),
      InstanceMethod<&State::ThreadId>("threadId"),
  });
}

State::State(const Napi::CallbackInfo& info) : Napi::ObjectWrap<State>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) {
    ThrowError(info.Env(), "INVALID_ARGUMENT", "NativeState cannot be constructed directly: use model.createState()");
  }
  const CreatedState* cs = info[0].As<Napi::External<CreatedState>>().Data();
  model = cs->model;
  state = cs->state;
  executor = cs->executor;
  modelRef_ = Napi::Persistent(model->Value());
}

// Finalizer path: no job is queued (each holds a reference to this wrapper); the model is still
// alive (this wrapper referenced it until now).
State::~State() {
  if (executor) executor->Stop();
  std::lock_guard<std::mutex> lock(mu);
  FreeState(state, model);
}

Napi::Value State::Full(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_ || state == nullptr) ThrowError(env, "DISPOSED", "state is disposed");
  FullBaton b = ParseFull(info);
  b.processors = 1;  // whisper_full_parallel works on the default state only
  abortRequested.store(false);
  return (new FullJob(env, this, Value(), &model->ctx, &state, info[0].As<Napi::Float32Array>(), b, EventCallback(info)))->Queue(env);
}

Napi::Value State::Abort(const Napi::CallbackInfo& info) {
  abortRequested.store(true);
  return info.Env().Undefined();
}

Napi::Value State::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (disposed_) ThrowError(env, "DISPOSED", "state is already disposed");
  disposed_ = true;
  abortRequested.store(true);
  return (new FreeStateJob(env, this))->Queue(env);
}

Napi::Value State::IsDisposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

Napi::Value State::ThreadId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(executor ? executor->ThreadId() : 0));
}

Napi::Value Model::ThreadId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(executor ? executor->ThreadId() : 0));
}

}  // namespace wp
