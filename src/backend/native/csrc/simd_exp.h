// Vectorised expf for AVX2 / AVX-512 (Cephes-style range reduction + degree-5 polynomial,
// ~1-2 ulp). Not compiled with -ffast-math: -inf -> 0, +inf -> inf, NaN -> NaN are explicit.
// Included only by the ISA-specific translation units.
#pragma once
#include <immintrin.h>

namespace par {
namespace simd {

constexpr float kExpHi = 88.3762626647949f;
constexpr float kExpLo = -87.3365447504019f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kC1 = 0.693359375f;
constexpr float kC2 = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500E-4f;
constexpr float kP1 = 1.3981999507E-3f;
constexpr float kP2 = 8.3334519073E-3f;
constexpr float kP3 = 4.1665795894E-2f;
constexpr float kP4 = 1.6666665459E-1f;
constexpr float kP5 = 5.0000001201E-1f;

#if defined(__AVX2__) && defined(__FMA__)
static inline __m256 exp8(__m256 x) {
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(kExpLo), _CMP_LT_OQ);
  const __m256 over = _mm256_cmp_ps(x, _mm256_set1_ps(kExpHi), _CMP_GT_OQ);
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kExpLo)), _mm256_set1_ps(kExpHi));
  __m256 fx = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kC1), xc);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(kC2), r);
  __m256 y = _mm256_set1_ps(kP0);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP1));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP2));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP3));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP4));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP5));
  __m256 r2 = _mm256_mul_ps(r, r);
  y = _mm256_fmadd_ps(y, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127));
  __m256 pow2 = _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
  y = _mm256_mul_ps(y, pow2);
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(), under);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_inff()), over);
  y = _mm256_blendv_ps(y, x, nan);
  return y;
}
#endif

}  // namespace simd
}  // namespace par
