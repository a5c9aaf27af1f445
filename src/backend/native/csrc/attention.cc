// Fused multi-head attention of the native backend: the drivers of attention_plan.h on the selected
// ISA's kernel table (attention_kernel.h), over the thread pool and its per-thread scratch
// (threadpool.cc). Semantics, work items, determinism: attention_plan.h.
#include <cstdlib>
#include <new>

#include "attention_plan.h"
#include "common.h"

namespace par {
namespace {

// Grow-only, 64-byte aligned float buffer (the backward's shared workspace).
struct SharedBuffer {
  float* p = nullptr;
  i64 cap = 0;
  ~SharedBuffer() { std::free(p); }
  void reserve(i64 floats) {
    if (floats <= cap) return;
    const std::size_t bytes = (std::size_t(floats) * sizeof(float) + 63) / 64 * 64;
    void* q = std::aligned_alloc(64, bytes);
    if (!q) throw std::bad_alloc();
    std::free(p);
    p = static_cast<float*>(q);
    cap = floats;
  }
};

// The Runtime of attention_plan.h on the thread pool. The shared workspace is per calling thread
// (several JS threads may call the addon) and grow-only (no fresh pages on every call).
struct PoolRuntime {
  template <class F>
  void parallel_for(i64 count, i64 grain, F&& f) {
    par::parallel_for(count, grain, f);
  }
  bool reserve(i64 thread_floats, i64 shared_floats) {  // throws std::bad_alloc
    reserve_scratch(kAttention, std::size_t(thread_floats));
    workspace().reserve(shared_floats);
    return true;
  }
  float* thread_scratch(int tid) { return scratch(tid, kAttention); }
  float* shared() { return workspace().p; }
  static SharedBuffer& workspace() {
    thread_local SharedBuffer buffer;
    return buffer;
  }
};

}  // namespace

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v,
                       const std::uint8_t* pad, float* out, float* lse) {
  AttnForwardArgs a{};
  a.s = s, a.q = q, a.k = k, a.v = v, a.pad = pad, a.out = out, a.lse = lse;
  PoolRuntime rt;
  attention_forward_run(isa(), a, rt);
}

void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v,
                        const std::uint8_t* pad, const float* out, const float* dout,
                        const float* lse, float* dq, float* dk, float* dv) {
  AttnBackwardArgs a{};
  a.s = s, a.q = q, a.k = k, a.v = v, a.pad = pad, a.out = out, a.dout = dout, a.lse = lse;
  a.dq = dq, a.dk = dk, a.dv = dv;
  PoolRuntime rt;
  attention_backward_run(isa(), a, rt);
}

}  // namespace par
