// Executor: a job queue drained by one native thread; results go back through a
// thread-safe function. See executor.h for why.
#include "executor.h"

#include <algorithm>

#include <sys/syscall.h>
#include <unistd.h>


namespace wp {

std::atomic<int> g_liveExecutors{0};

namespace {
// Every executor not yet joined, with its environment (for StopAll). Guarded by g_registryMu:
// worker threads create and stop executors of their own environments concurrently.
std::mutex g_registryMu;
std::vector<std::weak_ptr<Executor>> g_registry;
}  // namespace

std::shared_ptr<Executor> Executor::Create(Napi::Env env, const std::string& name) {
  std::shared_ptr<Executor> ex(new Executor());
  ex->env_ = env;
  napi_value resourceName;
  napi_create_string_utf8(env, name.c_str(), NAPI_AUTO_LENGTH, &resourceName);
  // no JavaScript function: CallJs completes the job itself; one thread (the executor's)
  if (napi_create_threadsafe_function(env, nullptr, nullptr, resourceName, 0, 1, nullptr, nullptr, ex.get(), CallJs,
                                      &ex->tsfn_) != napi_ok) {
    throw Napi::Error::New(env, "could not create the executor's thread-safe function");
  }
  // idle executors do not keep the process alive; Submit refs it while jobs are pending
  napi_unref_threadsafe_function(env, ex->tsfn_);
  // runs before the thread-safe function is torn down (hooks run in reverse order of registration)
  if (napi_add_env_cleanup_hook(env, CleanupHook, ex.get()) == napi_ok) ex->hookAdded_ = true;
  Executor* raw = ex.get();
  ex->thread_ = std::thread([raw] { raw->Loop(); });
  g_liveExecutors++;
  {
    std::lock_guard<std::mutex> lock(g_registryMu);
    // drop the entries of executors already gone, so the list stays as long as the live ones
    g_registry.erase(std::remove_if(g_registry.begin(), g_registry.end(),
                                    [](const std::weak_ptr<Executor>& w) { return w.expired(); }),
                     g_registry.end());
    g_registry.push_back(ex);
  }
  return ex;
}

Executor::~Executor() { Join(false); }

bool Executor::Submit(Job* job) {
  if (stopped_) return false;
  if (pending_++ == 0) napi_ref_threadsafe_function(env_, tsfn_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job);
  }
  cv_.notify_one();
  return true;
}

void Executor::Post(Event* event) {
  // after napi_closing the thread-safe function must not be touched again
  if (closing_ || napi_call_threadsafe_function(tsfn_, event, napi_tsfn_nonblocking) != napi_ok) {
    closing_ = true;
    delete event;
  }
}

void Executor::Stop() {
  auto self = weak_from_this().lock();  // leftovers freed by Join may hold the last reference
  Join(false);
}

void Executor::Loop() {
  tid_.store(static_cast<long>(syscall(SYS_gettid)));
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopRequested_ || !queue_.empty(); });
      if (queue_.empty() || abandonQueued_) break;  // stop once drained, or at once on teardown
      job = queue_.front();
      queue_.pop_front();
      running_ = job;
    }
    job->Execute();
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = nullptr;
    }
    if (closing_ || napi_call_threadsafe_function(tsfn_, job, napi_tsfn_nonblocking) != napi_ok) {
      // the environment is closing: the job is freed on the JavaScript thread after the join
      closing_ = true;
      std::lock_guard<std::mutex> lock(mu_);
      leftovers_.push_back(job);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Job* j : queue_) leftovers_.push_back(j);
    queue_.clear();
  }
  // after napi_closing the thread-safe function must not be touched again
  if (!closing_) napi_release_threadsafe_function(tsfn_, napi_tsfn_release);
}

void Executor::RequestEnd(bool abandonQueued) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopRequested_ = true;
    if (abandonQueued) {
      abandonQueued_ = true;
      if (running_ != nullptr) running_->RequestStop();
    }
  }
  cv_.notify_all();
}

void Executor::Join(bool abandonQueued) {
  if (stopped_) return;
  stopped_ = true;
  RequestEnd(abandonQueued);
  if (thread_.joinable()) thread_.join();
  g_liveExecutors--;
  if (hookAdded_) {
    napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    hookAdded_ = false;
  }
  std::vector<Job*> left;
  left.swap(leftovers_);
  for (Job* j : left) {
    j->Abandon();
    delete j;
  }
}

void Executor::StopAll(napi_env env) {
  std::vector<std::shared_ptr<Executor>> mine;
  {
    std::lock_guard<std::mutex> lock(g_registryMu);
    for (auto& w : g_registry) {
      auto ex = w.lock();
      if (ex && ex->env_ == env) mine.push_back(std::move(ex));
    }
  }
  // ask every one to end before joining any, so their running jobs wind down together
  for (auto& ex : mine) {
    if (!ex->stopped_) ex->RequestEnd(true);
  }
  for (auto& ex : mine) ex->Join(true);
}

void Executor::CallJs(napi_env env, napi_value /*js_cb*/, void* context, void* data) {
  Job* job = static_cast<Job*>(data);
  if (env == nullptr) {
    // the thread-safe function is being finalized with this job still queued: no JavaScript
    job->Abandon();
    delete job;
    return;
  }
  auto* ex = static_cast<Executor*>(context);
  try {
    job->Complete(Napi::Env(env));
  } catch (...) {
    // Complete settles its own promise; nothing may escape into the event loop
  }
  if (job->IsEvent()) {
    delete job;
    return;
  }
  if (--ex->pending_ == 0) napi_unref_threadsafe_function(env, ex->tsfn_);
  delete job;  // may drop the last reference to the executor: nothing touches `ex` after this
}

void Executor::CleanupHook(void* arg) {
  auto* ex = static_cast<Executor*>(arg);
  auto self = ex->weak_from_this().lock();
  if (!self) return;
  ex->hookAdded_ = false;  // being run: nothing to remove
  ex->Join(true);
}

}  // namespace wp
