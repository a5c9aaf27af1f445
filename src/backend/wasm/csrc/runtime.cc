// The WebAssembly implementation of the threading interface (native/csrc/parallel.h), the kernel
// table choice (isa.h: always the SIMD128 table) and the per-task scratch, for the wasm backend.
//
// Threads (the multi-threaded build, -matomics, shared memory): the module is instantiated once on
// the calling thread (the JavaScript thread that runs the kernels) and once in every helper (a Web
// Worker or a Node worker_thread) on the same shared WebAssembly.Memory. A helper enters
// par_helper_main and never returns: it parks in memory.atomic.wait32 on the job generation
// g_gen. A region is published by writing the job, opening g_join, bumping g_gen and notifying
// n - 1 waiters; helpers join by incrementing g_join's count (only while it is open), claim task
// indices from g_next, and leave. The caller runs task 0 and claims tasks like a helper, so the
// region completes even when no helper is awake (a helper still starting, or descheduled); then it
// closes g_join and spins until the helpers inside have left. The caller never waits in
// memory.atomic.wait32, so it may be a browser's main thread, where waiting traps.
//
// The single-threaded build (no atomics, a non-shared memory) runs every region's tasks in order
// on the caller; its helpers never start.
//
// Scratch and caller buffers come from the heap (heap.h) and grow only; a failed allocation
// records its size (par_take_oom) and traps, which the TypeScript side turns into a RangeError.
//
// Freestanding (wasm32 -nostdlib).
#include "heap.h"
#include "isa.h"
#include "parallel.h"

namespace par {
void libm_init();  // libm.cc

const Isa& isa() { return *isa_wasm128(); }

namespace {

constexpr int kMaxThreads = 64;  // tasks per region at most (helpers + the caller)
constexpr size_t kScratchAlign = 64;

struct Buffer {
  void* p = nullptr;
  size_t bytes = 0;
};

Buffer g_scratch[kScratchSlots][kMaxThreads];
Buffer g_caller[kCallerSlots];
size_t g_oom_bytes = 0;  // size of the allocation that failed (0: none)
int g_threads = 1;       // tasks a region may have: helpers asked for + the caller

[[noreturn]] void out_of_memory(size_t bytes) {
  g_oom_bytes = bytes ? bytes : 1;
  __builtin_trap();
}

void grow(Buffer& b, size_t bytes) {
  if (bytes <= b.bytes) return;
  void* q = heap_alloc(bytes);
  if (!q) out_of_memory(bytes);
  heap_free(b.p);
  b.p = q;
  b.bytes = bytes;
}

// Per thread (per instance): a wasm global points each instance at its own TLS block. The
// single-threaded build has one thread, and plain globals.
#if defined(__wasm_atomics__)
#define PAR_THREAD_LOCAL thread_local
#else
#define PAR_THREAD_LOCAL
#endif
PAR_THREAD_LOCAL int tl_tid = 0;
PAR_THREAD_LOCAL bool tl_in_region = false;

#if defined(__wasm_atomics__)
constexpr size_t kHelperStackBytes = 1 << 20;  // a helper's C stack (the caller's: wasm-ld -z stack-size)
constexpr int32_t kOpen = int32_t(1) << 30;  // g_join: the job accepts helpers
// Atomic loads a helper makes on g_gen before it waits (a few tens of µs): back-to-back kernels
// then find it awake.
constexpr int kSpinsBeforeWait = 20000;

struct Job {
  void (*fn)(void*, int);
  void* ctx;
  int n;
};
Job g_job;
int32_t g_gen = 0;      // bumped per published job (the helpers' futex)
int32_t g_join = 0;     // kOpen | number of helpers inside the job
int32_t g_next = 0;     // next task index to claim
int32_t g_helpers = 0;  // helpers that entered par_helper_main

inline int32_t load(int32_t* p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }

// Runs tasks of the current job until none is left.
void claim_tasks(const Job& job) {
  for (;;) {
    const int32_t t = __atomic_fetch_add(&g_next, 1, __ATOMIC_SEQ_CST);
    if (t >= job.n) return;
    tl_tid = t;
    job.fn(job.ctx, t);
  }
}

bool try_join() {
  int32_t w = load(&g_join);
  while (w & kOpen)
    if (__atomic_compare_exchange_n(&g_join, &w, w + 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return true;
  return false;
}
#endif

}  // namespace

int num_threads() { return g_threads; }

void set_num_threads(int n) { g_threads = n < 1 ? 1 : n > kMaxThreads ? kMaxThreads : n; }

int current_tid() { return tl_tid; }
bool in_parallel_region() { return tl_in_region; }

void run_parallel(int n, void (*fn)(void*, int), void* ctx) {
  if (tl_in_region) {  // nested: serially, as the enclosing task
    for (int t = 0; t < n; t++) fn(ctx, tl_tid);
    return;
  }
  if (n > g_threads) n = g_threads;
  tl_in_region = true;
#if defined(__wasm_atomics__)
  if (n > 1) {
    g_job = Job{fn, ctx, n};
    __atomic_store_n(&g_next, 1, __ATOMIC_SEQ_CST);  // task 0 is the caller's
    __atomic_store_n(&g_join, kOpen, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&g_gen, 1, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify(&g_gen, unsigned(n - 1));
    tl_tid = 0;
    fn(ctx, 0);
    claim_tasks(g_job);
    __atomic_fetch_and(&g_join, ~kOpen, __ATOMIC_SEQ_CST);
    while (load(&g_join) != 0) {
    }
    tl_tid = 0;
    tl_in_region = false;
    return;
  }
#endif
  for (int t = 0; t < (n < 1 ? 1 : n); t++) {  // as the native pool: at least task 0
    tl_tid = t;
    fn(ctx, t);
  }
  tl_tid = 0;
  tl_in_region = false;
}

void reserve_scratch(int slot, size_t floats) {
  const size_t bytes = (floats * sizeof(float) + kScratchAlign - 1) / kScratchAlign * kScratchAlign;
  for (int t = 0; t < g_threads; t++) grow(g_scratch[slot][t], bytes);
}

float* scratch(int tid, int slot) { return static_cast<float*>(g_scratch[slot][tid].p); }

void* caller_buffer(int slot, size_t bytes) {
  grow(g_caller[slot], bytes);
  return g_caller[slot].p;
}

}  // namespace par

// ---------------------------------------------------------------------------------------------
// Exports of the runtime (the kernels' exports: exports.cc). Pointers and sizes are 32-bit.

#define PAR_EXPORT(name) extern "C" __attribute__((export_name(#name)))

#if defined(__wasm_atomics__)
extern "C" void __wasm_init_tls(void*);
#endif

// Once, on the calling thread, right after instantiation: its thread-local block, the math tables.
PAR_EXPORT(par_init) void par_init() {
#if defined(__wasm_atomics__)
  void* tls = par::heap_alloc(__builtin_wasm_tls_size());
  if (!tls) par::out_of_memory(__builtin_wasm_tls_size());
  __wasm_init_tls(tls);
#endif
  par::libm_init();
}

PAR_EXPORT(par_set_threads) int par_set_threads(int n) {
  par::set_num_threads(n);
  return par::num_threads();
}
PAR_EXPORT(par_threads) int par_threads() { return par::num_threads(); }

// Bytes of the allocation that made the last call trap (then cleared); 0 when none failed.
PAR_EXPORT(par_take_oom) unsigned par_take_oom() {
  const size_t b = par::g_oom_bytes;
  par::g_oom_bytes = 0;
  return unsigned(b);
}

PAR_EXPORT(par_alloc) void* par_alloc(unsigned bytes) { return par::heap_alloc(bytes); }
PAR_EXPORT(par_free) void par_free(void* p) { par::heap_free(p); }
PAR_EXPORT(par_heap_in_use) unsigned par_heap_in_use() { return unsigned(par::heap_bytes_in_use()); }
PAR_EXPORT(par_memory_bytes) double par_memory_bytes() { return double(par::heap_memory_bytes()); }

#if defined(__wasm_atomics__)
// A helper's stack and thread-local block, allocated by the caller before it starts the helper:
// the stack occupies [block, block + par_helper_stack_bytes()), the TLS block follows it.
PAR_EXPORT(par_helper_block) void* par_helper_block() {
  const size_t bytes = par::kHelperStackBytes + __builtin_wasm_tls_size() + __builtin_wasm_tls_align();
  void* b = par::heap_alloc(bytes);
  if (!b) par::out_of_memory(bytes);
  return b;
}
PAR_EXPORT(par_helper_stack_bytes) unsigned par_helper_stack_bytes() { return unsigned(par::kHelperStackBytes); }

PAR_EXPORT(par_helpers_started) int par_helpers_started() { return par::load(&par::g_helpers); }

// A helper's life, in its own instance, after its __stack_pointer was set to the top of its stack
// (par_helper_block + par_helper_stack_bytes): parks, runs tasks, never returns.
PAR_EXPORT(par_helper_main) void par_helper_main(void* block) {
  using namespace par;
  const size_t align = __builtin_wasm_tls_align();
  const size_t tls = (reinterpret_cast<size_t>(block) + kHelperStackBytes + align - 1) / align * align;
  __wasm_init_tls(reinterpret_cast<void*>(tls));
  tl_in_region = true;
  __atomic_fetch_add(&g_helpers, 1, __ATOMIC_SEQ_CST);
  int32_t seen = load(&g_gen);
  for (;;) {
    int32_t g = load(&g_gen);
    for (int i = 0; g == seen && i < kSpinsBeforeWait; i++) g = load(&g_gen);
    while (g == seen) {
      __builtin_wasm_memory_atomic_wait32(&g_gen, seen, -1);
      g = load(&g_gen);
    }
    seen = g;
    if (!try_join()) continue;
    const Job job = g_job;  // fixed while we are inside: the caller waits for us to leave
    claim_tasks(job);
    __atomic_fetch_sub(&g_join, 1, __ATOMIC_SEQ_CST);
  }
}
#endif
