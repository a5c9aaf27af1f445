// The native GEMM: the blocked loop nest (gemm_loops.h) on the selected ISA's kernel table,
// multi-threaded. All four transpose combinations are handled by the packing routines, so the
// micro-kernel only ever sees packed panels. Two multi-threaded drivers:
//  - shared B (most products): one parallel region packs op(B) once into a buffer all tasks read
//    (its panels claimed one group at a time by whichever task is free), then the tasks take row
//    chunks of C from a counter, each packing its rows of op(A) into its own scratch. A task that
//    starts late (a worker waking from sleep) finds the work already taken instead of leaving the
//    calling thread waiting for its fixed share, and no task packs B twice.
//  - column chunks (fallback: too few rows for row chunks, or an op(B) too wide to pack whole
//    within kSharedBMaxFloats): tasks take column blocks of C from a counter, each a
//    single-threaded GEMM packing into its task's scratch.
// Either way, each element of C is the same sum in the same k order (KC blocks in turn), whichever
// task computes it: the bits do not depend on the thread count or on the partition.
#include "common.h"
#include "gemm_loops.h"

namespace par {
namespace {

// Below 96³ multiply-adds (1.8 MFLOP, ~20 µs on one AVX2 core here) a GEMM runs on the calling
// thread: a second thread's wake-up and its own packing of the shared operand would eat most of
// what it saves. A heuristic bound, kept from before the kernel template; not re-tuned.
constexpr double kMinParallelWork = 96.0 * 96.0 * 96.0;

// Shared-B driver. The packed op(B) of one region is at most 4 Mi floats (16 MiB: half this
// machine's 32 MiB L3); a longer k is cut into several regions of whole KC blocks, in k order.
constexpr i64 kSharedBMaxFloats = i64(1) << 22;
// B panels (NR columns × KC) packed per claim: 4 AVX2 panels are 64 KiB, a few µs of work,
// against an atomic increment per claim.
constexpr i64 kPanelsPerClaim = 4;
// Row (or column) chunks of C per thread: enough that a task starting late leaves little for the calling
// thread to wait on (a chunk of 512-row products is ~50 µs), few enough that each chunk reuses a
// B micro-panel from L1 over several MR-row micro-kernel calls.
constexpr i64 kChunksPerThread = 6;
// Fewest MR-row panels per row chunk (B micro-panel reuse from L1), also the fewest per task for
// the shared-B driver to be used at all (below that, column chunks); and the fewest NR-column
// panels per column chunk.
constexpr i64 kMinPanelsPerChunk = 4;

// One product of the shared-B driver: C (m×n) = [C +] op(A)·op(B) over k, its op(B) packed at Bp
// (KC block q of k at Bp + q·KC·npad, in the layout pack_b gives for all n columns), its row
// chunks of `rows` rows.
struct SharedBJob {
  bool tA, tB;
  i64 m, n, k;
  const float* A;
  i64 lda;
  const float* B;
  i64 ldb;
  float* C;
  i64 ldc;
  bool acc;
  i64 npad;        // n rounded up to NR
  i64 kblocks;     // KC blocks of k
  i64 claims_per_kblock;
  i64 rows;        // rows of C per chunk (a multiple of MR)
  float* Bp;
  i64 b_claims() const { return kblocks * claims_per_kblock; }
  i64 chunks() const { return (m + rows - 1) / rows; }
  i64 packed_b_floats() const { return npad * k; }
};

// Rows per chunk for an m-row product on nt threads (shape and thread count only; any value gives
// the same bits).
i64 chunk_rows(const Isa& I, i64 m, int nt) {
  const i64 r = gemm_round_up((m + nt * kChunksPerThread - 1) / (nt * kChunksPerThread), I.mr);
  return fs::min<i64>(I.mc, fs::max<i64>(r, kMinPanelsPerChunk * I.mr));
}

bool shared_b_fits(const Isa& I, i64 m, i64 n, int nt) {
  return nt >= 2 && m >= nt * kMinPanelsPerChunk * I.mr &&
         gemm_round_up(n, I.nr) * I.kc <= kSharedBMaxFloats;
}

SharedBJob make_job(const Isa& I, int nt, bool tA, bool tB, i64 m, i64 n, i64 k, const float* A,
                    i64 lda, const float* B, i64 ldb, float* C, i64 ldc, bool acc) {
  SharedBJob j{tA, tB, m, n, k, A, lda, B, ldb, C, ldc, acc, 0, 0, 0, 0, nullptr};
  j.npad = gemm_round_up(n, I.nr);
  j.kblocks = (k + I.kc - 1) / I.kc;
  j.claims_per_kblock = (j.npad / I.nr + kPanelsPerClaim - 1) / kPanelsPerClaim;
  j.rows = chunk_rows(I, m, nt);
  return j;
}

// Packs B claim t of job j: panels [g·kPanelsPerClaim, ...) of KC block q.
void pack_b_claim(const Isa& I, const SharedBJob& j, i64 t) {
  const i64 q = t / j.claims_per_kblock, g = t % j.claims_per_kblock;
  const i64 pc = q * I.kc, kc = fs::min<i64>(I.kc, j.k - pc);
  const i64 j0 = g * kPanelsPerClaim * I.nr, nc = fs::min<i64>(kPanelsPerClaim * I.nr, j.n - j0);
  I.pack_b(j.tB, j.B, j.ldb, pc, kc, j0, nc, j.Bp + q * I.kc * j.npad + j0 * kc);
}

// KC block q of row chunk c of job j, packing its op(A) rows into Ap: gemm_loops.h's macro tile
// for these rows and this block, on the shared packed B.
void run_chunk_block(const Isa& I, const SharedBJob& j, i64 c, i64 q, float* Ap) {
  const i64 i0 = c * j.rows, mm = fs::min(j.rows, j.m - i0);
  const i64 pc = q * I.kc, kc = fs::min<i64>(I.kc, j.k - pc);
  I.pack_a(j.tA, j.A, j.lda, i0, mm, pc, kc, Ap);
  gemm_macro_tile(I, mm, j.n, kc, Ap, j.Bp + q * I.kc * j.npad, j.C + i0 * j.ldc, j.ldc,
                  q > 0 || j.acc);
}

// Runs `count` jobs (their packed B side by side in one buffer) in one parallel region: first every
// B claim of every job, then, once all of B is packed, every row chunk of every job (its KC blocks
// in k order). Chunks never wait on each other: a task descheduled mid-chunk (other work on the
// cores) delays only its own chunk. (Block-major items, (KC block, chunk) with a chunk's blocks
// waiting on each other, kept a block of B in L2 for all chunks, but made tasks wait on
// descheduled ones: the standard step at N 4,096 took ~1.2x as long on a shared machine.)
void run_shared_b(SharedBJob* jobs, int count) {
  const Isa& I = isa();
  constexpr i64 kAlignFloats = 16;  // 64 B: each job's packed B on its own cache lines
  i64 floats = 0, rows = 0;
  for (int i = 0; i < count; i++) {
    floats += gemm_round_up(jobs[i].packed_b_floats(), kAlignFloats);
    rows = fs::max(rows, jobs[i].rows);
  }
  reserve_scratch(kGemmA, size_t(rows * I.kc));
  float* buf = static_cast<float*>(caller_buffer(kGemmSharedB, size_t(floats) * sizeof(float)));
  i64 total_claims = 0, total_chunks = 0;
  for (int i = 0; i < count; i++) {
    jobs[i].Bp = buf;
    buf += gemm_round_up(jobs[i].packed_b_floats(), kAlignFloats);
    total_claims += jobs[i].b_claims();
    total_chunks += jobs[i].chunks();
  }
  // Counters on their own cache lines (claimed by every task).
  struct alignas(64) Counter {
    int64_t v = 0;
  };
  Counter next_claim, packed, next_chunk;
  parallel(num_threads(), [&](int tid) {
    for (;;) {
      i64 t = __atomic_fetch_add(&next_claim.v, 1, __ATOMIC_RELAXED);
      if (t >= total_claims) break;
      int i = 0;
      while (t >= jobs[i].b_claims()) t -= jobs[i].b_claims(), i++;
      pack_b_claim(I, jobs[i], t);
      __atomic_fetch_add(&packed.v, 1, __ATOMIC_RELEASE);
    }
    // Every claim is held by a running task that finishes it without waiting: this ends.
    while (__atomic_load_n(&packed.v, __ATOMIC_ACQUIRE) < total_claims) spin_pause();
    float* Ap = scratch(tid, kGemmA);
    for (;;) {
      i64 c = __atomic_fetch_add(&next_chunk.v, 1, __ATOMIC_RELAXED);
      if (c >= total_chunks) break;
      int i = 0;
      while (c >= jobs[i].chunks()) c -= jobs[i].chunks(), i++;
      for (i64 q = 0; q < jobs[i].kblocks; q++) run_chunk_block(I, jobs[i], c, q, Ap);
    }
  });
}

// gemm on the shared-B driver, k cut into regions of whole KC blocks whose packed B fits
// kSharedBMaxFloats (shared_b_fits: at least one block does).
void gemm_shared_b(bool tA, bool tB, i64 m, i64 n, i64 k, const float* A, i64 lda, const float* B,
                   i64 ldb, float* C, i64 ldc, bool acc) {
  const Isa& I = isa();
  const i64 kspan = kSharedBMaxFloats / (gemm_round_up(n, I.nr) * I.kc) * I.kc;
  for (i64 p0 = 0; p0 < k; p0 += kspan) {
    const i64 kk = fs::min(kspan, k - p0);
    SharedBJob job = make_job(I, num_threads(), tA, tB, m, n, kk, tA ? A + p0 * lda : A + p0, lda,
                              tB ? B + p0 : B + p0 * ldb, ldb, C, ldc, acc || p0 > 0);
    run_shared_b(&job, 1);
  }
}

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
  if (shared_b_fits(I, m, n, nt)) return gemm_shared_b(tA, tB, m, n, k, A, lda, B, ldb, C, ldc, acc);
  if (nt == 1) {
    gemm_reserve(m, n, k);
    return gemm_st(tA, tB, m, n, k, A, lda, B, ldb, C, ldc, acc, 0);
  }
  // Column chunks of C taken from a counter, each a single-threaded GEMM of all m rows: its
  // columns of op(B) are packed once, op(A) once per chunk (few rows here, or a very wide B).
  const i64 per = nt * kChunksPerThread;
  const i64 cw = fs::min<i64>(
      I.nc, fs::max<i64>(kMinPanelsPerChunk * I.nr, gemm_round_up((n + per - 1) / per, I.nr)));
  gemm_reserve(m, fs::min(n, cw), k);
  parallel_for((n + cw - 1) / cw, 1, [&](i64 c0, i64 c1, int tid) {
    for (i64 c = c0; c < c1; c++) {
      const i64 j0 = c * cw, nn = fs::min(cw, n - j0);
      gemm_st(tA, tB, m, nn, k, A, lda, tB ? B + j0 * ldb : B + j0, ldb, C + j0, ldc, acc, tid);
    }
  });
}

// The two GEMMs of a linear layer's backward have the same FLOPs (rows·inF·outF multiply-adds
// each) and share no output, so they run in one region of the shared-B driver: both B operands
// packed first, then the row chunks of dx and dW taken by whichever task is free. Against two
// GEMMs one after the other, the small GEMMs of the latent stack (e.g. 512×256×256) lose no time
// to a second hand-off. When one product is too small to split or the two packed B operands do
// not fit kSharedBMaxFloats together (long inputs: dW's k is `rows`), the two GEMMs run one after
// the other. Every element of dx and dW is one task's sum in k order either way.
void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw,
                     i64 rows, i64 inF, i64 outF) {
  const Isa& I = isa();
  const int nt = num_threads();
  const double work = double(rows) * double(inF) * double(outF);
  const bool together = nt >= 2 && !in_parallel_region() && work >= kMinParallelWork &&
                        rows > 0 && inF > 0 && outF > 0 && shared_b_fits(I, rows, inF, nt) &&
                        shared_b_fits(I, outF, inF, nt) &&
                        gemm_round_up(inF, I.nr) * (outF + rows) <= kSharedBMaxFloats;
  if (!together) {
    gemm(false, false, rows, inF, outF, dy, outF, w, inF, dx, inF, true);  // dx += dy·W
    gemm(true, false, outF, inF, rows, dy, outF, x, inF, dw, inF, true);   // dW += dyᵀ·x
    return;
  }
  SharedBJob jobs[2] = {
      make_job(I, nt, false, false, rows, inF, outF, dy, outF, w, inF, dx, inF, true),  // dx += dy·W
      make_job(I, nt, true, false, outF, inF, rows, dy, outF, x, inF, dw, inF, true),   // dW += dyᵀ·x
  };
  run_shared_b(jobs, 2);
}

}  // namespace par
