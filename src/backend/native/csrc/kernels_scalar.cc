// Portable kernels (any CPU, compiled without ISA flags): a 4×8 GEMM micro-kernel written so the
// compiler can vectorise it with the baseline SIMD, and the attention/softmax row operations with
// std::exp. Also the ISA selection logic.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "common.h"

namespace par {
namespace {

constexpr int MR = 4, NR = 8;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void ukr_scalar(i64 kc, const float* A, const float* B, float* C, i64 ldc, int mr, int nr,
                bool acc) {
  float c[MR][NR] = {};
  for (i64 p = 0; p < kc; p++) {
    const float* a = A + p * MR;
    const float* b = B + p * NR;
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < NR; j++) c[r][j] += a[r] * b[j];
  }
  for (int r = 0; r < mr; r++) {
    float* cr = C + r * ldc;
    if (acc)
      for (int j = 0; j < nr; j++) cr[j] += c[r][j];
    else
      for (int j = 0; j < nr; j++) cr[j] = c[r][j];
  }
}

void softmax_fwd(float* S, i64 ldS, int rows, int cols, const int* lim, const float* bias,
                 float scale, float* m, float* l, float* alpha) {
  for (int r = 0; r < rows; r++) {
    float* s = S + r * ldS;
    int L = lim[r];
    float mt = kNegInf;
    for (int j = 0; j < L; j++) {
      float v = s[j] * scale + (bias ? bias[j] : 0.0f);
      s[j] = v;
      if (v > mt) mt = v;
    }
    float mnew = m[r] > mt ? m[r] : mt;
    if (mnew == kNegInf) {
      for (int j = 0; j < cols; j++) s[j] = 0.0f;
      alpha[r] = 1.0f;
      continue;
    }
    float a = std::exp(m[r] - mnew);
    float sum = 0.0f;
    for (int j = 0; j < L; j++) {
      float e = std::exp(s[j] - mnew);
      s[j] = e;
      sum += e;
    }
    for (int j = L; j < cols; j++) s[j] = 0.0f;
    l[r] = l[r] * a + sum;
    m[r] = mnew;
    alpha[r] = a;
  }
}

void softmax_bwd_p(float* S, i64 ldS, int rows, int cols, const int* lim, const float* bias,
                   float scale, const float* lse) {
  for (int r = 0; r < rows; r++) {
    float* s = S + r * ldS;
    int L = lse[r] == kNegInf ? 0 : lim[r];
    float lr = lse[r];
    for (int j = 0; j < L; j++) s[j] = std::exp(s[j] * scale + (bias ? bias[j] : 0.0f) - lr);
    for (int j = L; j < cols; j++) s[j] = 0.0f;
  }
}

void softmax_bwd_ds(const float* P, float* dP, i64 ld, int rows, int cols, const float* delta,
                    float scale) {
  for (int r = 0; r < rows; r++) {
    const float* p = P + r * ld;
    float* d = dP + r * ld;
    float dl = delta[r];
    for (int j = 0; j < cols; j++) d[j] = p[j] * (d[j] - dl) * scale;
  }
}

float vmax(const float* x, i64 n) {
  float m = kNegInf;
  for (i64 i = 0; i < n; i++)
    if (x[i] > m) m = x[i];
  return m;
}

double sum_exp(const float* x, i64 n, float sub) {
  double s = 0;
  for (i64 i = 0; i < n; i++) s += std::exp(x[i] - sub);
  return s;
}

void axpy_exp(const float* x, i64 n, float sub, float scale, float* dst) {
  for (i64 i = 0; i < n; i++) dst[i] += scale * std::exp(x[i] - sub);
}

const Isa kScalar = {"scalar", MR,      NR,       256,  128,      2048,    ukr_scalar,
                     softmax_fwd, softmax_bwd_p, softmax_bwd_ds, vmax, sum_exp, axpy_exp};

const Isa* g_isa = nullptr;

const Isa* best() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  // Ask the CPU before touching an ISA's table: isa_avx512() itself is compiled with -mavx512f.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma") && isa_avx512())
    return isa_avx512();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && isa_avx2())
    return isa_avx2();
#endif
  return &kScalar;
}

}  // namespace

const Isa* isa_scalar() { return &kScalar; }

const char* best_isa_name() { return best()->name; }

const Isa& isa() {
  if (!g_isa) {
    g_isa = best();
    if (const char* e = std::getenv("PERCEIVER_AR_ISA")) set_isa(e);
  }
  return *g_isa;
}

bool set_isa(const char* name) {
  // Allowed: the best ISA or anything below it. Only the best ISA's table and those below it are
  // touched: an ISA's table getter is compiled for that ISA and may not run on a lesser CPU.
  const Isa* b = best();
  const char* order[3] = {"avx512", "avx2", "scalar"};
  bool below = false;
  for (const char* n : order) {
    if (std::strcmp(n, b->name) == 0) below = true;
    if (!below || std::strcmp(n, name) != 0) continue;
    const Isa* c = std::strcmp(n, "avx512") == 0 ? isa_avx512()
                   : std::strcmp(n, "avx2") == 0 ? isa_avx2()
                                                 : &kScalar;
    if (!c) return false;
    g_isa = c;
    return true;
  }
  return false;
}

#if !defined(__x86_64__)
const Isa* isa_avx2() { return nullptr; }
const Isa* isa_avx512() { return nullptr; }
#endif

}  // namespace par
