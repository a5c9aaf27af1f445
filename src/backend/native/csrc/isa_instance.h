// make_isa<T, Tile>(name): the kernel table (isa.h) of one vector ISA, every entry instantiated
// from the shared templates over the traits T (vec_traits.h) with the GEMM tile Tile (gemm_tiles.h),
// the few-row product geometry (gemv_kernel.h) and the attention geometry (attention_tiles.h) of
// T's width.
// Included only by the kernels_<isa>.cc translation units, each compiled for its ISA; the table
// is a constant (no code runs to build it, so nothing ISA-specific runs at load time).
//
// Freestanding (no C++ library headers): also compiled for wasm32 -nostdlib.
#pragma once
#include "attention_kernel.h"
#include "attention_tiles.h"
#include "elementwise_kernels.h"
#include "gemm_kernel.h"
#include "gemm_tiles.h"
#include "gemv_kernel.h"
#include "isa.h"
#include "row_kernels.h"
#include "vec_traits.h"

namespace par {
namespace {

template <class T, class Tile>
constexpr Isa make_isa(const char* name) {
  static_assert(T::kWidth == Tile::kLanes, "the tile was derived for this vector width");
  static_assert(T::kRegisters == Tile::kRegisters, "the tile was derived for this register file");
  using Attn = typename AttnTileFor<T::kWidth, T::kRegisters>::type;
  return Isa{name,
             Tile::MR,
             Tile::NR,
             Tile::KC,
             Tile::MC,
             Tile::NC,
             &gemm_ukr<T, Tile::MR, Tile::NR>,
             &vmax<T>,
             &sum_exp<T>,
             &axpy_exp<T>,
             &gelu_fwd<T>,
             &gelu_bwd<T>,
             &adamw_update<T>,
             &pack_a<Tile::MR>,
             &pack_b<Tile::NR>,
             &gemv_f32<T>,
             &gemv_i8<T>,
             Attn::geometry(),
             &attn_forward_item<T, Attn>,
             &attn_backward_item<T, Attn>};
}

}  // namespace
}  // namespace par

// Defines, in a kernels_<isa>.cc, the constant table of traits T and tile Tile named `name`, and
// its getter `const Isa* par::getter()` (declared in isa.h): the getter is the only symbol the
// translation unit exports.
#define PAR_DEFINE_ISA_TABLE(getter, T, Tile, name)                \
  namespace par {                                                  \
  namespace {                                                      \
  constexpr Isa kTable_##getter = make_isa<T, Tile>(name);         \
  }                                                                \
  const Isa* getter() { return &kTable_##getter; }                 \
  }
