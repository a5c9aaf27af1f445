// Matrix products with few rows against a weight stored (n × k): C (m × n) [+]= A (m × k) · Bᵀ — a
// linear layer's forward for one latent row per stream, i.e. every generation step after the
// first. The packed GEMM re-lays B out into panels before multiplying, which at m = 1 costs several
// passes over B; here each row of B is read once, contiguously, and dotted with the m rows of A (A
// stays in L1/L2), so the product runs at the memory bandwidth of reading B.
//
// - gemv_nt: float32 B. `gemm` takes this path when gemv_fits: A not transposed, B transposed, at
//   most 2 · kGemvMaxRows rows (two 8-row blocks over the same L2-resident chunk of B; measured on
//   AVX2 cores it beats the packed GEMM up to 16 rows, and from 32 on the GEMM wins).
// - gemv_nt_i8: int8 weight-only B with one float32 scale per row: B[j, p] = scale[j] · Bq[j, p]
//   (generation with int8 weights reads a quarter of the bytes).
// Each output element is one fixed-order dot product (vector lanes, then a fixed horizontal sum,
// then the scalar tail) computed by one thread: the same bits at any thread count and on every run.
// The AVX2/FMA variant is compiled for that target alone (function attributes) and runs only when
// the selected ISA table (isa(), PERCEIVER_AR_ISA) is AVX2 or AVX-512, i.e. the CPU has AVX2; the
// scalar variant runs otherwise. No AVX-512 instruction is used.
#include <immintrin.h>

#include <cstring>

#include "common.h"

namespace par {
namespace {

// Rows of B per parallel chunk: at least 64 KiB of float32 weights, so that a chunk's work pays for
// the hand-off to a thread.
constexpr i64 kChunkBytes = 64 * 1024;
// Rows up to which `gemm` takes this path (see the header).
constexpr i64 kGemvFitRows = 2 * kGemvMaxRows;

i64 chunk_rows(i64 k, i64 bytes_per_weight) {
  const i64 row = k * bytes_per_weight;
  return row >= kChunkBytes ? 1 : kChunkBytes / (row > 0 ? row : 1);
}

bool use_avx2() {
  const char* name = isa().name;
  return std::strcmp(name, "avx2") == 0 || std::strcmp(name, "avx512") == 0;
}

// ---- scalar ----------------------------------------------------------------------------------

// Lanes of the scalar dot product: the same split into partial sums as the vector code's 8 lanes.
constexpr int kLanes = 8;

template <class W>
float dot_scalar(const float* a, const W* w, i64 k) {
  float part[kLanes] = {};
  i64 p = 0;
  for (; p + kLanes <= k; p += kLanes)
    for (int l = 0; l < kLanes; l++) part[l] += a[p + l] * float(w[p + l]);
  float s = ((part[0] + part[4]) + (part[2] + part[6])) + ((part[1] + part[5]) + (part[3] + part[7]));
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

__attribute__((target("avx2,fma"))) inline __m256 load8(const float* w) { return _mm256_loadu_ps(w); }
__attribute__((target("avx2,fma"))) inline __m256 load8(const std::int8_t* w) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w))));
}

// The scalar code's lane order: ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).
__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));  // l0+l4 ...
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));                                    // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

// M rows of A against one row of B: M accumulators of 8 lanes (M <= 8: 8 + 1 + 1 of 16 ymm).
template <int M, class W>
__attribute__((target("avx2,fma"))) void row_avx2(i64 k, const float* A, i64 lda, const W* w, float* out) {
  __m256 acc[M];
  for (int r = 0; r < M; r++) acc[r] = _mm256_setzero_ps();
  i64 p = 0;
  for (; p + kLanes <= k; p += kLanes) {
    const __m256 wv = load8(w + p);
    for (int r = 0; r < M; r++) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(A + r * lda + p), wv, acc[r]);
  }
  for (int r = 0; r < M; r++) {
    float s = hsum(acc[r]);
    for (i64 q = p; q < k; q++) s += A[r * lda + q] * float(w[q]);
    out[r] = s;
  }
}

template <int M, class W>
__attribute__((target("avx2,fma"))) void rows_avx2_m(i64 j0, i64 j1, i64 k, const float* A, i64 lda, const W* B, i64 ldb, const float* scale, float* C, i64 ldc, bool acc) {
  float out[M];
  for (i64 j = j0; j < j1; j++) {
    row_avx2<M>(k, A, lda, B + j * ldb, out);
    for (int r = 0; r < M; r++) {
      const float v = scale ? out[r] * scale[j] : out[r];
      C[r * ldc + j] = acc ? C[r * ldc + j] + v : v;
    }
  }
}

template <class W>
void rows_avx2(i64 j0, i64 j1, i64 m, i64 k, const float* A, i64 lda, const W* B, i64 ldb, const float* scale, float* C, i64 ldc, bool acc) {
  switch (m) {
    case 1: return rows_avx2_m<1>(j0, j1, k, A, lda, B, ldb, scale, C, ldc, acc);
    case 2: return rows_avx2_m<2>(j0, j1, k, A, lda, B, ldb, scale, C, ldc, acc);
    case 3: return rows_avx2_m<3>(j0, j1, k, A, lda, B, ldb, scale, C, ldc, acc);
    case 4: return rows_avx2_m<4>(j0, j1, k, A, lda, B, ldb, scale, C, ldc, acc);
    case 5: return rows_avx2_m<5>(j0, j1, k, A, lda, B, ldb, scale, C, ldc, acc);
    case 6: return rows_avx2_m<6>(j0, j1, k, A, lda, B, ldb, scale, C, ldc, acc);
    case 7: return rows_avx2_m<7>(j0, j1, k, A, lda, B, ldb, scale, C, ldc, acc);
    case 8: return rows_avx2_m<8>(j0, j1, k, A, lda, B, ldb, scale, C, ldc, acc);
  }
  __builtin_trap();
}

template <class W>
void gemv_any(i64 m, i64 n, i64 k, const float* A, i64 lda, const W* B, i64 ldb, const float* scale, float* C, i64 ldc, bool acc) {
  if (m <= 0 || n <= 0) return;
  const bool vec = use_avx2();
  parallel_for(n, chunk_rows(k, sizeof(W)), [&](i64 j0, i64 j1, int) {
    for (i64 r0 = 0; r0 < m; r0 += kGemvMaxRows) {  // more rows than a block: block by block
      const i64 mr = m - r0 < kGemvMaxRows ? m - r0 : kGemvMaxRows;
      if (vec) rows_avx2(j0, j1, mr, k, A + r0 * lda, lda, B, ldb, scale, C + r0 * ldc, ldc, acc);
      else rows_scalar(j0, j1, mr, k, A + r0 * lda, lda, B, ldb, scale, C + r0 * ldc, ldc, acc);
    }
  });
}

}  // namespace

bool gemv_fits(bool tA, bool tB, i64 m) { return !tA && tB && m >= 1 && m <= kGemvFitRows; }

void gemv_nt(i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc) {
  gemv_any<float>(m, n, k, A, lda, B, ldb, nullptr, C, ldc, acc);
}

void gemv_nt_i8(i64 m, i64 n, i64 k, const float* A, const std::int8_t* Bq, const float* scale, float* C) {
  gemv_any<std::int8_t>(m, n, k, A, k, Bq, k, scale, C, n, false);
}

}  // namespace par
