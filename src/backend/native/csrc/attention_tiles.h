// Register and cache blocking of the fused attention kernel (attention_kernel.h), one geometry per
// vector width, each number derived here. AttnTileFor<T::kWidth, T::kRegisters>::type is the
// geometry of traits T (vec_traits.h); isa_instance.h puts it in the kernel table (Isa::attn).
//
// Every product of the kernel runs on one register tile shape, MR rows × NV vectors (NR = NV·W
// lanes), like the GEMM micro-kernel: MR·NV accumulators + NV B vectors + 1 broadcast <= the
// register file. The tile dimensions meet these block sizes:
//   BK  keys per key tile (forward and backward). Keys are tile rows in the forward scores
//       (Sᵀ = K·Qᵀ) and lanes in the backward scores (S = Q·Kᵀ): a multiple of MR and of NR.
//   BQ  queries per forward work item: lanes of the scores (panels of NR) and rows of O += P·V
//       (row tiles of MR): a multiple of MR and of NR.
//   BQB queries per backward query block: rows of S (row tiles of MR) and the k extent of
//       dV += Pᵀ·dO and dK += dSᵀ·Q.
// Per-thread scratch (fp32, D = 64): forward Qᵀ BQ·D + K, V tiles 2·BK·D + P BK·BQ + O BQ·D
// ≈ 36 Ki floats = 144 KiB; backward Kᵀ, Vᵀ, K, dK, dV tiles 5·BK·D + Q, dO blocks 2·BQB·D + P, dS
// 2·BQB·BK ≈ 46 Ki floats = 184 KiB (plus the dQ rows of a split). Both live in L2 (512 KiB on the
// Zen 3 here, 1 MiB on Zen 5); each micro-kernel's B operand (a Qᵀ/Kᵀ/Vᵀ panel of NR × D, or a
// V/K/dO/Q slice of BK or BQB rows × NR) is 4-8 KiB and stays in L1 while the A operand streams.
//
// Freestanding (no C++ library headers).
#pragma once
#include "isa.h"

namespace par {
namespace {

// kSpecialise: instantiate the head dims 32, 64, 128 as well as the generic path (each costs
// compile time and code size; the portable scalar table has the generic path only).
template <int kMR, int kNV, int kLanes, int kBQ, int kBK, int kBQB, bool kSpecialiseD = true>
struct AttnTile {
  static constexpr int MR = kMR, NV = kNV, W = kLanes, NR = kNV * kLanes;
  static constexpr int BQ = kBQ, BK = kBK, BQB = kBQB;
  static constexpr bool kSpecialise = kSpecialiseD;
  static constexpr AttnGeometry geometry() { return AttnGeometry{MR, NR, BQ, BK, BQB}; }
  static_assert(BK % MR == 0 && BK % NR == 0, "key tiles are whole row tiles and whole panels");
  static_assert(BQ % MR == 0 && BQ % NR == 0, "query blocks are whole row tiles and panels");
  static_assert(BQB % MR == 0, "backward query blocks are whole row tiles");
};

template <int kLanes, int kRegisters>
struct AttnTileFor;

// 96-key tiles everywhere: with D = 64 a K or V tile is 24 KiB (L2, streamed once per query
// panel), and the forward P tile (BK × BQ = 36 KiB) and the backward P, dS blocks (BQB × BK =
// 18 KiB each) stay in L2 next to them. 48-query backward blocks: dK/dV accumulator tiles are
// loaded and stored once per 48 multiply-add steps.

// AVX-512 (16 lanes, 32 zmm): 12 × 32 tile, 24 accumulators + 2 B + 1 broadcast = 27 <= 32.
template <>
struct AttnTileFor<16, 32> {
  using type = AttnTile<12, 2, 16, 96, 96, 48>;
};
// AVX2 (8 lanes, 16 ymm): 6 × 16 tile, 12 accumulators + 2 B + 1 broadcast = 15 <= 16.
template <>
struct AttnTileFor<8, 16> {
  using type = AttnTile<6, 2, 8, 96, 96, 48>;
};
// SIMD128 (4 lanes, 16 registers where the engine runs on x64): 6 × 8 tile, 12 + 2 + 1 = 15.
template <>
struct AttnTileFor<4, 16> {
  using type = AttnTile<6, 2, 4, 96, 96, 48>;
};
// Scalar traits: 4 × 8 floats, which the compiler vectorises four-wide into 8 + 2 + 1 = 11 of the
// 16 baseline SIMD registers (as for the GEMM's TileScalar). The generic path only: the portable
// fallback, whose D-specialised instances would quadruple its compile time.
template <>
struct AttnTileFor<1, 16> {
  using type = AttnTile<4, 8, 1, 96, 96, 48, false>;
};

}  // namespace
}  // namespace par
