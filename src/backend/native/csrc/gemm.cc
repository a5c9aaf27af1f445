// Blocked, packed GEMM (Goto/BLIS loop structure) on top of the selected ISA's micro-kernel.
//
//   for jc (NC columns of C)   pack B block (KC × NC) into NR-wide panels
//     for pc (KC of k)         ...
//       for ic (MC rows)       pack A block (MC × KC) into MR-tall panels
//         for jr, ir           micro-kernel on an MR × NR tile
//
// All four transpose combinations are handled by the packing routines, so the micro-kernel only
// ever sees packed panels. Multi-threading splits C into one rectangular tile per thread (aligned
// to MR/NR); each thread packs into its own scratch (no barriers, no allocation in the loops).
#include <algorithm>
#include <cstring>

#include "common.h"

namespace par {
namespace {

inline i64 round_up(i64 x, i64 m) { return (x + m - 1) / m * m; }

// Pack rows [i0, i0+mc) × cols [p0, p0+kc) of op(A) into MR-row panels of (kc × MR).
template <int MR>
void pack_a_t(bool tA, const float* A, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, float* dst) {
  for (i64 ir = 0; ir < mc; ir += MR) {
    const int mr = int(std::min<i64>(MR, mc - ir));
    float* d = dst + ir * kc;
    if (!tA) {
      const float* rows[MR];
      for (int r = 0; r < MR; r++) rows[r] = A + (i0 + ir + (r < mr ? r : 0)) * lda + p0;
      if (mr == MR) {
        for (i64 p = 0; p < kc; p++)
          for (int r = 0; r < MR; r++) d[p * MR + r] = rows[r][p];
      } else {
        for (i64 p = 0; p < kc; p++)
          for (int r = 0; r < MR; r++) d[p * MR + r] = r < mr ? rows[r][p] : 0.0f;
      }
    } else {
      const float* src = A + p0 * lda + i0 + ir;
      if (mr == MR) {
        for (i64 p = 0; p < kc; p++) std::memcpy(d + p * MR, src + p * lda, sizeof(float) * MR);
      } else {
        for (i64 p = 0; p < kc; p++) {
          int r = 0;
          for (; r < mr; r++) d[p * MR + r] = src[p * lda + r];
          for (; r < MR; r++) d[p * MR + r] = 0.0f;
        }
      }
    }
  }
}

// Pack rows [p0, p0+kc) × cols [j0, j0+nc) of op(B) into NR-column panels of (kc × NR).
template <int NR>
void pack_b_t(bool tB, const float* B, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, float* dst) {
  for (i64 jr = 0; jr < nc; jr += NR) {
    const int nr = int(std::min<i64>(NR, nc - jr));
    float* d = dst + jr * kc;
    if (!tB) {
      const float* src = B + p0 * ldb + j0 + jr;
      if (nr == NR) {
        for (i64 p = 0; p < kc; p++) std::memcpy(d + p * NR, src + p * ldb, sizeof(float) * NR);
      } else {
        for (i64 p = 0; p < kc; p++) {
          int c = 0;
          for (; c < nr; c++) d[p * NR + c] = src[p * ldb + c];
          for (; c < NR; c++) d[p * NR + c] = 0.0f;
        }
      }
    } else {
      // B stored (n × k): column j of op(B) is row j of B. Transpose in 8×8-ish blocks of p.
      const float* cols[NR];
      for (int c = 0; c < NR; c++) cols[c] = B + (j0 + jr + (c < nr ? c : 0)) * ldb + p0;
      if (nr == NR) {
        i64 p = 0;
        for (; p + 8 <= kc; p += 8)
          for (int c = 0; c < NR; c++)
            for (int q = 0; q < 8; q++) d[(p + q) * NR + c] = cols[c][p + q];
        for (; p < kc; p++)
          for (int c = 0; c < NR; c++) d[p * NR + c] = cols[c][p];
      } else {
        for (i64 p = 0; p < kc; p++)
          for (int c = 0; c < NR; c++) d[p * NR + c] = c < nr ? cols[c][p] : 0.0f;
      }
    }
  }
}

void pack_a(int MR, bool tA, const float* A, i64 lda, i64 i0, i64 mc, i64 p0, i64 kc, float* d) {
  switch (MR) {
    case 4: return pack_a_t<4>(tA, A, lda, i0, mc, p0, kc, d);
    case 6: return pack_a_t<6>(tA, A, lda, i0, mc, p0, kc, d);
    case 12: return pack_a_t<12>(tA, A, lda, i0, mc, p0, kc, d);
  }
  __builtin_trap();
}

void pack_b(int NR, bool tB, const float* B, i64 ldb, i64 p0, i64 kc, i64 j0, i64 nc, float* d) {
  switch (NR) {
    case 8: return pack_b_t<8>(tB, B, ldb, p0, kc, j0, nc, d);
    case 16: return pack_b_t<16>(tB, B, ldb, p0, kc, j0, nc, d);
    case 32: return pack_b_t<32>(tB, B, ldb, p0, kc, j0, nc, d);
  }
  __builtin_trap();
}

void scratch_need(const Isa& I, i64 m, i64 n, i64 k, i64* na, i64* nb) {
  i64 kc = std::min<i64>(k, I.kc);
  *na = round_up(std::min<i64>(m, I.mc), I.mr) * kc;
  *nb = round_up(std::min<i64>(n, I.nc), I.nr) * kc;
}

void zero_or_keep(i64 m, i64 n, float* C, i64 ldc, bool acc) {
  if (acc) return;
  for (i64 i = 0; i < m; i++) std::memset(C + i * ldc, 0, sizeof(float) * n);
}

}  // namespace

void gemm_reserve(i64 m, i64 n, i64 k) {
  const Isa& I = isa();
  i64 na, nb;
  scratch_need(I, m, n, k, &na, &nb);
  reserve_scratch(kGemmA, std::size_t(na));
  reserve_scratch(kGemmB, std::size_t(nb));
}

void gemm_st(bool tA, bool tB, i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B,
             i64 ldb, float* C, i64 ldc, bool acc, int tid) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return zero_or_keep(m, n, C, ldc, acc);
  const Isa& I = isa();
  float* Ap = scratch(tid, kGemmA);
  float* Bp = scratch(tid, kGemmB);
  const int MR = I.mr, NR = I.nr;
  for (i64 jc = 0; jc < n; jc += I.nc) {
    const i64 nc = std::min<i64>(I.nc, n - jc);
    for (i64 pc = 0; pc < k; pc += I.kc) {
      const i64 kc = std::min<i64>(I.kc, k - pc);
      const bool beta = pc > 0 || acc;
      pack_b(NR, tB, B, ldb, pc, kc, jc, nc, Bp);
      for (i64 ic = 0; ic < m; ic += I.mc) {
        const i64 mc = std::min<i64>(I.mc, m - ic);
        pack_a(MR, tA, A, lda, ic, mc, pc, kc, Ap);
        for (i64 jr = 0; jr < nc; jr += NR) {
          const int nr = int(std::min<i64>(NR, nc - jr));
          const float* bp = Bp + jr * kc;
          float* cc = C + ic * ldc + jc + jr;
          for (i64 ir = 0; ir < mc; ir += MR) {
            const int mr = int(std::min<i64>(MR, mc - ir));
            I.ukr(kc, Ap + ir * kc, bp, cc + ir * ldc, ldc, mr, nr, beta);
          }
        }
      }
    }
  }
}

void gemm(bool tA, bool tB, i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B, i64 ldb,
          float* C, i64 ldc, bool acc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) return zero_or_keep(m, n, C, ldc, acc);
  if (gemv_fits(tA, tB, m)) return gemv_nt(m, n, k, A, lda, B, ldb, C, ldc, acc);  // few rows (gemv.cc)
  if (in_parallel_region()) {  // nested: the caller reserved scratch for this thread
    return gemm_st(tA, tB, m, n, k, A, lda, B, ldb, C, ldc, acc, current_tid());
  }
  const Isa& I = isa();
  int nt = num_threads();
  const double work = double(m) * double(n) * double(k);
  if (work < 96.0 * 96.0 * 96.0) nt = 1;
  // Choose a tm × tn grid of thread tiles minimising the tile's (rows + cols) (less redundant
  // packing), with tiles aligned to the micro-tile.
  int best_tm = 1, best_tn = 1;
  double best_cost = -1;
  for (int tm = 1; tm <= nt; tm++) {
    if (nt % tm) continue;
    int tn = nt / tm;
    i64 mt = round_up((m + tm - 1) / tm, I.mr);
    i64 ntl = round_up((n + tn - 1) / tn, I.nr);
    if ((tm - 1) * mt >= m || (tn - 1) * ntl >= n) continue;  // some thread would be idle
    double cost = double(mt) * double(ntl) * double(k) + 8.0 * double(k) * double(mt + ntl);
    if (best_cost < 0 || cost < best_cost) best_cost = cost, best_tm = tm, best_tn = tn;
  }
  if (best_cost < 0) {  // cannot use all threads: fall back to splitting the larger dim
    best_tm = 1, best_tn = 1;
    if (m >= n) best_tm = int(std::min<i64>(nt, (m + I.mr - 1) / I.mr));
    else best_tn = int(std::min<i64>(nt, (n + I.nr - 1) / I.nr));
  }
  const int tm = best_tm, tn = best_tn;
  const i64 mt = round_up((m + tm - 1) / tm, I.mr);
  const i64 ntl = round_up((n + tn - 1) / tn, I.nr);
  gemm_reserve(std::min(m, mt), std::min(n, ntl), k);
  parallel(tm * tn, [&](int tid) {
    const int ti = tid / tn, tj = tid % tn;
    const i64 i0 = ti * mt, j0 = tj * ntl;
    if (i0 >= m || j0 >= n) return;
    const i64 mm = std::min(mt, m - i0), nn = std::min(ntl, n - j0);
    const float* Ab = tA ? A + i0 : A + i0 * lda;
    const float* Bb = tB ? B + j0 * ldb : B + j0;
    gemm_st(tA, tB, mm, nn, k, Ab, lda, Bb, ldb, C + i0 * ldc + j0, ldc, acc, tid);
  });
}

}  // namespace par
