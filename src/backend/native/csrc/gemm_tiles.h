// Register and cache blocking of the GEMM, one struct per vector ISA, each number derived here.
//
// The loop nest (gemm_loops.h, Goto/BLIS order) and where each operand lives:
//   for jc: B block   KC × NC, packed once          -> L3 (shared by the cores)
//     for ic: A block MC × KC, packed                -> L2, reused by all NC/NR micro-panels of B
//       for jr: B micro-panel KC × NR                -> L1d, reused by the MC/MR micro-kernel calls
//         for ir: micro-kernel: an MR × NR tile of C in registers, k steps of
//                 NR/lanes vector loads of B + MR broadcasts of A + MR·NR/lanes FMAs.
// Register budget per micro-kernel: MR·(NR/lanes) accumulators + NR/lanes B vectors + 1 broadcast.
// Byte counts are fp32 (4 B). Reference caches: this machine (Zen 3: 32 KiB L1d, 512 KiB L2 per
// core, 32 MiB L3) for AVX2, Zen 5 (48 KiB L1d, 1 MiB L2) for AVX-512, where the tiles were tuned.
//
// Freestanding (no C++ library headers).
#pragma once

namespace par {
namespace {

constexpr long kKiB = 1024;

// AVX-512: 16 lanes, 32 zmm.
struct TileAvx512 {
  static constexpr int kLanes = 16, kRegisters = 32;
  // 12×32 tile: 12 rows × 2 zmm = 24 accumulators + 2 B + 1 broadcast = 27 <= 32 zmm. Two B
  // vectors per row make each broadcast feed two FMAs (2 loads + 12 broadcasts per 24 FMAs).
  static constexpr int MR = 12, NR = 32;
  // B micro-panel 256 × 32 × 4 B = 32 KiB: two thirds of Zen 5's 48 KiB L1d, leaving room for the
  // streamed A micro-panel (12 × 256 × 4 B = 12 KiB). (On a 32 KiB L1d, KC = 128 may do better:
  // untested.) KC = 256 also amortises the C tile's load/store over 256 k steps.
  static constexpr int KC = 256;
  // A block 240 × 256 × 4 B = 240 KiB: a quarter of the 1 MiB L2 (B micro-panels stream past it).
  static constexpr int MC = 240;
  // B block 256 × 4096 × 4 B = 4 MiB of L3 per thread.
  static constexpr int NC = 4096;
};

// AVX2 + FMA: 8 lanes, 16 ymm.
struct TileAvx2 {
  static constexpr int kLanes = 8, kRegisters = 16;
  // 6×16 tile: 6 rows × 2 ymm = 12 accumulators + 2 B + 1 broadcast = 15 <= 16 ymm.
  static constexpr int MR = 6, NR = 16;
  // B micro-panel 256 × 16 × 4 B = 16 KiB: half of the 32 KiB L1d; A micro-panel 6 KiB.
  static constexpr int KC = 256;
  // A block 144 × 256 × 4 B = 144 KiB: under a third of the 512 KiB L2.
  static constexpr int MC = 144;
  // B block 256 × 3072 × 4 B = 3 MiB of L3 per thread.
  static constexpr int NC = 3072;
};

// Scalar traits (1 lane): the 4×8 tile is 32 float accumulators, which GCC's SLP vectoriser keeps
// in 8 four-wide baseline SIMD registers (SSE2 on x86-64, as its disassembly shows; NEON on arm64):
// 8 accumulators + 2 B + 1 broadcast = 11 <= 16. The budget below is stated in those registers.
struct TileScalar {
  static constexpr int kLanes = 1, kRegisters = 16;
  static constexpr int kCompilerLanes = 4;  // baseline SIMD width the compiler vectorises to
  static constexpr int MR = 4, NR = 8;
  // B micro-panel 256 × 8 × 4 B = 8 KiB: a quarter of a 32 KiB L1d.
  static constexpr int KC = 256;
  // A block 128 × 256 × 4 B = 128 KiB: a quarter of a 512 KiB L2.
  static constexpr int MC = 128;
  // B block 256 × 2048 × 4 B = 2 MiB of L3 per thread.
  static constexpr int NC = 2048;
};

// WebAssembly SIMD128: 4 lanes, 16 xmm registers where the engine runs on x64, of which V8
// keeps xmm15 as its scratch register: 15 for values.
struct TileWasm128 {
  static constexpr int kLanes = 4, kRegisters = 16;
  // 4×8 tile: 4 rows × 2 v128 = 8 accumulators + 2 B + 1 splat = 11 <= 15. The AVX2 derivation
  // at half the width (6×8: 12 + 2 + 1 = 15) fits on paper, but V8's register allocator then
  // spills about five vectors per k step to the stack: measured 1.4-1.6× slower than 4×8 in
  // Node 20 (single thread, CPU time, 512³ and 1024³; 5×8 and 6×8 alike, 2×16 close to 4×8,
  // unrolling k by 2 or 4 slower).
  static constexpr int MR = 4, NR = 8;
  // B micro-panel 256 × 8 × 4 B = 8 KiB; A block 128 × 256 × 4 B = 128 KiB; B block 2 MiB
  // (KC 128-384 and MC 64-256 measured within noise of these).
  static constexpr int KC = 256;
  static constexpr int MC = 128;
  static constexpr int NC = 2048;
};

// The derivations above as checks, for a tile whose vectors have `lanes` floats.
template <class Tile, int lanes>
constexpr bool tile_fits() {
  constexpr int nv = Tile::NR / lanes;  // B vectors per k step
  static_assert(Tile::NR % lanes == 0, "NR is a whole number of vectors");
  static_assert(Tile::MR * nv + nv + 1 <= Tile::kRegisters,
                "accumulators + B vectors + one broadcast fit the vector registers");
  static_assert(Tile::MC % Tile::MR == 0 && Tile::NC % Tile::NR == 0,
                "cache blocks are whole micro-tiles");
  static_assert(long(Tile::KC) * Tile::NR * 4 <= 32 * kKiB,
                "the B micro-panel is at most a 32 KiB L1d");
  static_assert(long(Tile::MC) * Tile::KC * 4 <= 256 * kKiB,
                "the A block is at most half of a 512 KiB L2");
  return true;
}
static_assert(tile_fits<TileAvx512, TileAvx512::kLanes>());
static_assert(tile_fits<TileAvx2, TileAvx2::kLanes>());
static_assert(tile_fits<TileScalar, TileScalar::kCompilerLanes>());
static_assert(tile_fits<TileWasm128, TileWasm128::kLanes>());

}  // namespace
}  // namespace par
