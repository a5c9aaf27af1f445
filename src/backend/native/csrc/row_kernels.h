// Row kernels of attention (online-softmax updates) and cross-entropy (max, sum of exp, axpy of
// exp), written once over a vector traits type T (vec_traits.h); contracts: the Isa fields of the
// same names (isa.h). Each loop runs whole vectors, then one masked vector where a row's valid
// length ends inside a vector that is still within the row, then scalar code for the last
// < kWidth elements, and positions past a row's valid length get 0 without computing exp there.
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once
#include "isa.h"

namespace par {
namespace {

constexpr float kRowNegInf = -__builtin_inff();

// sum_exp adds each lane's exponentials in float over blocks of this many vectors, then the
// block's total in double: a lane sums <= 128 terms in float (relative rounding error <= 128 ·
// 2^-24 ≈ 7.6e-6), and the block total costs one horizontal sum per 128 vector steps.
constexpr i64 kSumExpBlockVectors = 128;

template <class T>
void softmax_fwd(float* S, i64 ldS, int rows, int cols, const int* lim, const float* bias,
                 float scale, float* m, float* l, float* alpha) {
  using V = typename T::V;
  constexpr int W = T::kWidth;
  const V vs = T::broadcast(scale);
  for (int r = 0; r < rows; r++) {
    float* s = S + r * ldS;
    const int L = lim[r];
    // s = S·scale + bias over the valid prefix, and its max.
    V vm = T::broadcast(kRowNegInf);
    int j = 0;
    for (; j + W <= L; j += W) {
      V v = T::mul(T::load(s + j), vs);
      if (bias) v = T::add(v, T::load(bias + j));
      T::store(s + j, v);
      vm = T::max(vm, v);
    }
    float mt = T::hmax(vm);
    for (; j < L; j++) {
      const float v = s[j] * scale + (bias ? bias[j] : 0.0f);
      s[j] = v;
      if (v > mt) mt = v;
    }
    const float mnew = m[r] > mt ? m[r] : mt;
    if (mnew == kRowNegInf) {  // nothing visible yet: P = 0, running state unchanged
      for (int jj = 0; jj < cols; jj++) s[jj] = 0.0f;
      alpha[r] = 1.0f;
      continue;
    }
    const float a = __builtin_expf(m[r] - mnew);
    // P = exp(s - mnew) over the valid prefix, 0 after it; l accumulates Σ P.
    const V vmn = T::broadcast(mnew);
    V vsum = T::zero();
    j = 0;
    for (; j + W <= L; j += W) {
      const V e = T::exp(T::sub(T::load(s + j), vmn));
      T::store(s + j, e);
      vsum = T::add(vsum, e);
    }
    float sum;
    if constexpr (W > 1) {  // a partial vector (width 1 has none)
      if (j < L && j + W <= cols) {
        const V e = T::select(T::first(L - j), T::exp(T::sub(T::load(s + j), vmn)), T::zero());
        T::store(s + j, e);
        vsum = T::add(vsum, e);
        j += W;
      }
      sum = T::hsum(vsum);
      for (; j < L; j++) {
        const float e = __builtin_expf(s[j] - mnew);
        s[j] = e;
        sum += e;
      }
    } else {
      sum = T::hsum(vsum);
    }
    for (; j < cols; j++) s[j] = 0.0f;
    l[r] = l[r] * a + sum;
    m[r] = mnew;
    alpha[r] = a;
  }
}

template <class T>
void softmax_bwd_p(float* S, i64 ldS, int rows, int cols, const int* lim, const float* bias,
                   float scale, const float* lse) {
  using V = typename T::V;
  constexpr int W = T::kWidth;
  const V vs = T::broadcast(scale);
  for (int r = 0; r < rows; r++) {
    float* s = S + r * ldS;
    const float lr = lse[r];
    const int L = lr == kRowNegInf ? 0 : lim[r];
    const V vneg_l = T::broadcast(-lr);
    auto p = [&](int j) {  // exp(S·scale - lse + bias) of the vector at j
      V v = T::fma(T::load(s + j), vs, vneg_l);
      if (bias) v = T::add(v, T::load(bias + j));
      return T::exp(v);
    };
    int j = 0;
    for (; j + W <= L; j += W) T::store(s + j, p(j));
    if constexpr (W > 1) {  // a partial vector (width 1 has none)
      if (j < L && j + W <= cols) {
        T::store(s + j, T::select(T::first(L - j), p(j), T::zero()));
        j += W;
      }
      for (; j < L; j++) s[j] = __builtin_expf(s[j] * scale - lr + (bias ? bias[j] : 0.0f));
    }
    for (; j < cols; j++) s[j] = 0.0f;
  }
}

template <class T>
void softmax_bwd_ds(const float* P, float* dP, i64 ld, int rows, int cols, const float* delta,
                    float scale) {
  using V = typename T::V;
  constexpr int W = T::kWidth;
  const V vs = T::broadcast(scale);
  for (int r = 0; r < rows; r++) {
    const float* p = P + r * ld;
    float* d = dP + r * ld;
    const V vd = T::broadcast(delta[r]);
    int j = 0;
    for (; j + W <= cols; j += W)
      T::store(d + j, T::mul(T::mul(T::load(p + j), T::sub(T::load(d + j), vd)), vs));
    for (; j < cols; j++) d[j] = p[j] * (d[j] - delta[r]) * scale;
  }
}

template <class T>
float vmax(const float* x, i64 n) {
  constexpr int W = T::kWidth;
  typename T::V vm = T::broadcast(kRowNegInf);
  i64 i = 0;
  for (; i + W <= n; i += W) vm = T::max(vm, T::load(x + i));
  float m = T::hmax(vm);
  for (; i < n; i++)
    if (x[i] > m) m = x[i];
  return m;
}

template <class T>
double sum_exp(const float* x, i64 n, float sub) {
  using V = typename T::V;
  constexpr int W = T::kWidth;
  const V vs = T::broadcast(sub);
  double total = 0;
  i64 i = 0;
  while (i + W <= n) {
    V acc = T::zero();
    const i64 end = i + kSumExpBlockVectors * W < n ? i + kSumExpBlockVectors * W : n;
    for (; i + W <= end; i += W) acc = T::add(acc, T::exp(T::sub(T::load(x + i), vs)));
    total += T::hsum(acc);
  }
  for (; i < n; i++) total += __builtin_expf(x[i] - sub);
  return total;
}

template <class T>
void axpy_exp(const float* x, i64 n, float sub, float scale, float* dst) {
  using V = typename T::V;
  constexpr int W = T::kWidth;
  const V vs = T::broadcast(sub);
  const V vc = T::broadcast(scale);
  i64 i = 0;
  for (; i + W <= n; i += W)
    T::store(dst + i, T::fma(vc, T::exp(T::sub(T::load(x + i), vs)), T::load(dst + i)));
  for (; i < n; i++) dst[i] += scale * __builtin_expf(x[i] - sub);
}

}  // namespace
}  // namespace par
