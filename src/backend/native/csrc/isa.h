// The per-ISA kernel table: what the GEMM driver (gemm.cc), the few-row products (gemv.cc),
// attention (attention.cc, on attention_plan.h) and cross-entropy (crossentropy.cc) call through,
// one instance per vector ISA. Every instance is built by make_isa (isa_instance.h) from the same kernel templates over
// that ISA's vector traits (vec_traits.h) and tile geometries (gemm_tiles.h, attention_tiles.h),
// in a translation unit compiled for that ISA:
//   kernels_scalar.cc (portable), kernels_avx2.cc, kernels_avx512.cc, kernels_avx512_emulated.cc
//   (the AVX-512 geometry on AVX2, for tests), kernels_wasm128.cc (wasm32: the wasm backend).
// Selection at run time: isa.cc (native); the wasm backend has only the wasm128 table
// (src/backend/wasm/csrc/runtime.cc).
//
// Freestanding (no C++ library headers): this header is also compiled for wasm32 -nostdlib.
#pragma once
#include <stdint.h>

namespace par {

using i64 = int64_t;

// GEMM micro-kernel: C[0:mr, 0:nr] (row stride ldc) = (acc ? C : 0) + Ap · Bp, where Ap is a
// packed panel (kc × MR, MR values per k step) and Bp a packed panel (kc × NR). mr <= MR, nr <= NR.
using UkrFn = void (*)(i64 kc, const float* Ap, const float* Bp, float* C, i64 ldc, int mr, int nr,
                       bool acc);
// Packs rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) (op(A)(i,p) = tA ? A[p*lda+i] : A[i*lda+p])
// into ceil(mc/MR) panels of kc × MR (panel q at dst + q·MR·kc), zero-padding the last panel.
using PackAFn = void (*)(bool tA, const float* A, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc,
                         float* dst);
// Packs rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) (op(B)(p,j) = tB ? B[j*ldb+p] : B[p*ldb+j])
// into ceil(nc/NR) panels of kc × NR (panel q at dst + q·NR·kc), zero-padding the last panel.
using PackBFn = void (*)(bool tB, const float* B, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc,
                         float* dst);

// AdamW coefficients of one step, in float (Isa::adamw): bc1 = 1 - beta1^t, bc2 = 1 - beta2^t.
struct AdamWCoef {
  float beta1, beta2, one_minus_beta1, one_minus_beta2, inv_bc1, inv_bc2, eps, lr, wd;
};

// Fused attention (attention_plan.h: arguments, work items, scratch; attention_kernel.h: kernels).
struct AttnForwardArgs;
struct AttnBackwardArgs;
// Register tile (mr rows × nr lanes) and block sizes of the attention kernel (attention_tiles.h).
struct AttnGeometry {
  int mr, nr;    // register tile
  int bq, bk;    // queries per forward work item, keys per key tile
  int bqb;       // queries per backward query block
};
// Runs one work item (attention_plan.h: attn_forward_items; backward items B·H·S) with `scratch`
// (attn_forward_layout / attn_backward_layout(...).total floats, 64-byte aligned, private).
using AttnForwardFn = void (*)(const AttnForwardArgs& a, i64 item, float* scratch);
using AttnBackwardFn = void (*)(const AttnBackwardArgs& a, i64 item, float* scratch);

struct Isa {
  const char* name;
  int mr, nr;      // micro-tile of the GEMM micro-kernel
  int kc, mc, nc;  // cache blocking (mc multiple of mr, nc multiple of nr)
  UkrFn ukr;
  // max_j x[j] (-inf for n == 0)
  float (*vmax)(const float* x, i64 n);
  // Σ_j exp(x[j] - sub), accumulated in double
  double (*sum_exp)(const float* x, i64 n, float sub);
  // dst[j] += scale · exp(x[j] - sub)
  void (*axpy_exp)(const float* x, i64 n, float sub, float scale, float* dst);
  // y = GELU(x) = x·Φ(x) (erf form), n elements (elementwise_kernels.h).
  void (*gelu_fwd)(const float* x, float* y, i64 n);
  // dx += dy·GELU'(x), n elements.
  void (*gelu_bwd)(const float* x, const float* dy, float* dx, i64 n);
  // One AdamW step on n elements (elementwise_kernels.h): updates p, m, v in place.
  void (*adamw)(float* p, const float* g, float* m, float* v, i64 n, const AdamWCoef& c);
  // Packing of A and B for this ISA's micro-tile (used by gemm_loops.h only).
  PackAFn pack_a;
  PackBFn pack_b;
  // Few-row products (gemv_kernel.h; gemv.cc splits B's rows over the threads): rows [j0, j1) of
  // C (m × n, ldc) = [C +] A (m × k, lda) · Bᵀ with B (n × k, ldb) float32; gemv_i8 the same with
  // B = scale ⊙ Bq (Bq int8, one scale per row of B), C overwritten.
  void (*gemv_f32)(i64 j0, i64 j1, i64 m, i64 k, const float* A, i64 lda, const float* B, i64 ldb,
                   float* C, i64 ldc, bool acc);
  void (*gemv_i8)(i64 j0, i64 j1, i64 m, i64 k, const float* A, i64 lda, const int8_t* Bq, i64 ldb,
                  const float* scale, float* C, i64 ldc);
  // Fused attention work items (driven by attention_plan.h).
  AttnGeometry attn;
  AttnForwardFn attn_forward;
  AttnBackwardFn attn_backward;
};

const Isa& isa();
// Select an ISA by name ("avx512", "avx2", "avx512-emulated", "scalar"); false if unavailable on
// this CPU/build.
bool set_isa(const char* name);
const char* best_isa_name();

// Table getters. Each is defined in the translation unit compiled for its ISA and may only be
// called once the CPU is known to support that ISA (isa.cc asks __builtin_cpu_supports first).
const Isa* isa_scalar();
const Isa* isa_avx2();             // nullptr when not compiled in
const Isa* isa_avx512();           // nullptr when not compiled in
const Isa* isa_avx512_emulated();  // AVX2 code, AVX-512 geometry; nullptr when not compiled in
const Isa* isa_wasm128();          // wasm32 builds only (kernels_wasm128.cc)

}  // namespace par
