// The AVX-512F kernel table: the shared kernel templates over VecAvx512 with the 12×32 tile
// (gemm_tiles.h). Compiled with -mavx512f -mavx2 -mfma (binding.gyp). Any function here may use
// zmm registers, even for a copy, so nothing here may run before isa.cc has seen
// __builtin_cpu_supports("avx512f"): the table is a constant (no initialisation code) and its
// getter is called only after that check. The same templates at the same tile run on AVX2 as
// "avx512-emulated" (kernels_avx512_emulated.cc), which is how they are tested without AVX-512.
#include "isa.h"

#if defined(__x86_64__)
#include "isa_instance.h"

PAR_DEFINE_ISA_TABLE(isa_avx512, VecAvx512, TileAvx512, "avx512")
#endif
