// Run-time choice of the kernel table (isa.h): the best one this CPU supports, or one chosen by
// name (PERCEIVER_AR_ISA, set_isa) among those it supports. Compiled for baseline x86-64 (or any
// CPU). Each table getter lives in a translation unit compiled for its ISA, so the CPU is asked
// (__builtin_cpu_supports) before a getter is called.
#include <cstdlib>
#include <cstring>

#include "isa.h"

namespace par {
namespace {

// What a table's code needs from the CPU, as a rank: a CPU of rank r runs the tables of rank <= r.
enum Rank : int { kRankPortable = 0, kRankAvx2Fma = 1, kRankAvx512 = 2 };

int cpu_rank() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2_fma && __builtin_cpu_supports("avx512f")) return kRankAvx512;
  if (avx2_fma) return kRankAvx2Fma;
#endif
  return kRankPortable;
}

struct Entry {
  const char* name;
  int rank;
  const Isa* (*get)();  // nullptr result: not compiled in
};

// Best first. The emulation comes after "scalar", so best() never picks it.
constexpr Entry kEntries[] = {
    {"avx512", kRankAvx512, isa_avx512},
    {"avx2", kRankAvx2Fma, isa_avx2},
    {"scalar", kRankPortable, isa_scalar},
    {"avx512-emulated", kRankAvx2Fma, isa_avx512_emulated},
};

const Isa* best() {
  const int rank = cpu_rank();
  for (const Entry& e : kEntries)
    if (e.rank <= rank)
      if (const Isa* t = e.get()) return t;
  return isa_scalar();
}

const Isa* g_isa = nullptr;

}  // namespace

const char* best_isa_name() { return best()->name; }

const Isa& isa() {
  if (!g_isa) {
    g_isa = best();
    if (const char* e = std::getenv("PERCEIVER_AR_ISA")) set_isa(e);
  }
  return *g_isa;
}

bool set_isa(const char* name) {
  const int rank = cpu_rank();
  for (const Entry& e : kEntries) {
    if (std::strcmp(e.name, name) != 0) continue;
    if (e.rank > rank) return false;  // never call the getter of a table this CPU cannot run
    const Isa* t = e.get();
    if (!t) return false;
    g_isa = t;
    return true;
  }
  return false;
}

#if !defined(__x86_64__)
const Isa* isa_avx2() { return nullptr; }
const Isa* isa_avx512() { return nullptr; }
const Isa* isa_avx512_emulated() { return nullptr; }
#endif

}  // namespace par
