// The WebAssembly SIMD128 kernel table: the shared kernel templates over VecWasm128 with the 6×8
// tile (gemm_tiles.h). Not part of the native addon: scripts/check-kernels.mjs compiles it with
// `clang --target=wasm32 -msimd128 -O3 -nostdlib` to keep the templates portable, and the wasm
// backend will link it.
#include "isa.h"

#if defined(__wasm_simd128__)
#include "isa_instance.h"

PAR_DEFINE_ISA_TABLE(isa_wasm128, VecWasm128, TileWasm128, "wasm128")
#else
#error "kernels_wasm128.cc is compiled for wasm32 with -msimd128"
#endif
