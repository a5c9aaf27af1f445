// exp(x) and 2^x for a vector of floats, written once over a vector traits type T (vec_traits.h).
// exp_cephes: Cephes-style range reduction x = n·ln2 + r, |r| <= ln2/2, a degree-5 polynomial for
// e^r and 2^n built in the exponent bits; ~1-2 ulp over the finite range. A traits type uses it as
// its exp() when the ISA has no vector exp of its own (all of them except the scalar one, which
// calls expf). exp2_cephes: x = n + f, |f| <= 1/2, 2^f = 1 + f·P(f) with P of degree 5 (Cephes
// exp2f); no reduction by ln 2, so a third cheaper (the attention softmax, which works in base 2).
// Not compiled with -ffast-math: -inf -> 0, +inf -> inf (exp), NaN -> NaN are explicit.
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
// Minimax coefficients of (e^r - 1 - r) / r² on |r| <= ln2/2 (Cephes expf), highest degree first.
constexpr float kExpP[6] = {1.9875691500E-4f, 1.3981999507E-3f, 8.3334519073E-3f,
                            4.1665795894E-2f, 1.6666665459E-1f, 5.0000001201E-1f};

// 2^x below 2^-126 would be denormal: 0 (both functions flush there). exp2_cephes clamps above
// 2^127 (it serves arguments <= 0 up to rounding; the clamp keeps unused lanes finite).
constexpr float kExp2Lo = -126.0f;
constexpr float kExp2Hi = 127.0f;
// Minimax coefficients of (2^f - 1) / f on |f| <= 1/2 (Cephes exp2f; relative error ~2e-7),
// highest degree first.
constexpr float kExp2P[6] = {1.535336188319500e-4f, 1.339887440266574e-3f, 9.618437357674640e-3f,
                             5.550332471162809e-2f, 2.402264791363012e-1f, 6.931472028550421e-1f};

// c[0]·x^5 + c[1]·x^4 + ... + c[5] by Horner's rule (five FMAs).
template <class T>
inline typename T::V horner5(typename T::V x, const float (&c)[6]) {
  typename T::V y = T::broadcast(c[0]);
  for (int i = 1; i < 6; i++) y = T::fma(y, x, T::broadcast(c[i]));
  return y;
}

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
  V y = horner5<T>(r, kExpP);
  y = T::fma(y, T::mul(r, r), T::add(r, T::broadcast(1.0f)));
  y = T::mul(y, T::exp2i(n));
  y = T::select(under, T::zero(), y);
  y = T::select(over, T::broadcast(__builtin_inff()), y);
  return T::select(nan, x, y);
}

// 2^x: -inf -> 0, NaN -> NaN; x = n + f with n = round(x), 2^n built in the exponent bits.
template <class T>
inline typename T::V exp2_cephes(typename T::V x) {
  using V = typename T::V;
  const auto under = T::lt(x, T::broadcast(kExp2Lo));
  const auto nan = T::is_nan(x);
  const V xc = T::min(T::max(x, T::broadcast(kExp2Lo)), T::broadcast(kExp2Hi));
  const V n = T::round(xc);
  const V f = T::sub(xc, n);
  const V p = horner5<T>(f, kExp2P);
  const V y = T::mul(T::fma(f, p, T::broadcast(1.0f)), T::exp2i(n));
  return T::select(nan, x, T::select(under, T::zero(), y));
}

}  // namespace
}  // namespace par
