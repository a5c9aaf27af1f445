// The native implementation of the threading interface (parallel.h): a persistent thread pool of
// N-1 worker threads plus the calling thread. A job is published by bumping a generation counter;
// workers spin briefly on it and then sleep on a condition variable. Task t runs on worker t if
// the worker starts it before the calling thread, done with task 0, claims it: each task's slot
// goes from pending to running (its worker) or taken (the caller), whichever comes first. So the
// caller never waits for a worker still waking up (a futex wake-up costs tens of µs here, against
// regions of 50-500 µs in a training step); it waits only for tasks a worker has begun. The
// kernels' regions share their work through counters (parallel_for, the GEMM's row chunks), so a
// task begun late finds little or nothing left.
// Counters of how the regions went (threadpool.h, read by bench/step-profile.ts) cost a relaxed
// atomic add or two per region.
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
#include "threadpool.h"

namespace par {
namespace {

// One poll of a spin-wait: the CPU's pause hint (parallel.h) where there is one, else a yield.
inline void poll_pause() {
#if defined(__x86_64__) || defined(__i386__)
  spin_pause();
#else
  std::this_thread::yield();
#endif
}

struct Counters {
  std::atomic<std::uint64_t> regions{0}, helper_tasks{0}, caller_taken_tasks{0},
      helpers_parked_at_publish{0};
};
Counters g_counters;

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
    const std::uint64_t job = ++job_;
    g_counters.regions.fetch_add(1, std::memory_order_relaxed);
    g_counters.helpers_parked_at_publish.fetch_add(parked_.load(std::memory_order_relaxed),
                                                   std::memory_order_relaxed);
    // Released after fn_ and ctx_: a worker that wins its slot's pending state sees them.
    for (int t = 1; t < n; t++) slots_[t].state.store(job * kStates + kPending, std::memory_order_release);
    {
      std::lock_guard<std::mutex> lk(mu_);
      gen_.fetch_add(1, std::memory_order_release);
    }
    cv_.notify_all();
    tl_in_region = true;
    tl_tid = 0;
    fn(ctx, 0);
    for (int t = 1; t < n; t++) {
      std::uint64_t pending = job * kStates + kPending;
      if (slots_[t].state.compare_exchange_strong(pending, job * kStates + kTaken,
                                                  std::memory_order_acq_rel)) {
        g_counters.caller_taken_tasks.fetch_add(1, std::memory_order_relaxed);
        tl_tid = t;  // the worker has not begun: the caller runs task t (its scratch is free)
        fn(ctx, t);
        continue;
      }
      // Begun by its worker: wait for it, spinning first, then sleeping.
      const std::uint64_t done = job * kStates + kDone;
      auto finished = [&] { return slots_[t].state.load(std::memory_order_acquire) == done; };
      for (int i = 0; i < kSpinPauses && !finished(); i++) poll_pause();
      if (!finished()) {
        std::unique_lock<std::mutex> lk(mu_);
        done_cv_.wait(lk, finished);
      }
    }
    tl_tid = 0;
    tl_in_region = false;
  }

  void reserve(int slot, std::size_t n) {
    for (auto& s : scratch_) s->slots[slot].reserve(n);
  }
  float* get(int tid, int slot) { return scratch_[tid]->slots[slot].p; }

 private:
  void start(int n) {
    nthreads_ = n;
    slots_.reset(new Slot[n]);
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
      for (int i = 0; g == seen && i < kSpinPauses; i++) {
        poll_pause();
        g = gen_.load(std::memory_order_acquire);
      }
      if (g == seen) {
        parked_.fetch_add(1, std::memory_order_relaxed);
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_.load(std::memory_order_acquire) != seen; });
        g = gen_.load(std::memory_order_acquire);
        parked_.fetch_sub(1, std::memory_order_relaxed);
      }
      seen = g;
      if (stop_flag_.load()) return;
      // The latest job's slot (a job published since `g` was read is fine too: its state says
      // which): pending -> running, unless the caller took the task or it is not in the job.
      std::atomic<std::uint64_t>& state = slots_[tid].state;
      std::uint64_t s = state.load(std::memory_order_acquire);
      if (s % kStates != kPending ||
          !state.compare_exchange_strong(s, s - kPending + kRunning, std::memory_order_acq_rel))
        continue;
      g_counters.helper_tasks.fetch_add(1, std::memory_order_relaxed);
      tl_in_region = true;
      fn_(ctx_, tid);
      tl_in_region = false;
      {
        std::lock_guard<std::mutex> lk(mu_);
        state.store(s - kPending + kDone, std::memory_order_release);
      }
      done_cv_.notify_one();
    }
  }

  // A task's slot: job number · kStates + its state in that job.
  static constexpr std::uint64_t kStates = 4, kPending = 0, kRunning = 1, kDone = 2, kTaken = 3;
  // Busy-wait before sleeping (a worker for the next job, the caller for a begun task): 4000
  // pauses, ~120-190 µs on this Zen 3 VM (a pause measured at 30-48 ns). In a standard step at N
  // 4,096 the worker is still asleep at ~25% of the regions' publications (the pool counters),
  // but spinning longer does not pay: 2 ms spins (time-bounded; also with the spin cut short for
  // 100 ms after a thread found itself descheduled for > 0.5 ms, or after any involuntary
  // context switch) gave 260-316 ms against 258-287 ms for this spin on the quiet machine, and
  // 514-653 ms against 399-506 ms with another process busy on one core, where a spinning worker
  // takes time slices from the calling thread (3 interleaved runs each, 5 steps after 2 warm-ups).
  static constexpr int kSpinPauses = 4000;
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> state{0};
  };

  int nthreads_ = 1;
  std::unique_ptr<Slot[]> slots_;
  std::uint64_t job_ = 0;  // jobs published (under run_mu_)
  std::vector<std::thread> workers_;
  std::vector<std::unique_ptr<ThreadScratch>> scratch_;
  std::mutex run_mu_;  // serialises jobs (several JS threads may share the addon)
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::atomic<std::uint64_t> gen_{0};
  std::atomic<int> parked_{0};  // workers asleep on cv_
  std::atomic<bool> stop_flag_{false};
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

PoolCounters pool_counters() {
  return {g_counters.regions.load(), g_counters.helper_tasks.load(),
          g_counters.caller_taken_tasks.load(), g_counters.helpers_parked_at_publish.load()};
}

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
