// Rotary position embedding on the first rotDim channels of every head (pairs (2i, 2i+1)),
// forward (y may alias x) and backward (transpose rotation, accumulated into dx).
#include "common.h"

namespace par {

void rotary_forward(const float* x, const float* cos, const float* sin, float* y, i64 rows,
                    i64 heads, i64 headDim, i64 rotDim) {
  const i64 width = heads * headDim;
  if (width <= 0) return;
  const i64 grain = fs::max<i64>(1, 16384 / width);
  parallel_for(rows, grain, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const float* c = cos + r * rotDim;
      const float* s = sin + r * rotDim;
      for (i64 h = 0; h < heads; h++) {
        const i64 off = r * width + h * headDim;
        const float* xr = x + off;
        float* yr = y + off;
        for (i64 i = 0; i + 1 < rotDim; i += 2) {
          const float x0 = xr[i], x1 = xr[i + 1];
          yr[i] = x0 * c[i] - x1 * s[i];
          yr[i + 1] = x1 * c[i + 1] + x0 * s[i + 1];
        }
        if (yr != xr)
          for (i64 i = rotDim; i < headDim; i++) yr[i] = xr[i];
      }
    }
  });
}

void rotary_backward(const float* dy, const float* cos, const float* sin, float* dx, i64 rows,
                     i64 heads, i64 headDim, i64 rotDim) {
  const i64 width = heads * headDim;
  if (width <= 0) return;
  const i64 grain = fs::max<i64>(1, 16384 / width);
  parallel_for(rows, grain, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const float* c = cos + r * rotDim;
      const float* s = sin + r * rotDim;
      for (i64 h = 0; h < heads; h++) {
        const i64 off = r * width + h * headDim;
        const float* g = dy + off;
        float* d = dx + off;
        for (i64 i = 0; i + 1 < rotDim; i += 2) {
          const float g0 = g[i], g1 = g[i + 1];
          d[i] += g0 * c[i] + g1 * s[i + 1];
          d[i + 1] += g1 * c[i + 1] - g0 * s[i];
        }
        for (i64 i = rotDim; i < headDim; i++) d[i] += g[i];
      }
    }
  });
}

}  // namespace par
