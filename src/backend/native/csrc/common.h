// Shared declarations of the native backend: the per-ISA kernel table (isa.h), the thread pool
// with its per-thread scratch buffers, and the entry points of every kernel (one .cc file per
// concept).
//
// Conventions: row-major contiguous float32 arrays, sizes in elements (int64). All pointers
// passed here have been checked by the binding layer (addon.cc) to be long enough.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "attention_plan.h"  // AttnShape
#include "isa.h"             // i64, the per-ISA kernel table (Isa, isa())

namespace par {

// ---------------------------------------------------------------------------------------------
// Thread pool (threadpool.cc).

enum ScratchSlot : int {
  kGemmA = 0,
  kGemmB,
  kAttention,  // attention: a work item's scratch, and the call's plan (attention_plan.h layouts)
  kScratchSlots
};

int num_threads();
void set_num_threads(int n);  // n >= 1

// Runs fn(ctx, tid) for tid in [0, n) concurrently (n clamped to num_threads()); the calling
// thread is tid 0. Nested calls from inside a parallel region run serially with tid unchanged.
void run_parallel(int n, void (*fn)(void*, int), void* ctx);

template <class F>
void parallel(int n, F&& f) {
  using Fn = std::remove_reference_t<F>;
  struct Thunk {
    static void call(void* c, int tid) { (*static_cast<Fn*>(c))(tid); }
  };
  run_parallel(n, &Thunk::call, const_cast<void*>(static_cast<const void*>(&f)));
}

// Dynamic parallel-for over [0, count) in chunks of `grain`; f(begin, end, tid).
template <class F>
void parallel_for(i64 count, i64 grain, F&& f);

// Current thread id inside a parallel region (0 outside).
int current_tid();
bool in_parallel_region();

// Per-thread grow-only scratch: reserve() must be called OUTSIDE parallel regions (it may
// allocate and throw std::bad_alloc); scratch() is then valid for every tid < num_threads().
void reserve_scratch(int slot, std::size_t floats);
float* scratch(int tid, int slot);
// One grow-only buffer per slot shared by the threads of a call (not one per thread), under the
// same rules: reserve outside parallel regions, then valid until the next reserve of the slot.
void reserve_shared_scratch(int slot, std::size_t floats);
float* shared_scratch(int slot);

// ---------------------------------------------------------------------------------------------
// GEMM (gemm.cc).

// C (m×n, ldc) = [C +] op(A)·op(B); op(A)(i,p) = tA ? A[p*lda+i] : A[i*lda+p];
// op(B)(p,j) = tB ? B[j*ldb+p] : B[p*ldb+j].
void gemm(bool tA, bool tB, i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B, i64 ldb,
          float* C, i64 ldc, bool acc);
// Single-threaded version using the scratch of thread `tid` (callable inside parallel regions,
// after gemm_reserve for the largest shape).
void gemm_st(bool tA, bool tB, i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B,
             i64 ldb, float* C, i64 ldc, bool acc, int tid);
void gemm_reserve(i64 m, i64 n, i64 k);

// ---------------------------------------------------------------------------------------------
// Other kernels.

// Fused attention (attention.cc; semantics and work plan: attention_plan.h).
void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v,
                       const std::uint8_t* pad, float* out, float* lse);
void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v,
                        const std::uint8_t* pad, const float* out, const float* dout,
                        const float* lse, float* dq, float* dk, float* dv);

void layernorm_forward(const float* x, const float* g, const float* b, float* y, float* mean,
                       float* rstd, i64 rows, i64 cols, float eps);
void layernorm_backward(const float* dy, const float* x, const float* g, const float* mean,
                        const float* rstd, float* dx, float* dg, float* db, i64 rows, i64 cols);

void gelu_forward(const float* x, float* y, i64 n);
void gelu_backward(const float* x, const float* dy, float* dx, i64 n);
void add(const float* a, const float* b, float* out, i64 n);
void axpy(float alpha, const float* src, float* dst, i64 n);
void add_bias(float* out, const float* bias, i64 rows, i64 cols);
void sum_rows(const float* dout, float* dbias, i64 rows, i64 cols);

void gather_rows(const float* src, const std::int32_t* index, float* dst, i64 count, i64 cols);
void scatter_add_rows(const float* ddst, const std::int32_t* index, float* dsrc, i64 count,
                      i64 cols);

void rotary_forward(const float* x, const float* cos, const float* sin, float* y, i64 rows,
                    i64 heads, i64 headDim, i64 rotDim);
void rotary_backward(const float* dy, const float* cos, const float* sin, float* dx, i64 rows,
                     i64 heads, i64 headDim, i64 rotDim);

void cross_entropy_forward(const float* logits, const std::int32_t* labels, float* lse,
                           float* losses, i64 rows, i64 vocab, std::int32_t ignore);
void cross_entropy_backward(const float* logits, const std::int32_t* labels, const float* lse,
                            float* dlogits, i64 rows, i64 vocab, std::int32_t ignore, float scale);

struct AdamW {
  double lr, beta1, beta2, eps, wd;
  double t;
};
void adamw(float* p, const float* g, float* m, float* v, i64 n, const AdamW& o);

// ---------------------------------------------------------------------------------------------

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
  alignas(64) std::int64_t next = 0;
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
