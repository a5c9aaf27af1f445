// Fused multi-head attention of the native backend: the drivers of attention_plan.h on the selected
// ISA's kernel table (attention_kernel.h), over the threading interface (parallel.h): per-task
// scratch for the work items, a caller buffer for the call's plan. The native addon and the wasm
// backend build this same file. Semantics, work items, determinism: attention_plan.h.
#include "attention_plan.h"
#include "common.h"

namespace par {
namespace {

// The Runtime of attention_plan.h on parallel.h.
struct KernelRuntime {
  template <class F>
  void parallel_for(i64 count, i64 grain, F&& f) {
    par::parallel_for(count, grain, f);
  }
  // Out of memory: native throws std::bad_alloc, wasm traps (parallel.h).
  bool reserve(i64 thread_floats, i64 shared_floats) {
    reserve_scratch(kAttention, size_t(thread_floats));
    plan_ = static_cast<float*>(caller_buffer(kAttentionPlan, sizeof(float) * size_t(shared_floats)));
    return true;
  }
  float* thread_scratch(int tid) { return scratch(tid, kAttention); }
  float* shared() { return plan_; }

 private:
  float* plan_ = nullptr;
};

}  // namespace

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v,
                       const uint8_t* pad, float* out, float* lse) {
  AttnForwardArgs a{};
  a.s = s, a.q = q, a.k = k, a.v = v, a.pad = pad, a.out = out, a.lse = lse;
  KernelRuntime rt;
  attention_forward_run(isa(), a, rt);
}

void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v,
                        const uint8_t* pad, const float* out, const float* dout,
                        const float* lse, float* dq, float* dk, float* dv) {
  AttnBackwardArgs a{};
  a.s = s, a.q = q, a.k = k, a.v = v, a.pad = pad, a.out = out, a.dout = dout, a.lse = lse;
  a.dq = dq, a.dk = dk, a.dv = dv;
  KernelRuntime rt;
  attention_backward_run(isa(), a, rt);
}

}  // namespace par
