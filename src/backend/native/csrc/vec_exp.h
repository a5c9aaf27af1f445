// exp(x) for a vector of floats, written once over a vector traits type T (vec_traits.h):
// Cephes-style range reduction x = n·ln2 + r, |r| <= ln2/2, a degree-5 polynomial for e^r and
// 2^n built in the exponent bits; ~1-2 ulp over the finite range. Not compiled with -ffast-math:
// -inf -> 0, +inf -> inf, NaN -> NaN are explicit. A traits type uses it as its exp() when the ISA
// has no vector exp of its own (all of them except the scalar one, which calls expf).
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once

namespace par {
namespace {

// kExpHi = 127.5·ln 2: above it 2^n would need n = 128, so the result is +inf (true values up to
// ln(FLT_MAX) = 88.72 are finite: the edge is approximated). kExpLo = -126·ln 2 = ln(FLT_MIN):
// below it the result would be denormal and is flushed to 0. Softmax only feeds x <= 0.
constexpr float kExpHi = 88.3762626647949f;
constexpr float kExpLo = -87.3365447504019f;
constexpr float kLog2e = 1.44269504088896341f;
// ln 2 split in two, kExpC1 with 9 significant bits so that n·kExpC1 is exact for |n| <= 128 even
// without a fused multiply-add (Cody-Waite reduction): ln 2 = kExpC1 + kExpC2.
constexpr float kExpC1 = 0.693359375f;
constexpr float kExpC2 = -2.12194440e-4f;
// Minimax coefficients of (e^r - 1 - r) / r² on |r| <= ln2/2 (Cephes expf).
constexpr float kExpP0 = 1.9875691500E-4f;
constexpr float kExpP1 = 1.3981999507E-3f;
constexpr float kExpP2 = 8.3334519073E-3f;
constexpr float kExpP3 = 4.1665795894E-2f;
constexpr float kExpP4 = 1.6666665459E-1f;
constexpr float kExpP5 = 5.0000001201E-1f;

template <class T>
inline typename T::V exp_cephes(typename T::V x) {
  using V = typename T::V;
  using M = typename T::M;
  const M under = T::lt(x, T::broadcast(kExpLo));
  const M over = T::gt(x, T::broadcast(kExpHi));
  const M nan = T::is_nan(x);
  const V xc = T::min(T::max(x, T::broadcast(kExpLo)), T::broadcast(kExpHi));
  // n = round(x / ln2) lies in [-126, 128] after the clamp (2^128 = +inf only at x = kExpHi).
  const V n = T::round(T::mul(xc, T::broadcast(kLog2e)));
  V r = T::fma(n, T::broadcast(-kExpC1), xc);
  r = T::fma(n, T::broadcast(-kExpC2), r);
  V y = T::broadcast(kExpP0);
  y = T::fma(y, r, T::broadcast(kExpP1));
  y = T::fma(y, r, T::broadcast(kExpP2));
  y = T::fma(y, r, T::broadcast(kExpP3));
  y = T::fma(y, r, T::broadcast(kExpP4));
  y = T::fma(y, r, T::broadcast(kExpP5));
  y = T::fma(y, T::mul(r, r), T::add(r, T::broadcast(1.0f)));
  y = T::mul(y, T::exp2i(n));
  y = T::select(under, T::zero(), y);
  y = T::select(over, T::broadcast(__builtin_inff()), y);
  return T::select(nan, x, y);
}

}  // namespace
}  // namespace par
