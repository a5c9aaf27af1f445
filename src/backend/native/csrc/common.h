// Shared declarations of the kernels: the per-ISA kernel table (isa.h), the threading and scratch
// interface (parallel.h), and the entry points of every kernel (one .cc file per concept). The
// same kernel sources build the native addon and the WebAssembly backend (src/backend/wasm).
//
// Conventions: row-major contiguous float32 arrays, sizes in elements (int64). All pointers
// passed here have been checked by the binding layer (native: addon.cc; wasm: the TypeScript
// boundary, validate.ts, and wasm/csrc/exports.cc) to be long enough.
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "attention_plan.h"  // AttnShape
#include "freestanding.h"    // min/max/clamp, float copies, math functions
#include "isa.h"             // i64, the per-ISA kernel table (Isa, isa())
#include "parallel.h"        // parallel regions, parallel_for, scratch

namespace par {

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

// Few-row products against a weight stored (n × k) (gemv.cc): C (m×n, ldc) = [C +] A·Bᵀ, each row
// of B read once. `gemm` takes this path when gemv_fits; gemv_nt_i8 is the int8 weight-only form,
// B[j, :] = scale[j] · Bq[j, :], C (m×n) overwritten, any m (kernel `matmulInt8`).
// Rows that gemm hands to it: kGemvMaxRows (see gemv.cc for the measurement).
constexpr i64 kGemvMaxRows = 16;
bool gemv_fits(bool tA, bool tB, i64 m);
void gemv_nt(i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc);
void gemv_nt_i8(i64 m, i64 n, i64 k, const float* A, const int8_t* Bq, const float* scale, float* C);

// ---------------------------------------------------------------------------------------------
// Other kernels.

// Fused attention (attention.cc; semantics and work plan: attention_plan.h).
void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v,
                       const uint8_t* pad, float* out, float* lse);
void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v,
                        const uint8_t* pad, const float* out, const float* dout,
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

void gather_rows(const float* src, const int32_t* index, float* dst, i64 count, i64 cols);
void scatter_add_rows(const float* ddst, const int32_t* index, float* dsrc, i64 count,
                      i64 cols);

void rotary_forward(const float* x, const float* cos, const float* sin, float* y, i64 rows,
                    i64 heads, i64 headDim, i64 rotDim);
void rotary_backward(const float* dy, const float* cos, const float* sin, float* dx, i64 rows,
                     i64 heads, i64 headDim, i64 rotDim);

void cross_entropy_forward(const float* logits, const int32_t* labels, float* lse,
                           float* losses, i64 rows, i64 vocab, int32_t ignore);
void cross_entropy_backward(const float* logits, const int32_t* labels, const float* lse,
                            float* dlogits, i64 rows, i64 vocab, int32_t ignore, float scale);

struct AdamW {
  double lr, beta1, beta2, eps, wd;
  double t;
};
void adamw(float* p, const float* g, float* m, float* v, i64 n, const AdamW& o);

}  // namespace par
