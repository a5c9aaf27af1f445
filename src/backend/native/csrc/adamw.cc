// AdamW step (decoupled weight decay, bias-corrected moments): the bias corrections in double,
// the element-wise update in float on the ISA's vector kernel (elementwise_kernels.h).
#include "common.h"

namespace par {
namespace {
// 32k elements per chunk (5 arrays of 128 KiB) amortise a thread hand-off.
constexpr i64 kGrain = 1 << 15;
}  // namespace

void adamw(float* p, const float* g, float* m, float* v, i64 n, const AdamW& o) {
  const double bc1 = 1.0 - fs::pow(o.beta1, o.t);
  const double bc2 = 1.0 - fs::pow(o.beta2, o.t);
  const AdamWCoef c{float(o.beta1), float(o.beta2), float(1.0 - o.beta1), float(1.0 - o.beta2),
                    float(1.0 / bc1),   float(1.0 / bc2),   float(o.eps),         float(o.lr),
                    float(o.wd)};
  const Isa& I = isa();
  parallel_for(n, kGrain, [&](i64 s, i64 e, int) { I.adamw(p + s, g + s, m + s, v + s, e - s, c); });
}

}  // namespace par
