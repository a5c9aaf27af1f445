// The native implementation of the threading interface (parallel.h): a persistent thread pool of
// N-1 worker threads plus the calling thread. A job is published by bumping a generation counter;
// workers spin briefly on it and then sleep on a condition variable; task t runs on thread t.
// Also owns the per-task grow-only scratch buffers (allocated outside hot loops) and the calling
// thread's buffers (thread_local: several JS threads may call the addon).
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PAR_PAUSE() _mm_pause()
#else
#define PAR_PAUSE() std::this_thread::yield()
#endif

namespace par {
namespace {

struct AlignedBuf {
  float* p = nullptr;
  std::size_t cap = 0;
  ~AlignedBuf() { std::free(p); }
  void reserve(std::size_t n) {
    if (n <= cap) return;
    std::size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    void* q = std::aligned_alloc(64, bytes);
    if (!q) throw std::bad_alloc();
    std::free(p);
    p = static_cast<float*>(q);
    cap = n;
  }
};

struct ThreadScratch {
  AlignedBuf slots[kScratchSlots];
};

thread_local int tl_tid = 0;
thread_local bool tl_in_region = false;
// Bytes of the calling thread's buffers, rounded up to whole AlignedBuf floats.
thread_local AlignedBuf tl_caller[kCallerSlots];

class Pool {
 public:
  Pool() {
    int n = int(std::thread::hardware_concurrency());
    if (n < 1) n = 1;
    if (const char* e = std::getenv("PERCEIVER_AR_THREADS")) {
      int v = std::atoi(e);
      if (v >= 1) n = v;
    }
    if (n > 256) n = 256;
    start(n);
  }
  ~Pool() { stop(); }

  int threads() const { return nthreads_; }

  void set_threads(int n) {
    if (n < 1) n = 1;
    if (n > 256) n = 256;
    std::lock_guard<std::mutex> g(run_mu_);
    if (n == nthreads_) return;
    stop();
    start(n);
  }

  void run(int n, void (*fn)(void*, int), void* ctx) {
    if (tl_in_region) {  // nested: run serially on this thread
      for (int t = 0; t < n; t++) fn(ctx, tl_tid);
      return;
    }
    std::lock_guard<std::mutex> g(run_mu_);
    if (n > nthreads_) n = nthreads_;
    if (n <= 1) {
      tl_in_region = true;
      tl_tid = 0;
      fn(ctx, 0);
      tl_in_region = false;
      return;
    }
    fn_ = fn;
    ctx_ = ctx;
    active_ = n;
    remaining_.store(nthreads_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    tl_in_region = true;
    tl_tid = 0;
    fn(ctx, 0);
    tl_in_region = false;
    // Wait for the workers: spin first, then sleep.
    for (int i = 0; i < 4000 && remaining_.load(std::memory_order_acquire) != 0; i++) PAR_PAUSE();
    if (remaining_.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, [&] { return remaining_.load(std::memory_order_acquire) == 0; });
    }
  }

  void reserve(int slot, std::size_t n) {
    for (auto& s : scratch_) s->slots[slot].reserve(n);
  }
  float* get(int tid, int slot) { return scratch_[tid]->slots[slot].p; }

 private:
  void start(int n) {
    nthreads_ = n;
    stop_flag_.store(false);
    scratch_.clear();
    for (int i = 0; i < n; i++) scratch_.emplace_back(new ThreadScratch());
    const std::uint64_t g0 = gen_.load(std::memory_order_acquire);
    for (int t = 1; t < n; t++) workers_.emplace_back([this, t, g0] { worker(t, g0); });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_flag_.store(true);
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }
  void worker(int tid, std::uint64_t seen) {
    tl_tid = tid;
    for (;;) {
      std::uint64_t g = gen_.load(std::memory_order_acquire);
      for (int i = 0; g == seen && i < 4000; i++) {
        PAR_PAUSE();
        g = gen_.load(std::memory_order_acquire);
      }
      if (g == seen) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
        g = gen_.load(std::memory_order_acquire);
      }
      seen = g;
      if (stop_flag_.load()) return;
      if (tid < active_) {
        tl_in_region = true;
        fn_(ctx_, tid);
        tl_in_region = false;
      }
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(mu_);
        done_cv_.notify_one();
      }
    }
  }

  int nthreads_ = 1;
  std::vector<std::thread> workers_;
  std::vector<std::unique_ptr<ThreadScratch>> scratch_;
  std::mutex run_mu_;  // serialises jobs (several JS threads may share the addon)
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::atomic<std::uint64_t> gen_{0};
  std::atomic<int> remaining_{0};
  std::atomic<bool> stop_flag_{false};
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  int active_ = 0;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

int num_threads() { return pool().threads(); }
void set_num_threads(int n) { pool().set_threads(n); }
void run_parallel(int n, void (*fn)(void*, int), void* ctx) { pool().run(n, fn, ctx); }
int current_tid() { return tl_tid; }
bool in_parallel_region() { return tl_in_region; }
void reserve_scratch(int slot, std::size_t floats) { pool().reserve(slot, floats); }
float* scratch(int tid, int slot) { return pool().get(tid, slot); }
void* caller_buffer(int slot, size_t bytes) {
  AlignedBuf& b = tl_caller[slot];
  b.reserve((bytes + sizeof(float) - 1) / sizeof(float));
  return b.p;
}

}  // namespace par
