// LayerNorm over the last axis (biased variance), forward and backward. Row statistics are
// accumulated in double, in kSumLanes interleaved partial sums per row (row_sums). The backward
// reduces dgamma/dbeta over rows through per-chunk partial sums: the rows are cut into chunks by
// the shape alone (never by the thread count), each chunk is summed in row order by whichever
// thread takes it, and the chunk partials are added in chunk order, so the result has the same
// bits at any thread count and on every run.
#include "common.h"

namespace par {
namespace {
// Rows per work chunk at least this many elements' worth (amortises the thread hand-off).
constexpr i64 kChunkElements = 16384;
// At most this many dgamma/dbeta partials (2·cols doubles each): enough chunks to balance 32
// threads, few enough that the final in-order sum is negligible.
constexpr i64 kMaxChunks = 64;
// Row sums run in this many partial sums (element j into partial j mod kSumLanes), added in a
// fixed tree at the end: a double add has ~4 cycles of latency and two issue per cycle, so one
// running sum per row left the loop waiting on the add chain (measured ~2 ns per element for the
// forward at 256 columns); 8 chains keep both adders busy. The order is the shape's alone.
constexpr int kSumLanes = 8;

// *s0, *s1 = the two sums f adds into its accumulators, f(j, a, b) called once for every j in
// [0, n) in increasing order (element j into partial j mod kSumLanes), each sum in kSumLanes partials.
template <class F>
inline void row_sums(i64 n, F&& f, double* s0, double* s1) {
  double a[kSumLanes] = {}, b[kSumLanes] = {};
  i64 j = 0;
  for (; j + kSumLanes <= n; j += kSumLanes)
    for (int l = 0; l < kSumLanes; l++) f(j + l, a[l], b[l]);
  for (int l = 0; j < n; j++, l++) f(j, a[l], b[l]);
  static_assert(kSumLanes == 8, "the tree below adds 8 partial sums");
  *s0 = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  *s1 = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
}
}  // namespace

void layernorm_forward(const float* x, const float* g, const float* b, float* y, float* mean,
                       float* rstd, i64 rows, i64 cols, float eps) {
  if (cols <= 0) return;
  const i64 grain = fs::max<i64>(1, 16384 / cols);
  parallel_for(rows, grain, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const float* xr = x + r * cols;
      double s, unused;
      row_sums(cols, [&](i64 j, double& a, double&) { a += xr[j]; }, &s, &unused);
      const double mu = s / double(cols);
      double v;
      row_sums(cols, [&](i64 j, double& a, double&) { const double d = xr[j] - mu; a += d * d; }, &v, &unused);
      const float rs = float(1.0 / fs::sqrt(v / double(cols) + double(eps)));
      const float muf = float(mu);
      mean[r] = muf;
      rstd[r] = rs;
      float* yr = y + r * cols;
      for (i64 j = 0; j < cols; j++) yr[j] = (xr[j] - muf) * rs * g[j] + b[j];
    }
  });
}

void layernorm_backward(const float* dy, const float* x, const float* g, const float* mean,
                        const float* rstd, float* dx, float* dg, float* db, i64 rows, i64 cols) {
  if (cols <= 0 || rows <= 0) return;
  const i64 min_rows = fs::max<i64>(1, kChunkElements / cols);
  const i64 chunks = fs::min<i64>(kMaxChunks, (rows + min_rows - 1) / min_rows);
  const i64 chunk_rows = (rows + chunks - 1) / chunks;
  // Per chunk: dgamma | dbeta. Grow-only per calling thread (no fresh pages on every call).
  const i64 part_doubles = chunks * 2 * cols;
  double* const part = static_cast<double*>(caller_buffer(kLayerNormPartials, sizeof(double) * size_t(part_doubles)));
  fs::zero(part, part_doubles);
  parallel_for(chunks, 1, [&](i64 c0, i64 c1, int) {
    for (i64 c = c0; c < c1; c++) {
      double* pg = part + size_t(c) * 2 * cols;
      double* pb = pg + cols;
      const i64 r_end = fs::min(rows, (c + 1) * chunk_rows);
      for (i64 r = c * chunk_rows; r < r_end; r++) {
        const float* xr = x + r * cols;
        const float* dyr = dy + r * cols;
        const float mu = mean[r], rs = rstd[r];
        double sumD, sumDX;
        row_sums(cols, [&](i64 j, double& aD, double& aDX) {  // every j once: also dgamma/dbeta
          const float xhat = (xr[j] - mu) * rs;
          const float d = dyr[j] * g[j];
          aD += d;
          aDX += double(d) * xhat;
          pg[j] += double(dyr[j]) * xhat;
          pb[j] += dyr[j];
        }, &sumD, &sumDX);
        const float mD = float(sumD / double(cols)), mDX = float(sumDX / double(cols));
        float* dxr = dx + r * cols;
        for (i64 j = 0; j < cols; j++) {
          const float xhat = (xr[j] - mu) * rs;
          const float d = dyr[j] * g[j];
          dxr[j] += rs * (d - mD - xhat * mDX);
        }
      }
    }
  });
  for (i64 j = 0; j < cols; j++) {
    double sg = 0, sb = 0;
    for (i64 c = 0; c < chunks; c++) {
      sg += part[size_t(c) * 2 * cols + j];
      sb += part[size_t(c) * 2 * cols + cols + j];
    }
    dg[j] = float(dg[j] + sg);
    db[j] = float(db[j] + sb);
  }
}

}  // namespace par
