// Test driver of the wasm32 SIMD128 kernel table (kernels_wasm128.cc): not a backend, only what
// test/wasm-kernels.test.ts needs to run the shared kernel templates in a WebAssembly engine.
// Exports (C names, 32-bit sizes): a bump allocator for the test's arrays, the blocked GEMM
// (gemm_loops.h, single-threaded, static packing buffers sized by TileWasm128), the fused
// attention drivers (attention_plan.h, single-threaded) and the table's row kernels with row
// stride = cols. Built with
//   clang++ --target=wasm32 -msimd128 -O3 -nostdlib -ffreestanding -I src/backend/native/csrc
//     -Wl,--no-entry -Wl,--allow-undefined driver.cc kernels_wasm128.cc   (expf and logf are imported)
#include "attention_plan.h"
#include "gemm_loops.h"
#include "gemm_tiles.h"
#include "isa.h"

extern "C" unsigned char __heap_base;

namespace {

using par::i64;
using par::TileWasm128;

constexpr i64 kWasmPage = 65536;
alignas(64) float g_packed_a[TileWasm128::MC * TileWasm128::KC];
alignas(64) float g_packed_b[TileWasm128::KC * TileWasm128::NC];
unsigned char* g_next = nullptr;

const par::Isa& table() { return *par::isa_wasm128(); }

}  // namespace

extern "C" {

// Floats at a 64-byte aligned address, growing the memory as needed; nullptr when it cannot.
__attribute__((export_name("alloc"))) float* alloc(int floats) {
  if (!g_next) g_next = &__heap_base;
  const i64 at = (i64(g_next) + 63) / 64 * 64;
  const i64 end = at + i64(floats) * 4;
  const i64 have = i64(__builtin_wasm_memory_size(0)) * kWasmPage;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + kWasmPage - 1) / kWasmPage) < 0)
    return nullptr;
  g_next = reinterpret_cast<unsigned char*>(end);
  return reinterpret_cast<float*>(at);
}

// Frees everything alloc returned.
__attribute__((export_name("reset"))) void reset() { g_next = &__heap_base; }

}  // extern "C"

namespace {

// The Runtime of attention_plan.h on the calling thread, its memory from alloc.
struct SerialRuntime {
  float* thread = nullptr;
  float* common = nullptr;
  template <class F>
  void parallel_for(i64 count, i64, F&& f) {
    if (count > 0) f(i64(0), count, 0);
  }
  bool reserve(i64 thread_floats, i64 shared_floats) {
    thread = alloc(int(thread_floats));
    common = alloc(int(shared_floats));
    return thread != nullptr && common != nullptr;
  }
  float* thread_scratch(int) { return thread; }
  float* shared() { return common; }
};

}  // namespace

extern "C" {

__attribute__((export_name("gemm"))) void gemm(int tA, int tB, int m, int n, int k, const float* A,
                                               const float* B, float* C, int acc) {
  par::gemm_blocked(table(), tA, tB, m, n, k, A, tA ? m : k, B, tB ? k : n, C, n, acc, g_packed_a,
                    g_packed_b);
}

// Fused attention through the freestanding drivers (attention_plan.h) on one thread, with scratch
// from alloc (freed by reset): what a wasm backend runs, minus its workers. causal = 0 disables
// the causal mask. Returns 0 when memory could not grow.
__attribute__((export_name("attention_forward"))) int attention_forward(
    int B, int H, int Tq, int Tk, int D, int causal, int offset, float scale, const float* q,
    const float* k, const float* v, const unsigned char* pad, float* out, float* lse) {
  par::AttnForwardArgs a{};
  a.s = {B, H, Tq, Tk, D, causal != 0, offset, scale};
  a.q = q, a.k = k, a.v = v, a.pad = pad, a.out = out, a.lse = lse;
  SerialRuntime rt;
  return par::attention_forward_run(table(), a, rt) ? 1 : 0;
}

__attribute__((export_name("attention_backward"))) int attention_backward(
    int B, int H, int Tq, int Tk, int D, int causal, int offset, float scale, const float* q,
    const float* k, const float* v, const unsigned char* pad, const float* out, const float* dout,
    const float* lse, float* dq, float* dk, float* dv) {
  par::AttnBackwardArgs a{};
  a.s = {B, H, Tq, Tk, D, causal != 0, offset, scale};
  a.q = q, a.k = k, a.v = v, a.pad = pad, a.out = out, a.dout = dout, a.lse = lse;
  a.dq = dq, a.dk = dk, a.dv = dv;
  SerialRuntime rt;
  return par::attention_backward_run(table(), a, rt) ? 1 : 0;
}

__attribute__((export_name("vmax"))) float vmax(const float* x, int n) { return table().vmax(x, n); }

__attribute__((export_name("sum_exp"))) double sum_exp(const float* x, int n, float sub) {
  return table().sum_exp(x, n, sub);
}

__attribute__((export_name("axpy_exp"))) void axpy_exp(const float* x, int n, float sub,
                                                       float scale, float* dst) {
  table().axpy_exp(x, n, sub, scale, dst);
}

}  // extern "C"
