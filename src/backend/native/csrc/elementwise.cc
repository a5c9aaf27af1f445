// Element-wise and broadcast kernels: GELU (erf form, erf in double), add, axpy, bias add, column sums.
// Memory-bound; parallelised over large chunks only when the array is big enough to pay for the
// thread wake-up.
#include "common.h"

namespace par {
namespace {
constexpr i64 kGrain = 1 << 15;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;
}  // namespace

void gelu_forward(const float* x, float* y, i64 n) {
  parallel_for(n, kGrain, [&](i64 b, i64 e, int) {
    for (i64 i = b; i < e; i++) {
      double v = x[i];
      y[i] = float(0.5 * v * (1.0 + fs::erf(v * kInvSqrt2)));
    }
  });
}

void gelu_backward(const float* x, const float* dy, float* dx, i64 n) {
  parallel_for(n, kGrain, [&](i64 b, i64 e, int) {
    for (i64 i = b; i < e; i++) {
      double v = x[i];
      double cdf = 0.5 * (1.0 + fs::erf(v * kInvSqrt2));
      double pdf = kInvSqrt2Pi * fs::exp(-0.5 * v * v);
      dx[i] = float(dx[i] + dy[i] * (cdf + v * pdf));
    }
  });
}

void add(const float* a, const float* b, float* out, i64 n) {
  parallel_for(n, 1 << 16, [&](i64 s, i64 e, int) {
    for (i64 i = s; i < e; i++) out[i] = a[i] + b[i];
  });
}

void axpy(float alpha, const float* src, float* dst, i64 n) {
  parallel_for(n, 1 << 16, [&](i64 s, i64 e, int) {
    for (i64 i = s; i < e; i++) dst[i] += alpha * src[i];
  });
}

void add_bias(float* out, const float* bias, i64 rows, i64 cols) {
  if (cols <= 0) return;
  const i64 grain = fs::max<i64>(1, (1 << 16) / cols);
  parallel_for(rows, grain, [&](i64 s, i64 e, int) {
    for (i64 r = s; r < e; r++) {
      float* o = out + r * cols;
      for (i64 j = 0; j < cols; j++) o[j] += bias[j];
    }
  });
}

void sum_rows(const float* dout, float* dbias, i64 rows, i64 cols) {
  // Parallel over column chunks (no write conflicts); each column is summed in row order by one
  // thread in a double accumulator: the same bits on every run and at any thread count.
  constexpr i64 CH = 256;
  const i64 chunks = (cols + CH - 1) / CH;
  const i64 grain = rows * CH >= (1 << 16) ? 1 : chunks;
  parallel_for(chunks, grain, [&](i64 c0, i64 c1, int) {
    double acc[CH];
    for (i64 c = c0; c < c1; c++) {
      const i64 j0 = c * CH, w = fs::min<i64>(CH, cols - j0);
      for (i64 j = 0; j < w; j++) acc[j] = 0;
      for (i64 r = 0; r < rows; r++) {
        const float* d = dout + r * cols + j0;
        for (i64 j = 0; j < w; j++) acc[j] += d[j];
      }
      for (i64 j = 0; j < w; j++) dbias[j0 + j] = float(dbias[j0 + j] + acc[j]);
    }
  });
}

}  // namespace par
