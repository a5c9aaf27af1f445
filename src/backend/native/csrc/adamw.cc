// AdamW step (decoupled weight decay, bias-corrected moments), element-wise in double with the
// moments stored back as float32 exactly like the reference backend.
#include "common.h"

namespace par {

void adamw(float* p, const float* g, float* m, float* v, i64 n, const AdamW& o) {
  const double bc1 = 1.0 - fs::pow(o.beta1, o.t);
  const double bc2 = 1.0 - fs::pow(o.beta2, o.t);
  const double b1 = o.beta1, b2 = o.beta2, lr = o.lr, eps = o.eps, wd = o.wd;
  parallel_for(n, 1 << 15, [&](i64 s, i64 e, int) {
    for (i64 i = s; i < e; i++) {
      const double gi = g[i];
      const float mi = float(b1 * m[i] + (1.0 - b1) * gi);
      const float vi = float(b2 * v[i] + (1.0 - b2) * gi * gi);
      m[i] = mi;
      v[i] = vi;
      const double upd = double(mi) / bc1 / (fs::sqrt(double(vi) / bc2) + eps);
      p[i] = float(double(p[i]) - lr * (upd + wd * double(p[i])));
    }
  });
}

}  // namespace par
