// The GEMM micro-kernel and the packing routines, written once over a vector traits type T
// (vec_traits.h) and instantiated per ISA with its tile (gemm_tiles.h) by make_isa
// (isa_instance.h). The blocked loop nest that calls them is gemm_loops.h.
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once
#include "isa.h"

// Full unrolling of the loops over the tile's rows and vectors: their trip counts are compile-time
// constants, and unrolled they index the accumulator array with constants, so that it lives in
// registers. (GCC and clang both honour this pragma.)
#define PAR_UNROLL_TILE _Pragma("GCC unroll 16")

namespace par {
namespace {

inline i64 min_i64(i64 a, i64 b) { return a < b ? a : b; }

// C[0:mr, 0:nr] = (acc ? C : 0) + Ap · Bp over kc steps (contract: UkrFn in isa.h).
// Per k step: NR/W vector loads of B, MR broadcasts of A, MR·NR/W FMAs into the accumulators.
// Partial tiles (mr < MR or nr < NR, at the right and bottom edges of C) compute the full tile
// from the zero-padded panels and store only its valid part, through a buffer.
template <class T, int MR, int NR>
void gemm_ukr(i64 kc, const float* Ap, const float* Bp, float* C, i64 ldc, int mr, int nr,
              bool acc) {
  using V = typename T::V;
  constexpr int W = T::kWidth;
  constexpr int NV = NR / W;
  static_assert(NR % W == 0, "NR is a whole number of vectors");
  V c[MR][NV];
  PAR_UNROLL_TILE
  for (int r = 0; r < MR; r++) {
    PAR_UNROLL_TILE
    for (int v = 0; v < NV; v++) c[r][v] = T::zero();
  }
  for (i64 p = 0; p < kc; p++) {
    V b[NV];
    PAR_UNROLL_TILE
    for (int v = 0; v < NV; v++) b[v] = T::load(Bp + v * W);
    PAR_UNROLL_TILE
    for (int r = 0; r < MR; r++) {
      const V a = T::broadcast(Ap[r]);
      PAR_UNROLL_TILE
      for (int v = 0; v < NV; v++) c[r][v] = T::fma(a, b[v], c[r][v]);
    }
    Ap += MR;
    Bp += NR;
  }
  if (mr == MR && nr == NR) {
    PAR_UNROLL_TILE
    for (int r = 0; r < MR; r++) {
      PAR_UNROLL_TILE
      for (int v = 0; v < NV; v++) {
        float* cv = C + r * ldc + v * W;
        V x = c[r][v];
        if (acc) x = T::add(x, T::load(cv));
        T::store(cv, x);
      }
    }
    return;
  }
  alignas(64) float t[MR * NR];
  PAR_UNROLL_TILE
  for (int r = 0; r < MR; r++) {
    PAR_UNROLL_TILE
    for (int v = 0; v < NV; v++) T::store(t + r * NR + v * W, c[r][v]);
  }
  for (int r = 0; r < mr; r++) {
    float* cr = C + r * ldc;
    const float* tr = t + r * NR;
    if (acc)
      for (int j = 0; j < nr; j++) cr[j] += tr[j];
    else
      for (int j = 0; j < nr; j++) cr[j] = tr[j];
  }
}

// op(A) rows [i0, i0+mc) × cols [p0, p0+kc) into MR-row panels (contract: PackAFn in isa.h).
template <int MR>
void pack_a(bool tA, const float* A, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, float* dst) {
  for (i64 ir = 0; ir < mc; ir += MR) {
    const int mr = int(min_i64(MR, mc - ir));
    float* d = dst + ir * kc;
    if (!tA) {  // row i of op(A) is a row of A: gather MR rows, one value of each per k step
      const float* rows[MR];
      for (int r = 0; r < MR; r++) rows[r] = A + (i0 + ir + (r < mr ? r : 0)) * lda + p0;
      if (mr == MR) {
        for (i64 p = 0; p < kc; p++)
          for (int r = 0; r < MR; r++) d[p * MR + r] = rows[r][p];
      } else {
        for (i64 p = 0; p < kc; p++)
          for (int r = 0; r < MR; r++) d[p * MR + r] = r < mr ? rows[r][p] : 0.0f;
      }
    } else {  // A stored (k × m): each k step of the panel is MR contiguous values of A
      const float* src = A + p0 * lda + i0 + ir;
      if (mr == MR) {
        for (i64 p = 0; p < kc; p++)
          __builtin_memcpy(d + p * MR, src + p * lda, sizeof(float) * MR);
      } else {
        for (i64 p = 0; p < kc; p++) {
          int r = 0;
          for (; r < mr; r++) d[p * MR + r] = src[p * lda + r];
          for (; r < MR; r++) d[p * MR + r] = 0.0f;
        }
      }
    }
  }
}

// k steps per block when transposing B: each of the NR source rows is read in runs of 8 floats
// (32 B, half a cache line) rather than one float per row per k step.
constexpr int kPackBTransposeRun = 8;

// op(B) rows [p0, p0+kc) × cols [j0, j0+nc) into NR-column panels (contract: PackBFn in isa.h).
template <int NR>
void pack_b(bool tB, const float* B, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, float* dst) {
  for (i64 jr = 0; jr < nc; jr += NR) {
    const int nr = int(min_i64(NR, nc - jr));
    float* d = dst + jr * kc;
    if (!tB) {  // each k step of the panel is NR contiguous values of a row of B
      const float* src = B + p0 * ldb + j0 + jr;
      if (nr == NR) {
        for (i64 p = 0; p < kc; p++)
          __builtin_memcpy(d + p * NR, src + p * ldb, sizeof(float) * NR);
      } else {
        for (i64 p = 0; p < kc; p++) {
          int c = 0;
          for (; c < nr; c++) d[p * NR + c] = src[p * ldb + c];
          for (; c < NR; c++) d[p * NR + c] = 0.0f;
        }
      }
    } else {  // B stored (n × k): column j of op(B) is row j of B, transposed into the panel
      const float* cols[NR];
      for (int c = 0; c < NR; c++) cols[c] = B + (j0 + jr + (c < nr ? c : 0)) * ldb + p0;
      if (nr == NR) {
        constexpr int R = kPackBTransposeRun;
        i64 p = 0;
        for (; p + R <= kc; p += R)
          for (int c = 0; c < NR; c++)
            for (int q = 0; q < R; q++) d[(p + q) * NR + c] = cols[c][p + q];
        for (; p < kc; p++)
          for (int c = 0; c < NR; c++) d[p * NR + c] = cols[c][p];
      } else {
        for (i64 p = 0; p < kc; p++)
          for (int c = 0; c < NR; c++) d[p * NR + c] = c < nr ? cols[c][p] : 0.0f;
      }
    }
  }
}

}  // namespace
}  // namespace par
