// Rotary position embedding on the first rotDim channels of every head (pairs (2i, 2i+1)),
// forward (y = R·x; y may alias x) and backward (dx += Rᵀ·dy), one loop for both.
#include "common.h"

namespace par {
namespace {

// Rows of `in` (rows × heads·headDim) rotated pair by pair with the per-row angles' cos/sin
// (rows × rotDim); channels past rotDim pass through. kBackward: the transposed rotation (the
// sine's sign flips), accumulated into `out`; otherwise `out` is written.
template <bool kBackward>
void rotate_rows(const float* in, const float* cos, const float* sin, float* out, i64 rows,
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
        const float* a = in + off;
        float* o = out + off;
        for (i64 i = 0; i + 1 < rotDim; i += 2) {
          const float a0 = a[i], a1 = a[i + 1];
          if (kBackward) {
            o[i] += a0 * c[i] + a1 * s[i + 1];
            o[i + 1] += a1 * c[i + 1] - a0 * s[i];
          } else {
            o[i] = a0 * c[i] - a1 * s[i];
            o[i + 1] = a1 * c[i + 1] + a0 * s[i + 1];
          }
        }
        for (i64 i = rotDim; i < headDim; i++) {
          if (kBackward) o[i] += a[i];
          else if (o != a) o[i] = a[i];
        }
      }
    }
  });
}

}  // namespace

void rotary_forward(const float* x, const float* cos, const float* sin, float* y, i64 rows,
                    i64 heads, i64 headDim, i64 rotDim) {
  rotate_rows<false>(x, cos, sin, y, rows, heads, headDim, rotDim);
}

void rotary_backward(const float* dy, const float* cos, const float* sin, float* dx, i64 rows,
                     i64 heads, i64 headDim, i64 rotDim) {
  rotate_rows<true>(dy, cos, sin, dx, rows, heads, headDim, rotDim);
}

}  // namespace par
