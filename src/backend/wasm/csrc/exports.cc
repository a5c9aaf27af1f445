// The kernels of the wasm backend as module exports: one `par_<kernel>` per Backend kernel
// (src/backend/backend.ts), calling the shared kernels of native/csrc (common.h) with the
// arguments as the native addon (native/csrc/addon.cc) passes them. Pointers are byte offsets in
// the linear memory (32-bit); sizes arrive as doubles (JavaScript numbers, safe integers) and are
// used as 64-bit integers, so a size the boundary accepted is never truncated.
//
// The caller is the TypeScript side (src/backend/wasm/kernels.ts), behind the boundary's
// validation (validate.ts): every array holds at least the elements its KERNELS row names, and
// indices, labels and rotDim were checked. That is what keeps these kernels inside their
// arguments; the module cannot reach beyond its own memory in any case.
//
// Freestanding (wasm32 -nostdlib).
#include "common.h"

namespace {

using par::i64;

inline i64 sz(double v) { return i64(v); }

// The causal offset as the native addon clamps it: |offset| > 2^40 masks like ±2^40, so that
// offset + i + 1 cannot overflow.
inline i64 causal_offset(double d) {
  const double lim = double(i64(1) << 40);
  return i64(d < -lim ? -lim : d > lim ? lim : d);
}

par::AttnShape attn_shape(double B, double H, double Tq, double Tk, double D, int causal, double offset, float scale) {
  return par::AttnShape{sz(B), sz(H), sz(Tq), sz(Tk), sz(D), causal != 0, causal ? causal_offset(offset) : 0, scale};
}

}  // namespace

#define PAR_EXPORT(name) extern "C" __attribute__((export_name(#name)))

PAR_EXPORT(par_matmul)
void par_matmul(const float* a, const float* b, float* c, double m, double n, double k, int tA, int tB, int acc) {
  par::gemm(tA != 0, tB != 0, sz(m), sz(n), sz(k), a, tA ? sz(m) : sz(k), b, tB ? sz(k) : sz(n), c, sz(n), acc != 0);
}

PAR_EXPORT(par_matmulInt8)
void par_matmulInt8(const float* x, const int8_t* wq, const float* scale, float* y, double m, double n, double k) {
  par::gemv_nt_i8(sz(m), sz(n), sz(k), x, wq, scale, y);
}

PAR_EXPORT(par_addBias) void par_addBias(float* out, const float* bias, double rows, double cols) {
  par::add_bias(out, bias, sz(rows), sz(cols));
}

PAR_EXPORT(par_sumRows) void par_sumRows(const float* dout, float* dbias, double rows, double cols) {
  par::sum_rows(dout, dbias, sz(rows), sz(cols));
}

PAR_EXPORT(par_layerNormForward)
void par_layerNormForward(const float* x, const float* g, const float* b, float* y, float* mean, float* rstd, double rows,
                          double cols, float eps) {
  par::layernorm_forward(x, g, b, y, mean, rstd, sz(rows), sz(cols), eps);
}

PAR_EXPORT(par_layerNormBackward)
void par_layerNormBackward(const float* dy, const float* x, const float* g, const float* mean, const float* rstd, float* dx,
                           float* dg, float* db, double rows, double cols) {
  par::layernorm_backward(dy, x, g, mean, rstd, dx, dg, db, sz(rows), sz(cols));
}

PAR_EXPORT(par_geluForward) void par_geluForward(const float* x, float* y, double n) { par::gelu_forward(x, y, sz(n)); }

PAR_EXPORT(par_geluBackward) void par_geluBackward(const float* x, const float* dy, float* dx, double n) {
  par::gelu_backward(x, dy, dx, sz(n));
}

PAR_EXPORT(par_add) void par_add(const float* a, const float* b, float* out, double n) { par::add(a, b, out, sz(n)); }

PAR_EXPORT(par_axpy) void par_axpy(float alpha, const float* src, float* dst, double n) { par::axpy(alpha, src, dst, sz(n)); }

PAR_EXPORT(par_gatherRows)
void par_gatherRows(const float* src, const int32_t* index, float* dst, double count, double cols) {
  par::gather_rows(src, index, dst, sz(count), sz(cols));
}

PAR_EXPORT(par_scatterAddRows)
void par_scatterAddRows(const float* ddst, const int32_t* index, float* dsrc, double count, double cols) {
  par::scatter_add_rows(ddst, index, dsrc, sz(count), sz(cols));
}

PAR_EXPORT(par_rotaryForward)
void par_rotaryForward(const float* x, const float* cos, const float* sin, float* y, double rows, double heads, double headDim,
                       double rotDim) {
  par::rotary_forward(x, cos, sin, y, sz(rows), sz(heads), sz(headDim), sz(rotDim));
}

PAR_EXPORT(par_rotaryBackward)
void par_rotaryBackward(const float* dy, const float* cos, const float* sin, float* dx, double rows, double heads,
                        double headDim, double rotDim) {
  par::rotary_backward(dy, cos, sin, dx, sz(rows), sz(heads), sz(headDim), sz(rotDim));
}

PAR_EXPORT(par_attentionForward)
void par_attentionForward(double B, double H, double Tq, double Tk, double D, int causal, double offset, float scale,
                          const float* q, const float* k, const float* v, const uint8_t* pad, float* out, float* lse) {
  par::attention_forward(attn_shape(B, H, Tq, Tk, D, causal, offset, scale), q, k, v, pad, out, lse);
}

PAR_EXPORT(par_attentionBackward)
void par_attentionBackward(double B, double H, double Tq, double Tk, double D, int causal, double offset, float scale,
                           const float* q, const float* k, const float* v, const uint8_t* pad, const float* out,
                           const float* dout, const float* lse, float* dq, float* dk, float* dv) {
  par::attention_backward(attn_shape(B, H, Tq, Tk, D, causal, offset, scale), q, k, v, pad, out, dout, lse, dq, dk, dv);
}

PAR_EXPORT(par_crossEntropyForward)
void par_crossEntropyForward(const float* logits, const int32_t* labels, float* lse, float* losses, double rows, double vocab,
                             int32_t ignore) {
  par::cross_entropy_forward(logits, labels, lse, losses, sz(rows), sz(vocab), ignore);
}

PAR_EXPORT(par_crossEntropyBackward)
void par_crossEntropyBackward(const float* logits, const int32_t* labels, const float* lse, float* dlogits, double rows,
                              double vocab, int32_t ignore, float scale) {
  par::cross_entropy_backward(logits, labels, lse, dlogits, sz(rows), sz(vocab), ignore, scale);
}

PAR_EXPORT(par_adamw)
void par_adamw(float* p, const float* g, float* m, float* v, double n, double lr, double beta1, double beta2, double eps,
               double wd, double t) {
  par::adamw(p, g, m, v, sz(n), par::AdamW{lr, beta1, beta2, eps, wd, t});
}
