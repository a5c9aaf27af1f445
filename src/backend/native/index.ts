// Loader and validating wrapper of the native (C++ Node-API) backend.
//
// `loadNativeBackend()` finds the compiled addon `perceiver_ar_native.node` (built by
// `scripts/build-native.mjs` into src/backend/native/build/Release), checks its ABI version and
// returns a `Backend` whose every method validates sizes, lengths and index ranges with the
// shared validators of `checks.ts` BEFORE calling into C++. It returns null (and sets
// `nativeBackendError`) when the addon cannot be loaded; it never throws.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import type { AdamWStep, AttentionShape, Backend } from "../backend.js";
import {
  checkAttentionShape,
  checkF32,
  checkFinite,
  checkI32,
  checkIndices,
  checkInteger,
  checkLabels,
  checkRotDim,
  checkSize,
  checkU8,
  sizeProduct,
} from "../checks.js";

/** ABI version the wrapper expects from the addon (bump together with addon.cc). */
const ABI_VERSION = 1;
const ADDON_FILE = "perceiver_ar_native.node";

/** The raw functions exported by the addon (see csrc/addon.cc). */
interface Addon {
  abiVersion: number;
  matmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number, tA: boolean, tB: boolean, acc: boolean): void;
  addBias(out: Float32Array, bias: Float32Array, rows: number, cols: number): void;
  sumRows(dout: Float32Array, dbias: Float32Array, rows: number, cols: number): void;
  layerNormForward(x: Float32Array, g: Float32Array, b: Float32Array, y: Float32Array, mean: Float32Array, rstd: Float32Array, rows: number, cols: number, eps: number): void;
  layerNormBackward(dy: Float32Array, x: Float32Array, g: Float32Array, mean: Float32Array, rstd: Float32Array, dx: Float32Array, dg: Float32Array, db: Float32Array, rows: number, cols: number): void;
  geluForward(x: Float32Array, y: Float32Array, n: number): void;
  geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;
  add(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;
  axpy(alpha: number, src: Float32Array, dst: Float32Array, n: number): void;
  gatherRows(src: Float32Array, index: Int32Array, dst: Float32Array, count: number, cols: number): void;
  scatterAddRows(ddst: Float32Array, index: Int32Array, dsrc: Float32Array, count: number, cols: number): void;
  rotaryForward(x: Float32Array, cos: Float32Array, sin: Float32Array, y: Float32Array, rows: number, heads: number, headDim: number, rotDim: number): void;
  rotaryBackward(dy: Float32Array, cos: Float32Array, sin: Float32Array, dx: Float32Array, rows: number, heads: number, headDim: number, rotDim: number): void;
  attentionForward(B: number, H: number, Tq: number, Tk: number, D: number, causal: boolean, offset: number, scale: number, q: Float32Array, k: Float32Array, v: Float32Array, keyPad: Uint8Array | null, out: Float32Array, lse: Float32Array): void;
  attentionBackward(B: number, H: number, Tq: number, Tk: number, D: number, causal: boolean, offset: number, scale: number, q: Float32Array, k: Float32Array, v: Float32Array, keyPad: Uint8Array | null, out: Float32Array, dout: Float32Array, lse: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array): void;
  crossEntropyForward(logits: Float32Array, labels: Int32Array, lse: Float32Array, losses: Float32Array, rows: number, vocab: number, ignoreIndex: number): void;
  crossEntropyBackward(logits: Float32Array, labels: Int32Array, lse: Float32Array, dlogits: Float32Array, rows: number, vocab: number, ignoreIndex: number, scale: number): void;
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number, lr: number, b1: number, b2: number, eps: number, wd: number, t: number): void;
  setThreads(n: number): number;
  getThreads(): number;
  isa(): string;
  setIsa(name: string): boolean;
  bestIsa(): string;
}

/** Why the native backend could not be loaded (null when it loaded or was never tried). */
export let nativeBackendError: string | null = null;

let cached: { addon: Addon; backend: Backend } | null | undefined;

/** Candidate paths of the addon: next to this file (source tree) and, from dist/, in src/. */
export function nativeAddonCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const out: string[] = [];
  const env = process.env.PERCEIVER_AR_NATIVE_PATH;
  if (env) out.push(resolve(env));
  // Source tree: src/backend/native/build/Release
  out.push(join(here, "build", "Release", ADDON_FILE));
  // Compiled: dist/src/backend/native -> <pkg>/src/backend/native/build/Release
  out.push(join(here, "..", "..", "..", "..", "src", "backend", "native", "build", "Release", ADDON_FILE));
  out.push(join(here, "build", "Debug", ADDON_FILE));
  return out;
}

function loadAddon(): Addon | null {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const p of nativeAddonCandidates()) {
    if (!existsSync(p)) {
      tried.push(`${p} (missing)`);
      continue;
    }
    try {
      const a = require(p) as Addon;
      if (a.abiVersion !== ABI_VERSION) {
        tried.push(`${p} (stale build: ABI ${a.abiVersion}, expected ${ABI_VERSION}; rebuild with node scripts/build-native.mjs)`);
        continue;
      }
      return a;
    } catch (e) {
      tried.push(`${p} (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  nativeBackendError = `native addon not built or not loadable; tried: ${tried.join("; ")}`;
  return null;
}

/** Loads the native backend once; null (see `nativeBackendError`) when unavailable. */
export function loadNativeBackend(): Backend | null {
  if (cached === undefined) {
    const addon = loadAddon();
    cached = addon ? { addon, backend: makeBackend(addon) } : null;
  }
  return cached ? cached.backend : null;
}

/** Sets the native thread-pool size (no-op returning 0 when the addon is unavailable). */
export function setNativeThreads(n: number): number {
  checkSize("threads", n);
  if (n < 1) throw new RangeError("threads must be >= 1");
  loadNativeBackend();
  return cached ? cached.addon.setThreads(n) : 0;
}

/** Native thread-pool size (0 when unavailable). */
export function getNativeThreads(): number {
  loadNativeBackend();
  return cached ? cached.addon.getThreads() : 0;
}

/** Active SIMD kernel set ("avx512", "avx2", "scalar"), or null when unavailable. */
export function nativeIsa(): string | null {
  loadNativeBackend();
  return cached ? cached.addon.isa() : null;
}

/**
 * Forces a kernel set no better than the CPU supports (for tests and benchmarks); returns false
 * when that set is not available. Also settable at load time with env PERCEIVER_AR_ISA.
 */
export function setNativeIsa(name: "avx512" | "avx2" | "scalar" | "best"): boolean {
  loadNativeBackend();
  if (!cached) return false;
  return cached.addon.setIsa(name === "best" ? cached.addon.bestIsa() : name);
}

function makeBackend(A: Addon): Backend {
  return {
    name: "native",

    matmul(a, b, c, m, n, k, transA, transB, accumulate) {
      checkSize("m", m);
      checkSize("n", n);
      checkSize("k", k);
      checkF32("a", a, sizeProduct("a", m, k));
      checkF32("b", b, sizeProduct("b", k, n));
      checkF32("c", c, sizeProduct("c", m, n));
      A.matmul(a, b, c, m, n, k, !!transA, !!transB, !!accumulate);
    },

    addBias(out, bias, rows, cols) {
      checkSize("rows", rows);
      checkSize("cols", cols);
      checkF32("out", out, sizeProduct("out", rows, cols));
      checkF32("bias", bias, cols);
      A.addBias(out, bias, rows, cols);
    },

    sumRows(dout, dbias, rows, cols) {
      checkSize("rows", rows);
      checkSize("cols", cols);
      checkF32("dout", dout, sizeProduct("dout", rows, cols));
      checkF32("dbias", dbias, cols);
      A.sumRows(dout, dbias, rows, cols);
    },

    layerNormForward(x, gamma, beta, y, mean, rstd, rows, cols, eps) {
      checkSize("rows", rows);
      checkSize("cols", cols);
      checkFinite("eps", eps);
      const n = sizeProduct("x", rows, cols);
      checkF32("x", x, n);
      checkF32("gamma", gamma, cols);
      checkF32("beta", beta, cols);
      checkF32("y", y, n);
      checkF32("mean", mean, rows);
      checkF32("rstd", rstd, rows);
      A.layerNormForward(x, gamma, beta, y, mean, rstd, rows, cols, eps);
    },

    layerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols) {
      checkSize("rows", rows);
      checkSize("cols", cols);
      const n = sizeProduct("x", rows, cols);
      checkF32("dy", dy, n);
      checkF32("x", x, n);
      checkF32("gamma", gamma, cols);
      checkF32("mean", mean, rows);
      checkF32("rstd", rstd, rows);
      checkF32("dx", dx, n);
      checkF32("dgamma", dgamma, cols);
      checkF32("dbeta", dbeta, cols);
      A.layerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols);
    },

    geluForward(x, y, n) {
      checkSize("n", n);
      checkF32("x", x, n);
      checkF32("y", y, n);
      A.geluForward(x, y, n);
    },

    geluBackward(x, dy, dx, n) {
      checkSize("n", n);
      checkF32("x", x, n);
      checkF32("dy", dy, n);
      checkF32("dx", dx, n);
      A.geluBackward(x, dy, dx, n);
    },

    add(a, b, out, n) {
      checkSize("n", n);
      checkF32("a", a, n);
      checkF32("b", b, n);
      checkF32("out", out, n);
      A.add(a, b, out, n);
    },

    axpy(alpha, src, dst, n) {
      checkSize("n", n);
      if (typeof alpha !== "number") throw new TypeError("alpha must be a number");
      checkF32("src", src, n);
      checkF32("dst", dst, n);
      A.axpy(alpha, src, dst, n);
    },

    gatherRows(src, index, dst, count, cols) {
      checkSize("count", count);
      checkSize("cols", cols);
      checkF32("src", src, 0);
      checkI32("index", index, count);
      checkF32("dst", dst, sizeProduct("dst", count, cols));
      if (cols > 0) checkIndices("index", index, count, Math.floor(src.length / cols));
      A.gatherRows(src, index, dst, count, cols);
    },

    scatterAddRows(ddst, index, dsrc, count, cols) {
      checkSize("count", count);
      checkSize("cols", cols);
      checkF32("ddst", ddst, sizeProduct("ddst", count, cols));
      checkI32("index", index, count);
      checkF32("dsrc", dsrc, 0);
      if (cols > 0) checkIndices("index", index, count, Math.floor(dsrc.length / cols));
      A.scatterAddRows(ddst, index, dsrc, count, cols);
    },

    rotaryForward(x, cos, sin, y, rows, heads, headDim, rotDim) {
      checkRotary(rows, heads, headDim, rotDim, x, cos, sin, y, "x", "y");
      A.rotaryForward(x, cos, sin, y, rows, heads, headDim, rotDim);
    },

    rotaryBackward(dy, cos, sin, dx, rows, heads, headDim, rotDim) {
      checkRotary(rows, heads, headDim, rotDim, dy, cos, sin, dx, "dy", "dx");
      A.rotaryBackward(dy, cos, sin, dx, rows, heads, headDim, rotDim);
    },

    attentionForward(s, q, k, v, keyPad, out, lse) {
      const { nq, nk, nlse } = checkAttentionShape(s);
      checkF32("q", q, nq);
      checkF32("k", k, nk);
      checkF32("v", v, nk);
      if (keyPad !== null) checkU8("keyPad", keyPad, sizeProduct("keyPad", s.batch, s.keys));
      checkF32("out", out, nq);
      checkF32("lse", lse, nlse);
      A.attentionForward(...shapeArgs(s), q, k, v, keyPad, out, lse);
    },

    attentionBackward(s, q, k, v, keyPad, out, dout, lse, dq, dk, dv) {
      const { nq, nk, nlse } = checkAttentionShape(s);
      checkF32("q", q, nq);
      checkF32("k", k, nk);
      checkF32("v", v, nk);
      if (keyPad !== null) checkU8("keyPad", keyPad, sizeProduct("keyPad", s.batch, s.keys));
      checkF32("out", out, nq);
      checkF32("dout", dout, nq);
      checkF32("lse", lse, nlse);
      checkF32("dq", dq, nq);
      checkF32("dk", dk, nk);
      checkF32("dv", dv, nk);
      A.attentionBackward(...shapeArgs(s), q, k, v, keyPad, out, dout, lse, dq, dk, dv);
    },

    crossEntropyForward(logits, labels, lse, losses, rows, vocab, ignoreIndex) {
      checkSize("rows", rows);
      checkSize("vocab", vocab);
      checkInteger("ignoreIndex", ignoreIndex);
      checkF32("logits", logits, sizeProduct("logits", rows, vocab));
      checkI32("labels", labels, rows);
      checkF32("lse", lse, rows);
      checkF32("losses", losses, rows);
      checkLabels("labels", labels, rows, vocab, ignoreIndex);
      A.crossEntropyForward(logits, labels, lse, losses, rows, vocab, ignoreIndex);
    },

    crossEntropyBackward(logits, labels, lse, dlogits, rows, vocab, ignoreIndex, scale) {
      checkSize("rows", rows);
      checkSize("vocab", vocab);
      checkInteger("ignoreIndex", ignoreIndex);
      if (typeof scale !== "number") throw new TypeError("scale must be a number");
      const n = sizeProduct("logits", rows, vocab);
      checkF32("logits", logits, n);
      checkI32("labels", labels, rows);
      checkF32("lse", lse, rows);
      checkF32("dlogits", dlogits, n);
      checkLabels("labels", labels, rows, vocab, ignoreIndex);
      A.crossEntropyBackward(logits, labels, lse, dlogits, rows, vocab, ignoreIndex, scale);
    },

    adamw(param, grad, m, v, n, o: AdamWStep) {
      checkSize("n", n);
      checkF32("param", param, n);
      checkF32("grad", grad, n);
      checkF32("m", m, n);
      checkF32("v", v, n);
      for (const key of ["lr", "beta1", "beta2", "eps", "weightDecay", "t"] as const) {
        checkFinite(`o.${key}`, o[key]);
      }
      A.adamw(param, grad, m, v, n, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.t);
    },
  };
}

function shapeArgs(s: AttentionShape): [number, number, number, number, number, boolean, number, number] {
  const causal = s.causalOffset !== null;
  return [s.batch, s.heads, s.queries, s.keys, s.headDim, causal, causal ? (s.causalOffset as number) : 0, s.scale];
}

function checkRotary(
  rows: number,
  heads: number,
  headDim: number,
  rotDim: number,
  x: Float32Array,
  cos: Float32Array,
  sin: Float32Array,
  y: Float32Array,
  xName: string,
  yName: string,
): void {
  checkSize("rows", rows);
  checkSize("heads", heads);
  checkSize("headDim", headDim);
  checkRotDim(rotDim, headDim);
  const n = sizeProduct(xName, rows, heads, headDim);
  checkF32(xName, x, n);
  checkF32("cos", cos, sizeProduct("cos", rows, rotDim));
  checkF32("sin", sin, sizeProduct("sin", rows, rotDim));
  checkF32(yName, y, n);
}
