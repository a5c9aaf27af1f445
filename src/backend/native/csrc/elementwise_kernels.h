// Element-wise kernels written once over a vector traits type T (vec_traits.h): GELU forward and
// backward (erf form) and the AdamW update; contracts: the Isa fields of the same names (isa.h).
// Each runs whole vectors, then the last < kWidth elements through a one-vector buffer, so that
// every element is computed by the same vector formula wherever it lies (the bits of an element
// never depend on how the caller cut the array into chunks).
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once
#include "isa.h"

namespace par {
namespace {

constexpr float kGeluInvSqrt2 = 0.70710678118654752440f;    // Φ(x) = erfc(-x/√2) / 2
constexpr float kGeluInvSqrt2Pi = 0.39894228040143267794f;  // φ(x) = e^(-x²/2) / √(2π)
// erfc(u) = e^(-u²)·P(u)/Q(u) for u >= 0: a rational fit of e^(u²)·erfc(u) made for this file
// (Lawson-weighted least squares of the relative error on [0, 9.5]: 5e-9 in double, 3.1e-7
// evaluated in float). A relative fit keeps Φ(x) = erfc(|x|/√2)/2 accurate in relative terms deep
// in the negative tail, where 1 + erf(x/√2) would cancel. Past u = 9.5, e^(-u²) is below the
// smallest normal float (exp flushes it to 0), so u is clamped there.
constexpr float kErfcClamp = 9.5f;
constexpr float kErfcP1 = 1.2331941f, kErfcP2 = 0.7261518f, kErfcP3 = 0.22662383f,
                kErfcP4 = 0.03225316f;
constexpr float kErfcQ1 = 2.361574f, kErfcQ2 = 2.3908942f, kErfcQ3 = 1.3151917f,
                kErfcQ4 = 0.40170935f, kErfcQ5 = 0.057166446f;

// Φ(x), the standard normal CDF: e = erfc(|x|/√2)/2, Φ = x < 0 ? e : 1 - e.
template <class T>
inline typename T::V normal_cdf(typename T::V x) {
  using V = typename T::V;
  const V z = T::mul(x, T::broadcast(kGeluInvSqrt2));
  const V u = T::min(T::max(z, T::sub(T::zero(), z)), T::broadcast(kErfcClamp));  // |z|, clamped
  V p = T::broadcast(kErfcP4);
  p = T::fma(p, u, T::broadcast(kErfcP3));
  p = T::fma(p, u, T::broadcast(kErfcP2));
  p = T::fma(p, u, T::broadcast(kErfcP1));
  p = T::fma(p, u, T::broadcast(1.0f));
  V q = T::broadcast(kErfcQ5);
  q = T::fma(q, u, T::broadcast(kErfcQ4));
  q = T::fma(q, u, T::broadcast(kErfcQ3));
  q = T::fma(q, u, T::broadcast(kErfcQ2));
  q = T::fma(q, u, T::broadcast(kErfcQ1));
  q = T::fma(q, u, T::broadcast(1.0f));
  const V half_erfc = T::mul(T::mul(T::exp(T::mul(T::mul(u, u), T::broadcast(-1.0f))), T::div(p, q)),
                             T::broadcast(0.5f));
  return T::select(T::lt(x, T::zero()), half_erfc, T::sub(T::broadcast(1.0f), half_erfc));
}

// Runs body(i) on every whole vector at i, then on the tail through buffers: `in` arrays are
// copied into zero-padded one-vector buffers, body runs there, `out` arrays are copied back.
template <class T, int kIn, int kOut, class Body>
inline void for_vectors(i64 n, const float* const (&in)[kIn], float* const (&out)[kOut], Body body) {
  constexpr int W = T::kWidth;
  i64 i = 0;
  for (; i + W <= n; i += W) body(in, out, i);
  if (i == n) return;
  const int rest = int(n - i);
  alignas(64) float ib[kIn][W];
  alignas(64) float ob[kOut][W];
  const float* ip[kIn];
  float* op[kOut];
  for (int a = 0; a < kIn; a++) {
    for (int j = 0; j < W; j++) ib[a][j] = j < rest ? in[a][i + j] : 0.0f;
    ip[a] = ib[a];
  }
  for (int a = 0; a < kOut; a++) {
    for (int j = 0; j < W; j++) ob[a][j] = j < rest ? out[a][i + j] : 0.0f;
    op[a] = ob[a];
  }
  body(ip, op, i64(0));
  for (int a = 0; a < kOut; a++)
    for (int j = 0; j < rest; j++) out[a][i + j] = ob[a][j];
}

// y = x·Φ(x), n elements.
template <class T>
void gelu_fwd(const float* x, float* y, i64 n) {
  const float* const in[1] = {x};
  float* const out[1] = {y};
  for_vectors<T, 1, 1>(n, in, out, [](const float* const* s, float* const* d, i64 i) {
    const auto v = T::load(s[0] + i);
    T::store(d[0] + i, T::mul(v, normal_cdf<T>(v)));
  });
}

// dx += dy·(Φ(x) + x·φ(x)), n elements.
template <class T>
void gelu_bwd(const float* x, const float* dy, float* dx, i64 n) {
  const float* const in[2] = {x, dy};
  float* const out[1] = {dx};
  for_vectors<T, 2, 1>(n, in, out, [](const float* const* s, float* const* d, i64 i) {
    const auto v = T::load(s[0] + i);
    const auto pdf = T::mul(T::broadcast(kGeluInvSqrt2Pi),
                            T::exp(T::mul(T::mul(v, v), T::broadcast(-0.5f))));
    const auto slope = T::fma(v, pdf, normal_cdf<T>(v));
    T::store(d[0] + i, T::fma(T::load(s[1] + i), slope, T::load(d[0] + i)));
  });
}

// One AdamW step on n elements (contract: Isa::adamw), in float:
//   m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;  p -= lr·((m/bc1) / (√(v/bc2) + eps) + wd·p)
template <class T>
void adamw_update(float* p, const float* g, float* m, float* v, i64 n, const AdamWCoef& c) {
  const float* const in[1] = {g};
  float* const out[3] = {p, m, v};
  for_vectors<T, 1, 3>(n, in, out, [&c](const float* const* s, float* const* d, i64 i) {
    const auto gi = T::load(s[0] + i);
    const auto mi = T::fma(T::broadcast(c.beta1), T::load(d[1] + i),
                           T::mul(T::broadcast(c.one_minus_beta1), gi));
    const auto vi = T::fma(T::broadcast(c.beta2), T::load(d[2] + i),
                           T::mul(T::broadcast(c.one_minus_beta2), T::mul(gi, gi)));
    T::store(d[1] + i, mi);
    T::store(d[2] + i, vi);
    const auto denom = T::add(T::sqrt(T::mul(vi, T::broadcast(c.inv_bc2))), T::broadcast(c.eps));
    const auto upd = T::div(T::mul(mi, T::broadcast(c.inv_bc1)), denom);
    const auto pi = T::load(d[0] + i);
    T::store(d[0] + i, T::sub(pi, T::mul(T::broadcast(c.lr), T::fma(T::broadcast(c.wd), pi, upd))));
  });
}

}  // namespace
}  // namespace par
