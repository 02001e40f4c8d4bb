// whisper-perf-native-bench: the native side of `npm run bench:parity`.
//
// A plain C++ process linked with the same whisper.cpp/ggml libraries and flags as the addon. It
// loads a model, then runs whisper-bench's workload in short chunks on request, so that the
// addon and native whisper.cpp can take turns within a second (paired, drift-free comparisons)
// instead of once per whole whisper-bench process. The chunk is the addon's own loop
// (binding/bench_loop.h), so both sides make exactly the same whisper.cpp calls.
//
// usage: whisper-perf-native-bench -m MODEL [-t N] [-nfa] [-ng] [--on-thread]
// then one command per line on stdin, one JSON line per command on stdout:
//   run HEAT HEAT_DECODES N_ENCODE N_DECODE N_BATCH N_PROMPT   → the chunk's timings
//   load                                                      → a fresh model: the current one freed
//                                                               and trimmed (as the addon's dispose does),
//                                                               the file loaded again; its load time, ms
//   quit
// system_info goes to stderr in whisper-bench's format. --on-thread runs everything on a second
// thread instead of the main one, as the addon's compute thread does (glibc then serves its
// allocations from a non-main malloc arena, as in the addon).
#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "../binding/bench_loop.h"
#include "whisper.h"

static void Quiet(enum ggml_log_level, const char*, void*) {}

static void Usage() {
  std::fprintf(stderr, "usage: whisper-perf-native-bench -m MODEL [-t N] [-nfa] [-ng] [--on-thread]\n");
}

static int Serve(const std::string& model, int threads, whisper_context_params cp);

int main(int argc, char** argv) {
  std::string model;
  int threads = 4;
  bool onThread = false;
  whisper_context_params cp = whisper_context_default_params();
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "-m" && i + 1 < argc) model = argv[++i];
    else if (a == "-t" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "-nfa") cp.flash_attn = false;
    else if (a == "-ng") cp.use_gpu = false;
    else if (a == "--on-thread") onThread = true;
    else { Usage(); return 2; }
  }
  if (model.empty() || threads < 1) { Usage(); return 2; }
  whisper_log_set(Quiet, nullptr);
  if (!onThread) return Serve(model, threads, cp);
  int rc = 0;
  std::thread t([&] { rc = Serve(model, threads, cp); });
  t.join();
  return rc;
}

static int Serve(const std::string& model, int threads, whisper_context_params cp) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  whisper_context* ctx = whisper_init_from_file_with_params(model.c_str(), cp);
  const double loadMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (ctx == nullptr) {
    std::fprintf(stderr, "error: failed to load %s\n", model.c_str());
    return 1;
  }
  std::fprintf(stderr, "system_info: n_threads = %d / %d | %s\n", threads, (int)std::thread::hardware_concurrency(),
               whisper_print_system_info());
  std::printf("{\"ready\":true,\"loadMs\":%.6f}\n", loadMs);
  std::fflush(stdout);

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "quit") break;
    if (cmd == "load") {
      // fresh mode: the later runs compute on a model loaded for them, as the addon's side does
      whisper_free(ctx);
      ctx = nullptr;
      malloc_trim(0);
      t0 = Clock::now();
      ctx = whisper_init_from_file_with_params(model.c_str(), cp);
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (ctx == nullptr) {
        std::printf("{\"error\":\"load failed\"}\n");
      } else {
        std::printf("{\"loadMs\":%.6f}\n", ms);
      }
    } else if (cmd == "run" && ctx == nullptr) {
      std::printf("{\"error\":\"no model: the last load failed\"}\n");
    } else if (cmd == "run") {
      wp::BenchSpec s;
      s.threads = threads;
      if (!(in >> s.heat >> s.heatDecodes >> s.nEncode >> s.nDecode >> s.nBatch >> s.nPrompt) || s.nDecode > 256 ||
          s.heatDecodes > 256) {
        std::printf("{\"error\":\"usage: run HEAT HEAT_DECODES N_ENCODE N_DECODE N_BATCH N_PROMPT\"}\n");
        std::fflush(stdout);
        continue;
      }
      wp::BenchOutcome o;
      wp::RunBenchLoop(ctx, s, o, [] { return false; });
      if (!o.error.empty() || !o.haveTimings) {
        std::printf("{\"error\":\"%s\"}\n", o.error.empty() ? "no timings" : o.error.c_str());
      } else {
        const double n[4] = {double(s.nEncode), double(s.nDecode), double(s.nBatch) * 5, double(s.nPrompt) * 256};
        auto per = [&](int i) { return n[i] > 0 ? o.wallMs[i] / n[i] : 0.0; };
        std::printf(
            "{\"perRunMs\":{\"encode\":%.6f,\"decode\":%.6f,\"batchd\":%.6f,\"prompt\":%.6f},"
            "\"wallPerRunMs\":{\"encode\":%.6f,\"decode\":%.6f,\"batchd\":%.6f,\"prompt\":%.6f},"
            "\"measuredCpuMs\":%.3f,\"heatMs\":%.3f}\n",
            o.timings.encode_ms, o.timings.decode_ms, o.timings.batchd_ms, o.timings.prompt_ms, per(0), per(1), per(2),
            per(3), o.cpuMs, o.heatMs);
      }
    } else if (!cmd.empty()) {
      std::printf("{\"error\":\"unknown command\"}\n");
    }
    std::fflush(stdout);
  }
  if (ctx != nullptr) whisper_free(ctx);
  return 0;
}
