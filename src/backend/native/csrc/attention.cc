// Fused multi-head attention of the native backend: the drivers of attention_plan.h on the selected
// ISA's kernel table (attention_kernel.h), over the thread pool and its scratch buffers, per thread
// and shared (threadpool.cc). Semantics, work items, determinism: attention_plan.h.
#include "attention_plan.h"
#include "common.h"

namespace par {
namespace {

// The Runtime of attention_plan.h on the thread pool and its scratch buffers.
struct PoolRuntime {
  template <class F>
  void parallel_for(i64 count, i64 grain, F&& f) {
    par::parallel_for(count, grain, f);
  }
  bool reserve(i64 thread_floats, i64 shared_floats) {  // throws std::bad_alloc
    reserve_scratch(kAttention, std::size_t(thread_floats));
    reserve_shared_scratch(kAttention, std::size_t(shared_floats));
    return true;
  }
  float* thread_scratch(int tid) { return scratch(tid, kAttention); }
  float* shared() { return shared_scratch(kAttention); }
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
