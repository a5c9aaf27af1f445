// Fused multi-head attention, the drivers: the plan of attention_plan.h (chunks, splits, the serial
// passes) and the work items of the selected kernel table (Isa::attn_forward / attn_backward,
// attention_kernel.h) over the threading interface (parallel.h): per-task scratch for the items,
// a caller buffer for the call's plan. The native addon and the wasm backend build this same file.
// Semantics, work items, determinism: attention_plan.h. Out of memory: native throws
// std::bad_alloc, wasm traps (parallel.h).
#include "attention_plan.h"
#include "common.h"

namespace par {
namespace {

// Below 2^21 multiply-adds (about 4 MFLOP of Q·Kᵀ and P·V, ~50 µs on one AVX2 core here) a call
// runs its items on the calling thread: waking the pool costs a good part of that (as for the
// GEMM's kMinParallelWork; a heuristic bound).
constexpr double kAttnMinParallelWork = double(1 << 21);

// Items per parallel chunk: all of them (the calling thread only) for a small call, else one.
inline i64 attn_item_grain(const AttnShape& s, i64 items) {
  const double work = double(s.B * s.H) * double(s.Tq) * double(s.Tk) * double(s.D > 0 ? s.D : 1);
  return work < kAttnMinParallelWork ? fs::max<i64>(items, 1) : 1;
}

void forward_run(const Isa& I, AttnForwardArgs a) {
  const AttnShape& s = a.s;
  if (s.B <= 0 || s.H <= 0 || s.Tq <= 0 || s.D < 0) return;
  const AttnGeometry& g = I.attn;
  const i64 Dp = attn_padded_dim(g, s.D);
  a.nch = attn_forward_chunks(g, s);
  a.chunk_rows = attn_round_up(attn_forward_chunk_bounds(g, s, a.nch, nullptr), g.bq);
  // Per task: the item's layout. The call's plan: the chunk table.
  reserve_scratch(kAttention, size_t(attn_forward_layout(g, Dp, a.chunk_rows).total));
  i64* chunk = static_cast<i64*>(caller_buffer(kAttentionPlan, sizeof(i64) * size_t(a.nch + 1)));
  attn_forward_chunk_bounds(g, s, a.nch, chunk);
  a.chunk = chunk;
  const i64 items = attn_forward_items(g, s);
  parallel_for(items, attn_item_grain(s, items), [&](i64 it0, i64 it1, int tid) {
    float* item = scratch(tid, kAttention);
    for (i64 it = it0; it < it1; it++) I.attn_forward(a, it, item);
  });
}

// Rows of the delta pass per parallel chunk, and floats of dq per chunk of the partial sums.
constexpr i64 kAttnDeltaGrain = 256;
constexpr i64 kAttnPartialGrainFloats = 16384;

void backward_run(const Isa& I, AttnBackwardArgs a) {
  const AttnShape& s = a.s;
  if (s.B <= 0 || s.H <= 0 || s.Tq <= 0 || s.Tk <= 0 || s.D <= 0) return;
  const AttnGeometry& g = I.attn;
  const i64 BH = s.B * s.H, Dp = attn_padded_dim(g, s.D);
  a.dq_rows = s.Tq + g.bqb;
  a.S = attn_backward_splits(g, s, Dp, a.dq_rows);
  // Per task: the item's layout. The call's plan: delta, uni, has_uni, split (i64 as two floats
  // each), partials.
  AttnCarve c;
  const i64 o_delta = c.take(BH * s.Tq), o_uni = c.take(BH * Dp), o_has = c.take(BH);
  const i64 o_split = c.take(2 * (a.S + 1)), o_partial = c.take((a.S - 1) * BH * a.dq_rows * Dp);
  reserve_scratch(kAttention, size_t(attn_backward_layout(g, Dp, a.dq_rows).total));
  float* shared = static_cast<float*>(caller_buffer(kAttentionPlan, sizeof(float) * size_t(c.next)));
  float* delta = shared + o_delta;
  float* uni = shared + o_uni;
  float* has_uni = shared + o_has;
  i64* split = reinterpret_cast<i64*>(shared + o_split);
  a.delta = delta, a.uni = uni, a.has_uni = has_uni, a.split = split;
  a.partial = shared + o_partial;

  parallel_for(s.B * s.Tq, kAttnDeltaGrain, [&](i64 r0, i64 r1, int) { attn_delta_rows(a, r0, r1, delta); });
  parallel_for(BH, attn_item_grain(s, BH), [&](i64 h0, i64 h1, int) { attn_uniform_heads(a, Dp, h0, h1, uni, has_uni); });
  attn_split_tiles(g, s, a.S, split);
  parallel_for(BH * a.S, attn_item_grain(s, BH * a.S), [&](i64 it0, i64 it1, int tid) {
    float* item = scratch(tid, kAttention);
    for (i64 it = it0; it < it1; it++) I.attn_backward(a, it, item);
  });
  if (a.S > 1)
    parallel_for(BH * s.Tq, fs::max<i64>(1, kAttnPartialGrainFloats / s.D),
                 [&](i64 r0, i64 r1, int) { attn_add_partials(a, g, Dp, r0, r1); });
}

}  // namespace

void attention_forward(const AttnShape& s, const float* q, const float* k, const float* v,
                       const uint8_t* pad, float* out, float* lse) {
  AttnForwardArgs a{};
  a.s = s, a.q = q, a.k = k, a.v = v, a.pad = pad, a.out = out, a.lse = lse;
  forward_run(isa(), a);
}

void attention_backward(const AttnShape& s, const float* q, const float* k, const float* v,
                        const uint8_t* pad, const float* out, const float* dout,
                        const float* lse, float* dq, float* dk, float* dv) {
  AttnBackwardArgs a{};
  a.s = s, a.q = q, a.k = k, a.v = v, a.pad = pad, a.out = out, a.dout = dout, a.lse = lse;
  a.dq = dq, a.dk = dk, a.dv = dv;
  backward_run(isa(), a);
}

}  // namespace par
