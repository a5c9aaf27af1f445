// Per-ISA vector traits: the only place where an ISA's intrinsics are named. Every kernel
// template (gemm_kernel.h, gemv_kernel.h, row_kernels.h, vec_exp.h) is written once over a traits
// type T:
//
//   T::V, T::M        a vector of T::kWidth floats; a lane mask (vector or bit mask)
//   T::kWidth         fp32 lanes per vector
//   T::kRegisters     vector registers the ISA names (the tile budget in gemm_tiles.h)
//   zero(), broadcast(float), load(const float*), store(float*, V)   (unaligned load/store)
//   load_i8(const int8_t*)   kWidth int8 values (unaligned), converted to float (exact)
//   add, sub, mul, div, sqrt, min, max, fma(a, b, c) = a·b + c   (div and sqrt correctly rounded)
//                     fma is fused where the ISA has it (AVX2/AVX-512); a multiply and an add
//                     elsewhere (scalar on baseline x86-64, SIMD128 without relaxed-simd).
//                     min/max: which operand is returned for NaN or equal operands is unspecified.
//   lt(a, b), gt(a, b), is_nan(a) -> M      (ordered compares: false when either is NaN)
//   first(n) -> M      lanes [0, n) set (n may be <= 0 or >= kWidth)
//   select(m, a, b)    m ? a : b per lane
//   round(x)           to the nearest integer, ties to even
//   exp2i(n)           2^n for integral n in [-126, 128] (2^128 = +inf)
//   hsum(V), hmax(V)   horizontal sum / max (a fixed tree order: results are deterministic)
//   exp(V)             e^x (exp_cephes from vec_exp.h, or libm for the scalar traits)
//
// The contract assumes nothing x86-specific (no mask registers, no FMA, no alignment), so that
// SIMD128 (VecWasm128, 4 lanes, mul+add) is one more traits type; scripts/check-kernels.mjs
// compiles the templates for wasm32 to keep it so.
//
// Everything here has internal linkage (anonymous namespace): a kernel instantiated in an AVX-512
// translation unit can never be merged by the linker with a same-named copy used by baseline code
// (which could run zmm instructions on a CPU without them). scripts/check-kernels.mjs checks that
// each ISA object exports only its table getter.
//
// Freestanding (no C++ library headers).
#pragma once
#include <stdint.h>

#if defined(__x86_64__) && (defined(__AVX2__) || defined(__AVX512F__))
#include <immintrin.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#include "vec_exp.h"

namespace par {
namespace {

// exp2i builds 2^n in the bits of an IEEE-754 binary32: biased exponent n + 127 above the
// 23 mantissa bits.
constexpr int kF32ExponentBias = 127;
constexpr int kF32MantissaBits = 23;

// Mask of lanes [0, n) of a 16-lane vector, as AVX-512's __mmask16 (shared by the AVX-512 traits
// and their AVX2 emulation, so that the emulation tests it).
inline uint16_t first_lanes16(int n) {
  return n <= 0 ? uint16_t(0) : n >= 16 ? uint16_t(0xFFFF) : uint16_t((1u << n) - 1u);
}

// ---------------------------------------------------------------------------------------------
// Scalar: one float per "vector". Any CPU; the compiler may vectorise loops over it.
struct VecScalar {
  using V = float;
  using M = bool;
  static constexpr int kWidth = 1;
  static constexpr int kRegisters = 16;  // the SSE registers the compiler vectorises into (x86-64)
  static V zero() { return 0.0f; }
  static V broadcast(float x) { return x; }
  static V load(const float* p) { return *p; }
  static V load_i8(const int8_t* p) { return float(*p); }
  static void store(float* p, V v) { *p = v; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V sqrt(V a) { return __builtin_sqrtf(a); }
  static V min(V a, V b) { return a < b ? a : b; }
  static V max(V a, V b) { return a > b ? a : b; }
  static V fma(V a, V b, V c) { return a * b + c; }
  static M lt(V a, V b) { return a < b; }
  static M gt(V a, V b) { return a > b; }
  static M is_nan(V a) { return a != a; }
  static M first(int n) { return n > 0; }
  static V select(M m, V a, V b) { return m ? a : b; }
  static V round(V x) { return __builtin_rintf(x); }
  static V exp2i(V n) {
    const uint32_t bits = uint32_t(int32_t(n) + kF32ExponentBias) << kF32MantissaBits;
    float y;
    __builtin_memcpy(&y, &bits, sizeof y);
    return y;
  }
  static float hsum(V v) { return v; }
  static float hmax(V v) { return v; }
  static V exp(V x) { return __builtin_expf(x); }
};

// ---------------------------------------------------------------------------------------------
// AVX2 + FMA: 8 lanes in a ymm register.
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
struct VecAvx2 {
  using V = __m256;
  using M = __m256;  // all-ones / all-zeros lanes
  static constexpr int kWidth = 8;
  static constexpr int kRegisters = 16;  // ymm0-15
  static V zero() { return _mm256_setzero_ps(); }
  static V broadcast(float x) { return _mm256_set1_ps(x); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static V load_i8(const int8_t* p) {  // 8 bytes, sign-extended to 8 int32, converted
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
  }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static M lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M is_nan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static M first(int n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane));
  }
  static V select(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
  static V round(V x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static V exp2i(V n) {
    const __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(kF32ExponentBias));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, kF32MantissaBits));
  }
  static float hsum(V v) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_add_ss(m, _mm_shuffle_ps(m, m, 1)));
  }
  static float hmax(V v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
  }
  static V exp(V x) { return exp_cephes<VecAvx2>(x); }
};

// The AVX-512 traits' semantics on AVX2 (16 lanes as two ymm halves, bit masks like __mmask16),
// so that the 16-lane kernels (tile geometry, tails, masks) run and are tested on AVX2-only
// machines. Slower than either (24 accumulators need 48 ymm: they spill); tests only.
struct VecAvx512Emulated {
  struct V {
    __m256 lo, hi;  // lanes 0-7, 8-15
  };
  using M = uint16_t;  // bit i = lane i, as __mmask16
  using H = VecAvx2;
  static constexpr int kWidth = 16;
  static constexpr int kRegisters = 32;  // the register file it stands in for (zmm0-31)
  static V zero() { return {H::zero(), H::zero()}; }
  static V broadcast(float x) { return {H::broadcast(x), H::broadcast(x)}; }
  static V load(const float* p) { return {H::load(p), H::load(p + 8)}; }
  static V load_i8(const int8_t* p) { return {H::load_i8(p), H::load_i8(p + 8)}; }
  static void store(float* p, V v) { H::store(p, v.lo), H::store(p + 8, v.hi); }
  static V add(V a, V b) { return {H::add(a.lo, b.lo), H::add(a.hi, b.hi)}; }
  static V sub(V a, V b) { return {H::sub(a.lo, b.lo), H::sub(a.hi, b.hi)}; }
  static V mul(V a, V b) { return {H::mul(a.lo, b.lo), H::mul(a.hi, b.hi)}; }
  static V div(V a, V b) { return {H::div(a.lo, b.lo), H::div(a.hi, b.hi)}; }
  static V sqrt(V a) { return {H::sqrt(a.lo), H::sqrt(a.hi)}; }
  static V min(V a, V b) { return {H::min(a.lo, b.lo), H::min(a.hi, b.hi)}; }
  static V max(V a, V b) { return {H::max(a.lo, b.lo), H::max(a.hi, b.hi)}; }
  static V fma(V a, V b, V c) { return {H::fma(a.lo, b.lo, c.lo), H::fma(a.hi, b.hi, c.hi)}; }
  static M bits(H::M lo, H::M hi) {
    return M(unsigned(_mm256_movemask_ps(lo)) | unsigned(_mm256_movemask_ps(hi)) << 8);
  }
  static H::M lanes(unsigned bits8) {  // the ymm mask of 8 mask bits
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i set = _mm256_and_si256(_mm256_set1_epi32(int(bits8 & 0xFFu)), bit);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(set, bit));
  }
  static M lt(V a, V b) { return bits(H::lt(a.lo, b.lo), H::lt(a.hi, b.hi)); }
  static M gt(V a, V b) { return bits(H::gt(a.lo, b.lo), H::gt(a.hi, b.hi)); }
  static M is_nan(V a) { return bits(H::is_nan(a.lo), H::is_nan(a.hi)); }
  static M first(int n) { return first_lanes16(n); }
  static V select(M m, V a, V b) {
    return {H::select(lanes(m), a.lo, b.lo), H::select(lanes(unsigned(m) >> 8), a.hi, b.hi)};
  }
  static V round(V x) { return {H::round(x.lo), H::round(x.hi)}; }
  static V exp2i(V n) { return {H::exp2i(n.lo), H::exp2i(n.hi)}; }
  static float hsum(V v) { return H::hsum(H::add(v.lo, v.hi)); }
  static float hmax(V v) { return H::hmax(H::max(v.lo, v.hi)); }
  static V exp(V x) { return exp_cephes<VecAvx512Emulated>(x); }
};
#endif

// ---------------------------------------------------------------------------------------------
// AVX-512F: 16 lanes in a zmm register, __mmask16 masks. Compiled only into kernels_avx512.cc
// and runs only after __builtin_cpu_supports("avx512f"); every line mirrors VecAvx512Emulated.
#if defined(__x86_64__) && defined(__AVX512F__)
struct VecAvx512 {
  using V = __m512;
  using M = __mmask16;
  static constexpr int kWidth = 16;
  static constexpr int kRegisters = 32;  // zmm0-31
  static V zero() { return _mm512_setzero_ps(); }
  static V broadcast(float x) { return _mm512_set1_ps(x); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static V load_i8(const int8_t* p) {  // 16 bytes, sign-extended to 16 int32, converted
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
  }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static M lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M is_nan(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static M first(int n) { return first_lanes16(n); }
  static V select(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }  // m ? a : b
  static V round(V x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static V exp2i(V n) {
    const __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(kF32ExponentBias));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, kF32MantissaBits));
  }
  static float hsum(V v) { return _mm512_reduce_add_ps(v); }
  static float hmax(V v) { return _mm512_reduce_max_ps(v); }
  static V exp(V x) { return exp_cephes<VecAvx512>(x); }
};
#endif

// ---------------------------------------------------------------------------------------------
// WebAssembly SIMD128: 4 lanes in a v128. fma is a multiply and an add: relaxed-simd's madd is
// used only when built with -DPAR_WASM_RELAXED_MADD (and -mrelaxed-simd), since engines may
// implement it fused or not, and results would then depend on the browser.
#if defined(__wasm_simd128__)
struct VecWasm128 {
  using V = v128_t;
  using M = v128_t;  // all-ones / all-zeros lanes
  static constexpr int kWidth = 4;
  static constexpr int kRegisters = 16;  // V8 and SpiderMonkey keep v128 values in xmm0-15 on x64
  static V zero() { return wasm_f32x4_splat(0.0f); }
  static V broadcast(float x) { return wasm_f32x4_splat(x); }
  static V load(const float* p) { return wasm_v128_load(p); }
  static V load_i8(const int8_t* p) {  // 4 bytes, sign-extended to 16 then 32 bits, converted
    const V b = wasm_v128_load32_zero(p);
    return wasm_f32x4_convert_i32x4(wasm_i32x4_extend_low_i16x8(wasm_i16x8_extend_low_i8x16(b)));
  }
  static void store(float* p, V v) { wasm_v128_store(p, v); }
  static V add(V a, V b) { return wasm_f32x4_add(a, b); }
  static V sub(V a, V b) { return wasm_f32x4_sub(a, b); }
  static V mul(V a, V b) { return wasm_f32x4_mul(a, b); }
  static V div(V a, V b) { return wasm_f32x4_div(a, b); }
  static V sqrt(V a) { return wasm_f32x4_sqrt(a); }
  static V min(V a, V b) { return wasm_f32x4_pmin(a, b); }  // pmin/pmax: one x86 instruction
  static V max(V a, V b) { return wasm_f32x4_pmax(a, b); }
#if defined(PAR_WASM_RELAXED_MADD)
  static V fma(V a, V b, V c) { return wasm_f32x4_relaxed_madd(a, b, c); }
#else
  static V fma(V a, V b, V c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), c); }
#endif
  static M lt(V a, V b) { return wasm_f32x4_lt(a, b); }
  static M gt(V a, V b) { return wasm_f32x4_gt(a, b); }
  static M is_nan(V a) { return wasm_f32x4_ne(a, a); }
  static M first(int n) { return wasm_i32x4_lt(wasm_i32x4_make(0, 1, 2, 3), wasm_i32x4_splat(n)); }
  static V select(M m, V a, V b) { return wasm_v128_bitselect(a, b, m); }
  static V round(V x) { return wasm_f32x4_nearest(x); }
  static V exp2i(V n) {
    const V e = wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(kF32ExponentBias));
    return wasm_i32x4_shl(e, kF32MantissaBits);
  }
  static float hsum(V v) {
    const V m = wasm_f32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 2, 3));
    return wasm_f32x4_extract_lane(m, 0) + wasm_f32x4_extract_lane(m, 1);
  }
  static float hmax(V v) {
    const V m = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 2, 3));
    const float a = wasm_f32x4_extract_lane(m, 0), b = wasm_f32x4_extract_lane(m, 1);
    return a > b ? a : b;
  }
  static V exp(V x) { return exp_cephes<VecWasm128>(x); }
};
#endif

}  // namespace
}  // namespace par
