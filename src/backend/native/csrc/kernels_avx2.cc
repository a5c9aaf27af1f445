// The AVX2 + FMA kernel table: the shared kernel templates over VecAvx2 with the 6×16 tile
// (gemm_tiles.h). Compiled with -mavx2 -mfma (binding.gyp); isa.cc hands it out only on CPUs with
// both. Defines nothing but the table and its getter.
#include "isa.h"

#if defined(__x86_64__)
#include "isa_instance.h"

PAR_DEFINE_ISA_TABLE(isa_avx2, VecAvx2, TileAvx2, "avx2")
#endif
