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
// Each output element is one fixed-order dot product (see kChains below) computed by one thread:
// the same bits at any thread count, on every run, and for any number of rows m.
// The AVX2/FMA variant is compiled for that target alone (function attributes) and runs only when
// the selected ISA table (isa(), PERCEIVER_AR_ISA) is an AVX one (avx2, avx512, avx512-emulated),
// i.e. the CPU has AVX2 and FMA; the scalar variant runs otherwise (and is all the wasm32 build
// has). No AVX-512 instruction is used.
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// Every "avx..." table (avx2, avx512, avx512-emulated) is selected only on a CPU with AVX2 and FMA.
bool use_avx2() {
#if defined(__x86_64__)
  const char* name = isa().name;
  return name[0] == 'a' && name[1] == 'v' && name[2] == 'x';
#else
  return false;
#endif
}

// Every dot product is split the same way, whatever the number of rows: 8 lanes per vector, and
// vector v of the row goes to chain v mod kChains; chains are summed ((c0 + c1) + (c2 + c3)), then
// the lanes ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), then the scalar tail in order.
constexpr int kLanes = 8;
// Independent FMA chains per dot product: an FMA's 4-cycle latency would otherwise stall a single
// row's product (one FMA per 8 weights) far below the memory bandwidth.
constexpr int kChains = 4;
// Rows of A per pass over a row of B (which stays in L1): 3 rows x 4 chains = 12 accumulators,
// + the weight vector + an A load <= 16 AVX2 registers.
[[maybe_unused]] constexpr int kRowBlock = 3;  // (the AVX2 path only)

// ---- scalar ----------------------------------------------------------------------------------

template <class W>
float dot_scalar(const float* a, const W* w, i64 k) {
  float part[kChains][kLanes] = {};
  i64 p = 0;
  for (; p + kLanes <= k; p += kLanes) {
    float* c = part[(p / kLanes) % kChains];
    for (int l = 0; l < kLanes; l++) c[l] += a[p + l] * float(w[p + l]);
  }
  float v[kLanes];
  for (int l = 0; l < kLanes; l++) v[l] = (part[0][l] + part[1][l]) + (part[2][l] + part[3][l]);
  float s = ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
  for (; p < k; p++) s += a[p] * float(w[p]);
  return s;
}

template <class W>
void rows_scalar(i64 j0, i64 j1, i64 m, i64 k, const float* A, i64 lda, const W* B, i64 ldb, const float* scale, float* C, i64 ldc, bool acc) {
  for (i64 j = j0; j < j1; j++)
    for (i64 r = 0; r < m; r++) {
      float v = dot_scalar(A + r * lda, B + j * ldb, k);
      if (scale) v *= scale[j];
      C[r * ldc + j] = acc ? C[r * ldc + j] + v : v;
    }
}

// ---- AVX2 ------------------------------------------------------------------------------------
#if defined(__x86_64__)

__attribute__((target("avx2,fma"))) inline __m256 load8(const float* w) { return _mm256_loadu_ps(w); }
__attribute__((target("avx2,fma"))) inline __m256 load8(const int8_t* w) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w))));
}

// The lane order of the header: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));  // l0+l4 ...
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));                                    // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// M (<= kRowBlock) rows of A against one row of B, kChains accumulators per row.
template <int M, class W>
__attribute__((target("avx2,fma"))) void row_block_avx2(i64 k, const float* A, i64 lda, const W* w, float* out, i64 ostride) {
  __m256 acc[M][kChains];
  for (int r = 0; r < M; r++)
    for (int u = 0; u < kChains; u++) acc[r][u] = _mm256_setzero_ps();
  i64 p = 0;
  for (; p + kChains * kLanes <= k; p += kChains * kLanes)
    for (int u = 0; u < kChains; u++) {
      const __m256 wv = load8(w + p + u * kLanes);
      for (int r = 0; r < M; r++) acc[r][u] = _mm256_fmadd_ps(_mm256_loadu_ps(A + r * lda + p + u * kLanes), wv, acc[r][u]);
    }
  for (int u = 0; p + kLanes <= k; p += kLanes, u++) {  // the last full vectors continue the chain order
    const __m256 wv = load8(w + p);
    for (int r = 0; r < M; r++) acc[r][u] = _mm256_fmadd_ps(_mm256_loadu_ps(A + r * lda + p), wv, acc[r][u]);
  }
  for (int r = 0; r < M; r++) {
    float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3])));
    for (i64 q = p; q < k; q++) s += A[r * lda + q] * float(w[q]);
    out[r * ostride] = s;
  }
}

template <class W>
__attribute__((target("avx2,fma"))) void rows_avx2(i64 j0, i64 j1, i64 m, i64 k, const float* A, i64 lda, const W* B, i64 ldb, const float* scale, float* C, i64 ldc, bool acc) {
  float out[kRowBlock];
  for (i64 j = j0; j < j1; j++) {
    const W* w = B + j * ldb;
    for (i64 r0 = 0; r0 < m; r0 += kRowBlock) {
      const int mr = int(m - r0 < kRowBlock ? m - r0 : kRowBlock);
      const float* a = A + r0 * lda;
      if (mr == 3) row_block_avx2<3>(k, a, lda, w, out, 1);
      else if (mr == 2) row_block_avx2<2>(k, a, lda, w, out, 1);
      else row_block_avx2<1>(k, a, lda, w, out, 1);
      for (int r = 0; r < mr; r++) {
        const float v = scale ? out[r] * scale[j] : out[r];
        float& c = C[(r0 + r) * ldc + j];
        c = acc ? c + v : v;
      }
    }
  }
}

#endif  // __x86_64__

template <class W>
void gemv_any(i64 m, i64 n, i64 k, const float* A, i64 lda, const W* B, i64 ldb, const float* scale, float* C, i64 ldc, bool acc) {
  if (m <= 0 || n <= 0) return;
  [[maybe_unused]] const bool vec = use_avx2();  // always false in the wasm32 build
  parallel_for(n, chunk_rows(k, sizeof(W)), [&](i64 j0, i64 j1, int) {
#if defined(__x86_64__)
    if (vec) return rows_avx2(j0, j1, m, k, A, lda, B, ldb, scale, C, ldc, acc);
#endif
    rows_scalar(j0, j1, m, k, A, lda, B, ldb, scale, C, ldc, acc);
  });
}

}  // namespace

bool gemv_fits(bool tA, bool tB, i64 m) { return !tA && tB && m >= 1 && m <= kGemvMaxRows; }

void gemv_nt(i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc) {
  gemv_any<float>(m, n, k, A, lda, B, ldb, nullptr, C, ldc, acc);
}

void gemv_nt_i8(i64 m, i64 n, i64 k, const float* A, const int8_t* Bq, const float* scale, float* C) {
  if (m <= kGemvMaxRows) return gemv_any<int8_t>(m, n, k, A, k, Bq, k, scale, C, n, false);
  // Many rows (a full pass over the latents): the product is compute-bound, so dequantise a block
  // of B's rows at a time into float32 and let the packed GEMM multiply it (dequantising costs n·k
  // operations once, against m·n·k multiply-adds).
  if (n <= 0 || k <= 0) return gemm(false, true, m, n, k, A, k, nullptr, k, C, n, false);
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
