// The WebAssembly SIMD128 kernel table: the shared kernel templates over VecWasm128 with the 4×8
// tile (gemm_tiles.h). Not part of the native addon: the wasm backend links it (scripts/build-wasm.mjs),
// and scripts/check-kernels.mjs checks its code.
#include "isa.h"

#if defined(__wasm_simd128__)
#include "isa_instance.h"

PAR_DEFINE_ISA_TABLE(isa_wasm128, VecWasm128, TileWasm128, "wasm128")
#else
#error "kernels_wasm128.cc is compiled for wasm32 with -msimd128"
#endif
