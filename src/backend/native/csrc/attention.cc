// Fused multi-head attention, FlashAttention-style: never materialises more than a
// (BQ × BK) tile of the score matrix.
//
// Forward: work item = (batch, head, block of BQ queries). Keys are visited in tiles of BK;
//   S = Q·Kᵀ (GEMM), online softmax update (running max m, running sum l, rescale of the output
//   accumulator by alpha = exp(m_old - m_new)), O += P·V (GEMM). lse = m + log(l) is saved.
// Backward: work item = (batch, head, tile of BK keys), so dK/dV tiles are private to an item.
//   Queries are visited in blocks of BQ; P is recomputed from lse (exp(S·scale - lse)),
//   dV += Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP - delta)·scale with delta = rowsum(dO∘O),
//   dK += dSᵀ·Q, dQ += dS·K. dQ is accumulated in a per-thread private (Tq × D) buffer for the
//   current (batch, head) and flushed under a mutex when the thread moves to another head.
//
// Masking: query i sees keys j <= causalOffset + i (or all keys when not causal), minus padded
// keys. Rows that see no key produce out = 0, lse = -inf and no gradient.
// Not compiled with -ffast-math (relies on IEEE inf semantics).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "common.h"

namespace par {
namespace {

constexpr int BQ = 96;    // query rows per block (multiple of every MR: 4, 6, 12)
constexpr int BK = 128;  // keys per tile (multiple of every NR: 8, 16, 32)
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline i64 visible_end(const AttnShape& s, i64 i) {
  if (!s.causal) return s.Tk;
  i64 e = s.offset + i + 1;
  return e < 0 ? 0 : (e > s.Tk ? s.Tk : e);
}

// Fills bias[0:cols] for keys [j0, j0+cols) of batch b; returns nullptr when no key is padded,
// and sets *all_masked when every key of the tile is padded.
const float* tile_bias(const std::uint8_t* pad, i64 Tk, i64 b, i64 j0, int cols, float* bias,
                       bool* all_masked) {
  *all_masked = false;
  if (!pad) return nullptr;
  const std::uint8_t* p = pad + b * Tk + j0;
  int n_pad = 0;
  for (int c = 0; c < cols; c++) {
    bool m = p[c] != 0;
    n_pad += m;
    bias[c] = m ? kNegInf : 0.0f;
  }
  if (n_pad == cols) *all_masked = true;
  return n_pad ? bias : nullptr;
}

std::mutex g_dq_mutex;

}  // namespace

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v,
                       const std::uint8_t* pad, float* out, float* lse) {
  const i64 B = s.B, H = s.H, Tq = s.Tq, Tk = s.Tk, D = s.D, W = H * D;
  if (B <= 0 || H <= 0 || Tq <= 0 || D < 0) return;
  const Isa& I = isa();
  const i64 nqb = (Tq + BQ - 1) / BQ;
  const i64 items = B * H * nqb;
  reserve_scratch(kAttS, std::size_t(BQ) * BK);
  reserve_scratch(kAttO, std::size_t(BQ) * std::max<i64>(D, 1));
  reserve_scratch(kAttRow, 3 * BQ + BK);
  gemm_reserve(BQ, std::max<i64>(BK, D), std::max<i64>(BK, D));

  parallel_for(items, 1, [&](i64 it0, i64 it1, int tid) {
    float* S = scratch(tid, kAttS);
    float* O = scratch(tid, kAttO);
    float* m = scratch(tid, kAttRow);
    float* l = m + BQ;
    float* alpha = l + BQ;
    float* bias = alpha + BQ;
    i64 lim[BQ];
    int tl[BQ];
    for (i64 it = it0; it < it1; it++) {
      const i64 bh = it / nqb, qb = it % nqb, b = bh / H, h = bh % H;
      const i64 i0 = qb * BQ;
      const int rows = int(std::min<i64>(BQ, Tq - i0));
      const float* Q = q + ((b * Tq + i0) * H + h) * D;
      const float* K = k + (b * Tk * H + h) * D;
      const float* V = v + (b * Tk * H + h) * D;
      i64 maxLim = 0;
      for (int r = 0; r < rows; r++) {
        lim[r] = visible_end(s, i0 + r);
        maxLim = std::max(maxLim, lim[r]);
        m[r] = kNegInf;
        l[r] = 0.0f;
      }
      std::memset(O, 0, sizeof(float) * rows * D);
      for (i64 j0 = 0; j0 < maxLim; j0 += BK) {
        const int cols = int(std::min<i64>(BK, maxLim - j0));
        bool skip;
        const float* bp = tile_bias(pad, Tk, b, j0, cols, bias, &skip);
        if (skip) continue;
        for (int r = 0; r < rows; r++) tl[r] = int(std::clamp<i64>(lim[r] - j0, 0, cols));
        gemm_st(false, true, rows, cols, D, Q, W, K + j0 * W, W, S, BK, false, tid);
        I.softmax_fwd(S, BK, rows, cols, tl, bp, s.scale, m, l, alpha);
        for (int r = 0; r < rows; r++) {
          if (alpha[r] == 1.0f) continue;
          float a = alpha[r];
          float* o = O + r * D;
          for (i64 d = 0; d < D; d++) o[d] *= a;
        }
        gemm_st(false, false, rows, D, cols, S, BK, V + j0 * W, W, O, D, true, tid);
      }
      for (int r = 0; r < rows; r++) {
        float* dst = out + ((b * Tq + i0 + r) * H + h) * D;
        float* L = lse + (b * H + h) * Tq + i0 + r;
        if (m[r] == kNegInf || !(l[r] > 0.0f)) {
          std::memset(dst, 0, sizeof(float) * D);
          *L = kNegInf;
          continue;
        }
        const float inv = 1.0f / l[r];
        const float* o = O + r * D;
        for (i64 d = 0; d < D; d++) dst[d] = o[d] * inv;
        *L = m[r] + std::log(l[r]);
      }
    }
  });
}

void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v,
                        const std::uint8_t* pad, const float* out, const float* dout,
                        const float* lse, float* dq, float* dk, float* dv) {
  const i64 B = s.B, H = s.H, Tq = s.Tq, Tk = s.Tk, D = s.D, W = H * D;
  if (B <= 0 || H <= 0 || Tq <= 0 || Tk <= 0 || D <= 0) return;
  const Isa& I = isa();

  // delta[b, h, i] = Σ_d dout·out
  std::vector<float> delta(std::size_t(B * H * Tq));
  parallel_for(B * Tq, 256, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const i64 b = r / Tq, i = r % Tq;
      for (i64 h = 0; h < H; h++) {
        const float* o = out + (r * H + h) * D;
        const float* g = dout + (r * H + h) * D;
        double acc = 0;
        for (i64 d = 0; d < D; d++) acc += double(o[d]) * double(g[d]);
        delta[std::size_t((b * H + h) * Tq + i)] = float(acc);
      }
    }
  });

  const i64 nkb = (Tk + BK - 1) / BK;
  const i64 items = B * H * nkb;
  reserve_scratch(kAttS, std::size_t(BQ) * BK);
  reserve_scratch(kAttDP, std::size_t(BQ) * BK);
  reserve_scratch(kAttDK, std::size_t(BK) * D);
  reserve_scratch(kAttDV, std::size_t(BK) * D);
  reserve_scratch(kAttDQ, std::size_t(Tq) * D);
  reserve_scratch(kAttRow, BK);
  const i64 mx = std::max<i64>(std::max<i64>(BQ, BK), D);
  gemm_reserve(mx, mx, mx);
  // Private dQ buffers start zeroed.
  for (int t = 0; t < num_threads(); t++) std::memset(scratch(t, kAttDQ), 0, sizeof(float) * Tq * D);

  i64 next_item = 0;
  parallel(int(std::min<i64>(items, num_threads())), [&](int tid) {
    float* S = scratch(tid, kAttS);
    float* dP = scratch(tid, kAttDP);
    float* dK = scratch(tid, kAttDK);
    float* dV = scratch(tid, kAttDV);
    float* dQ = scratch(tid, kAttDQ);
    float* bias = scratch(tid, kAttRow);
    int tl[BQ];
    i64 cur_bh = -1, min_row = Tq;
    auto flush = [&]() {
      if (cur_bh < 0 || min_row >= Tq) return;
      const i64 b = cur_bh / H, h = cur_bh % H;
      std::lock_guard<std::mutex> g(g_dq_mutex);
      for (i64 i = min_row; i < Tq; i++) {
        float* dst = dq + ((b * Tq + i) * H + h) * D;
        float* src = dQ + i * D;
        for (i64 d = 0; d < D; d++) dst[d] += src[d];
        std::memset(src, 0, sizeof(float) * D);
      }
      min_row = Tq;
    };
    for (;;) {
      const i64 it = __atomic_fetch_add(&next_item, 1, __ATOMIC_RELAXED);
      if (it >= items) break;
      const i64 bh = it / nkb, kb = it % nkb, b = bh / H, h = bh % H;
      const i64 j0 = kb * BK;
      const int cols = int(std::min<i64>(BK, Tk - j0));
      bool skip;
      const float* bp = tile_bias(pad, Tk, b, j0, cols, bias, &skip);
      if (skip) continue;
      // First query that sees key j0: j0 <= offset + i.
      i64 iStart = 0;
      if (s.causal) iStart = std::max<i64>(0, j0 - s.offset);
      if (iStart >= Tq) continue;
      if (bh != cur_bh) {
        flush();
        cur_bh = bh;
      }
      min_row = std::min(min_row, iStart);
      const float* K = k + ((b * Tk + j0) * H + h) * D;
      const float* V = v + ((b * Tk + j0) * H + h) * D;
      const float* Lse = lse + (b * H + h) * Tq;
      const float* Dl = delta.data() + (b * H + h) * Tq;
      std::memset(dK, 0, sizeof(float) * cols * D);
      std::memset(dV, 0, sizeof(float) * cols * D);
      for (i64 i0 = iStart; i0 < Tq; i0 += BQ) {
        const int rows = int(std::min<i64>(BQ, Tq - i0));
        bool any = false;
        for (int r = 0; r < rows; r++) {
          tl[r] = int(std::clamp<i64>(visible_end(s, i0 + r) - j0, 0, cols));
          any |= tl[r] > 0 && Lse[i0 + r] != kNegInf;
        }
        if (!any) continue;
        const float* Q = q + ((b * Tq + i0) * H + h) * D;
        const float* dO = dout + ((b * Tq + i0) * H + h) * D;
        gemm_st(false, true, rows, cols, D, Q, W, K, W, S, BK, false, tid);
        I.softmax_bwd_p(S, BK, rows, cols, tl, bp, s.scale, Lse + i0);
        gemm_st(true, false, cols, D, rows, S, BK, dO, W, dV, D, true, tid);
        gemm_st(false, true, rows, cols, D, dO, W, V, W, dP, BK, false, tid);
        I.softmax_bwd_ds(S, dP, BK, rows, cols, Dl + i0, s.scale);
        gemm_st(false, false, rows, D, cols, dP, BK, K, W, dQ + i0 * D, D, true, tid);
        gemm_st(true, false, cols, D, rows, dP, BK, Q, W, dK, D, true, tid);
      }
      for (int c = 0; c < cols; c++) {
        float* gk = dk + ((b * Tk + j0 + c) * H + h) * D;
        float* gv = dv + ((b * Tk + j0 + c) * H + h) * D;
        const float* sk = dK + c * D;
        const float* sv = dV + c * D;
        for (i64 d = 0; d < D; d++) {
          gk[d] += sk[d];
          gv[d] += sv[d];
        }
      }
    }
    flush();
  });
}

}  // namespace par
