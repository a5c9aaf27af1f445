// Row kernels of cross-entropy (max, sum of exp, axpy of exp), written once over a vector traits
// type T (vec_traits.h); contracts: the Isa fields of the same names (isa.h). Each loop runs whole
// vectors, then scalar code for the last < kWidth elements. (Attention's softmax lives in the
// epilogues of its register tiles: attention_kernel.h.)
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
