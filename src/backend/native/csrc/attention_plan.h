// Fused multi-head attention, the ISA-independent part: the problem (AttnShape, the argument
// structs), the masking rules, the work items and their scratch layouts, and the serial passes
// around the items. The drivers that run them are in attention.cc (over parallel.h: the native
// thread pool or the wasm runtime); the per-ISA work-item kernels are in the kernel table
// (Isa::attn_forward / attn_backward, attention_kernel.h).
//
// Semantics (Backend.attentionForward / attentionBackward in backend.ts): q (B, Tq, H, D), k and v
// (B, Tk, H, D), pad (B, Tk) with 1 = padded key, or null. Query i sees keys j < visible_end(i)
// (j <= offset + i when causal, every key otherwise) that are not padded. out (B, Tq, H, D),
// lse (B, H, Tq). A row with no visible unpadded key gets the reference's uniform softmax over all
// Tk keys: out = mean of the Tk value rows, lse = -inf as its mark; in the backward it adds
// dout/Tk to dv of every key and nothing to dq or dk.
//
// Work items. Forward: (batch, head, chunk of queries); every row has one writer. Backward:
// (batch, head, split), a split being a contiguous range of key tiles, so dK/dV rows have one
// writer. dQ sums over the splits: split 0 accumulates in the item's scratch and adds to dq at
// the item's end; split s > 0 accumulates in its own partial buffer, and the partials are added to
// dq in split order after all items ran. The number of splits is a function of the shape only
// (kAttnBackwardItems), so results are bit-identical at any thread count.
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib (fs::log: libm.cc there).
#pragma once
#include <stdint.h>

#include "freestanding.h"
#include "isa.h"

namespace par {

struct AttnShape {
  i64 B, H, Tq, Tk, D;
  bool causal;
  i64 offset;  // query i sees keys j <= offset + i (when causal)
  float scale;
};

struct AttnForwardArgs {
  AttnShape s;
  const float *q, *k, *v;
  const uint8_t* pad;
  float *out, *lse;
  // Set by the driver (attention.cc) before the items run:
  const i64* chunk;  // (nch + 1): query boundaries of a head's chunks
  i64 nch;           // chunks per head
  i64 chunk_rows;    // rows of the scratch of a chunk (the longest chunk, in whole BQ blocks)
};

struct AttnBackwardArgs {
  AttnShape s;
  const float *q, *k, *v;
  const uint8_t* pad;
  const float *out, *dout, *lse;
  float *dq, *dk, *dv;  // accumulated into
  // Set by the driver (attention.cc) before the items run:
  const float* delta;      // (B·H, Tq): Σ_d dout·out of each row
  const float* uni;        // (B·H, Dp): Σ of dout over the head's uniform rows, / Tk
  const float* has_uni;    // (B·H): 1 when the head has a uniform row
  const i64* split;        // (S + 1): key-tile boundaries of the splits
  i64 S;                   // splits per head
  float* partial;          // (S - 1, B·H, dq_rows, Dp): dQ of splits 1..S-1
  i64 dq_rows;             // rows of a dQ buffer: Tq + BQB (the last block's padding)
};

// ---------------------------------------------------------------------------------------------
// Small helpers (min / max / clamp: freestanding.h).

inline i64 attn_round_up(i64 x, i64 m) { return (x + m - 1) / m * m; }
inline i64 attn_ceil_div(i64 x, i64 m) { return (x + m - 1) / m; }

constexpr float kAttnNegInf = -fs::kInf;

// End of the keys query i sees (exclusive), before padding.
inline i64 visible_end(const AttnShape& s, i64 i) {
  if (!s.causal) return s.Tk;
  return fs::clamp<i64>(s.offset + i + 1, 0, s.Tk);
}

// First query row that sees key j (Tq when none does).
inline i64 first_query(const AttnShape& s, i64 j) {
  if (!s.causal) return 0;
  return fs::min<i64>(s.Tq, fs::max<i64>(0, j - s.offset));
}

// D padded to whole NR-lane slices (the kernels' d loops and packed rows); D itself when the
// kernel is specialised (32, 64, 128 are multiples of every NR).
inline i64 attn_padded_dim(const AttnGeometry& g, i64 D) { return attn_round_up(D, g.nr); }

// ---------------------------------------------------------------------------------------------
// Scratch layouts (offsets in floats; every region starts on a 64-byte line).

constexpr i64 kAttnAlignFloats = 16;

struct AttnCarve {
  i64 next = 0;
  i64 take(i64 floats) {
    const i64 at = next;
    next += attn_round_up(floats, kAttnAlignFloats);
    return at;
  }
};

// Forward item: a chunk of a head's queries (attn_forward_chunk_bounds), so that each K, V tile is
// packed once per chunk. Qᵀ panels (scaled), O rows, the running max / sum / rescale and the
// visible end of every query of the chunk (chunk_rows of each); K and V tile rows, the P tile of
// one block of BQ queries (BK rows × BQ), key flags of the tile.
struct AttnForwardLayout {
  i64 qt, o, m, l, alpha, lim, kp, vp, p, keyflag, total;
};

inline AttnForwardLayout attn_forward_layout(const AttnGeometry& g, i64 Dp, i64 chunk) {
  AttnCarve c;
  AttnForwardLayout L;
  L.qt = c.take(chunk * Dp);
  L.o = c.take(chunk * Dp);
  L.m = c.take(chunk);
  L.l = c.take(chunk);
  L.alpha = c.take(chunk);
  L.lim = c.take(chunk);  // int32
  L.kp = c.take(i64(g.bk) * Dp);
  L.vp = c.take(i64(g.bk) * Dp);
  L.p = c.take(i64(g.bk) * g.bq);
  L.keyflag = c.take(g.bk);
  L.total = c.next;
  return L;
}

// Backward item: Kᵀ and Vᵀ panels, K rows, dK and dV tile accumulators, the query block's Q rows
// (scaled) and dO rows, P and dS (BQB rows × BK keys), the block's lse / delta / visible ends,
// the key tile's pad bias; then the split-0 dQ rows (dq_rows × Dp).
struct AttnBackwardLayout {
  i64 kt, vt, kr, dk, dv, qs, dob, p, ds, lse, delta, lim, bias, dq, total;
};

inline AttnBackwardLayout attn_backward_layout(const AttnGeometry& g, i64 Dp, i64 dq_rows) {
  AttnCarve c;
  AttnBackwardLayout L;
  L.kt = c.take(i64(g.bk) * Dp);
  L.vt = c.take(i64(g.bk) * Dp);
  L.kr = c.take(i64(g.bk) * Dp);
  L.dk = c.take(i64(g.bk) * Dp);
  L.dv = c.take(i64(g.bk) * Dp);
  L.qs = c.take(i64(g.bqb) * Dp);
  L.dob = c.take(i64(g.bqb) * Dp);
  L.p = c.take(i64(g.bqb) * g.bk);
  L.ds = c.take(i64(g.bqb) * g.bk);
  L.lse = c.take(g.bqb);
  L.delta = c.take(g.bqb);
  L.lim = c.take(g.bqb);  // int32
  L.bias = c.take(g.bk);
  L.dq = c.take(dq_rows * Dp);
  L.total = c.next;
  return L;
}

// Forward work items wanted per call: a head's queries are cut into ceil(kAttnForwardItems / (B·H))
// chunks when there are fewer heads (each chunk reads every K, V tile once, so fewer chunks read
// less), and into at least ceil(Tq / kAttnForwardChunkMax) chunks (Qᵀ and O rows of 2 · 1024 · D
// floats per chunk on average, near L2). A function of the shape only, though the forward's
// results do not depend on it: every row is computed by the same operations whatever its chunk
// (a row tile that reaches further only adds exact zeros to it).
constexpr i64 kAttnForwardItems = 8;
constexpr i64 kAttnForwardChunkMax = 1024;
// A query's work in key units, for balancing chunks: its visible keys plus this many for what it
// costs whatever it sees (packing, the online-softmax state, the output row; a heuristic weight).
constexpr i64 kAttnQueryCostKeys = 32;

inline i64 attn_forward_chunks(const AttnGeometry& g, const AttnShape& s) {
  const i64 BH = s.B * s.H, blocks = attn_ceil_div(s.Tq, g.bq);
  const i64 n = fs::clamp<i64>(attn_ceil_div(kAttnForwardItems, fs::max<i64>(1, BH)), 1, blocks);
  return fs::max<i64>(n, attn_ceil_div(s.Tq, kAttnForwardChunkMax));
}

// The chunks' query boundaries into bounds[0..n] (when not null), of equal work under the causal
// limit (so that the items of a causal self-attention, whose later queries see more keys, take
// equal time), at multiples of NR (whole query panels) but the last. Returns the longest chunk.
inline i64 attn_forward_chunk_bounds(const AttnGeometry& g, const AttnShape& s, i64 n, i64* bounds) {
  auto work = [&](i64 i) { return visible_end(s, i) + kAttnQueryCostKeys; };
  i64 total = 0;
  for (i64 i = 0; i < s.Tq; i++) total += work(i);
  i64 i = 0, before = 0, prev = 0, longest = 0;  // before = work of queries [0, i)
  if (bounds) bounds[0] = 0;
  for (i64 p = 1; p <= n; p++) {
    i64 at = s.Tq;
    if (p < n) {
      const i64 target = total * p / n;
      while (i < s.Tq && before + work(i) <= target) before += work(i++);
      at = fs::clamp<i64>((i + g.nr / 2) / g.nr * g.nr, prev, s.Tq);
    }
    if (bounds) bounds[p] = at;
    longest = fs::max<i64>(longest, at - prev);
    prev = at;
  }
  return longest;
}

inline i64 attn_forward_items(const AttnGeometry& g, const AttnShape& s) {
  return s.B * s.H * attn_forward_chunks(g, s);
}

// ---------------------------------------------------------------------------------------------
// Backward plan.

// Backward work items wanted per call: heads are split into ceil(kAttnBackwardItems / (B·H)) key
// ranges when there are fewer heads. A function of the shape only (results must not depend on
// the thread count). 8 gives every thread of a 2-4 thread pool two or more items; each extra
// split costs a dQ partial's memory traffic.
constexpr i64 kAttnBackwardItems = 8;
// Largest dQ partial memory of the splits (floats; 64 MiB), so that many splits of a long query
// sequence cannot blow up memory: fewer splits instead.
constexpr i64 kAttnPartialBudget = i64(1) << 24;

inline i64 attn_backward_splits(const AttnGeometry& g, const AttnShape& s, i64 Dp, i64 dq_rows) {
  const i64 BH = s.B * s.H, nkb = attn_ceil_div(s.Tk, g.bk);
  i64 S = BH >= kAttnBackwardItems ? 1 : attn_ceil_div(kAttnBackwardItems, BH);
  S = fs::min<i64>(S, nkb);
  if (S > 1) S = fs::min<i64>(S, 1 + kAttnPartialBudget / fs::max<i64>(1, BH * dq_rows * Dp));
  return fs::max<i64>(S, 1);
}

// Work of key tile kb in (query, tile) units under the causal limit (+1 for its packing).
inline i64 attn_tile_work(const AttnGeometry& g, const AttnShape& s, i64 kb) {
  return (s.Tq - first_query(s, kb * g.bk)) + 1;
}

// split[0..S]: key-tile boundaries, balanced by attn_tile_work; a function of the shape only.
inline void attn_split_tiles(const AttnGeometry& g, const AttnShape& s, i64 S, i64* split) {
  const i64 nkb = attn_ceil_div(s.Tk, g.bk);
  i64 total = 0;
  for (i64 kb = 0; kb < nkb; kb++) total += attn_tile_work(g, s, kb);
  split[0] = 0;
  i64 kb = 0, before = 0;  // before = work of tiles [0, kb)
  for (i64 p = 1; p < S; p++) {
    const i64 target = total * p / S;
    // At least one tile per split, and enough tiles left for the splits after this one.
    while (kb < split[p - 1] + 1 || (kb < nkb - (S - p) && before < target)) before += attn_tile_work(g, s, kb++);
    split[p] = kb;
  }
  split[S] = nkb;
}

// delta[bh·Tq + i] = Σ_d dout·out for rows r = b·Tq + i in [r0, r1) (accumulated in double).
inline void attn_delta_rows(const AttnBackwardArgs& a, i64 r0, i64 r1, float* delta) {
  const AttnShape& s = a.s;
  const i64 H = s.H, D = s.D, Tq = s.Tq;
  for (i64 r = r0; r < r1; r++) {
    const i64 b = r / Tq, i = r % Tq;
    for (i64 h = 0; h < H; h++) {
      const float* o = a.out + (r * H + h) * D;
      const float* g = a.dout + (r * H + h) * D;
      double acc = 0;
      for (i64 d = 0; d < D; d++) acc += double(o[d]) * double(g[d]);
      delta[(b * H + h) * Tq + i] = float(acc);
    }
  }
}

// Uniform rows of heads [bh0, bh1): uni[bh·Dp + d] = Σ_{i: lse = -inf} dout[i, d] / Tk (summed in
// double, rows in order), has_uni[bh] = 1 when there is one.
inline void attn_uniform_heads(const AttnBackwardArgs& a, i64 Dp, i64 bh0, i64 bh1, float* uni,
                               float* has_uni) {
  const AttnShape& s = a.s;
  const i64 H = s.H, D = s.D, Tq = s.Tq;
  for (i64 bh = bh0; bh < bh1; bh++) {
    const i64 b = bh / H, h = bh % H;
    const float* L = a.lse + bh * Tq;
    bool any = false;
    for (i64 i = 0; i < Tq && !any; i++) any = L[i] == kAttnNegInf;
    has_uni[bh] = any ? 1.0f : 0.0f;
    if (!any) continue;
    for (i64 d = 0; d < D; d++) {
      double acc = 0;
      for (i64 i = 0; i < Tq; i++)
        if (L[i] == kAttnNegInf) acc += a.dout[((b * Tq + i) * H + h) * D + d];
      uni[bh * Dp + d] = float(acc / double(s.Tk));
    }
  }
}

// dq += the partials of splits 1..S-1, in split order, for rows r = bh·Tq + i in [r0, r1).
inline void attn_add_partials(const AttnBackwardArgs& a, const AttnGeometry& g, i64 Dp, i64 r0,
                              i64 r1) {
  const AttnShape& s = a.s;
  const i64 H = s.H, D = s.D, Tq = s.Tq, BH = s.B * s.H;
  for (i64 r = r0; r < r1; r++) {
    const i64 bh = r / Tq, i = r % Tq, b = bh / H, h = bh % H;
    float* dst = a.dq + ((b * Tq + i) * H + h) * D;
    for (i64 sp = 1; sp < a.S; sp++) {
      if (i < first_query(s, a.split[sp] * g.bk)) continue;  // the split never reached the row
      const float* src = a.partial + (((sp - 1) * BH + bh) * a.dq_rows + i) * Dp;
      for (i64 d = 0; d < D; d++) dst[d] += src[d];
    }
  }
}

}  // namespace par
