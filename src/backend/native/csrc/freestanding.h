// The few C++ library facilities the kernels use, without the C++ library, so that every kernel
// source compiles both natively and for wasm32 -nostdlib (the WebAssembly backend):
// min / max / clamp, float copies and zeroing, and the double-precision math functions.
//
// The math functions are compiler builtins. Natively they are the C library's (glibc's erf, exp,
// log, pow: the same bits as std::erf etc.; sqrt is an instruction). In the wasm32 build they
// resolve to src/backend/wasm/csrc/libm.cc, the module's own implementations.
//
// Freestanding (no C++ library headers).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace par {
namespace fs {

template <class T>
constexpr T min(T a, T b) {
  return b < a ? b : a;
}
template <class T>
constexpr T max(T a, T b) {
  return a < b ? b : a;
}
template <class T>
constexpr T clamp(T x, T lo, T hi) {
  return x < lo ? lo : hi < x ? hi : x;
}

inline void copy_floats(float* dst, const float* src, int64_t n) {
  if (n > 0) __builtin_memcpy(dst, src, sizeof(float) * size_t(n));
}
template <class T>
inline void zero(T* dst, int64_t n) {
  if (n > 0) __builtin_memset(dst, 0, sizeof(T) * size_t(n));
}

constexpr float kInf = __builtin_inff();
constexpr float kNaN = __builtin_nanf("");

inline double sqrt(double x) { return __builtin_sqrt(x); }
inline double exp(double x) { return __builtin_exp(x); }
inline float exp(float x) { return __builtin_expf(x); }
inline double log(double x) { return __builtin_log(x); }
inline float log(float x) { return __builtin_logf(x); }
inline double erf(double x) { return __builtin_erf(x); }
inline double pow(double x, double y) { return __builtin_pow(x, y); }
inline bool isfinite(float x) { return __builtin_isfinite(x); }

}  // namespace fs
}  // namespace par
