// whisper-bench's workload (examples/bench/bench.cpp) as one function, shared by the addon's
// bench job and bench/native-bench.cc, so both sides of bench:parity run the same calls:
// `heat` heat-up loops (encode, a 256-token prompt, `heatDecodes` single-token decodes, a
// 5-token batch), a timing reset, then `nEncode` encodes, `nDecode` single-token decodes at
// n_past 0, 1, 2 ..., `nBatch` 5-token decodes and `nPrompt` 256-token decodes.
//
// `inject` (a fraction, for bench:parity's self-check only) busy-waits after every measured call
// for that fraction of the call's own duration, inside the measured wall time: a known slowdown.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <string>

#include "set_mel.h"
#include "whisper.h"

namespace wp {

struct BenchSpec {
  int threads = 4;
  int heat = 2;
  int heatDecodes = 256;
  int nEncode = 1;
  int nDecode = 256;
  int nBatch = 64;
  int nPrompt = 16;
  double inject = 0;
};

enum BenchStage { kEncode = 0, kDecode = 1, kBatchd = 2, kPrompt = 3 };

struct BenchOutcome {
  std::string error;           // empty when every call succeeded
  bool aborted = false;
  double heatMs = 0;
  double wallMs[4] = {0, 0, 0, 0};  // wall time of each stage's calls, summed
  double cpuMs = 0;            // process CPU time (all threads) during the measured part
  whisper_timings timings{};   // whisper.cpp's own, for the measured part
  bool haveTimings = false;
};

inline double ProcessCpuMs() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

// `aborted()` is polled between calls; returns false when the loop should stop.
template <typename AbortFn>
void RunBenchLoop(whisper_context* ctx, const BenchSpec& s, BenchOutcome& out, AbortFn aborted) {
  using Clock = std::chrono::steady_clock;
  const int nt = s.threads;
  whisper_token tokens[512] = {0};
  auto ok = [&](int rc, const char* what) {
    if (aborted()) { out.aborted = true; return false; }
    if (rc != 0) { out.error = std::string(what) + " failed: " + std::to_string(rc); return false; }
    return true;
  };
  // one measured call: its wall time (plus the injected share) added to the stage
  auto timed = [&](BenchStage stage, auto call) {
    const auto t0 = Clock::now();
    const int rc = call();
    if (s.inject > 0) {
      const auto d = Clock::now() - t0;
      const auto until = t0 + d + std::chrono::duration_cast<Clock::duration>(d * s.inject);
      while (Clock::now() < until) {
      }
    }
    out.wallMs[stage] += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return rc;
  };

  // (whisper-bench calls whisper_set_mel(ctx, nullptr, 0, n_mel): the same state, see set_mel.h)
  if (!ok(SetMelNoNull(ctx, nullptr, 0, whisper_model_n_mels(ctx)), "whisper_set_mel")) return;
  const auto th = Clock::now();
  for (int h = 0; h < s.heat; ++h) {
    if (!ok(whisper_encode(ctx, 0, nt), "whisper_encode")) return;
    if (!ok(whisper_decode(ctx, tokens, 256, 0, nt), "whisper_decode")) return;
    for (int i = 0; i < s.heatDecodes; i++) if (!ok(whisper_decode(ctx, tokens, 1, i, nt), "whisper_decode")) return;
    if (!ok(whisper_decode(ctx, tokens, 5, 0, nt), "whisper_decode")) return;
  }
  out.heatMs = std::chrono::duration<double, std::milli>(Clock::now() - th).count();
  whisper_reset_timings(ctx);

  const double cpu0 = ProcessCpuMs();
  for (int i = 0; i < s.nEncode; i++) {
    if (!ok(timed(kEncode, [&] { return whisper_encode(ctx, 0, nt); }), "whisper_encode")) return;
  }
  for (int i = 0; i < s.nDecode; i++) {
    if (!ok(timed(kDecode, [&] { return whisper_decode(ctx, tokens, 1, i, nt); }), "whisper_decode")) return;
  }
  for (int i = 0; i < s.nBatch; i++) {
    if (!ok(timed(kBatchd, [&] { return whisper_decode(ctx, tokens, 5, 0, nt); }), "whisper_decode")) return;
  }
  for (int i = 0; i < s.nPrompt; i++) {
    if (!ok(timed(kPrompt, [&] { return whisper_decode(ctx, tokens, 256, 0, nt); }), "whisper_decode")) return;
  }
  out.cpuMs = ProcessCpuMs() - cpu0;

  whisper_timings* t = whisper_get_timings(ctx);  // allocated by whisper.cpp: ours to free
  if (t != nullptr) {
    out.timings = *t;
    out.haveTimings = true;
    delete t;
  }
}

}  // namespace wp
