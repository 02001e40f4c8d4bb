// Executor: one native thread that runs every compute job of one whisper state, in order.
//
// Why: ggml's CPU backend (OpenMP) makes the thread that computes a graph the master of an
// OpenMP team. Jobs run on whichever libuv pool thread is free would gather one team per pool
// thread, and their idle threads spin against the team doing the work (measured: 1-token decode
// at 2 threads on 2 cores ran twice as slow as whisper-bench). One home thread per state keeps one
// team, as in whisper.cpp's own programs.
//
// Jobs are submitted on the JavaScript thread, run on the executor's thread, and completed back
// on the JavaScript thread through a thread-safe function (no libuv pool thread is involved).
// The event loop is kept alive only while jobs are pending.
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wp {

class Executor;

// Executors whose thread has not been joined yet, process-wide (for leak tests).
extern std::atomic<int> g_liveExecutors;

class Job {
 public:
  virtual ~Job() = default;
  // On the executor thread. Never touches V8.
  virtual void Execute() = 0;
  // On the JavaScript thread, after Execute.
  virtual void Complete(Napi::Env env) = 0;
  // The environment is going away: drop JavaScript handles without using them.
  virtual void Abandon() {}
  // From the JavaScript thread while Execute runs: ask it to stop early (where it can).
  virtual void RequestStop() {}
  // An event (see Event) rather than a job: not counted as pending, never executed.
  virtual bool IsEvent() const { return false; }
};

// A message from a running job to the JavaScript thread (progress, a new segment), posted with
// Executor::Post from the executor thread. Delivered in order, so always before the completion
// of the job that posted it: it may point at that job. It must hold no JavaScript handles.
class Event : public Job {
 public:
  void Execute() final {}
  bool IsEvent() const final { return true; }
};

class Executor : public std::enable_shared_from_this<Executor> {
 public:
  // Creates the thread. JavaScript thread only.
  static std::shared_ptr<Executor> Create(Napi::Env env, const std::string& name);
  ~Executor();

  // Queues a job (takes ownership). JavaScript thread only. False (the job not taken) once stopped.
  bool Submit(Job* job);
  // Posts an event to the JavaScript thread (takes ownership). Executor thread only, from inside
  // a running job; never blocks. Dropped when the environment is closing.
  void Post(Event* event);
  // Stops the thread after the jobs already queued, and joins it. JavaScript thread only;
  // idempotent. Jobs submitted afterwards are rejected by their own Complete with DISPOSED.
  void Stop();
  // Stops every executor of this environment at once: each running job is asked to stop, queued
  // jobs are abandoned, and the threads are joined. JavaScript thread of `env` only. For process
  // exit: the main thread's exit() runs static destructors (ggml's among them) without the
  // environment's cleanup hooks, so a compute thread still running then reads freed memory.
  static void StopAll(napi_env env);
  // OS thread id of the executor thread (0 before it started).
  long ThreadId() const { return tid_.load(); }
  // Jobs submitted and not yet completed (JavaScript thread only).
  size_t Pending() const { return pending_; }
  bool Stopped() const { return stopped_; }

 private:
  Executor() = default;
  void Loop();
  // Asks the thread to end once the queue is drained or, with abandonQueued, after the running
  // job (asked to stop early); does not wait. JavaScript thread only.
  void RequestEnd(bool abandonQueued);
  void Join(bool abandonQueued);
  static void CallJs(napi_env env, napi_value js_cb, void* context, void* data);
  static void CleanupHook(void* arg);

  napi_env env_ = nullptr;
  napi_threadsafe_function tsfn_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  Job* running_ = nullptr;
  bool stopRequested_ = false;
  bool abandonQueued_ = false;
  std::vector<Job*> leftovers_;  // jobs the thread could not hand back (teardown): freed after join
  std::atomic<long> tid_{0};
  bool closing_ = false;  // executor thread only: the thread-safe function answered napi_closing
  size_t pending_ = 0;
  bool stopped_ = false;
  bool hookAdded_ = false;
};

}  // namespace wp
