// The native GEMM: the blocked loop nest (gemm_loops.h) on the selected ISA's kernel table,
// multi-threaded by splitting C into one rectangular tile per thread (aligned to MR/NR); each
// thread packs into its own scratch (no barriers, no allocation in the loops). All four transpose
// combinations are handled by the packing routines, so the micro-kernel only ever sees packed
// panels.
#include "common.h"
#include "gemm_loops.h"

namespace par {
namespace {

// Below 96³ multiply-adds (1.8 MFLOP, ~20 µs on one AVX2 core here) a GEMM runs on the calling
// thread: a second thread's wake-up and its own packing of the shared operand would eat most of
// what it saves. A heuristic bound, kept from before the kernel template; not re-tuned.
constexpr double kMinParallelWork = 96.0 * 96.0 * 96.0;
// Thread grid cost model: the multiply-adds of a thread's tile plus the elements it packs
// (mt + nt rows/columns of length k), each weighted as this many multiply-adds. A heuristic
// weight (packing is a strided gather with a store per element), chosen to prefer square tiles
// over thin ones; not tuned further.
constexpr double kPackCostInMultiplyAdds = 8.0;

}  // namespace

void gemm_reserve(i64 m, i64 n, i64 k) {
  i64 na, nb;
  gemm_packed_floats(isa(), m, n, k, &na, &nb);
  reserve_scratch(kGemmA, size_t(na));
  reserve_scratch(kGemmB, size_t(nb));
}

void gemm_st(bool tA, bool tB, i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B,
             i64 ldb, float* C, i64 ldc, bool acc, int tid) {
  gemm_blocked(isa(), tA, tB, m, n, k, A, lda, B, ldb, C, ldc, acc, scratch(tid, kGemmA),
               scratch(tid, kGemmB));
}

void gemm(bool tA, bool tB, i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B, i64 ldb,
          float* C, i64 ldc, bool acc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0)  // C = 0 or kept: no packing
    return gemm_blocked(isa(), tA, tB, m, n, k, A, lda, B, ldb, C, ldc, acc, nullptr, nullptr);
  if (gemv_fits(tA, tB, m)) return gemv_nt(m, n, k, A, lda, B, ldb, C, ldc, acc);  // few rows (gemv.cc)
  if (in_parallel_region()) {  // nested: the caller reserved scratch for this thread
    return gemm_st(tA, tB, m, n, k, A, lda, B, ldb, C, ldc, acc, current_tid());
  }
  const Isa& I = isa();
  int nt = num_threads();
  const double work = double(m) * double(n) * double(k);
  if (work < kMinParallelWork) nt = 1;
  // Choose a tm × tn grid of thread tiles minimising the tile's (rows + cols) (less redundant
  // packing), with tiles aligned to the micro-tile.
  int best_tm = 1, best_tn = 1;
  double best_cost = -1;
  for (int tm = 1; tm <= nt; tm++) {
    if (nt % tm) continue;
    int tn = nt / tm;
    i64 mt = gemm_round_up((m + tm - 1) / tm, I.mr);
    i64 ntl = gemm_round_up((n + tn - 1) / tn, I.nr);
    if ((tm - 1) * mt >= m || (tn - 1) * ntl >= n) continue;  // some thread would be idle
    double cost = double(mt) * double(ntl) * double(k) +
                  kPackCostInMultiplyAdds * double(k) * double(mt + ntl);
    if (best_cost < 0 || cost < best_cost) best_cost = cost, best_tm = tm, best_tn = tn;
  }
  if (best_cost < 0) {  // cannot use all threads: fall back to splitting the larger dim
    best_tm = 1, best_tn = 1;
    if (m >= n) best_tm = int(fs::min<i64>(nt, (m + I.mr - 1) / I.mr));
    else best_tn = int(fs::min<i64>(nt, (n + I.nr - 1) / I.nr));
  }
  const int tm = best_tm, tn = best_tn;
  const i64 mt = gemm_round_up((m + tm - 1) / tm, I.mr);
  const i64 ntl = gemm_round_up((n + tn - 1) / tn, I.nr);
  gemm_reserve(fs::min(m, mt), fs::min(n, ntl), k);
  parallel(tm * tn, [&](int tid) {
    const int ti = tid / tn, tj = tid % tn;
    const i64 i0 = ti * mt, j0 = tj * ntl;
    if (i0 >= m || j0 >= n) return;
    const i64 mm = fs::min(mt, m - i0), nn = fs::min(ntl, n - j0);
    const float* Ab = tA ? A + i0 : A + i0 * lda;
    const float* Bb = tB ? B + j0 * ldb : B + j0;
    gemm_st(tA, tB, mm, nn, k, Ab, lda, Bb, ldb, C + i0 * ldc + j0, ldc, acc, tid);
  });
}

}  // namespace par
