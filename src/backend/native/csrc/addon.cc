// Node-API bindings, from ONE table: each row of kKernels is an exported kernel's name, its
// argument string (the same string as its `KERNELS` row in src/backend/backend.ts; the loader
// refuses an addon whose strings differ, and the strings are exported as `kernelArgs` for that
// check) and a function that calls the kernel with the unpacked arguments. Adding a kernel is one
// row here.
//
// The generic unpacking does only what makes the kernels' memory accesses safe when the addon is
// called raw: argument kinds (typed array types, numbers, objects), sizes that are non-negative
// integers, size products without overflow, and every array at least as long as its row says
// (TypedArrays are used in place, never copied). The few rows whose safety needs a value check
// (gather/scatter indices, labels, rotDim, attention extents) do it in their function. Friendly
// validation (finite numbers, overlap, messages) is the TypeScript boundary's (validate.ts).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "common.h"
#include "threadpool.h"

namespace {

using par::i64;
constexpr int kAbiVersion = 3;
// Largest size product accepted (elements): far above any real tensor, far below i64 overflow.
constexpr i64 kMaxElements = i64(1) << 50;
// Largest JS safe integer (sizes arrive as doubles).
constexpr double kMaxSafeInteger = 9007199254740991.0;
// At most this many arguments per kernel (attentionBackward has 11).
constexpr int kMaxArgs = 16;

enum class Kind { F32, I32, I8, U8, U8OrNull, Size, Int, Num, Bool, Attn, AdamW };

const char* const kAttnSizes[] = {"batch", "heads", "queries", "keys", "headDim"};

struct ArgSpec {
  Kind kind = Kind::Num;
  std::string name;
  std::vector<int> len_slots;  // size slots whose product is the minimum length...
  i64 len_literal = 1;         // ...times this literal factor
  bool has_len = false;
};

struct Call;
using RunFn = void (*)(Call&);

struct KernelDef {
  const char* name;
  const char* args;
  RunFn run;
};

struct ParsedKernel {
  const KernelDef* def;
  std::vector<ArgSpec> args;
  std::vector<std::string> slot_names;  // size slots: size arguments and attn fields
};

[[noreturn]] void range_error(Napi::Env env, const std::string& msg) {
  throw Napi::RangeError::New(env, "perceiver-ar native: " + msg);
}
[[noreturn]] void type_error(Napi::Env env, const std::string& msg) {
  throw Napi::TypeError::New(env, "perceiver-ar native: " + msg);
}

// One call of a kernel, its arguments unpacked and bounds-checked; accessors by argument index.
struct Call {
  const Napi::CallbackInfo& info;
  const ParsedKernel& k;
  Napi::Env env;
  void* ptr[kMaxArgs] = {};
  i64 len[kMaxArgs] = {};
  double num[kMaxArgs] = {};
  i64 slots[kMaxArgs] = {};
  par::AttnShape attn{};
  par::AdamW adamw{};

  Call(const Napi::CallbackInfo& i, const ParsedKernel& kk) : info(i), k(kk), env(i.Env()) {}

  float* f32(int i) const { return static_cast<float*>(ptr[i]); }
  const std::int32_t* i32(int i) const { return static_cast<const std::int32_t*>(ptr[i]); }
  const std::int8_t* i8(int i) const { return static_cast<const std::int8_t*>(ptr[i]); }
  const std::uint8_t* u8(int i) const { return static_cast<const std::uint8_t*>(ptr[i]); }
  i64 size(int i) const { return i64(num[i]); }
  float f(int i) const { return float(num[i]); }
  bool flag(int i) const { return num[i] != 0; }
  [[noreturn]] void fail(const std::string& msg) const { range_error(env, std::string(k.def->name) + ": " + msg); }

  double number(const Napi::Value& v, const std::string& name) const {
    if (!v.IsNumber()) type_error(env, std::string(k.def->name) + ": " + name + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  i64 size_value(const Napi::Value& v, const std::string& name) const {
    const double d = number(v, name);
    if (!(d >= 0) || d != std::floor(d) || d > kMaxSafeInteger) fail(name + " must be a non-negative integer");
    return i64(d);
  }

  void unpack() {
    const auto& args = k.args;
    if (info.Length() < args.size())
      type_error(env, std::string(k.def->name) + ": expected " + std::to_string(args.size()) + " arguments");
    int slot = 0;
    for (size_t i = 0; i < args.size(); i++) {  // scalars first: lengths depend on them
      const ArgSpec& a = args[i];
      const Napi::Value v = info[i];
      switch (a.kind) {
        case Kind::Size:
          slots[slot++] = size_value(v, a.name);
          num[i] = double(slots[slot - 1]);
          break;
        case Kind::Int: {
          const double d = number(v, a.name);
          if (!std::isfinite(d) || d != std::floor(d)) fail(a.name + " must be an integer");
          num[i] = d;
          break;
        }
        case Kind::Num:
          num[i] = number(v, a.name);
          break;
        case Kind::Bool:
          num[i] = v.ToBoolean().Value() ? 1 : 0;
          break;
        case Kind::Attn: {
          if (!v.IsObject()) type_error(env, std::string(k.def->name) + ": " + a.name + " must be an object");
          const Napi::Object o = v.As<Napi::Object>();
          i64 ext[5];
          for (int f = 0; f < 5; f++) ext[f] = slots[slot++] = size_value(o.Get(kAttnSizes[f]), a.name + "." + kAttnSizes[f]);
          attn.B = ext[0], attn.H = ext[1], attn.Tq = ext[2], attn.Tk = ext[3], attn.D = ext[4];
          const Napi::Value off = o.Get("causalOffset");
          attn.causal = !(off.IsNull() || off.IsUndefined());
          attn.offset = 0;
          if (attn.causal) {
            const double d = number(off, a.name + ".causalOffset");
            if (!std::isfinite(d) || d != std::floor(d)) fail(a.name + ".causalOffset must be an integer");
            // Clamp so that offset + i + 1 cannot overflow (|offset| > 2^40 masks like ±2^40).
            const double lim = double(i64(1) << 40);
            attn.offset = i64(d < -lim ? -lim : d > lim ? lim : d);
          }
          attn.scale = float(number(o.Get("scale"), a.name + ".scale"));
          break;
        }
        case Kind::AdamW: {
          if (!v.IsObject()) type_error(env, std::string(k.def->name) + ": " + a.name + " must be an object");
          const Napi::Object o = v.As<Napi::Object>();
          adamw.lr = number(o.Get("lr"), a.name + ".lr");
          adamw.beta1 = number(o.Get("beta1"), a.name + ".beta1");
          adamw.beta2 = number(o.Get("beta2"), a.name + ".beta2");
          adamw.eps = number(o.Get("eps"), a.name + ".eps");
          adamw.wd = number(o.Get("weightDecay"), a.name + ".weightDecay");
          adamw.t = number(o.Get("t"), a.name + ".t");
          break;
        }
        default:
          break;
      }
    }
    for (size_t i = 0; i < args.size(); i++) {  // then arrays, against their lengths
      const ArgSpec& a = args[i];
      napi_typedarray_type want;
      const char* type_name;
      switch (a.kind) {
        case Kind::F32: want = napi_float32_array, type_name = "Float32Array"; break;
        case Kind::I32: want = napi_int32_array, type_name = "Int32Array"; break;
        case Kind::I8: want = napi_int8_array, type_name = "Int8Array"; break;
        case Kind::U8: case Kind::U8OrNull: want = napi_uint8_array, type_name = "Uint8Array"; break;
        default: continue;
      }
      const Napi::Value v = info[i];
      if (a.kind == Kind::U8OrNull && (v.IsNull() || v.IsUndefined())) continue;
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want)
        type_error(env, std::string(k.def->name) + ": " + a.name + " must be a " + type_name);
      const Napi::TypedArray t = v.As<Napi::TypedArray>();
      i64 need = a.len_literal;
      for (int s : a.len_slots)
        if (__builtin_mul_overflow(need, slots[s], &need) || need > kMaxElements) fail(a.name + ": size product too large");
      len[i] = i64(t.ElementLength());
      if (a.has_len && len[i] < need)
        fail(a.name + " has " + std::to_string(len[i]) + " elements, needs " + std::to_string(need));
      ptr[i] = static_cast<std::uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
    }
  }
};

void check_indices(const Call& c, const std::int32_t* idx, i64 count, i64 limit) {
  for (i64 i = 0; i < count; i++)
    if (idx[i] < 0 || idx[i] >= limit)
      c.fail("index[" + std::to_string(i) + "] = " + std::to_string(idx[i]) + " out of range [0, " + std::to_string(limit) + ")");
}

void check_labels(const Call& c, const std::int32_t* y, i64 rows, i64 vocab, double ignore) {
  for (i64 r = 0; r < rows; r++)
    if (double(y[r]) != ignore && (y[r] < 0 || y[r] >= vocab))
      c.fail("labels[" + std::to_string(r) + "] = " + std::to_string(y[r]) + " out of range [0, " + std::to_string(vocab) + ")");
}

// An ignoreIndex outside int32 can never equal a label: map it to a value no valid label has.
std::int32_t ignore_index(double v) {
  return v < double(INT32_MIN) || v > double(INT32_MAX) ? INT32_MIN : std::int32_t(v);
}

void check_rot_dim(const Call& c, i64 rot, i64 head_dim) {
  if (rot % 2 != 0 || rot > head_dim) c.fail("rotDim must be even and <= headDim");
}

void check_attn(const Call& c) {
  // Row limits and tile columns are ints inside the kernel.
  if (c.attn.Tk > (i64(1) << 31) - 1) c.fail("keys too large");
}

// The table. Argument indices in each function follow its argument string.
const KernelDef kKernels[] = {
    {"matmul", "f32[m*k] a, f32[k*n] b, f32[m*n] c, size m, size n, size k, bool transA, bool transB, bool accumulate",
     [](Call& c) {
       const i64 m = c.size(3), n = c.size(4), k = c.size(5);
       const bool tA = c.flag(6), tB = c.flag(7);
       par::gemm(tA, tB, m, n, k, c.f32(0), tA ? m : k, c.f32(1), tB ? k : n, c.f32(2), n, c.flag(8));
     }},
    {"matmulInt8", "f32[m*k] x, i8[n*k] wq, f32[n] scale, f32[m*n] y, size m, size n, size k",
     [](Call& c) { par::gemv_nt_i8(c.size(4), c.size(5), c.size(6), c.f32(0), c.i8(1), c.f32(2), c.f32(3)); }},
    {"linearBackward",
     "f32[rows*outF] dy, f32[rows*inF] x, f32[outF*inF] w, f32[rows*inF] dx, f32[outF*inF] dw, size rows, size inF, size outF",
     [](Call& c) {
       par::linear_backward(c.f32(0), c.f32(1), c.f32(2), c.f32(3), c.f32(4), c.size(5), c.size(6), c.size(7));
     }},
    {"addBias", "f32[rows*cols] out, f32[cols] bias, size rows, size cols",
     [](Call& c) { par::add_bias(c.f32(0), c.f32(1), c.size(2), c.size(3)); }},
    {"sumRows", "f32[rows*cols] dout, f32[cols] dbias, size rows, size cols",
     [](Call& c) { par::sum_rows(c.f32(0), c.f32(1), c.size(2), c.size(3)); }},
    {"layerNormForward",
     "f32[rows*cols] x, f32[cols] gamma, f32[cols] beta, f32[rows*cols] y, f32[rows] mean, f32[rows] rstd, size rows, size cols, num eps",
     [](Call& c) {
       par::layernorm_forward(c.f32(0), c.f32(1), c.f32(2), c.f32(3), c.f32(4), c.f32(5), c.size(6), c.size(7), c.f(8));
     }},
    {"layerNormBackward",
     "f32[rows*cols] dy, f32[rows*cols] x, f32[cols] gamma, f32[rows] mean, f32[rows] rstd, f32[rows*cols] dx, f32[cols] dgamma, f32[cols] dbeta, size rows, size cols",
     [](Call& c) {
       par::layernorm_backward(c.f32(0), c.f32(1), c.f32(2), c.f32(3), c.f32(4), c.f32(5), c.f32(6), c.f32(7), c.size(8), c.size(9));
     }},
    {"geluForward", "f32[n] x, f32[n] y, size n", [](Call& c) { par::gelu_forward(c.f32(0), c.f32(1), c.size(2)); }},
    {"geluBackward", "f32[n] x, f32[n] dy, f32[n] dx, size n",
     [](Call& c) { par::gelu_backward(c.f32(0), c.f32(1), c.f32(2), c.size(3)); }},
    {"add", "f32[n] a, f32[n] b, f32[n] out, size n", [](Call& c) { par::add(c.f32(0), c.f32(1), c.f32(2), c.size(3)); }},
    {"axpy", "num alpha, f32[n] src, f32[n] dst, size n", [](Call& c) { par::axpy(c.f(0), c.f32(1), c.f32(2), c.size(3)); }},
    {"gatherRows", "f32 src, i32[count] index, f32[count*cols] dst, size count, size cols",
     [](Call& c) {
       const i64 count = c.size(3), cols = c.size(4);
       if (cols > 0) check_indices(c, c.i32(1), count, c.len[0] / cols);
       par::gather_rows(c.f32(0), c.i32(1), c.f32(2), count, cols);
     }},
    {"scatterAddRows", "f32[count*cols] ddst, i32[count] index, f32 dsrc, size count, size cols",
     [](Call& c) {
       const i64 count = c.size(3), cols = c.size(4);
       if (cols > 0) check_indices(c, c.i32(1), count, c.len[2] / cols);
       par::scatter_add_rows(c.f32(0), c.i32(1), c.f32(2), count, cols);
     }},
    {"rotaryForward",
     "f32[rows*heads*headDim] x, f32[rows*rotDim] cos, f32[rows*rotDim] sin, f32[rows*heads*headDim] y, size rows, size heads, size headDim, size rotDim",
     [](Call& c) {
       check_rot_dim(c, c.size(7), c.size(6));
       par::rotary_forward(c.f32(0), c.f32(1), c.f32(2), c.f32(3), c.size(4), c.size(5), c.size(6), c.size(7));
     }},
    {"rotaryBackward",
     "f32[rows*heads*headDim] dy, f32[rows*rotDim] cos, f32[rows*rotDim] sin, f32[rows*heads*headDim] dx, size rows, size heads, size headDim, size rotDim",
     [](Call& c) {
       check_rot_dim(c, c.size(7), c.size(6));
       par::rotary_backward(c.f32(0), c.f32(1), c.f32(2), c.f32(3), c.size(4), c.size(5), c.size(6), c.size(7));
     }},
    {"attentionForward",
     "attn s, f32[batch*queries*heads*headDim] q, f32[batch*keys*heads*headDim] k, f32[batch*keys*heads*headDim] v, u8?[batch*keys] keyPad, f32[batch*queries*heads*headDim] out, f32[batch*heads*queries] lse",
     [](Call& c) {
       check_attn(c);
       par::attention_forward(c.attn, c.f32(1), c.f32(2), c.f32(3), c.u8(4), c.f32(5), c.f32(6));
     }},
    {"attentionBackward",
     "attn s, f32[batch*queries*heads*headDim] q, f32[batch*keys*heads*headDim] k, f32[batch*keys*heads*headDim] v, u8?[batch*keys] keyPad, f32[batch*queries*heads*headDim] out, f32[batch*queries*heads*headDim] dout, f32[batch*heads*queries] lse, f32[batch*queries*heads*headDim] dq, f32[batch*keys*heads*headDim] dk, f32[batch*keys*heads*headDim] dv",
     [](Call& c) {
       check_attn(c);
       par::attention_backward(c.attn, c.f32(1), c.f32(2), c.f32(3), c.u8(4), c.f32(5), c.f32(6), c.f32(7), c.f32(8),
                               c.f32(9), c.f32(10));
     }},
    {"crossEntropyForward",
     "f32[rows*vocab] logits, i32[rows] labels, f32[rows] lse, f32[rows] losses, size rows, size vocab, int ignoreIndex",
     [](Call& c) {
       const i64 rows = c.size(4), vocab = c.size(5);
       check_labels(c, c.i32(1), rows, vocab, c.num[6]);
       par::cross_entropy_forward(c.f32(0), c.i32(1), c.f32(2), c.f32(3), rows, vocab, ignore_index(c.num[6]));
     }},
    {"crossEntropyBackward",
     "f32[rows*vocab] logits, i32[rows] labels, f32[rows] lse, f32[rows*vocab] dlogits, size rows, size vocab, int ignoreIndex, num scale",
     [](Call& c) {
       const i64 rows = c.size(4), vocab = c.size(5);
       check_labels(c, c.i32(1), rows, vocab, c.num[6]);
       par::cross_entropy_backward(c.f32(0), c.i32(1), c.f32(2), c.f32(3), rows, vocab, ignore_index(c.num[6]), c.f(7));
     }},
    {"adamw", "f32[n] param, f32[n] grad, f32[n] m, f32[n] v, size n, adamw o",
     [](Call& c) { par::adamw(c.f32(0), c.f32(1), c.f32(2), c.f32(3), c.size(4), c.adamw); }},
};

// Parses "kind[a*b] name, ..." (the grammar of KernelSpec in backend.ts); a malformed row is a
// build bug and makes the addon's load fail with the row's name.
ParsedKernel parse(const KernelDef& def) {
  ParsedKernel pk{&def, {}, {}};
  std::vector<std::vector<std::string>> len_names;
  const std::string s = def.args;
  auto bad = [&](const std::string& why) { return std::runtime_error(std::string("kernel ") + def.name + ": " + why); };
  for (size_t pos = 0; pos <= s.size();) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(pos, end - pos);
    pos = end + 1;
    const size_t b = part.find_first_not_of(' ');
    part = b == std::string::npos ? "" : part.substr(b);
    const size_t sp = part.find(' ');
    if (sp == std::string::npos) throw bad("bad argument '" + part + "'");
    std::string kind = part.substr(0, sp);
    ArgSpec a;
    a.name = part.substr(sp + 1);
    std::vector<std::string> names;
    const size_t lb = kind.find('[');
    if (lb != std::string::npos) {
      if (kind.back() != ']') throw bad("bad length in '" + part + "'");
      const std::string len = kind.substr(lb + 1, kind.size() - lb - 2);
      kind = kind.substr(0, lb);
      a.has_len = true;
      for (size_t p = 0; p <= len.size();) {
        size_t e = len.find('*', p);
        if (e == std::string::npos) e = len.size();
        const std::string f = len.substr(p, e - p);
        p = e + 1;
        if (!f.empty() && f.find_first_not_of("0123456789") == std::string::npos) a.len_literal *= std::stoll(f);
        else names.push_back(f);
      }
    }
    if (kind == "f32") a.kind = Kind::F32;
    else if (kind == "i32") a.kind = Kind::I32;
    else if (kind == "i8") a.kind = Kind::I8;
    else if (kind == "u8") a.kind = Kind::U8;
    else if (kind == "u8?") a.kind = Kind::U8OrNull;
    else if (kind == "size") a.kind = Kind::Size;
    else if (kind == "int") a.kind = Kind::Int;
    else if (kind == "num") a.kind = Kind::Num;
    else if (kind == "bool") a.kind = Kind::Bool;
    else if (kind == "attn") a.kind = Kind::Attn;
    else if (kind == "adamw") a.kind = Kind::AdamW;
    else throw bad("unknown kind '" + kind + "'");
    if (a.kind == Kind::Size) pk.slot_names.push_back(a.name);
    if (a.kind == Kind::Attn)
      for (const char* f : kAttnSizes) pk.slot_names.push_back(f);
    pk.args.push_back(a);
    len_names.push_back(names);
  }
  if (pk.args.size() > size_t(kMaxArgs) || pk.slot_names.size() > size_t(kMaxArgs)) throw bad("too many arguments");
  for (size_t i = 0; i < pk.args.size(); i++) {
    for (const std::string& f : len_names[i]) {
      int slot = -1;
      for (size_t j = 0; j < pk.slot_names.size(); j++)
        if (pk.slot_names[j] == f) slot = int(j);
      if (slot < 0) throw bad("length of " + pk.args[i].name + " names '" + f + "', which is not a size");
      pk.args[i].len_slots.push_back(slot);
    }
  }
  return pk;
}

std::vector<ParsedKernel>& parsed_kernels() {
  static std::vector<ParsedKernel> table;
  return table;
}

Napi::Value Dispatch(const Napi::CallbackInfo& info) {
  const ParsedKernel& k = *static_cast<const ParsedKernel*>(info.Data());
  Call c(info, k);
  c.unpack();
  try {
    k.def->run(c);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {  // e.g. std::bad_alloc of scratch: a JS error, not a crash
    throw Napi::Error::New(info.Env(), std::string("perceiver-ar native: ") + k.def->name + ": " + e.what());
  }
  return info.Env().Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) type_error(info.Env(), "threads must be a number");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1) || n != std::floor(n)) range_error(info.Env(), "threads must be an integer >= 1");
  par::set_num_threads(int(n > 256 ? 256 : n));
  return Napi::Number::New(info.Env(), par::num_threads());
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), par::num_threads());
}

// The thread pool's counters (threadpool.h) as numbers (exact below 2^53).
Napi::Value PoolCountersValue(const Napi::CallbackInfo& info) {
  const par::PoolCounters c = par::pool_counters();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("regions", double(c.regions));
  o.Set("helperTasks", double(c.helper_tasks));
  o.Set("callerTakenTasks", double(c.caller_taken_tasks));
  o.Set("helpersParkedAtPublish", double(c.helpers_parked_at_publish));
  return o;
}

Napi::Value GetIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), par::isa().name);
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) type_error(info.Env(), "isa name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Boolean::New(info.Env(), par::set_isa(name.c_str()));
}

Napi::Value BestIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), par::best_isa_name());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  (void)par::isa();  // select the ISA once, on the main thread
  auto& table = parsed_kernels();
  if (table.empty()) {
    try {
      for (const KernelDef& d : kKernels) table.push_back(parse(d));
    } catch (const std::exception& e) {
      table.clear();
      throw Napi::Error::New(env, std::string("perceiver-ar native: ") + e.what());
    }
  }
  Napi::Object args = Napi::Object::New(env);
  for (const ParsedKernel& k : table) {
    exports.Set(k.def->name, Napi::Function::New(env, Dispatch, k.def->name, const_cast<ParsedKernel*>(&k)));
    args.Set(k.def->name, Napi::String::New(env, k.def->args));
  }
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  exports.Set("kernelArgs", args);
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("poolCounters", Napi::Function::New(env, PoolCountersValue, "poolCounters"));
  exports.Set("isa", Napi::Function::New(env, GetIsa, "isa"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("bestIsa", Napi::Function::New(env, BestIsa, "bestIsa"));
  return exports;
}

}  // namespace

NODE_API_MODULE(perceiver_ar_native, Init)
