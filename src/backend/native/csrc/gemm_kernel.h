// The GEMM micro-kernel, the register-tile product it shares with the attention kernel
// (attention_kernel.h), and the packing routines, written once over a vector traits type T
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

// The register-tile product shared by the GEMM micro-kernel and the attention kernel
// (attention_kernel.h): c[r][v] = Σ_{p < kc} A(r, p) · B[p·ldb + v·W], with A(r, p) = A[r·lda + p]
// (kARows: A's rows are the tile rows) or A[p·lda + r] (A's rows are the k steps).
// Per k step: NV vector loads of B, MR broadcasts of A, MR·NV FMAs into the accumulators.
template <class T, int MR, int NV, bool kARows>
inline __attribute__((always_inline)) void tile_product(i64 kc, const float* A, i64 lda,
                                                        const float* B, i64 ldb,
                                                        typename T::V (&c)[MR][NV]) {
  using V = typename T::V;
  constexpr int W = T::kWidth;
  static_assert(MR <= 16 && NV <= 16, "PAR_UNROLL_TILE unrolls loops of up to 16 trips");
  PAR_UNROLL_TILE
  for (int r = 0; r < MR; r++) {
    PAR_UNROLL_TILE
    for (int v = 0; v < NV; v++) c[r][v] = T::zero();
  }
  for (i64 p = 0; p < kc; p++) {
    V b[NV];
    PAR_UNROLL_TILE
    for (int v = 0; v < NV; v++) b[v] = T::load(B + p * ldb + v * W);
    PAR_UNROLL_TILE
    for (int r = 0; r < MR; r++) {
      const V a = T::broadcast(kARows ? A[r * lda + p] : A[p * lda + r]);
      PAR_UNROLL_TILE
      for (int v = 0; v < NV; v++) c[r][v] = T::fma(a, b[v], c[r][v]);
    }
  }
}

// C[0:mr, 0:nr] = (acc ? C : 0) + Ap · Bp over kc steps (contract: UkrFn in isa.h): the tile
// product over the packed panels (MR values of A and NR of B per k step).
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
  tile_product<T, MR, NV, false>(kc, Ap, MR, Bp, NR, c);
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

// The two ways a panel of W values per k step is filled (zero-padded past `count` <= W valid):
//  - pack_runs: the W values of a k step are contiguous in the source (k steps ld apart);
//  - pack_transposed: the W values come from W source rows (ld apart), k running along each row.
// pack_a and pack_b are each one of the two, by transposition.
template <int W>
void pack_runs(const float* src, i64 ld, int count, i64 kc, float* d) {
  if (count == W) {
    for (i64 p = 0; p < kc; p++) __builtin_memcpy(d + p * W, src + p * ld, sizeof(float) * W);
    return;
  }
  for (i64 p = 0; p < kc; p++) {
    int c = 0;
    for (; c < count; c++) d[p * W + c] = src[p * ld + c];
    for (; c < W; c++) d[p * W + c] = 0.0f;
  }
}

// With kRun > 1, full panels are transposed in blocks of kRun k steps, so that each source row is
// read in runs of kRun floats rather than one float per row per k step.
template <int W, int kRun>
void pack_transposed(const float* src, i64 ld, int count, i64 kc, float* d) {
  const float* rows[W];
  for (int c = 0; c < W; c++) rows[c] = src + (c < count ? c : 0) * ld;
  if (count == W) {
    i64 p = 0;
    for (; p + kRun <= kc; p += kRun)
      for (int c = 0; c < W; c++)
        for (int q = 0; q < kRun; q++) d[(p + q) * W + c] = rows[c][p + q];
    for (; p < kc; p++)
      for (int c = 0; c < W; c++) d[p * W + c] = rows[c][p];
    return;
  }
  for (i64 p = 0; p < kc; p++)
    for (int c = 0; c < W; c++) d[p * W + c] = c < count ? rows[c][p] : 0.0f;
}

// Transposed-packing runs. B panels gather NR (8-32) rows of B: runs of 8 floats (32 B, half a
// cache line) per row. A panels gather only MR (4-12) rows of A, which the hardware prefetcher
// follows one float at a time (run 1: the plain loop).
constexpr int kPackBTransposeRun = 8;
constexpr int kPackATransposeRun = 1;

// op(A) rows [i0, i0+mc) × cols [p0, p0+kc) into MR-row panels (contract: PackAFn in isa.h).
template <int MR>
void pack_a(bool tA, const float* A, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, float* dst) {
  for (i64 ir = 0; ir < mc; ir += MR) {
    const int mr = int(min_i64(MR, mc - ir));
    if (tA)  // A stored (k × m): a k step of the panel is MR contiguous values of a row of A
      pack_runs<MR>(A + p0 * lda + i0 + ir, lda, mr, kc, dst + ir * kc);
    else  // row i of op(A) is a row of A
      pack_transposed<MR, kPackATransposeRun>(A + (i0 + ir) * lda + p0, lda, mr, kc, dst + ir * kc);
  }
}

// op(B) rows [p0, p0+kc) × cols [j0, j0+nc) into NR-column panels (contract: PackBFn in isa.h).
template <int NR>
void pack_b(bool tB, const float* B, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, float* dst) {
  for (i64 jr = 0; jr < nc; jr += NR) {
    const int nr = int(min_i64(NR, nc - jr));
    if (tB)  // B stored (n × k): column j of op(B) is row j of B
      pack_transposed<NR, kPackBTransposeRun>(B + (j0 + jr) * ldb + p0, ldb, nr, kc, dst + jr * kc);
    else  // a k step of the panel is NR contiguous values of a row of B
      pack_runs<NR>(B + p0 * ldb + j0 + jr, ldb, nr, kc, dst + jr * kc);
  }
}

}  // namespace
}  // namespace par
