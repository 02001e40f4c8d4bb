// whisper_full as a job (see full_job.h).
#include "full_job.h"

#include <algorithm>
#include <string>
#include <vector>

#include "jobs.h"

namespace wp {

namespace {

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

// Parses full()'s arguments into a baton on the JavaScript thread.
FullBaton ParseFull(const Napi::CallbackInfo& info) {
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

Napi::Function EventCallback(const Napi::CallbackInfo& info) {
  Napi::Value cb = info.Length() > 2 ? info[2] : info.Env().Undefined();
  return cb.IsFunction() ? cb.As<Napi::Function>() : Napi::Function();
}

}  // namespace

Napi::Value QueueFull(const Napi::CallbackInfo& info, Target* target, Napi::Object holder, whisper_context** ctxSlot,
                      whisper_state** stateSlot) {
  Napi::Env env = info.Env();
  FullBaton b = ParseFull(info);
  if (stateSlot != nullptr) b.processors = 1;  // whisper_full_parallel works on the default state only
  target->abortRequested.store(false);
  return (new FullJob(env, target, holder, ctxSlot, stateSlot, info[0].As<Napi::Float32Array>(), b, EventCallback(info)))->Queue(env);
}

}  // namespace wp
