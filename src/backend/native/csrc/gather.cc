// Row gather (embedding lookup, prefix selection) and its gradient, scatter-add. Indices were
// validated to lie in [0, srcRows) by the binding. Scatter-add is parallelised over column
// chunks so that duplicate indices never race, and each column accumulates in index order: the
// same bits on every run and at any thread count.
#include "common.h"

namespace par {

void gather_rows(const float* src, const int32_t* index, float* dst, i64 count, i64 cols) {
  if (cols <= 0) return;
  const i64 grain = fs::max<i64>(1, (1 << 16) / cols);
  parallel_for(count, grain, [&](i64 s, i64 e, int) {
    for (i64 i = s; i < e; i++)
      fs::copy_floats(dst + i * cols, src + i64(index[i]) * cols, cols);
  });
}

void scatter_add_rows(const float* ddst, const int32_t* index, float* dsrc, i64 count,
                      i64 cols) {
  if (cols <= 0) return;
  constexpr i64 CH = 64;
  const i64 chunks = (cols + CH - 1) / CH;
  const i64 grain = count * cols >= (1 << 16) ? 1 : chunks;
  parallel_for(chunks, grain, [&](i64 c0, i64 c1, int) {
    const i64 j0 = c0 * CH, j1 = fs::min<i64>(cols, c1 * CH);
    for (i64 i = 0; i < count; i++) {
      const float* s = ddst + i * cols;
      float* d = dsrc + i64(index[i]) * cols;
      for (i64 j = j0; j < j1; j++) d[j] += s[j];
    }
  });
}

}  // namespace par
