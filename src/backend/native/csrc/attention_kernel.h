// The fused attention work items (contract: attention_plan.h), written once over a vector traits
// type T (vec_traits.h) with the geometry G (attention_tiles.h) and specialised for head
// dimensions 32, 64 and 128 (DC; DC = 0 is the generic path for any D, with D padded to whole
// NR-lane slices). make_isa (isa_instance.h) puts attn_forward_item / attn_backward_item in each
// ISA's kernel table.
//
// Every product runs on one register tile, the GEMM micro-kernel's tile_product (gemm_kernel.h):
// MR rows × NV vectors of accumulators, a k loop of NV vector loads of B + MR broadcasts of A +
// MR·NV FMAs, on operands laid out once per tile (no packing per product) and with the softmax steps in the
// tile's epilogue while the accumulators are in registers. Scores are pre-scaled through Q
// (Qs = scale·log2(e)·Q, packed once: the softmax runs in base 2, see kAttnLn2), so that the
// forward and the backward compute bit-identical scores.
//
// Forward item (BQ queries of one head), per key tile of BK keys (K, V rows packed once):
//   for each panel of NR queries:   Sᵀ = K·Qsᵀ (keys as rows, queries as lanes), masked, and the
//                                   tile's max per query, in the epilogue; then the online softmax
//                                   per query lane, with no horizontal reduction: m_new, alpha =
//                                   2^(m - m_new), P = 2^(S - m_new) in place, l = l·alpha + Σ P.
//   for each MR-query row tile:     O = alpha·O + P·V (A = P broadcast along queries, B = V rows).
//   At the end: out = O / l, lse = m·ln 2 + ln l.
// Backward item (a range of key tiles of one head), per key tile (Kᵀ, Vᵀ and K rows packed once):
//   for each block of BQB queries (Qs and dO rows packed), queries as rows, keys as lanes:
//     S = Qs·Kᵀ  -> P = 2^(S - lse·log2 e) (masked) in the epilogue;
//     dP = dO·Vᵀ -> dS = P·(dP - delta) in the epilogue;
//     dV += Pᵀ·dO, dK += dSᵀ·Qs (·ln 2 when added to dk: = scale·dSᵀ·Q), dQ += scale·dS·K.
//   At the end of the tile dK, dV are added to dk, dv (with the head's uniform rows' dout/Tk).
// Causal and padding masks are applied only on register tiles that cross the diagonal or a
// padded key; tiles past a row block's last visible key are skipped (and their P zeroed where a
// later product reads them).
//
// Not compiled with -ffast-math (relies on IEEE inf semantics). Freestanding (no C++ library
// headers): also compiled for wasm32 -nostdlib.
#pragma once
#include "attention_plan.h"
#include "attention_tiles.h"
#include "gemm_kernel.h"  // tile_product, PAR_UNROLL_TILE
#include "isa.h"
#include "vec_traits.h"

namespace par {
namespace {

#define PAR_ATTN_INLINE inline __attribute__((always_inline))

constexpr int attn_gcd(int a, int b) { return b == 0 ? a : attn_gcd(b, a % b); }

// The softmax runs in base 2: scores are computed in log2 units (log2(e) folded into the packed
// Qs), so that a probability is 2^(s - m) by exp2_cephes (vec_exp.h: no range reduction by ln 2,
// 19 vector operations where exp_cephes takes 24). lse leaves the kernel in natural units.
constexpr float kAttnLn2 = 0.693147180559945309f;  // (log2 e = kLog2e of vec_exp.h)

// dst[0:n) = src[0:D) · mul, zero-padded to n (>= D) floats. With D fixed (DC), the vector loop
// is unrolled: one load instruction per vector of the row, each with a constant stride over the
// rows of a tile, which the hardware stride prefetchers follow.
template <class T, int DC>
PAR_ATTN_INLINE void copy_row(const float* src, i64 D, i64 n, float mul, float* dst) {
  constexpr int W = T::kWidth;
  const typename T::V vm = T::broadcast(mul);
  if constexpr (DC != 0) {
    PAR_UNROLL_TILE
    for (int d = 0; d < DC; d += W) T::store(dst + d, T::mul(T::load(src + d), vm));
    return;
  }
  i64 d = 0;
  for (; d + W <= D; d += W) T::store(dst + d, T::mul(T::load(src + d), vm));
  for (; d < D; d++) dst[d] = src[d] * mul;
  for (; d < n; d++) dst[d] = 0.0f;
}

// Panels of NR lanes from rows (row c at src + c·Dp, n <= NR of them, zero lanes past n):
// dst[d·NR + c] = src[c·Dp + d] for d < Dp. Reads packed rows (L1), writes one panel line by line.
template <int NR, int DC>
PAR_ATTN_INLINE void transpose_panel(const float* src, i64 Dp, int n, float* dst) {
  const i64 dp = DC ? DC : Dp;
  for (i64 d = 0; d < dp; d++) {
    float* o = dst + d * NR;
    PAR_UNROLL_TILE
    for (int c = 0; c < NR; c++) o[c] = c < n ? src[c * dp + d] : 0.0f;
  }
}

// dst[0:D) += src[0:D)·mul (+ add[0:D) when add is not null).
template <class T, int DC>
PAR_ATTN_INLINE void add_row(float* dst, const float* src, const float* add, i64 D, float mul = 1.0f) {
  constexpr int W = T::kWidth;
  const i64 n = DC ? DC : D;
  const typename T::V vm = T::broadcast(mul);
  i64 d = 0;
  for (; d + W <= n; d += W) {
    typename T::V x = mul == 1.0f ? T::add(T::load(dst + d), T::load(src + d))
                                  : T::fma(T::load(src + d), vm, T::load(dst + d));
    if (add) x = T::add(x, T::load(add + d));
    T::store(dst + d, x);
  }
  for (; d < n; d++) dst[d] += (mul == 1.0f ? src[d] : src[d] * mul) + (add ? add[d] : 0.0f);
}

template <class T>
PAR_ATTN_INLINE void zero_floats(float* dst, i64 n) {
  constexpr int W = T::kWidth;
  i64 i = 0;
  for (; i + W <= n; i += W) T::store(dst + i, T::zero());
  for (; i < n; i++) dst[i] = 0.0f;
}

// C[r·ldc + v·W] += c[r][v] over an MR × NV tile.
template <class T, int MR, int NV>
PAR_ATTN_INLINE void add_tile(const typename T::V (&c)[MR][NV], float* C, i64 ldc) {
  constexpr int W = T::kWidth;
  PAR_UNROLL_TILE
  for (int r = 0; r < MR; r++) {
    PAR_UNROLL_TILE
    for (int v = 0; v < NV; v++) T::store(C + r * ldc + v * W, T::add(T::load(C + r * ldc + v * W), c[r][v]));
  }
}

// Rows [j0, j0 + cols) of head h of batch b of k and v into kdst and vdst (rows of Dp floats, by
// the unrolled row copy), zero rows [cols, cp).
template <class T, int DC>
PAR_ATTN_INLINE void pack_kv_rows(const AttnShape& s, const float* k, const float* v, i64 b, i64 h,
                                  i64 j0, int cols, int cp, i64 Dp, float* kdst, float* vdst) {
  for (int j = 0; j < cp; j++) {
    if (j < cols) {
      const i64 src = ((b * s.Tk + j0 + j) * s.H + h) * s.D;
      copy_row<T, DC>(k + src, s.D, Dp, 1.0f, kdst + j * Dp);
      copy_row<T, DC>(v + src, s.D, Dp, 1.0f, vdst + j * Dp);
    } else {
      zero_floats<T>(kdst + j * Dp, Dp);
      zero_floats<T>(vdst + j * Dp, Dp);
    }
  }
}

// out[0:D) = the mean of the Tk value rows of head h, batch b (the uniform softmax row); each d
// summed in double, keys in order.
inline void mean_value_row(const AttnShape& s, const float* v, i64 b, i64 h, float* out) {
  const i64 WD = s.H * s.D;
  const float* V = v + (b * s.Tk * s.H + h) * s.D;
  for (i64 d = 0; d < s.D; d++) {
    double acc = 0;
    for (i64 j = 0; j < s.Tk; j++) acc += V[j * WD + d];
    out[d] = float(acc / double(s.Tk));
  }
}

// ---------------------------------------------------------------------------------------------
// Forward.

template <class T, class G, int DC>
void attn_forward_item_d(const AttnForwardArgs& a, i64 item, float* scratch) {
  using V = typename T::V;
  constexpr int W = T::kWidth, MR = G::MR, NV = G::NV, NR = G::NR, BQ = G::BQ, BK = G::BK;
  const AttnShape& s = a.s;
  const i64 H = s.H, Tq = s.Tq, Tk = s.Tk, D = s.D;
  const i64 Dp = DC ? DC : attn_round_up(D, NR);
  const AttnForwardLayout L = attn_forward_layout(G::geometry(), Dp, a.chunk_rows);
  float* const qt = scratch + L.qt;  // [panel][d][NR]: scale·Q transposed
  float* const O = scratch + L.o;    // [query][Dp]
  float* const m = scratch + L.m;
  float* const l = scratch + L.l;
  float* const alpha = scratch + L.alpha;
  int32_t* const lim = reinterpret_cast<int32_t*>(scratch + L.lim);
  float* const kp = scratch + L.kp;  // [key][Dp]
  float* const vp = scratch + L.vp;  // [key][Dp]
  float* const P = scratch + L.p;    // [key][BQ]: scores, then probabilities, of one block
  float* const keyflag = scratch + L.keyflag;  // 1 = key masked for every query (padded, or past cols)

  const i64 bh = item / a.nch, b = bh / H, h = bh % H;
  const i64 c0 = a.chunk[item % a.nch];
  const int rows = int(a.chunk[item % a.nch + 1] - c0);
  if (rows == 0) return;
  const int nblk = int(attn_ceil_div(rows, BQ));
  const int span = nblk * BQ;  // rows of the chunk's state that any block touches

  // Qsᵀ panels (through Qs rows in O's memory, copied by the unrolled row copy), visible ends,
  // running state of every query of the chunk.
  const int qpad = int(attn_round_up(rows, NR));
  for (int r = 0; r < qpad; r++) {
    if (r < rows) copy_row<T, DC>(a.q + ((b * Tq + c0 + r) * H + h) * D, D, Dp, s.scale * kLog2e, O + r * Dp);
    else zero_floats<T>(O + r * Dp, Dp);
  }
  for (int r = 0; r < qpad; r += NR) transpose_panel<NR, DC>(O + r * Dp, Dp, NR, qt + (r / NR) * Dp * NR);
  i64 maxLim = 0;
  for (int r = 0; r < span; r++) {
    lim[r] = int32_t(visible_end(s, c0 + fs::min<i64>(r, rows - 1)));
    maxLim = fs::max<i64>(maxLim, lim[r]);
    m[r] = kAttnNegInf;
    l[r] = 0.0f;
    alpha[r] = 1.0f;
  }
  zero_floats<T>(O, i64(span) * Dp);

  for (i64 j0 = 0; j0 < maxLim; j0 += BK) {
    const int cols = int(fs::min<i64>(BK, maxLim - j0));
    const int cp = int(attn_round_up(cols, MR));  // key rows computed (masked past cols)
    int live = 0;
    for (int j = 0; j < cp; j++) {
      const bool masked = j >= cols || (a.pad && a.pad[b * Tk + j0 + j]);
      keyflag[j] = masked ? 1.0f : 0.0f;
      live += !masked;
    }
    if (live == 0) continue;  // every key of the tile is padded
    pack_kv_rows<T, DC>(s, a.k, a.v, b, h, j0, cols, cp, Dp, kp, vp);

    for (int blk = 0; blk < nblk; blk++) {
      const int bq = blk * BQ;  // the block's first query in the chunk
      const i64 i0 = c0 + bq;
      const int brows = int(fs::min<i64>(BQ, rows - bq));
      int blim = 0;
      for (int r = 0; r < brows; r++) blim = lim[bq + r] > blim ? lim[bq + r] : blim;
      const int bcols = int(fs::clamp<i64>(blim - j0, 0, cols));  // keys of the tile the block sees
      if (bcols == 0) continue;
      const int rk = int(attn_round_up(bcols, MR));  // rows of P any product reads
      const int npan = int(attn_ceil_div(brows, NR));  // query panels of the scores
      const int nrt = int(attn_ceil_div(brows, MR));   // row tiles of O
      for (int j = 0; j < rk; j++)  // query columns no panel writes (row tiles past the last panel)
        for (int c = npan * NR; c < nrt * MR; c++) P[j * BQ + c] = 0.0f;
      float* const mb = m + bq;
      float* const lb = l + bq;
      float* const ab = alpha + bq;
      const int32_t* const limb = lim + bq;

      // Scores and the online softmax, one panel of NR queries at a time.
      for (int pn = 0; pn < npan; pn++) {
        const i64 qa = i0 + pn * NR;  // first query of the panel
        const int last = int(fs::min<i64>(pn * NR + NR, brows)) - 1;
        const int pr = int(attn_round_up(fs::clamp<i64>(limb[last] - j0, 0, bcols), MR));  // keys it sees
        float* const Pp = P + pn * NR;
        if (pr == 0) {  // the panel sees no key of the tile: P = 0, state unchanged
          for (int j = 0; j < rk; j++) zero_floats<T>(Pp + j * BQ, NR);
          continue;
        }
        V mx[NV];
        PAR_UNROLL_TILE
        for (int v = 0; v < NV; v++) mx[v] = T::broadcast(kAttnNegInf);
        const float* const qpan = qt + (bq / NR + pn) * Dp * NR;
        for (int jb = 0; jb < pr; jb += MR) {
          V c[MR][NV];
          tile_product<T, MR, NV, true>(Dp, kp + jb * Dp, Dp, qpan, NR, c);
          // Does the earliest query of the panel miss the last key of the tile rows?
          const bool diag = s.causal && j0 + jb + MR - 1 > s.offset + qa;
          PAR_UNROLL_TILE
          for (int r = 0; r < MR; r++) {
            const int j = jb + r;
            float* dst = Pp + j * BQ;
            if (keyflag[j] != 0.0f) {
              PAR_UNROLL_TILE
              for (int v = 0; v < NV; v++) T::store(dst + v * W, T::broadcast(kAttnNegInf));
              continue;
            }
            // Lanes [0, hidden) of the panel are queries before the first one that sees key j.
            const i64 hidden = j0 + j - s.offset - qa;
            PAR_UNROLL_TILE
            for (int v = 0; v < NV; v++) {
              V x = c[r][v];
              if (diag)
                x = T::select(T::first(int(fs::clamp<i64>(hidden - v * W, 0, W))),
                              T::broadcast(kAttnNegInf), x);
              T::store(dst + v * W, x);
              mx[v] = T::max(mx[v], x);
            }
          }
        }
        // Online softmax per query lane.
        V msub[NV], tsum[NV], al[NV];
        PAR_UNROLL_TILE
        for (int v = 0; v < NV; v++) {
          const int q = pn * NR + v * W;
          const V mo = T::load(mb + q);
          const V mn = T::max(mo, mx[v]);
          // A lane with no visible key yet keeps m = -inf: subtract 0 instead (P = exp(-inf) = 0).
          msub[v] = T::select(T::gt(mn, T::broadcast(kAttnNegInf)), mn, T::zero());
          al[v] = exp2_cephes<T>(T::sub(mo, msub[v]));
          T::store(mb + q, mn);
          T::store(ab + q, al[v]);
          tsum[v] = T::zero();
        }
        for (int j = 0; j < pr; j++) {
          PAR_UNROLL_TILE
          for (int v = 0; v < NV; v++) {
            float* x = Pp + j * BQ + v * W;
            const V e = exp2_cephes<T>(T::sub(T::load(x), msub[v]));
            T::store(x, e);
            tsum[v] = T::add(tsum[v], e);
          }
        }
        PAR_UNROLL_TILE
        for (int v = 0; v < NV; v++) {
          float* lq = lb + pn * NR + v * W;
          T::store(lq, T::fma(T::load(lq), al[v], tsum[v]));
        }
        for (int j = pr; j < rk; j++) zero_floats<T>(Pp + j * BQ, NR);
      }

      // O = alpha·O + P·V, one row tile of MR queries and NR channels at a time.
      for (int t = 0; t < nrt; t++) {
        const int q0 = t * MR;
        const int last = int(fs::min<i64>(q0 + MR, brows)) - 1;
        const int kt = int(fs::clamp<i64>(limb[last] - j0, 0, bcols));  // keys the row tile sees
        if (kt == 0) continue;
        for (i64 ds = 0; ds < Dp; ds += NR) {
          V c[MR][NV];
          tile_product<T, MR, NV, false>(kt, P + q0, BQ, vp + ds, Dp, c);
          PAR_UNROLL_TILE
          for (int r = 0; r < MR; r++) {
            const V ar = T::broadcast(ab[q0 + r]);
            float* o = O + (bq + q0 + r) * Dp + ds;
            PAR_UNROLL_TILE
            for (int v = 0; v < NV; v++) T::store(o + v * W, T::fma(T::load(o + v * W), ar, c[r][v]));
          }
        }
        // Rescaled once: a later tile that this row tile skips must not rescale again.
        for (int r = 0; r < MR; r++) ab[q0 + r] = 1.0f;
      }
    }
  }

  const float* mean = nullptr;
  for (int r = 0; r < rows; r++) {
    float* dst = a.out + ((b * Tq + c0 + r) * H + h) * D;
    float* lse = a.lse + bh * Tq + c0 + r;
    if (!(m[r] > kAttnNegInf) || !(l[r] > 0.0f)) {  // no visible unpadded key: uniform row
      *lse = kAttnNegInf;
      if (Tk == 0) {
        for (i64 d = 0; d < D; d++) dst[d] = 0.0f;
      } else if (mean == nullptr) {
        mean_value_row(s, a.v, b, h, dst);
        mean = dst;
      } else {
        for (i64 d = 0; d < D; d++) dst[d] = mean[d];
      }
      continue;
    }
    copy_row<T, DC>(O + r * Dp, D, D, 1.0f / l[r], dst);
    *lse = m[r] * kAttnLn2 + fs::log(l[r]);
  }
}

// ---------------------------------------------------------------------------------------------
// Backward.

template <class T, class G, int DC>
void attn_backward_item_d(const AttnBackwardArgs& a, i64 item, float* scratch) {
  using V = typename T::V;
  constexpr int W = T::kWidth, MR = G::MR, NV = G::NV, NR = G::NR, BK = G::BK, BQB = G::BQB;
  // Keys are computed in whole panels (lanes of S) and whole row tiles (rows of dK, dV).
  constexpr int kKeyUnit = MR / attn_gcd(MR, NR) * NR;
  static_assert(BK % kKeyUnit == 0, "a key tile is whole panels and row tiles");
  const AttnShape& s = a.s;
  const i64 H = s.H, Tq = s.Tq, Tk = s.Tk, D = s.D, BH = s.B * s.H;
  const i64 Dp = DC ? DC : attn_round_up(D, NR);
  const AttnBackwardLayout L = attn_backward_layout(G::geometry(), Dp, a.dq_rows);
  float* const kt = scratch + L.kt;    // [key panel][d][NR]
  float* const vt = scratch + L.vt;    // [key panel][d][NR]
  float* const kr = scratch + L.kr;    // [key][Dp]
  float* const dKt = scratch + L.dk;   // [key][Dp]
  float* const dVt = scratch + L.dv;   // [key][Dp]
  float* const qs = scratch + L.qs;    // [query][Dp]: scale·Q
  float* const dob = scratch + L.dob;  // [query][Dp]
  float* const P = scratch + L.p;      // [query][BK]
  float* const dS = scratch + L.ds;    // [query][BK]: P·(dP - delta), unscaled
  float* const lseb = scratch + L.lse;
  float* const deltab = scratch + L.delta;
  int32_t* const limb = reinterpret_cast<int32_t*>(scratch + L.lim);
  float* const bias = scratch + L.bias;  // 0 or -inf (padded key) per key of the tile

  const i64 bh = item / a.S, sp = item % a.S, b = bh / H, h = bh % H;
  const i64 kb0 = a.split[sp], kb1 = a.split[sp + 1];
  const i64 rowStart = first_query(s, kb0 * BK);  // rows any tile of the split can reach
  float* const dQ = sp == 0 ? scratch + L.dq : a.partial + ((sp - 1) * BH + bh) * a.dq_rows * Dp;
  zero_floats<T>(dQ + rowStart * Dp, (a.dq_rows - rowStart) * Dp);
  const float* const Lse = a.lse + bh * Tq;
  const float* const Dl = a.delta + bh * Tq;
  const float* const U = a.has_uni[bh] != 0.0f ? a.uni + bh * Dp : nullptr;
  bool touched = false;

  for (i64 kb = kb0; kb < kb1; kb++) {
    const i64 j0 = kb * BK;
    const int cols = int(fs::min<i64>(BK, Tk - j0));
    const int cp = int(attn_round_up(cols, kKeyUnit));  // keys computed (masked past cols)
    int live = 0;
    bool anyPad = false;
    for (int j = 0; j < cp; j++) {
      const bool padded = j >= cols || (a.pad && a.pad[b * Tk + j0 + j]);
      bias[j] = padded ? kAttnNegInf : 0.0f;
      live += !padded;
      anyPad |= padded && j < cols;
    }
    const i64 iStart = first_query(s, j0);
    bool computed = false;
    if (live > 0 && iStart < Tq) {
      // K rows, and V rows in dV's memory (before it is zeroed), by the unrolled row copy; then
      // the Kᵀ and Vᵀ panels from them.
      pack_kv_rows<T, DC>(s, a.k, a.v, b, h, j0, cols, cp, Dp, kr, dVt);
      for (int j = 0; j < cp; j += NR) {
        transpose_panel<NR, DC>(kr + j * Dp, Dp, NR, kt + (j / NR) * Dp * NR);
        transpose_panel<NR, DC>(dVt + j * Dp, Dp, NR, vt + (j / NR) * Dp * NR);
      }
      zero_floats<T>(dKt, i64(cp) * Dp);
      zero_floats<T>(dVt, i64(cp) * Dp);

      for (i64 i0 = iStart; i0 < Tq; i0 += BQB) {
        const int rows = int(fs::min<i64>(BQB, Tq - i0));
        const int rp = int(attn_round_up(rows, MR));
        bool any = false;
        for (int r = 0; r < rp; r++) {
          const bool valid = r < rows && Lse[i0 + r] != kAttnNegInf;
          const int lim = valid ? int(fs::clamp<i64>(visible_end(s, i0 + r) - j0, 0, cols)) : 0;
          limb[r] = lim;
          // A row that sees nothing gets a finite lse: its masked exp is then 0, never inf·0.
          lseb[r] = lim > 0 ? Lse[i0 + r] * kLog2e : 0.0f;  // in log2 units, as the scores
          deltab[r] = lim > 0 ? Dl[i0 + r] : 0.0f;
          any |= lim > 0;
        }
        if (!any) continue;
        computed = true;
        for (int r = 0; r < rp; r++) {
          if (r < rows) {
            const i64 src = ((b * Tq + i0 + r) * H + h) * D;
            copy_row<T, DC>(a.q + src, D, Dp, s.scale * kLog2e, qs + r * Dp);
            copy_row<T, DC>(a.dout + src, D, Dp, 1.0f, dob + r * Dp);
          } else {
            zero_floats<T>(qs + r * Dp, Dp);
            zero_floats<T>(dob + r * Dp, Dp);
          }
        }

        // P and dS, MR queries × NR keys at a time.
        for (int q0 = 0; q0 < rp; q0 += MR) {
          int kmin = limb[q0], kmax = limb[q0];
          for (int r = 1; r < MR; r++) {
            kmin = limb[q0 + r] < kmin ? limb[q0 + r] : kmin;
            kmax = limb[q0 + r] > kmax ? limb[q0 + r] : kmax;
          }
          const int kend = int(attn_round_up(kmax, NR));
          for (int jp = 0; jp < kend; jp += NR) {
            V c[MR][NV];
            tile_product<T, MR, NV, true>(Dp, qs + q0 * Dp, Dp, kt + (jp / NR) * Dp * NR, NR, c);
            const bool masked = kmin < jp + NR;  // some row of the tile misses some key of it
            PAR_UNROLL_TILE
            for (int r = 0; r < MR; r++) {
              const V lr = T::broadcast(lseb[q0 + r]);
              PAR_UNROLL_TILE
              for (int v = 0; v < NV; v++) {
                V x = T::sub(c[r][v], lr);
                if (anyPad) x = T::add(x, T::load(bias + jp + v * W));
                V e = exp2_cephes<T>(x);
                if (masked) e = T::select(T::first(limb[q0 + r] - (jp + v * W)), e, T::zero());
                T::store(P + (q0 + r) * BK + jp + v * W, e);
              }
            }
            V g[MR][NV];
            tile_product<T, MR, NV, true>(Dp, dob + q0 * Dp, Dp, vt + (jp / NR) * Dp * NR, NR, g);
            PAR_UNROLL_TILE
            for (int r = 0; r < MR; r++) {
              const V dr = T::broadcast(deltab[q0 + r]);
              PAR_UNROLL_TILE
              for (int v = 0; v < NV; v++) {  // P from its (L1) tile: the P registers are reused by g
                const i64 at = (q0 + r) * BK + jp + v * W;
                T::store(dS + at, T::mul(T::load(P + at), T::sub(g[r][v], dr)));
              }
            }
          }
          for (int r = 0; r < MR; r++) {  // keys past the row tile's last visible one
            zero_floats<T>(P + (q0 + r) * BK + kend, cp - kend);
            zero_floats<T>(dS + (q0 + r) * BK + kend, cp - kend);
          }
        }

        // dV += Pᵀ·dO and dK += dSᵀ·Qs, MR keys × NR channels at a time, over the block's
        // queries from the first one that sees the tile rows' first key.
        for (int jr = 0; jr < cp; jr += MR) {
          const int qf = int(fs::clamp<i64>(first_query(s, j0 + jr) - i0, 0, rp));
          if (qf >= rp) continue;
          for (i64 ds = 0; ds < Dp; ds += NR) {
            V c[MR][NV];
            tile_product<T, MR, NV, false>(rp - qf, P + qf * BK + jr, BK, dob + qf * Dp + ds, Dp, c);
            add_tile<T, MR, NV>(c, dVt + jr * Dp + ds, Dp);
            tile_product<T, MR, NV, false>(rp - qf, dS + qf * BK + jr, BK, qs + qf * Dp + ds, Dp, c);
            add_tile<T, MR, NV>(c, dKt + jr * Dp + ds, Dp);
          }
        }

        // dQ += scale·dS·K, MR queries × NR channels at a time.
        const V vscale = T::broadcast(s.scale);
        for (int q0 = 0; q0 < rp; q0 += MR) {
          int kmax = limb[q0];
          for (int r = 1; r < MR; r++) kmax = limb[q0 + r] > kmax ? limb[q0 + r] : kmax;
          if (kmax == 0) continue;
          for (i64 ds = 0; ds < Dp; ds += NR) {
            V c[MR][NV];
            tile_product<T, MR, NV, true>(kmax, dS + q0 * BK, BK, kr + ds, Dp, c);
            PAR_UNROLL_TILE
            for (int r = 0; r < MR; r++) {
              float* o = dQ + (i0 + q0 + r) * Dp + ds;
              PAR_UNROLL_TILE
              for (int v = 0; v < NV; v++) T::store(o + v * W, T::fma(c[r][v], vscale, T::load(o + v * W)));
            }
          }
        }
      }
    }
    touched |= computed;
    if (!computed && U == nullptr) continue;
    for (int c = 0; c < cols; c++) {
      float* gk = a.dk + ((b * Tk + j0 + c) * H + h) * D;
      float* gv = a.dv + ((b * Tk + j0 + c) * H + h) * D;
      if (computed) {
        add_row<T, DC>(gk, dKt + c * Dp, nullptr, D, kAttnLn2);  // Qs carried log2(e)
        add_row<T, DC>(gv, dVt + c * Dp, U, D);
      } else {
        add_row<T, DC>(gv, U, nullptr, D);
      }
    }
  }
  if (sp == 0 && touched) {
    for (i64 i = rowStart; i < Tq; i++) add_row<T, DC>(a.dq + ((b * Tq + i) * H + h) * D, dQ + i * Dp, nullptr, D);
  }
}

template <int kD>
struct HeadDim {
  static constexpr int value = kD;
};

// f(HeadDim<D>{}) for the head dims the kernel specialises (32, 64, 128), f(HeadDim<0>{}) (the
// generic path) for any other D or when kSpecialise is false (nothing else is instantiated then).
template <bool kSpecialise, class F>
PAR_ATTN_INLINE void with_head_dim(i64 D, F&& f) {
  if constexpr (kSpecialise) {
    switch (D) {
      case 32: return f(HeadDim<32>{});
      case 64: return f(HeadDim<64>{});
      case 128: return f(HeadDim<128>{});
      default: break;
    }
  }
  f(HeadDim<0>{});
}

// The table entries (Isa::attn_forward, attn_backward).
template <class T, class G>
void attn_forward_item(const AttnForwardArgs& a, i64 item, float* scratch) {
  with_head_dim<G::kSpecialise>(a.s.D, [&](auto dc) { attn_forward_item_d<T, G, decltype(dc)::value>(a, item, scratch); });
}

template <class T, class G>
void attn_backward_item(const AttnBackwardArgs& a, i64 item, float* scratch) {
  with_head_dim<G::kSpecialise>(a.s.D, [&](auto dc) { attn_backward_item_d<T, G, decltype(dc)::value>(a, item, scratch); });
}

}  // namespace
}  // namespace par
