// Test driver of the wasm32 SIMD128 kernel table (kernels_wasm128.cc): not a backend, only what
// test/wasm-kernels.test.ts needs to run the shared kernel templates in a WebAssembly engine.
// Exports (C names, 32-bit sizes): a bump allocator for the test's arrays, the blocked GEMM
// (gemm_loops.h, single-threaded, static packing buffers sized by TileWasm128) and the table's
// row kernels with row stride = cols (the fused attention runs in the wasm backend itself:
// test/wasm-attention.test.ts). Built with
//   clang++ --target=wasm32 -msimd128 -O3 -nostdlib -ffreestanding -I src/backend/native/csrc
//     -Wl,--no-entry -Wl,--allow-undefined driver.cc kernels_wasm128.cc   (expf and logf are imported)
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

__attribute__((export_name("gemm"))) void gemm(int tA, int tB, int m, int n, int k, const float* A,
                                               const float* B, float* C, int acc) {
  par::gemm_blocked(table(), tA, tB, m, n, k, A, tA ? m : k, B, tB ? k : n, C, n, acc, g_packed_a,
                    g_packed_b);
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
