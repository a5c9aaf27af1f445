// AVX2 + FMA kernels, compiled with -mavx2 -mfma in their own translation unit and selected at
// run time (kernels_scalar.cc) only when the CPU supports both. 6×16 GEMM micro-kernel
// (12 ymm accumulators) and vectorised attention/softmax row operations.
#include "common.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cmath>
#include <limits>

#include "simd_exp.h"

namespace par {
namespace avx2 {

constexpr int MR = 6, NR = 16;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void ukr(i64 kc, const float* A, const float* B, float* C, i64 ldc, int mr, int nr, bool acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (i64 p = 0; p < kc; p++) {
    __m256 b0 = _mm256_load_ps(B);
    __m256 b1 = _mm256_load_ps(B + 8);
    __m256 a;
    a = _mm256_broadcast_ss(A + 0);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(A + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(A + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(A + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(A + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(A + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
    A += MR;
    B += NR;
  }
  if (mr == MR && nr == NR) {
#define PAR_ST(r, x0, x1)                                                         \
  {                                                                               \
    float* cr = C + r * ldc;                                                      \
    if (acc) {                                                                    \
      x0 = _mm256_add_ps(x0, _mm256_loadu_ps(cr));                                \
      x1 = _mm256_add_ps(x1, _mm256_loadu_ps(cr + 8));                            \
    }                                                                             \
    _mm256_storeu_ps(cr, x0);                                                     \
    _mm256_storeu_ps(cr + 8, x1);                                                 \
  }
    PAR_ST(0, c00, c01) PAR_ST(1, c10, c11) PAR_ST(2, c20, c21) PAR_ST(3, c30, c31)
    PAR_ST(4, c40, c41) PAR_ST(5, c50, c51)
#undef PAR_ST
    return;
  }
  alignas(32) float t[MR * NR];
  _mm256_store_ps(t + 0, c00), _mm256_store_ps(t + 8, c01);
  _mm256_store_ps(t + 16, c10), _mm256_store_ps(t + 24, c11);
  _mm256_store_ps(t + 32, c20), _mm256_store_ps(t + 40, c21);
  _mm256_store_ps(t + 48, c30), _mm256_store_ps(t + 56, c31);
  _mm256_store_ps(t + 64, c40), _mm256_store_ps(t + 72, c41);
  _mm256_store_ps(t + 80, c50), _mm256_store_ps(t + 88, c51);
  for (int r = 0; r < mr; r++) {
    float* cr = C + r * ldc;
    const float* tr = t + r * NR;
    if (acc)
      for (int j = 0; j < nr; j++) cr[j] += tr[j];
    else
      for (int j = 0; j < nr; j++) cr[j] = tr[j];
  }
}

static inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
static inline float hsum8(__m256 v) {
  __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_add_ps(m, _mm_movehl_ps(m, m));
  m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// Mask of lanes j0..j0+7 that are < L.
static inline __m256 lane_lt(int j0, int L) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i lim = _mm256_set1_epi32(L - j0);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(lim, idx));
}

void softmax_fwd(float* S, i64 ldS, int rows, int cols, const int* lim, const float* bias,
                 float scale, float* m, float* l, float* alpha) {
  const __m256 vs = _mm256_set1_ps(scale);
  const __m256 ninf = _mm256_set1_ps(kNegInf);
  for (int r = 0; r < rows; r++) {
    float* s = S + r * ldS;
    int L = lim[r];
    __m256 vm = ninf;
    int j = 0;
    for (; j + 8 <= L; j += 8) {
      __m256 v = _mm256_mul_ps(_mm256_loadu_ps(s + j), vs);
      if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
      _mm256_storeu_ps(s + j, v);
      vm = _mm256_max_ps(vm, v);
    }
    float mt = hmax8(vm);
    for (; j < L; j++) {
      float v = s[j] * scale + (bias ? bias[j] : 0.0f);
      s[j] = v;
      if (v > mt) mt = v;
    }
    float mnew = m[r] > mt ? m[r] : mt;
    if (mnew == kNegInf) {
      for (int jj = 0; jj < cols; jj++) s[jj] = 0.0f;
      alpha[r] = 1.0f;
      continue;
    }
    float a = std::exp(m[r] - mnew);
    const __m256 vmn = _mm256_set1_ps(mnew);
    __m256 vsum = _mm256_setzero_ps();
    j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 e = simd::exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j), vmn));
      if (j + 8 > L) e = _mm256_and_ps(e, lane_lt(j, L));
      _mm256_storeu_ps(s + j, e);
      vsum = _mm256_add_ps(vsum, e);
    }
    float sum = hsum8(vsum);
    for (; j < cols; j++) {
      float e = j < L ? std::exp(s[j] - mnew) : 0.0f;
      s[j] = e;
      sum += e;
    }
    l[r] = l[r] * a + sum;
    m[r] = mnew;
    alpha[r] = a;
  }
}

void softmax_bwd_p(float* S, i64 ldS, int rows, int cols, const int* lim, const float* bias,
                   float scale, const float* lse) {
  const __m256 vs = _mm256_set1_ps(scale);
  for (int r = 0; r < rows; r++) {
    float* s = S + r * ldS;
    float lr = lse[r];
    int L = lr == kNegInf ? 0 : lim[r];
    const __m256 vl = _mm256_set1_ps(lr);
    int j = 0;
    for (; j + 8 <= cols && j < L; j += 8) {
      __m256 v = _mm256_fmsub_ps(_mm256_loadu_ps(s + j), vs, vl);
      if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
      __m256 e = simd::exp8(v);
      if (j + 8 > L) e = _mm256_and_ps(e, lane_lt(j, L));
      _mm256_storeu_ps(s + j, e);
    }
    for (; j < cols; j++)
      s[j] = j < L ? std::exp(s[j] * scale - lr + (bias ? bias[j] : 0.0f)) : 0.0f;
  }
}

void softmax_bwd_ds(const float* P, float* dP, i64 ld, int rows, int cols, const float* delta,
                    float scale) {
  const __m256 vs = _mm256_set1_ps(scale);
  for (int r = 0; r < rows; r++) {
    const float* p = P + r * ld;
    float* d = dP + r * ld;
    const __m256 vd = _mm256_set1_ps(delta[r]);
    int j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 x = _mm256_sub_ps(_mm256_loadu_ps(d + j), vd);
      _mm256_storeu_ps(d + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(p + j), x), vs));
    }
    for (; j < cols; j++) d[j] = p[j] * (d[j] - delta[r]) * scale;
  }
}

float vmax(const float* x, i64 n) {
  __m256 vm = _mm256_set1_ps(kNegInf);
  i64 i = 0;
  for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
  float m = hmax8(vm);
  for (; i < n; i++)
    if (x[i] > m) m = x[i];
  return m;
}

double sum_exp(const float* x, i64 n, float sub) {
  const __m256 vs = _mm256_set1_ps(sub);
  double total = 0;
  i64 i = 0;
  while (i + 8 <= n) {
    // Blocks of <= 1024 elements summed in float, then in double.
    __m256 acc = _mm256_setzero_ps();
    i64 end = i + 1024 < n ? i + 1024 : n;
    for (; i + 8 <= end; i += 8) acc = _mm256_add_ps(acc, simd::exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs)));
    total += hsum8(acc);
  }
  for (; i < n; i++) total += std::exp(x[i] - sub);
  return total;
}

void axpy_exp(const float* x, i64 n, float sub, float scale, float* dst) {
  const __m256 vs = _mm256_set1_ps(sub);
  const __m256 vc = _mm256_set1_ps(scale);
  i64 i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e = simd::exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs));
    _mm256_storeu_ps(dst + i, _mm256_fmadd_ps(vc, e, _mm256_loadu_ps(dst + i)));
  }
  for (; i < n; i++) dst[i] += scale * std::exp(x[i] - sub);
}

const Isa kIsa = {"avx2", MR, NR, 256, 144, 3072, ukr, softmax_fwd, softmax_bwd_p, softmax_bwd_ds,
                  vmax, sum_exp, axpy_exp};

}  // namespace avx2

const Isa* isa_avx2() { return &avx2::kIsa; }

}  // namespace par
#endif
