// The portable kernel table: the shared kernel templates over VecScalar (one float per vector)
// with the 4×8 tile (gemm_tiles.h). Compiled without ISA flags, so it runs on any CPU; the
// compiler vectorises it with the baseline SIMD (SSE2 on x86-64, NEON on arm64).
#include "isa_instance.h"

PAR_DEFINE_ISA_TABLE(isa_scalar, VecScalar, TileScalar, "scalar")
