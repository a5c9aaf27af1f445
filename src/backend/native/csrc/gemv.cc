// Matrix products with few rows against a weight stored (n × k): C (m × n) [+]= A (m × k) · Bᵀ — a
// linear layer's forward for one latent row per stream, i.e. every generation step after the
// first. The packed GEMM re-lays B out into panels before multiplying, which at m = 1 costs several
// passes over B; here each row of B is read once, contiguously, and dotted with the m rows of A (A
// stays in L1/L2), so the product runs at the memory bandwidth of reading B.
//
// - gemv_nt: float32 B. `gemm` takes this path when gemv_fits: A not transposed, B transposed, at
//   most kGemvMaxRows (16) rows: measured on AVX2 cores it beats the packed GEMM up to 16 rows, and
//   from 32 on the GEMM wins (bench/generate.ts measures the generation steps that use it).
// - gemv_nt_i8: int8 weight-only B with one float32 scale per row: B[j, p] = scale[j] · Bq[j, p]
//   (generation with int8 weights reads a quarter of the bytes). Beyond kGemvMaxRows rows it
//   dequantises blocks of B and runs the packed GEMM on them.
// Each output element is one fixed-order dot product (gemv_kernel.h) computed by one thread: the
// same bits at any thread count, on every run, and for any number of rows m. The kernel is the
// selected ISA table's (isa(), PERCEIVER_AR_ISA: scalar, avx2, avx512, avx512-emulated; wasm128 in
// the wasm build); this file only splits B's rows over the threads and holds no ISA code.
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#include "common.h"

namespace par {
namespace {

// Rows of B per parallel chunk: at least 64 KiB of float32 weights, so that a chunk's work pays for
// the hand-off to a thread.
constexpr i64 kChunkBytes = 64 * 1024;
// Many-row int8 products dequantise this many bytes of B rows at a time: a whole layer matrix of a
// clm-base-sized model (5120 x 1280 floats = 26 MB) in one block, so that the GEMM packs A once
// per matrix (1 MB blocks, 51 rows at k = 5120, made the int8 pass 2x slower than float32).
constexpr i64 kDequantBlockBytes = 32 << 20;

i64 chunk_rows(i64 k, i64 bytes_per_weight) {
  const i64 row = k * bytes_per_weight;
  return row >= kChunkBytes ? 1 : kChunkBytes / (row > 0 ? row : 1);
}

}  // namespace

bool gemv_fits(bool tA, bool tB, i64 m) { return !tA && tB && m >= 1 && m <= kGemvMaxRows; }

void gemv_nt(i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc) {
  if (m <= 0 || n <= 0) return;
  const auto rows = isa().gemv_f32;
  parallel_for(n, chunk_rows(k, sizeof(float)), [&](i64 j0, i64 j1, int) { rows(j0, j1, m, k, A, lda, B, ldb, C, ldc, acc); });
}

void gemv_nt_i8(i64 m, i64 n, i64 k, const float* A, const int8_t* Bq, const float* scale, float* C) {
  if (m <= 0 || n <= 0) return;
  if (m <= kGemvMaxRows) {
    const auto rows = isa().gemv_i8;
    return parallel_for(n, chunk_rows(k, sizeof(int8_t)), [&](i64 j0, i64 j1, int) { rows(j0, j1, m, k, A, k, Bq, k, scale, C, n); });
  }
  // Many rows (a full pass over the latents): the product is compute-bound, so dequantise a block
  // of B's rows at a time into float32 and let the packed GEMM multiply it (dequantising costs n·k
  // operations once, against m·n·k multiply-adds).
  if (k <= 0) return gemm(false, true, m, n, k, A, k, nullptr, k, C, n, false);
  const i64 block = fs::max<i64>(1, kDequantBlockBytes / (i64(sizeof(float)) * k));
  // The calling thread's buffer (parallel.h caller_buffer); the pool's threads get its address.
  float* const buf = static_cast<float*>(caller_buffer(kGemvDequant, sizeof(float) * size_t(fs::min(block, n) * k)));
  for (i64 j0 = 0; j0 < n; j0 += block) {
    const i64 nb = fs::min(block, n - j0);
    parallel_for(nb, 1, [&](i64 b, i64 e, int) {
      for (i64 j = b; j < e; j++) {
        const int8_t* q = Bq + (j0 + j) * k;
        float* d = buf + j * k;
        const float sc = scale[j0 + j];
        for (i64 p = 0; p < k; p++) d[p] = sc * float(q[p]);
      }
    });
    gemm(false, true, m, nb, k, A, k, buf, k, C + j0, n, false);
  }
}

}  // namespace par
