// Node-API bindings: unpacks arguments (TypedArrays are used in place, never copied), re-checks
// every length/size/index cheaply as a second line of defence (the TypeScript wrapper validates
// first and gives the friendlier messages), and calls the kernels synchronously.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "common.h"

namespace {

using par::i64;
constexpr int kAbiVersion = 1;

[[noreturn]] void range_error(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, "perceiver-ar native: " + msg);
}

struct Args {
  const Napi::CallbackInfo& info;
  Napi::Env env;
  explicit Args(const Napi::CallbackInfo& i) : info(i), env(i.Env()) {}

  Napi::TypedArray typed(size_t i, const char* name, napi_typedarray_type type, const char* tname) {
    if (i >= info.Length() || !info[i].IsTypedArray())
      throw Napi::TypeError::New(env, std::string("perceiver-ar native: ") + name + " must be a " + tname);
    Napi::TypedArray t = info[i].As<Napi::TypedArray>();
    if (t.TypedArrayType() != type)
      throw Napi::TypeError::New(env, std::string("perceiver-ar native: ") + name + " must be a " + tname);
    return t;
  }
  template <class T>
  T* data(Napi::TypedArray t, const char* name, i64 need) {
    if (need < 0 || i64(t.ElementLength()) < need)
      range_error(env, std::string(name) + " has " + std::to_string(t.ElementLength()) +
                           " elements, needs " + std::to_string(need));
    return reinterpret_cast<T*>(static_cast<std::uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset());
  }
  float* f32(size_t i, const char* name, i64 need) {
    return data<float>(typed(i, name, napi_float32_array, "Float32Array"), name, need);
  }
  std::int32_t* i32(size_t i, const char* name, i64 need) {
    return data<std::int32_t>(typed(i, name, napi_int32_array, "Int32Array"), name, need);
  }
  const std::uint8_t* u8_or_null(size_t i, const char* name, i64 need) {
    if (i < info.Length() && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
    return data<std::uint8_t>(typed(i, name, napi_uint8_array, "Uint8Array or null"), name, need);
  }
  double num(size_t i, const char* name) {
    if (i >= info.Length() || !info[i].IsNumber())
      throw Napi::TypeError::New(env, std::string("perceiver-ar native: ") + name + " must be a number");
    return info[i].As<Napi::Number>().DoubleValue();
  }
  i64 size(size_t i, const char* name) {
    double d = num(i, name);
    if (!(d >= 0) || d != std::floor(d) || d > 9007199254740991.0)
      range_error(env, std::string(name) + " must be a non-negative integer, got " + std::to_string(d));
    return i64(d);
  }
  i64 integer(size_t i, const char* name) {
    double d = num(i, name);
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740991.0)
      range_error(env, std::string(name) + " must be an integer");
    return i64(d);
  }
  bool flag(size_t i) { return i < info.Length() && info[i].ToBoolean().Value(); }
  i64 mul(i64 a, i64 b) {
    i64 r;
    if (__builtin_mul_overflow(a, b, &r) || r > (i64(1) << 50)) range_error(env, "size product too large");
    return r;
  }
  i64 mul(i64 a, i64 b, i64 c) { return mul(mul(a, b), c); }
  i64 mul(i64 a, i64 b, i64 c, i64 d) { return mul(mul(a, b, c), d); }
};

Napi::Value Matmul(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 m = A.size(3, "m"), n = A.size(4, "n"), k = A.size(5, "k");
  bool tA = A.flag(6), tB = A.flag(7), acc = A.flag(8);
  const float* a = A.f32(0, "a", A.mul(m, k));
  const float* b = A.f32(1, "b", A.mul(k, n));
  float* c = A.f32(2, "c", A.mul(m, n));
  par::gemm(tA, tB, m, n, k, a, tA ? m : k, b, tB ? k : n, c, n, acc);
  return info.Env().Undefined();
}

Napi::Value AddBias(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 rows = A.size(2, "rows"), cols = A.size(3, "cols");
  float* out = A.f32(0, "out", A.mul(rows, cols));
  const float* bias = A.f32(1, "bias", cols);
  par::add_bias(out, bias, rows, cols);
  return info.Env().Undefined();
}

Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 rows = A.size(2, "rows"), cols = A.size(3, "cols");
  const float* d = A.f32(0, "dout", A.mul(rows, cols));
  float* db = A.f32(1, "dbias", cols);
  par::sum_rows(d, db, rows, cols);
  return info.Env().Undefined();
}

Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 rows = A.size(6, "rows"), cols = A.size(7, "cols");
  double eps = A.num(8, "eps");
  i64 rc = A.mul(rows, cols);
  par::layernorm_forward(A.f32(0, "x", rc), A.f32(1, "gamma", cols), A.f32(2, "beta", cols),
                         A.f32(3, "y", rc), A.f32(4, "mean", rows), A.f32(5, "rstd", rows), rows,
                         cols, float(eps));
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 rows = A.size(8, "rows"), cols = A.size(9, "cols");
  i64 rc = A.mul(rows, cols);
  par::layernorm_backward(A.f32(0, "dy", rc), A.f32(1, "x", rc), A.f32(2, "gamma", cols),
                          A.f32(3, "mean", rows), A.f32(4, "rstd", rows), A.f32(5, "dx", rc),
                          A.f32(6, "dgamma", cols), A.f32(7, "dbeta", cols), rows, cols);
  return info.Env().Undefined();
}

Napi::Value GeluForward(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 n = A.size(2, "n");
  par::gelu_forward(A.f32(0, "x", n), A.f32(1, "y", n), n);
  return info.Env().Undefined();
}

Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 n = A.size(3, "n");
  par::gelu_backward(A.f32(0, "x", n), A.f32(1, "dy", n), A.f32(2, "dx", n), n);
  return info.Env().Undefined();
}

Napi::Value Add(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 n = A.size(3, "n");
  par::add(A.f32(0, "a", n), A.f32(1, "b", n), A.f32(2, "out", n), n);
  return info.Env().Undefined();
}

Napi::Value Axpy(const Napi::CallbackInfo& info) {
  Args A(info);
  double alpha = A.num(0, "alpha");
  i64 n = A.size(3, "n");
  par::axpy(float(alpha), A.f32(1, "src", n), A.f32(2, "dst", n), n);
  return info.Env().Undefined();
}

void check_indices(Args& A, const std::int32_t* idx, i64 count, i64 limit, const char* name) {
  for (i64 i = 0; i < count; i++)
    if (idx[i] < 0 || idx[i] >= limit)
      range_error(A.env, std::string(name) + "[" + std::to_string(i) + "] = " +
                             std::to_string(idx[i]) + " out of range [0, " + std::to_string(limit) + ")");
}

Napi::Value GatherRows(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 count = A.size(3, "count"), cols = A.size(4, "cols");
  Napi::TypedArray st = A.typed(0, "src", napi_float32_array, "Float32Array");
  const float* src = A.data<float>(st, "src", 0);
  const std::int32_t* idx = A.i32(1, "index", count);
  float* dst = A.f32(2, "dst", A.mul(count, cols));
  if (cols > 0) check_indices(A, idx, count, i64(st.ElementLength()) / cols, "index");
  par::gather_rows(src, idx, dst, count, cols);
  return info.Env().Undefined();
}

Napi::Value ScatterAddRows(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 count = A.size(3, "count"), cols = A.size(4, "cols");
  const float* ddst = A.f32(0, "ddst", A.mul(count, cols));
  const std::int32_t* idx = A.i32(1, "index", count);
  Napi::TypedArray dt = A.typed(2, "dsrc", napi_float32_array, "Float32Array");
  float* dsrc = A.data<float>(dt, "dsrc", 0);
  if (cols > 0) check_indices(A, idx, count, i64(dt.ElementLength()) / cols, "index");
  par::scatter_add_rows(ddst, idx, dsrc, count, cols);
  return info.Env().Undefined();
}

template <bool Fwd>
Napi::Value Rotary(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 rows = A.size(4, "rows"), heads = A.size(5, "heads"), hd = A.size(6, "headDim"),
      rot = A.size(7, "rotDim");
  if (rot % 2 != 0 || rot > hd) range_error(A.env, "rotDim must be even and <= headDim");
  i64 n = A.mul(rows, heads, hd);
  const float* x = A.f32(0, Fwd ? "x" : "dy", n);
  const float* c = A.f32(1, "cos", A.mul(rows, rot));
  const float* s = A.f32(2, "sin", A.mul(rows, rot));
  float* y = A.f32(3, Fwd ? "y" : "dx", n);
  if (Fwd)
    par::rotary_forward(x, c, s, y, rows, heads, hd, rot);
  else
    par::rotary_backward(x, c, s, y, rows, heads, hd, rot);
  return info.Env().Undefined();
}

par::AttnShape attn_shape(Args& A) {
  par::AttnShape s;
  s.B = A.size(0, "batch");
  s.H = A.size(1, "heads");
  s.Tq = A.size(2, "queries");
  s.Tk = A.size(3, "keys");
  s.D = A.size(4, "headDim");
  s.causal = A.flag(5);
  s.offset = s.causal ? A.integer(6, "causalOffset") : 0;
  double sc = A.num(7, "scale");
  s.scale = float(sc);
  if (s.Tk > (i64(1) << 31) - 1) range_error(A.env, "keys too large");
  // clamp the offset so offset + i + 1 cannot overflow
  if (s.offset > (i64(1) << 40)) s.offset = i64(1) << 40;
  if (s.offset < -(i64(1) << 40)) s.offset = -(i64(1) << 40);
  return s;
}

Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args A(info);
  par::AttnShape s = attn_shape(A);
  i64 nq = A.mul(s.B, s.Tq, s.H, s.D), nk = A.mul(s.B, s.Tk, s.H, s.D);
  const float* q = A.f32(8, "q", nq);
  const float* k = A.f32(9, "k", nk);
  const float* v = A.f32(10, "v", nk);
  const std::uint8_t* pad = A.u8_or_null(11, "keyPad", A.mul(s.B, s.Tk));
  float* out = A.f32(12, "out", nq);
  float* lse = A.f32(13, "lse", A.mul(s.B, s.H, s.Tq));
  par::attention_forward(s, q, k, v, pad, out, lse);
  return info.Env().Undefined();
}

Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args A(info);
  par::AttnShape s = attn_shape(A);
  i64 nq = A.mul(s.B, s.Tq, s.H, s.D), nk = A.mul(s.B, s.Tk, s.H, s.D);
  const float* q = A.f32(8, "q", nq);
  const float* k = A.f32(9, "k", nk);
  const float* v = A.f32(10, "v", nk);
  const std::uint8_t* pad = A.u8_or_null(11, "keyPad", A.mul(s.B, s.Tk));
  const float* out = A.f32(12, "out", nq);
  const float* dout = A.f32(13, "dout", nq);
  const float* lse = A.f32(14, "lse", A.mul(s.B, s.H, s.Tq));
  float* dq = A.f32(15, "dq", nq);
  float* dk = A.f32(16, "dk", nk);
  float* dv = A.f32(17, "dv", nk);
  par::attention_backward(s, q, k, v, pad, out, dout, lse, dq, dk, dv);
  return info.Env().Undefined();
}

void check_labels(Args& A, const std::int32_t* y, i64 rows, i64 vocab, i64 ignore) {
  for (i64 r = 0; r < rows; r++)
    if (y[r] != ignore && (y[r] < 0 || y[r] >= vocab))
      range_error(A.env, "labels[" + std::to_string(r) + "] = " + std::to_string(y[r]) +
                             " out of range [0, " + std::to_string(vocab) + ") and not ignoreIndex");
}

std::int32_t ignore_index(Args& A, size_t i) {
  i64 v = A.integer(i, "ignoreIndex");
  if (v < INT32_MIN || v > INT32_MAX) return INT32_MIN;  // can never match an int32 label...
  return std::int32_t(v);
}

Napi::Value CrossEntropyForward(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 rows = A.size(4, "rows"), vocab = A.size(5, "vocab");
  i64 ign = A.integer(6, "ignoreIndex");
  const float* logits = A.f32(0, "logits", A.mul(rows, vocab));
  const std::int32_t* y = A.i32(1, "labels", rows);
  check_labels(A, y, rows, vocab, ign);
  par::cross_entropy_forward(logits, y, A.f32(2, "lse", rows), A.f32(3, "losses", rows), rows,
                             vocab, ignore_index(A, 6));
  return info.Env().Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 rows = A.size(4, "rows"), vocab = A.size(5, "vocab");
  i64 ign = A.integer(6, "ignoreIndex");
  double scale = A.num(7, "scale");
  const float* logits = A.f32(0, "logits", A.mul(rows, vocab));
  const std::int32_t* y = A.i32(1, "labels", rows);
  check_labels(A, y, rows, vocab, ign);
  par::cross_entropy_backward(logits, y, A.f32(2, "lse", rows),
                              A.f32(3, "dlogits", A.mul(rows, vocab)), rows, vocab,
                              ignore_index(A, 6), float(scale));
  return info.Env().Undefined();
}

Napi::Value AdamW(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 n = A.size(4, "n");
  par::AdamW o;
  o.lr = A.num(5, "lr");
  o.beta1 = A.num(6, "beta1");
  o.beta2 = A.num(7, "beta2");
  o.eps = A.num(8, "eps");
  o.wd = A.num(9, "weightDecay");
  o.t = A.num(10, "t");
  par::adamw(A.f32(0, "param", n), A.f32(1, "grad", n), A.f32(2, "m", n), A.f32(3, "v", n), n, o);
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args A(info);
  i64 n = A.size(0, "threads");
  if (n < 1) range_error(A.env, "threads must be >= 1");
  par::set_num_threads(int(n > 256 ? 256 : n));
  return Napi::Number::New(info.Env(), par::num_threads());
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), par::num_threads());
}

Napi::Value GetIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), par::isa().name);
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "perceiver-ar native: isa name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  bool ok = par::set_isa(name.c_str());
  return Napi::Boolean::New(info.Env(), ok);
}

Napi::Value BestIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), par::best_isa_name());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  (void)par::isa();  // select the ISA once, on the main thread
  auto fn = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, f, name));
  };
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  fn("matmul", Matmul);
  fn("addBias", AddBias);
  fn("sumRows", SumRows);
  fn("layerNormForward", LayerNormForward);
  fn("layerNormBackward", LayerNormBackward);
  fn("geluForward", GeluForward);
  fn("geluBackward", GeluBackward);
  fn("add", Add);
  fn("axpy", Axpy);
  fn("gatherRows", GatherRows);
  fn("scatterAddRows", ScatterAddRows);
  fn("rotaryForward", Rotary<true>);
  fn("rotaryBackward", Rotary<false>);
  fn("attentionForward", AttentionForward);
  fn("attentionBackward", AttentionBackward);
  fn("crossEntropyForward", CrossEntropyForward);
  fn("crossEntropyBackward", CrossEntropyBackward);
  fn("adamw", AdamW);
  fn("setThreads", SetThreads);
  fn("getThreads", GetThreads);
  fn("isa", GetIsa);
  fn("setIsa", SetIsa);
  fn("bestIsa", BestIsa);
  return exports;
}

}  // namespace

NODE_API_MODULE(perceiver_ar_native, Init)
