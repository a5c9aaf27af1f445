// The few-row product kernel (contracts: Isa::gemv_f32 and Isa::gemv_i8, isa.h; the driver that
// splits B's rows over the threads is gemv.cc), written once over a vector traits type T
// (vec_traits.h) and instantiated per ISA by make_isa (isa_instance.h). Each row of B (float32, or
// int8 converted by T::load_i8) is read once from memory and dotted with the m rows of A while it
// stays in L1, a row block of A at a time.
//
// Summation order, the same for every m (so the bits do not depend on the number of rows, the row
// blocks or the threads): vector v of the row (W = T::kWidth lanes) goes to chain v mod kChains;
// the chains are summed as a pairwise tree ((c0 + c1) + (c2 + c3)), then the lanes (T::hsum's fixed
// tree: for AVX2 ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))), then the last k mod W
// products, in order.
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once
#include "gemm_kernel.h"  // PAR_UNROLL_TILE
#include "isa.h"

namespace par {
namespace {

// Register blocking of one pass over a row of B: kRowBlock rows of A × kChains accumulators each.
template <int kChainsPerRow, int kRowsPerPass>
struct GemvTile {
  // Independent FMA chains per dot product: an FMA's 4-cycle latency would otherwise hold a single
  // row's product (one FMA per W weights) far below the memory bandwidth of reading B.
  static constexpr int kChains = kChainsPerRow;
  static constexpr int kRowBlock = kRowsPerPass;
  static_assert(kChains >= 1 && kRowBlock >= 1 && kRowBlock <= 16, "PAR_UNROLL_TILE unrolls up to 16 trips");
};

// Vector ISAs: 4 chains, and as many rows as fit kRowBlock · 4 accumulators + the weight vector +
// an A load <= the registers: AVX-512 (32 zmm) 7 rows, 28 + 2 = 30; AVX2 (16 ymm) 3 rows, 12 + 2 =
// 14; SIMD128 (16 xmm where the engine runs on x64) 3 rows, 14 <= the 15 that V8 leaves us. The
// chain count is part of the summation order (the row block is not): changing it changes the bits.
template <int kLanes, int kRegisters>
struct GemvTileFor {
  static constexpr int kChains = 4;
  using type = GemvTile<kChains, (kRegisters - 2) / kChains>;
};
// Scalar traits: 16 float chains, which GCC's SLP vectoriser keeps in 4 four-wide baseline SIMD
// registers (as for the GEMM's TileScalar), + the weights + an A load = 6 of the 16 registers. One
// row per pass: with 3 rows (4 chains each) it mixed rows into partly scalar code. Measured against
// 8 and 32 chains (bench/gemv-ab.ts --isa scalar, one thread): 16 is 1.0-2.1x faster than 8 (int8
// most), 32 no faster than 16.
template <>
struct GemvTileFor<1, 16> {
  using type = GemvTile<16, 1>;
};

template <class T>
inline typename T::V load_weights(const float* w) { return T::load(w); }
template <class T>
inline typename T::V load_weights(const int8_t* w) { return T::load_i8(w); }

// ((c[0] + c[1]) + (c[2] + c[3])) for N = 4: halves summed recursively.
template <class T, int N>
inline typename T::V pairwise_sum(const typename T::V* c) {
  if constexpr (N == 1) return c[0];
  else return T::add(pairwise_sum<T, N / 2>(c), pairwise_sum<T, N - N / 2>(c + N / 2));
}

// out[r] = A[r, :] · w for the M (<= kRowBlock) rows of A from `A` (row stride lda).
template <class T, class G, int M, class W>
void gemv_row_block(i64 k, const float* A, i64 lda, const W* w, float* out) {
  using V = typename T::V;
  constexpr int L = T::kWidth;
  constexpr int C = G::kChains;
  V acc[M][C];
  PAR_UNROLL_TILE
  for (int r = 0; r < M; r++) {
    PAR_UNROLL_TILE
    for (int u = 0; u < C; u++) acc[r][u] = T::zero();
  }
  i64 p = 0;
  for (; p + C * L <= k; p += C * L) {
    PAR_UNROLL_TILE
    for (int u = 0; u < C; u++) {
      const V wv = load_weights<T>(w + p + u * L);
      PAR_UNROLL_TILE
      for (int r = 0; r < M; r++) acc[r][u] = T::fma(T::load(A + r * lda + p + u * L), wv, acc[r][u]);
    }
  }
  for (int u = 0; p + L <= k; p += L, u++) {  // the last whole vectors continue the chain order
    const V wv = load_weights<T>(w + p);
    PAR_UNROLL_TILE
    for (int r = 0; r < M; r++) acc[r][u] = T::fma(T::load(A + r * lda + p), wv, acc[r][u]);
  }
  PAR_UNROLL_TILE
  for (int r = 0; r < M; r++) {
    float s = T::hsum(pairwise_sum<T, C>(acc[r]));
    for (i64 q = p; q < k; q++) s += A[r * lda + q] * float(w[q]);
    out[r] = s;
  }
}

// gemv_row_block<M> for the run-time mr (1 <= mr <= M).
template <class T, class G, int M, class W>
inline void gemv_rows_upto(int mr, i64 k, const float* A, i64 lda, const W* w, float* out) {
  if constexpr (M > 1) {
    if (mr < M) return gemv_rows_upto<T, G, M - 1>(mr, k, A, lda, w, out);
  }
  gemv_row_block<T, G, M>(k, A, lda, w, out);
}

// Rows [j0, j1) of C (m × n, ldc) = [C +] A (m × k, lda) · (scale ⊙ B)ᵀ, B (n × k, ldb); no
// scale when `scale` is null.
template <class T, class W>
void gemv_rows(i64 j0, i64 j1, i64 m, i64 k, const float* A, i64 lda, const W* B, i64 ldb, const float* scale, float* C, i64 ldc, bool acc) {
  using G = typename GemvTileFor<T::kWidth, T::kRegisters>::type;
  float out[G::kRowBlock];
  for (i64 j = j0; j < j1; j++) {
    const W* w = B + j * ldb;
    for (i64 r0 = 0; r0 < m; r0 += G::kRowBlock) {
      const int mr = int(m - r0 < G::kRowBlock ? m - r0 : G::kRowBlock);
      gemv_rows_upto<T, G, G::kRowBlock>(mr, k, A + r0 * lda, lda, w, out);
      for (int r = 0; r < mr; r++) {
        const float v = scale ? out[r] * scale[j] : out[r];
        float& c = C[(r0 + r) * ldc + j];
        c = acc ? c + v : v;
      }
    }
  }
}

// The table entries (isa.h).
template <class T>
void gemv_f32(i64 j0, i64 j1, i64 m, i64 k, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc) {
  gemv_rows<T>(j0, j1, m, k, A, lda, B, ldb, nullptr, C, ldc, acc);
}
template <class T>
void gemv_i8(i64 j0, i64 j1, i64 m, i64 k, const float* A, i64 lda, const int8_t* Bq, i64 ldb, const float* scale, float* C, i64 ldc) {
  gemv_rows<T>(j0, j1, m, k, A, lda, Bq, ldb, scale, C, ldc, false);
}

}  // namespace
}  // namespace par
