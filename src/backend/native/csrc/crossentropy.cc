// Softmax cross-entropy per row (forward: lse and loss; backward: softmax - onehot, scaled and
// accumulated), vectorised through the ISA table's max / sum-of-exp / axpy-of-exp helpers.
// Labels were validated to be in [0, vocab) or equal to ignoreIndex by the binding.
#include "common.h"

namespace par {

void cross_entropy_forward(const float* logits, const int32_t* labels, float* lse,
                           float* losses, i64 rows, i64 vocab, int32_t ignore) {
  const Isa& I = isa();
  const i64 grain = fs::max<i64>(1, 32768 / fs::max<i64>(vocab, 1));
  parallel_for(rows, grain, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const float* x = logits + r * vocab;
      const float mx = I.vmax(x, vocab);
      // Rows whose max is not finite (all -inf, +inf present) give NaN, like the reference.
      const float l = fs::isfinite(mx)
                          ? float(double(mx) + fs::log(I.sum_exp(x, vocab, mx)))
                          : fs::kNaN;
      lse[r] = l;
      const int32_t y = labels[r];
      losses[r] = y == ignore ? 0.0f : float(double(l) - double(x[y]));
    }
  });
}

void cross_entropy_backward(const float* logits, const int32_t* labels, const float* lse,
                            float* dlogits, i64 rows, i64 vocab, int32_t ignore,
                            float scale) {
  const Isa& I = isa();
  const i64 grain = fs::max<i64>(1, 32768 / fs::max<i64>(vocab, 1));
  parallel_for(rows, grain, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const int32_t y = labels[r];
      if (y == ignore) continue;
      I.axpy_exp(logits + r * vocab, vocab, lse[r], scale, dlogits + r * vocab);
      dlogits[r * vocab + y] -= scale;
    }
  });
}

}  // namespace par
