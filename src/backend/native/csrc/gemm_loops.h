// The blocked GEMM loop nest (Goto/BLIS order) over one kernel table (isa.h): packs blocks of
// op(A) and op(B) with the table's packers and runs its micro-kernel on every MR × NR tile.
// Single-threaded; the caller provides the packing buffers (gemm_packed_floats). Used by the
// native GEMM (gemm.cc: threads, scratch) and by the wasm32 build of the kernels.
//
//   for jc (NC columns of C)
//     for pc (KC of k)         pack B block (KC × NC) into NR-wide panels
//       for ic (MC rows)       pack A block (MC × KC) into MR-tall panels
//         for jr, ir           micro-kernel on an MR × NR tile
// Where each block lives in the cache hierarchy, and why the sizes: gemm_tiles.h.
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once
#include "isa.h"

namespace par {
namespace {

inline i64 gemm_min(i64 a, i64 b) { return a < b ? a : b; }
inline i64 gemm_round_up(i64 x, i64 m) { return (x + m - 1) / m * m; }

// Floats of the A and B packing buffers that gemm_blocked needs for an m × n × k product.
inline void gemm_packed_floats(const Isa& I, i64 m, i64 n, i64 k, i64* a_floats, i64* b_floats) {
  const i64 kc = gemm_min(k, I.kc);
  *a_floats = gemm_round_up(gemm_min(m, I.mc), I.mr) * kc;
  *b_floats = gemm_round_up(gemm_min(n, I.nc), I.nr) * kc;
}

// The micro-kernel over every MR × NR tile of an mc × nc block of C (ldc) for one KC block of k:
// Ap the block's packed op(A) rows (MR-tall panels), Bp its packed op(B) columns (NR-wide panels,
// kc × NR floats each); beta: add to C instead of overwriting it. Column panels outer, so each B
// micro-panel stays in L1 over the mc / MR calls.
inline void gemm_macro_tile(const Isa& I, i64 mc, i64 nc, i64 kc, const float* Ap, const float* Bp,
                            float* C, i64 ldc, bool beta) {
  const int MR = I.mr, NR = I.nr;
  for (i64 jr = 0; jr < nc; jr += NR) {
    const int nr = int(gemm_min(NR, nc - jr));
    const float* bp = Bp + jr * kc;
    float* cc = C + jr;
    for (i64 ir = 0; ir < mc; ir += MR) {
      const int mr = int(gemm_min(MR, mc - ir));
      I.ukr(kc, Ap + ir * kc, bp, cc + ir * ldc, ldc, mr, nr, beta);
    }
  }
}

// C (m×n, ldc) = [C +] op(A)·op(B) (contract: par::gemm in common.h), packing into Ap and Bp.
inline void gemm_blocked(const Isa& I, bool tA, bool tB, i64 m, i64 n, i64 k, const float* A,
                         i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc, float* Ap,
                         float* Bp) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!acc)
      for (i64 i = 0; i < m; i++)
        for (i64 j = 0; j < n; j++) C[i * ldc + j] = 0.0f;
    return;
  }
  for (i64 jc = 0; jc < n; jc += I.nc) {
    const i64 nc = gemm_min(I.nc, n - jc);
    for (i64 pc = 0; pc < k; pc += I.kc) {
      const i64 kc = gemm_min(I.kc, k - pc);
      const bool beta = pc > 0 || acc;
      I.pack_b(tB, B, ldb, pc, kc, jc, nc, Bp);
      for (i64 ic = 0; ic < m; ic += I.mc) {
        const i64 mc = gemm_min(I.mc, m - ic);
        I.pack_a(tA, A, lda, ic, mc, pc, kc, Ap);
        gemm_macro_tile(I, mc, nc, kc, Ap, Bp, C + ic * ldc + jc, ldc, beta);
      }
    }
  }
}

}  // namespace
}  // namespace par
