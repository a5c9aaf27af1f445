// The two WebAssembly modules of the wasm backend (built by scripts/build-wasm.mjs from the kernel
// sources shared with the native addon) and what they export: `WasmExports` is the contract
// between src/backend/wasm/csrc (runtime.cc, exports.cc) and the TypeScript side.
//
// - "threads" (perceiver_ar_threads.wasm): SIMD128 + atomics; imports a SHARED memory as
//   env.memory; helpers instantiate the same module on the same memory (helpers.ts).
// - "single" (perceiver_ar_single.wasm): SIMD128 only; imports a non-shared memory; one thread.
//
// Every pointer is a byte offset in the memory (an i32, possibly >= 2^31: read results with >>> 0);
// sizes are passed as JavaScript numbers (f64 in the ABI). `checkExports` refuses a module whose
// exports do not match this contract (a stale build), naming what differs.

/** Which build: threads over a shared memory, or single-threaded over a plain one. */
export type WasmFlavour = "threads" | "single";

/** File name of each build, next to this module's compiled JavaScript (dist/src/backend/wasm/). */
export const WASM_FILES: Readonly<Record<WasmFlavour, string>> = {
  threads: "perceiver_ar_threads.wasm",
  single: "perceiver_ar_single.wasm",
};

type Ptr = number;
type Size = number;

/** The module's exports (runtime.cc and exports.cc). */
export interface WasmExports {
  /** The C stack pointer (threads build): a helper sets it to the top of its own stack. */
  readonly __stack_pointer?: WebAssembly.Global;
  par_init(): void;
  par_set_threads(n: number): number;
  par_threads(): number;
  par_take_oom(): number;
  par_alloc(bytes: number): Ptr;
  par_free(p: Ptr): void;
  par_heap_in_use(): number;
  par_memory_bytes(): number;
  // Threads build only.
  par_helper_block?(): Ptr;
  par_helper_stack_bytes?(): number;
  par_helpers_started?(): number;
  par_helper_main?(block: Ptr): void;

  par_matmul(a: Ptr, b: Ptr, c: Ptr, m: Size, n: Size, k: Size, tA: number, tB: number, acc: number): void;
  par_matmulInt8(x: Ptr, wq: Ptr, scale: Ptr, y: Ptr, m: Size, n: Size, k: Size): void;
  par_addBias(out: Ptr, bias: Ptr, rows: Size, cols: Size): void;
  par_sumRows(dout: Ptr, dbias: Ptr, rows: Size, cols: Size): void;
  par_layerNormForward(x: Ptr, g: Ptr, b: Ptr, y: Ptr, mean: Ptr, rstd: Ptr, rows: Size, cols: Size, eps: number): void;
  par_layerNormBackward(dy: Ptr, x: Ptr, g: Ptr, mean: Ptr, rstd: Ptr, dx: Ptr, dg: Ptr, db: Ptr, rows: Size, cols: Size): void;
  par_geluForward(x: Ptr, y: Ptr, n: Size): void;
  par_geluBackward(x: Ptr, dy: Ptr, dx: Ptr, n: Size): void;
  par_add(a: Ptr, b: Ptr, out: Ptr, n: Size): void;
  par_axpy(alpha: number, src: Ptr, dst: Ptr, n: Size): void;
  par_gatherRows(src: Ptr, index: Ptr, dst: Ptr, count: Size, cols: Size): void;
  par_scatterAddRows(ddst: Ptr, index: Ptr, dsrc: Ptr, count: Size, cols: Size): void;
  par_rotaryForward(x: Ptr, cos: Ptr, sin: Ptr, y: Ptr, rows: Size, heads: Size, headDim: Size, rotDim: Size): void;
  par_rotaryBackward(dy: Ptr, cos: Ptr, sin: Ptr, dx: Ptr, rows: Size, heads: Size, headDim: Size, rotDim: Size): void;
  par_attentionForward(B: Size, H: Size, Tq: Size, Tk: Size, D: Size, causal: number, offset: number, scale: number, q: Ptr, k: Ptr, v: Ptr, pad: Ptr, out: Ptr, lse: Ptr): void;
  par_attentionBackward(B: Size, H: Size, Tq: Size, Tk: Size, D: Size, causal: number, offset: number, scale: number, q: Ptr, k: Ptr, v: Ptr, pad: Ptr, out: Ptr, dout: Ptr, lse: Ptr, dq: Ptr, dk: Ptr, dv: Ptr): void;
  par_crossEntropyForward(logits: Ptr, labels: Ptr, lse: Ptr, losses: Ptr, rows: Size, vocab: Size, ignore: number): void;
  par_crossEntropyBackward(logits: Ptr, labels: Ptr, lse: Ptr, dlogits: Ptr, rows: Size, vocab: Size, ignore: number, scale: number): void;
  par_adamw(p: Ptr, g: Ptr, m: Ptr, v: Ptr, n: Size, lr: number, beta1: number, beta2: number, eps: number, wd: number, t: number): void;
}

/** Parameter counts of the exported functions (a WebAssembly function's `length`). */
const ARITY: Readonly<Record<string, number>> = {
  par_init: 0, par_set_threads: 1, par_threads: 0, par_take_oom: 0, par_alloc: 1, par_free: 1, par_heap_in_use: 0, par_memory_bytes: 0,
  par_matmul: 9, par_matmulInt8: 7, par_addBias: 4, par_sumRows: 4, par_layerNormForward: 9, par_layerNormBackward: 10, par_geluForward: 3,
  par_geluBackward: 4, par_add: 4, par_axpy: 4, par_gatherRows: 5, par_scatterAddRows: 5, par_rotaryForward: 8,
  par_rotaryBackward: 8, par_attentionForward: 14, par_attentionBackward: 18, par_crossEntropyForward: 7,
  par_crossEntropyBackward: 8, par_adamw: 11,
};
const THREAD_ARITY: Readonly<Record<string, number>> = { par_helper_block: 0, par_helper_stack_bytes: 0, par_helpers_started: 0, par_helper_main: 1 };

/** Why `module`'s exports differ from `WasmExports` for `flavour`, or null when they match. */
export function exportMismatch(module: WebAssembly.Module, flavour: WasmFlavour): string | null {
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  const want = flavour === "threads" ? { ...ARITY, ...THREAD_ARITY } : ARITY;
  const missing = Object.keys(want).filter((name) => exports.get(name) !== "function");
  if (flavour === "threads" && exports.get("__stack_pointer") !== "global") missing.push("__stack_pointer");
  return missing.length > 0 ? `missing export(s) ${missing.join(", ")}` : null;
}

/** Checks the arities of an instance's functions (a changed signature is a stale build). */
export function arityMismatch(exports: WasmExports, flavour: WasmFlavour): string | null {
  const want = flavour === "threads" ? { ...ARITY, ...THREAD_ARITY } : ARITY;
  const record = exports as unknown as Record<string, (...a: unknown[]) => unknown>;
  const bad = Object.entries(want).filter(([name, n]) => record[name].length !== n);
  return bad.length > 0 ? bad.map(([name, n]) => `${name} takes ${record[name].length} arguments, expected ${n}`).join("; ") : null;
}

/**
 * A module that validates only where WebAssembly SIMD128 is supported: one function returning
 * i8x16.splat(0).
 */
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: () -> v128
  0x03, 0x02, 0x01, 0x00, //                         function section: one function of type 0
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x0b, // code: i32.const 0, i8x16.splat, end
]);

/** Why this engine cannot run the wasm backend (no WebAssembly, no SIMD128), or null when it can. */
export function engineUnsupported(): string | null {
  if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") return "WebAssembly is not available";
  if (!WebAssembly.validate(SIMD_PROBE)) return "WebAssembly SIMD (128-bit) is not supported by this engine";
  return null;
}
