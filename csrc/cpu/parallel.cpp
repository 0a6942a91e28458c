// The thread pool behind parallel_for (csrc/cpu/parallel.h).
#include "cpu/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

namespace dh {

namespace {

// One parallel_for call: chunks are claimed from `next`; `done` counts finished ones.
struct Job {
  const std::function<void(int, int)>* fn;
  int n, grain, chunks;
  std::atomic<int> next{0}, done{0};
  std::mutex m;
  std::condition_variable finished;

  // Claim and run chunks until none is left.
  void work() {
    for (int c = next.fetch_add(1); c < chunks; c = next.fetch_add(1)) {
      (*fn)(c * grain, std::min(n, (c + 1) * grain));
      if (done.fetch_add(1) + 1 == chunks) {
        std::lock_guard<std::mutex> lock(m);
        finished.notify_all();
      }
    }
  }
};

int configured_threads() {
  for (const char* name : {"DHSDK_NUM_THREADS", "OMP_NUM_THREADS"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && std::atoi(v) > 0) return std::atoi(v);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads; ++i) std::thread([this] { loop(); }).detach();
  }

  int threads() const { return threads_; }

  void run(const std::shared_ptr<Job>& job) {
    {
      std::lock_guard<std::mutex> lock(m_);
      job_ = job;
      ++generation_;
    }
    wake_.notify_all();
    job->work();
    std::unique_lock<std::mutex> lock(job->m);
    job->finished.wait(lock, [&] { return job->done.load() == job->chunks; });
  }

 private:
  // Pool threads: wait for a new job, help with it, repeat (never exit: the pool lives as long
  // as the process; a late thread finds the chunks taken and goes back to waiting).
  void loop() {
    unsigned long long seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(m_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
      }
      if (job) job->work();
    }
  }

  int threads_;
  std::mutex m_;
  std::condition_variable wake_;
  std::shared_ptr<Job> job_;
  unsigned long long generation_ = 0;
};

Pool& pool() {
  static Pool* p = new Pool(configured_threads());  // never destroyed: its threads outlive main
  return *p;
}

// The process that started the pool: a forked child has none of its threads (and maybe a lock
// held by one), so it runs everything on the caller.
const pid_t kPoolPid = getpid();

}  // namespace

int parallel_threads() { return pool().threads(); }

void parallel_for(int n, int grain, const std::function<void(int, int)>& fn) {
  if (n <= 0) return;
  grain = std::max(1, grain);
  const int chunks = (n + grain - 1) / grain;
  if (chunks == 1 || pool().threads() == 1 || getpid() != kPoolPid) {
    fn(0, n);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  job->grain = grain;
  job->chunks = chunks;
  pool().run(job);
}

}  // namespace dh
