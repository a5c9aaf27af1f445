// The C math functions the kernels call (through the builtins of native/csrc/freestanding.h and
// the row kernels' __builtin_expf), for the wasm32 build, which has no C library: exp, expf, log,
// logf, erf, pow. Natively these are glibc's; here they are written from their definitions, to
// double precision (a few ulp), and deterministic (no table or state that depends on the thread).
//
//   exp:  x = k·ln2 + r with |r| <= ln2/2 (Cody-Waite: ln2 in a high part with zero low bits, so
//         k·kLn2Hi is exact, and a low part), e^r by its Taylor series to r^13 (the next term is
//         below 2^-56 relative), 2^k put in the exponent bits.
//   log:  x = m·2^e with m in [√½, √2), log m = 2·atanh(s), s = (m-1)/(m+1), |s| <= 0.1716, by
//         the odd series of atanh to s^23 (the next term is below 2^-57 relative).
//   erf:  Taylor expansions about the 49 centres c = i/8 in [0, 6] to degree 13 (|x - c| <= 1/16:
//         the remainder is below 1e-17); the derivatives are erf^(n+1)(c) = 2/√π·(-1)^n·H_n(c)·
//         e^(-c²) with the Hermite polynomials H_n, and erf(c) itself comes from a series without
//         cancellation (c < 3) or the continued fraction of erfc (c >= 3), as in the reference
//         backend (src/backend/reference/erf.ts). The table is built once by libm_init() (the
//         runtime calls it at instantiation, before any kernel). |x| >= 6: erf = ±1 in double.
//   pow:  exp(y·log x) for x > 0 (the kernels' only use: AdamW's bias corrections β^t).
//
// Freestanding (wasm32 -nostdlib); compiled with -fno-builtin so that these definitions are not
// replaced by calls to themselves.
#include <stdint.h>

namespace par {
void libm_init();
}

namespace {

constexpr double kInf = __builtin_inf();
constexpr double kLog2e = 1.44269504088896338700e+00;
// ln 2 = kLn2Hi + kLn2Lo; kLn2Hi has 32 zero low mantissa bits, so k·kLn2Hi is exact for |k| < 2^20.
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;
// Beyond these e^x overflows to +inf / underflows to 0 in double.
constexpr double kExpOverflow = 709.782712893383973096;
constexpr double kExpUnderflow = -745.133219101941108420;
constexpr int kExpTerms = 14;  // Taylor terms r^0 .. r^13
constexpr int kLogTerms = 12;  // atanh series terms s^1 .. s^23
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390;
constexpr double kInvSqrtPi = 0.56418958354775628695;
constexpr int kF64MantissaBits = 52;
constexpr int kF64ExponentBias = 1023;

inline uint64_t bits_of(double x) {
  uint64_t b;
  __builtin_memcpy(&b, &x, sizeof b);
  return b;
}
inline double from_bits(uint64_t b) {
  double x;
  __builtin_memcpy(&x, &b, sizeof x);
  return x;
}
// The series' coefficients, computed by the compiler: 1/n! (exp) and 1/(2n+1) (log).
struct SeriesCoefficients {
  double inv_factorial[kExpTerms];
  double inv_odd[kLogTerms];
  constexpr SeriesCoefficients() : inv_factorial(), inv_odd() {
    double f = 1.0;  // n! is exact in double up to 13! < 2^53
    for (int n = 0; n < kExpTerms; n++) {
      if (n > 0) f *= double(n);
      inv_factorial[n] = 1.0 / f;
    }
    for (int n = 0; n < kLogTerms; n++) inv_odd[n] = 1.0 / double(2 * n + 1);
  }
};
constexpr SeriesCoefficients kSeries;

// 2^k for k in [-1022, 1023].
inline double pow2(int k) { return from_bits(uint64_t(k + kF64ExponentBias) << kF64MantissaBits); }

double exp_impl(double x) {
  if (x != x) return x;
  if (x > kExpOverflow) return kInf;
  if (x < kExpUnderflow) return 0.0;
  const double k = __builtin_rint(x * kLog2e);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;
  double p = kSeries.inv_factorial[kExpTerms - 1];
  for (int n = kExpTerms - 2; n >= 0; n--) p = p * r + kSeries.inv_factorial[n];
  const int ki = int(k);
  if (ki > 1023) return p * pow2(1023) * pow2(ki - 1023);
  if (ki < -1022) return p * pow2(ki + 1000) * pow2(-1000);
  return p * pow2(ki);
}

double log_impl(double x) {
  if (x != x) return x;
  if (x < 0) return __builtin_nan("");
  if (x == 0) return -kInf;
  if (x == kInf) return x;
  uint64_t b = bits_of(x);
  int e = int((b >> kF64MantissaBits) & 0x7ff);
  if (e == 0) {  // subnormal: scale into the normal range
    b = bits_of(x * pow2(54));
    e = int((b >> kF64MantissaBits) & 0x7ff) - 54;
  }
  e -= kF64ExponentBias;
  double m = from_bits((b & ((uint64_t(1) << kF64MantissaBits) - 1)) | (uint64_t(kF64ExponentBias) << kF64MantissaBits));
  if (m > kSqrt2) m *= 0.5, e += 1;
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  double q = kSeries.inv_odd[kLogTerms - 1];
  for (int n = kLogTerms - 2; n >= 0; n--) q = q * z + kSeries.inv_odd[n];
  const double de = double(e);
  return de * kLn2Hi + (de * kLn2Lo + 2.0 * s * q);
}

// erf(c) for c in [0, 6] by a series or a continued fraction (for the table only: slow).
double erf_direct(double c) {
  if (c < 3.0) {  // erf(c) = 2/√π·e^(-c²)·Σ 2^n c^(2n+1) / (2n+1)!!: positive terms
    double term = c, sum = c;
    for (int n = 1; n < 400 && term > 1e-18 * sum; n++) {
      term *= 2.0 * c * c / double(2 * n + 1);
      sum += term;
    }
    return kTwoOverSqrtPi * exp_impl(-c * c) * sum;
  }
  // erfc(c) = e^(-c²)/√π · 1/(c + (1/2)/(c + 1/(c + (3/2)/(c + ...)))), bottom-up.
  double f = c;
  for (int n = 60; n >= 1; n--) f = c + double(n) / 2.0 / f;
  return 1.0 - exp_impl(-c * c) * kInvSqrtPi / f;
}

constexpr int kErfCentresPerUnit = 8;   // centres c = i/8
constexpr double kErfLimit = 6.0;       // erf(x) = ±1 in double for |x| >= 6 (erfc(6) ≈ 2e-17)
constexpr int kErfCentres = int(kErfLimit) * kErfCentresPerUnit + 1;
constexpr int kErfDegree = 13;
double g_erf[kErfCentres][kErfDegree + 1];  // Taylor coefficients about each centre

double erf_impl(double x) {
  if (x != x) return x;
  const double ax = x < 0 ? -x : x;
  if (ax >= kErfLimit) return x < 0 ? -1.0 : 1.0;
  const int i = int(ax * kErfCentresPerUnit + 0.5);
  const double h = ax - double(i) / kErfCentresPerUnit;
  const double* a = g_erf[i];
  double p = a[kErfDegree];
  for (int n = kErfDegree - 1; n >= 0; n--) p = p * h + a[n];
  return x < 0 ? -p : p;
}

}  // namespace

namespace par {

void libm_init() {
  for (int i = 0; i < kErfCentres; i++) {
    const double c = double(i) / kErfCentresPerUnit;
    const double k = kTwoOverSqrtPi * exp_impl(-c * c);
    double* a = g_erf[i];
    a[0] = erf_direct(c);
    // a[n+1] = k·(-1)^n·H_n(c)/(n+1)!, H_0 = 1, H_1 = 2c, H_{n+1} = 2c·H_n - 2n·H_{n-1}.
    double h_prev = 0.0, h = 1.0, fact = 1.0, sign = 1.0;
    for (int n = 0; n < kErfDegree; n++) {
      fact *= double(n + 1);
      a[n + 1] = k * sign * h / fact;
      const double h_next = 2.0 * c * h - 2.0 * double(n) * h_prev;
      h_prev = h, h = h_next, sign = -sign;
    }
  }
}

}  // namespace par

extern "C" {

double exp(double x) { return exp_impl(x); }
float expf(float x) { return float(exp_impl(double(x))); }
double log(double x) { return log_impl(x); }
float logf(float x) { return float(log_impl(double(x))); }
double erf(double x) { return erf_impl(x); }

double pow(double x, double y) {
  if (y == 0.0 || x == 1.0) return 1.0;
  if (x != x || y != y) return x + y;
  if (x == 0.0) return y > 0 ? 0.0 : kInf;
  if (x < 0) {  // defined for integral y only
    if (__builtin_rint(y) != y) return __builtin_nan("");
    const double r = exp_impl(y * log_impl(-x));
    const bool odd = __builtin_fabs(y) < 9007199254740992.0 && (int64_t(y) & 1) != 0;  // |y| < 2^53
    return odd ? -r : r;
  }
  return exp_impl(y * log_impl(x));
}

}  // extern "C"
