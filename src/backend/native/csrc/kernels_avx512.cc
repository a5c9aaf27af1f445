// AVX-512F GEMM micro-kernel (12×32: 24 zmm accumulators), compiled with -mavx512f -mavx2 -mfma
// in its own translation unit and selected at run time only when the CPU supports AVX-512F.
// The attention/softmax row operations of this ISA are the AVX2 ones (kernels_avx2.cc).
#include "common.h"

#if defined(__x86_64__)
#include <immintrin.h>

namespace par {
namespace avx512 {

constexpr int MR = 12, NR = 32;

void ukr(i64 kc, const float* A, const float* B, float* C, i64 ldc, int mr, int nr, bool acc) {
  __m512 c[MR][2];
  for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = _mm512_setzero_ps();
  for (i64 p = 0; p < kc; p++) {
    __m512 b0 = _mm512_load_ps(B);
    __m512 b1 = _mm512_load_ps(B + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      __m512 a = _mm512_set1_ps(A[r]);
      c[r][0] = _mm512_fmadd_ps(a, b0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(a, b1, c[r][1]);
    }
    A += MR;
    B += NR;
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      float* cr = C + r * ldc;
      __m512 x0 = c[r][0], x1 = c[r][1];
      if (acc) {
        x0 = _mm512_add_ps(x0, _mm512_loadu_ps(cr));
        x1 = _mm512_add_ps(x1, _mm512_loadu_ps(cr + 16));
      }
      _mm512_storeu_ps(cr, x0);
      _mm512_storeu_ps(cr + 16, x1);
    }
    return;
  }
  alignas(64) float t[MR * NR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++) {
    _mm512_store_ps(t + r * NR, c[r][0]);
    _mm512_store_ps(t + r * NR + 16, c[r][1]);
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

}  // namespace avx512

const Isa* isa_avx512() {
  static Isa k = [] {
    Isa i = *isa_avx2();
    i.name = "avx512";
    i.mr = avx512::MR;
    i.nr = avx512::NR;
    i.kc = 256;
    i.mc = 240;
    i.nc = 4096;
    i.ukr = avx512::ukr;
    return i;
  }();
  return &k;
}

}  // namespace par
#endif
