// The threading and scratch interface every kernel is written against: a parallel region of n
// tasks, a dynamic parallel-for on top of it, per-task scratch and caller-thread buffers. Two
// implementations: the native thread pool (threadpool.cc) and the WebAssembly runtime, whose
// helpers are Web Workers / worker_threads parked on a shared memory
// (src/backend/wasm/csrc/runtime.cc).
//
// Contract of a parallel region `run_parallel(n, fn, ctx)`: fn(ctx, t) runs exactly once for every
// task t in [0, n) (n clamped to num_threads()), on the calling thread and the helpers, and the
// call returns when all have returned. The calling thread runs task 0 and then any task no helper
// has begun yet, so a region never waits for a helper that is late or parked. `t` names
// the scratch the task may use: no two tasks of a region run with the same t, so scratch(t, slot)
// is private to the task. Nested regions (a task calling run_parallel) run serially in the task,
// with its t. Kernels must not depend on which thread runs which task, nor on num_threads(),
// except for speed: every reduction is ordered by the shape alone (the determinism rule of
// backend.ts).
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "isa.h"  // i64

namespace par {

// The pause hint of a spin-wait (x86 PAUSE: yields the core's shared resources to the other
// hardware thread and saves power while polling); nothing where the target has none (wasm32).
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Per-task grow-only scratch slots (reserve_scratch / scratch).
enum ScratchSlot : int {
  kGemmA = 0,
  kGemmB,
  kAttention,  // attention.cc: a work item's scratch (attention_plan.h layouts)
  kScratchSlots
};

// Grow-only buffers of the calling thread, for data a kernel keeps for the length of one call
// outside parallel regions (partial sums reduced after a region, per-call tables).
enum CallerSlot : int {
  kLayerNormPartials = 0,  // layernorm.cc: dgamma/dbeta chunk partials
  kGemvDequant,            // gemv.cc: a block of dequantised int8 weight rows
  kGemmSharedB,            // gemm.cc: the packed op(B) that all tasks of a GEMM region read
  kAttentionPlan,          // attention.cc: the call's plan (chunks, splits, delta, dQ partials)
  kCallerSlots
};

int num_threads();
void set_num_threads(int n);  // n >= 1 (the wasm runtime clamps to its helpers + 1)

// Runs fn(ctx, t) for t in [0, n) (contract above).
void run_parallel(int n, void (*fn)(void*, int), void* ctx);

// The task id of the running code inside a parallel region (0 outside), and whether it is in one.
int current_tid();
bool in_parallel_region();

// Per-task scratch: reserve_scratch() must be called OUTSIDE parallel regions (it may allocate;
// native throws std::bad_alloc, wasm reports out-of-memory to its caller); scratch(t, slot) is
// then valid for every task t < num_threads(), at least `floats` floats (doubles for the slots
// that say so: reserve twice the floats), 64-byte aligned.
void reserve_scratch(int slot, size_t floats);
float* scratch(int tid, int slot);

// A grow-only buffer of at least `bytes` bytes of the calling thread (outside parallel regions;
// allocation failures as reserve_scratch). Its contents are unspecified; it stays valid until the
// same slot is asked for again, and tasks of a region the caller runs may read and write it.
void* caller_buffer(int slot, size_t bytes);

template <class T>
struct RemoveReference {
  using type = T;
};
template <class T>
struct RemoveReference<T&> {
  using type = T;
};

template <class F>
void parallel(int n, F&& f) {
  using Fn = typename RemoveReference<F>::type;
  struct Thunk {
    static void call(void* c, int tid) { (*static_cast<Fn*>(c))(tid); }
  };
  run_parallel(n, &Thunk::call, const_cast<void*>(static_cast<const void*>(&f)));
}

// Dynamic parallel-for over [0, count) in chunks of `grain`: f(begin, end, tid) once per chunk,
// chunks taken in order by whichever task is free.
template <class F>
void parallel_for(i64 count, i64 grain, F&& f) {
  if (count <= 0) return;
  if (grain < 1) grain = 1;
  i64 chunks = (count + grain - 1) / grain;
  int nt = num_threads();
  if (chunks <= 1 || nt <= 1) {
    f(i64(0), count, current_tid());
    return;
  }
  // Dynamic scheduling with an atomic chunk counter.
  alignas(64) int64_t next = 0;
  auto body = [&](int tid) {
    for (;;) {
      i64 c = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED);
      if (c >= chunks) break;
      i64 b = c * grain;
      i64 e = b + grain < count ? b + grain : count;
      f(b, e, tid);
    }
  };
  parallel(int(chunks < nt ? chunks : nt), body);
}

}  // namespace par
