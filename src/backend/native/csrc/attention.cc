// Fused multi-head attention, FlashAttention-style: never materialises more than a
// (BQ × BK) tile of the score matrix.
//
// Forward: work item = (batch, head, block of BQ queries). Keys are visited in tiles of BK;
//   S = Q·Kᵀ (GEMM), online softmax update (running max m, running sum l, rescale of the output
//   accumulator by alpha = exp(m_old - m_new)), O += P·V (GEMM). lse = m + log(l) is saved.
// Backward: work item = (batch, head, split), a split being a contiguous range of key tiles, so
//   dK/dV tiles are private to an item. Queries are visited in blocks of BQ; P is recomputed from
//   lse (exp(S·scale - lse)), dV += Pᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP - delta)·scale with
//   delta = rowsum(dO∘O), dK += dSᵀ·Q, dQ += dS·K.
//
// Determinism: every output element is reduced in an order fixed by the shape alone, never by
// thread timing or the thread count. Forward rows and backward dK/dV tiles have one writer each.
// dQ sums over key tiles: split 0 of a head accumulates its tiles in order and adds to dq; split
// s > 0 accumulates into its own partial buffer, and the partials are added to dq in split order
// after all items ran. The number of splits depends on the shape only (kBackwardItems), so the
// same inputs give the same bits at any thread count.
//
// Masking: query i sees keys j <= causalOffset + i (or all keys when not causal), minus padded
// keys. A row whose every visible key is masked gets the reference's uniform softmax over all Tk
// keys (it fills masked scores with a finite -finfo.max): out = mean of the Tk value rows,
// lse = -inf as its mark; in the backward it adds dout/Tk to dv of every key and nothing to
// dq or dk. Not compiled with -ffast-math (relies on IEEE inf semantics).
#include "common.h"

namespace par {
namespace {

constexpr int BQ = 96;    // query rows per block (multiple of every MR: 4, 6, 12)
constexpr int BK = 128;  // keys per tile (multiple of every NR: 8, 16, 32)
constexpr float kNegInf = -fs::kInf;
// Backward work items wanted per call: heads are split into ceil(kBackwardItems / (B·H)) key
// ranges when there are fewer heads. A function of the shape only (results must not depend on
// the thread count). 8 gives every thread of a 2-4 thread pool two or more items; each extra
// split costs a dQ partial's memory traffic (16 items measured ~5% slower than 8 on the
// 512 x 512 causal self-attention backward of 4 heads at 2 threads).
constexpr i64 kBackwardItems = 8;
// Largest dQ partial buffer of the splits (floats; 64 MiB), so that many splits of a long query
// sequence cannot blow up memory: fewer splits instead.
constexpr i64 kPartialBudget = i64(1) << 24;

inline i64 visible_end(const AttnShape& s, i64 i) {
  if (!s.causal) return s.Tk;
  i64 e = s.offset + i + 1;
  return e < 0 ? 0 : (e > s.Tk ? s.Tk : e);
}

// Fills bias[0:cols] for keys [j0, j0+cols) of batch b; returns nullptr when no key is padded,
// and sets *all_masked when every key of the tile is padded.
const float* tile_bias(const uint8_t* pad, i64 Tk, i64 b, i64 j0, int cols, float* bias,
                       bool* all_masked) {
  *all_masked = false;
  if (!pad) return nullptr;
  const uint8_t* p = pad + b * Tk + j0;
  int n_pad = 0;
  for (int c = 0; c < cols; c++) {
    bool m = p[c] != 0;
    n_pad += m;
    bias[c] = m ? kNegInf : 0.0f;
  }
  if (n_pad == cols) *all_masked = true;
  return n_pad ? bias : nullptr;
}

// mean[0:D) = mean over the Tk keys of head h's value rows of batch b (the uniform softmax row),
// summed in acc[0:D) (doubles).
void mean_values(const float* v, i64 b, i64 h, i64 Tk, i64 H, i64 D, double* acc, float* mean) {
  fs::zero(acc, D);
  const float* V = v + (b * Tk * H + h) * D;
  for (i64 j = 0; j < Tk; j++)
    for (i64 d = 0; d < D; d++) acc[d] += V[j * H * D + d];
  for (i64 d = 0; d < D; d++) mean[d] = float(acc[d] / double(Tk));
}

// First query row that sees key j0 (Tq when none does).
inline i64 first_query(const AttnShape& s, i64 j0) {
  if (!s.causal) return 0;
  return fs::min<i64>(s.Tq, fs::max<i64>(0, j0 - s.offset));
}

}  // namespace

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v,
                       const uint8_t* pad, float* out, float* lse) {
  const i64 B = s.B, H = s.H, Tq = s.Tq, Tk = s.Tk, D = s.D, W = H * D;
  if (B <= 0 || H <= 0 || Tq <= 0 || D < 0) return;
  const Isa& I = isa();
  const i64 nqb = (Tq + BQ - 1) / BQ;
  const i64 items = B * H * nqb;
  reserve_scratch(kAttS, size_t(BQ) * BK);
  reserve_scratch(kAttO, size_t(BQ) * fs::max<i64>(D, 1));
  reserve_scratch(kAttRow, 3 * BQ + BK);
  reserve_scratch(kAttMean, 2 * size_t(fs::max<i64>(D, 1)));  // D doubles
  gemm_reserve(BQ, fs::max<i64>(BK, D), fs::max<i64>(BK, D));

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
      const int rows = int(fs::min<i64>(BQ, Tq - i0));
      const float* Q = q + ((b * Tq + i0) * H + h) * D;
      const float* K = k + (b * Tk * H + h) * D;
      const float* V = v + (b * Tk * H + h) * D;
      i64 maxLim = 0;
      for (int r = 0; r < rows; r++) {
        lim[r] = visible_end(s, i0 + r);
        maxLim = fs::max(maxLim, lim[r]);
        m[r] = kNegInf;
        l[r] = 0.0f;
      }
      fs::zero(O, rows * D);
      const float* meanRow = nullptr;
      for (i64 j0 = 0; j0 < maxLim; j0 += BK) {
        const int cols = int(fs::min<i64>(BK, maxLim - j0));
        bool skip;
        const float* bp = tile_bias(pad, Tk, b, j0, cols, bias, &skip);
        if (skip) continue;
        for (int r = 0; r < rows; r++) tl[r] = int(fs::clamp<i64>(lim[r] - j0, 0, cols));
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
        if (m[r] == kNegInf || !(l[r] > 0.0f)) {  // no visible unpadded key: uniform row
          *L = kNegInf;
          if (Tk == 0) {
            fs::zero(dst, D);
            continue;
          }
          if (meanRow == nullptr) {
            mean_values(v, b, h, Tk, H, D, reinterpret_cast<double*>(scratch(tid, kAttMean)), dst);
            meanRow = dst;
          } else {
            fs::copy_floats(dst, meanRow, D);
          }
          continue;
        }
        const float inv = 1.0f / l[r];
        const float* o = O + r * D;
        for (i64 d = 0; d < D; d++) dst[d] = o[d] * inv;
        *L = m[r] + fs::log(l[r]);
      }
    }
  });
}

void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v,
                        const uint8_t* pad, const float* out, const float* dout,
                        const float* lse, float* dq, float* dk, float* dv) {
  const i64 B = s.B, H = s.H, Tq = s.Tq, Tk = s.Tk, D = s.D, W = H * D, BH = B * H;
  if (B <= 0 || H <= 0 || Tq <= 0 || Tk <= 0 || D <= 0) return;
  const Isa& I = isa();

  // delta[b, h, i] = Σ_d dout·out
  float* const delta = static_cast<float*>(caller_buffer(kAttDelta, sizeof(float) * size_t(BH * Tq)));
  parallel_for(B * Tq, 256, [&](i64 r0, i64 r1, int) {
    for (i64 r = r0; r < r1; r++) {
      const i64 b = r / Tq, i = r % Tq;
      for (i64 h = 0; h < H; h++) {
        const float* o = out + (r * H + h) * D;
        const float* g = dout + (r * H + h) * D;
        double acc = 0;
        for (i64 d = 0; d < D; d++) acc += double(o[d]) * double(g[d]);
        delta[(b * H + h) * Tq + i] = float(acc);
      }
    }
  });
  // Uniform rows (lse = -inf): uni[bh] = Σ_i dout_i / Tk, added to dv of every key of the head.
  float* const uni = static_cast<float*>(caller_buffer(kAttUniform, sizeof(float) * size_t(BH * D + BH)));
  float* const has_uni = uni + BH * D;  // 1.0f where head bh has a uniform row
  fs::zero(uni, BH * D + BH);
  reserve_scratch(kAttMean, 2 * size_t(D));  // D doubles
  parallel_for(BH, 1, [&](i64 bh0, i64 bh1, int tid) {
    double* const acc = reinterpret_cast<double*>(scratch(tid, kAttMean));
    for (i64 bh = bh0; bh < bh1; bh++) {
      const i64 b = bh / H, h = bh % H;
      const float* L = lse + bh * Tq;
      for (i64 i = 0; i < Tq; i++) {
        if (L[i] != kNegInf) continue;
        if (has_uni[bh] == 0.0f) fs::zero(acc, D), has_uni[bh] = 1.0f;
        const float* g = dout + ((b * Tq + i) * H + h) * D;
        for (i64 d = 0; d < D; d++) acc[d] += g[d];
      }
      if (has_uni[bh] != 0.0f)
        for (i64 d = 0; d < D; d++) uni[bh * D + d] = float(acc[d] / double(Tk));
    }
  });

  // Splits of each head's key tiles, balanced by the number of (query, key tile) blocks each
  // tile needs under the causal limit.
  const i64 nkb = (Tk + BK - 1) / BK;
  i64 S = BH >= kBackwardItems ? 1 : (kBackwardItems + BH - 1) / BH;
  S = fs::min(S, nkb);
  if (S > 1) S = fs::min(S, 1 + kPartialBudget / fs::max<i64>(1, BH * Tq * D));
  // split[0:S+1) then cum[0:nkb)
  i64* const split = static_cast<i64*>(caller_buffer(kAttSplits, sizeof(i64) * size_t(S + 1 + nkb)));
  for (i64 p = 0; p <= S; p++) split[p] = nkb;
  {
    i64* const cum = split + S + 1;
    i64 total = 0;
    for (i64 kb = 0; kb < nkb; kb++) cum[kb] = total += (Tq - first_query(s, kb * BK)) + 1;
    split[0] = 0;
    for (i64 p = 1; p < S; p++) {
      const i64 target = total * p / S;
      i64 kb = split[p - 1] + 1;
      while (kb < nkb - (S - p) && cum[kb - 1] < target) kb++;
      split[p] = kb;
    }
  }
  // dQ partials of splits 1..S-1: (S-1, BH, Tq, D); each item zeroes the rows it can reach.
  // Grow-only and per calling thread: no fresh (page-faulting) pages on every call.
  float* const partial = static_cast<float*>(caller_buffer(kAttPartials, sizeof(float) * size_t((S - 1) * BH * Tq * D)));

  const i64 items = BH * S;
  reserve_scratch(kAttS, size_t(BQ) * BK);
  reserve_scratch(kAttDP, size_t(BQ) * BK);
  reserve_scratch(kAttDK, size_t(BK) * D);
  reserve_scratch(kAttDV, size_t(BK) * D);
  reserve_scratch(kAttDQ, size_t(Tq) * D);
  reserve_scratch(kAttRow, BK);
  const i64 mx = fs::max<i64>(fs::max<i64>(BQ, BK), D);
  gemm_reserve(mx, mx, mx);

  parallel_for(items, 1, [&](i64 it0, i64 it1, int tid) {
    float* S_ = scratch(tid, kAttS);
    float* dP = scratch(tid, kAttDP);
    float* dK = scratch(tid, kAttDK);
    float* dV = scratch(tid, kAttDV);
    float* bias = scratch(tid, kAttRow);
    int tl[BQ];
    for (i64 it = it0; it < it1; it++) {
      const i64 bh = it / S, sp = it % S, b = bh / H, h = bh % H;
      const i64 kb0 = split[sp], kb1 = split[sp + 1];
      const i64 rowStart = first_query(s, kb0 * BK);  // rows any tile of the split can reach
      float* dQ = sp == 0 ? scratch(tid, kAttDQ) : partial + ((sp - 1) * BH + bh) * Tq * D;
      fs::zero(dQ + rowStart * D, (Tq - rowStart) * D);
      const float* Lse = lse + bh * Tq;
      const float* Dl = delta + bh * Tq;
      const float* U = has_uni[bh] != 0.0f ? uni + bh * D : nullptr;
      bool touched = false;
      for (i64 kb = kb0; kb < kb1; kb++) {
        const i64 j0 = kb * BK;
        const int cols = int(fs::min<i64>(BK, Tk - j0));
        bool skip;
        const float* bp = tile_bias(pad, Tk, b, j0, cols, bias, &skip);
        const i64 iStart = first_query(s, j0);
        const float* K = k + ((b * Tk + j0) * H + h) * D;
        const float* V = v + ((b * Tk + j0) * H + h) * D;
        bool computed = false;
        if (!skip && iStart < Tq) {
          fs::zero(dK, cols * D);
          fs::zero(dV, cols * D);
          for (i64 i0 = iStart; i0 < Tq; i0 += BQ) {
            const int rows = int(fs::min<i64>(BQ, Tq - i0));
            bool any = false;
            for (int r = 0; r < rows; r++) {
              tl[r] = int(fs::clamp<i64>(visible_end(s, i0 + r) - j0, 0, cols));
              any |= tl[r] > 0 && Lse[i0 + r] != kNegInf;
            }
            if (!any) continue;
            computed = true;
            const float* Q = q + ((b * Tq + i0) * H + h) * D;
            const float* dO = dout + ((b * Tq + i0) * H + h) * D;
            gemm_st(false, true, rows, cols, D, Q, W, K, W, S_, BK, false, tid);
            I.softmax_bwd_p(S_, BK, rows, cols, tl, bp, s.scale, Lse + i0);
            gemm_st(true, false, cols, D, rows, S_, BK, dO, W, dV, D, true, tid);
            gemm_st(false, true, rows, cols, D, dO, W, V, W, dP, BK, false, tid);
            I.softmax_bwd_ds(S_, dP, BK, rows, cols, Dl + i0, s.scale);
            gemm_st(false, false, rows, D, cols, dP, BK, K, W, dQ + i0 * D, D, true, tid);
            gemm_st(true, false, cols, D, rows, dP, BK, Q, W, dK, D, true, tid);
          }
        }
        touched |= computed;
        if (!computed && U == nullptr) continue;
        for (int c = 0; c < cols; c++) {
          float* gk = dk + ((b * Tk + j0 + c) * H + h) * D;
          float* gv = dv + ((b * Tk + j0 + c) * H + h) * D;
          if (computed) {
            const float* sk = dK + c * D;
            const float* sv = dV + c * D;
            for (i64 d = 0; d < D; d++) {
              gk[d] += sk[d];
              gv[d] += sv[d];
            }
          }
          if (U != nullptr)
            for (i64 d = 0; d < D; d++) gv[d] += U[d];
        }
      }
      if (sp == 0 && touched) {
        for (i64 i = rowStart; i < Tq; i++) {
          float* dst = dq + ((b * Tq + i) * H + h) * D;
          const float* src = dQ + i * D;
          for (i64 d = 0; d < D; d++) dst[d] += src[d];
        }
      }
    }
  });

  if (S > 1) {  // dq += partials, in split order, one writer per row
    parallel_for(BH * Tq, fs::max<i64>(1, 16384 / D), [&](i64 r0, i64 r1, int) {
      for (i64 r = r0; r < r1; r++) {
        const i64 bh = r / Tq, i = r % Tq, b = bh / H, h = bh % H;
        float* dst = dq + ((b * Tq + i) * H + h) * D;
        for (i64 sp = 1; sp < S; sp++) {
          if (i < first_query(s, split[sp] * BK)) continue;
          const float* src = partial + (((sp - 1) * BH + bh) * Tq + i) * D;
          for (i64 d = 0; d < D; d++) dst[d] += src[d];
        }
      }
    });
  }
}

}  // namespace par
