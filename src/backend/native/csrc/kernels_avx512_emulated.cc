// The "avx512-emulated" kernel table: the shared kernel templates with the AVX-512 tile
// (gemm_tiles.h: 12×32, KC/MC/NC) over VecAvx512Emulated, which gives AVX-512's 16 lanes and
// bit masks with pairs of AVX2 registers. It exists so that the AVX-512 instantiation's geometry,
// tails and masks are exercised by the tests on AVX2-only machines; it is never chosen as the best
// ISA. Compiled with -mavx2 -mfma (binding.gyp), handed out by isa.cc on CPUs with both.
#include "isa.h"

#if defined(__x86_64__)
#include "isa_instance.h"

PAR_DEFINE_ISA_TABLE(isa_avx512_emulated, VecAvx512Emulated, TileAvx512, "avx512-emulated")
#endif
