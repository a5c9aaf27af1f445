// Loader of the native (C++ Node-API) backend.
//
// `loadNativeBackend()` finds the compiled addon `perceiver_ar_native.node` (built by
// `scripts/build-native.mjs` into src/backend/native/build/Release), checks its ABI version and
// that its kernel table carries exactly the argument strings of `KERNELS` (backend.ts), and
// returns the addon's kernels as a Backend behind the boundary's validation (`validated()`). The
// addon's functions take the Backend arguments as they are (csrc/addon.cc unpacks the
// AttentionShape and AdamWStep objects), so there is no per-kernel code here. It returns null
// (and sets `nativeBackendError`) when the addon cannot be loaded; it never throws.
// `loadNativeAddon()` gives the raw addon, for tests of its own bounds checks.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { KERNELS, type Backend, type KernelName } from "../backend.js";
import { checkSize } from "../checks.js";
import { KERNEL_NAMES, validated } from "../validate.js";

/** ABI version the loader expects from the addon (bump together with addon.cc). */
const ABI_VERSION = 3;
const ADDON_FILE = "perceiver_ar_native.node";

/** The raw addon (see csrc/addon.cc): every kernel of `KERNELS`, unvalidated, plus controls. */
export type NativeAddon = Omit<Backend, "name"> & {
  abiVersion: number;
  /** Kernel name -> its argument string, as registered (must equal `KERNELS[name].args`). */
  kernelArgs: Record<string, string>;
  setThreads(n: number): number;
  getThreads(): number;
  isa(): string;
  setIsa(name: string): boolean;
  bestIsa(): string;
  /** The thread pool's totals since load (csrc/threadpool.h): take differences around a workload. */
  poolCounters(): NativePoolCounters;
};

/** See `NativeAddon.poolCounters`. */
export interface NativePoolCounters {
  /** Parallel regions of more than one task published to the worker threads. */
  regions: number;
  /** Tasks a worker thread began. */
  helperTasks: number;
  /** Tasks the calling thread ran because no worker had begun them (the worker was late). */
  callerTakenTasks: number;
  /** Sum over regions of the workers asleep (not spinning) when the region was published. */
  helpersParkedAtPublish: number;
}

/** Why the native backend could not be loaded (null when it loaded or was never tried). */
export let nativeBackendError: string | null = null;

let cached: { addon: NativeAddon; backend: Backend } | null | undefined;

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

/** Why the addon's kernel table differs from `KERNELS`, or null when it matches. */
function tableMismatch(a: NativeAddon): string | null {
  const table = a.kernelArgs ?? {};
  for (const k of KERNEL_NAMES) {
    if (table[k] !== KERNELS[k].args) {
      return table[k] === undefined ? `kernel ${k} is missing` : `kernel ${k} takes "${table[k]}", expected "${KERNELS[k].args}"`;
    }
  }
  const extra = Object.keys(table).filter((k) => !(k in KERNELS));
  return extra.length > 0 ? `kernel(s) ${extra.join(", ")} are not in KERNELS` : null;
}

function loadAddon(): NativeAddon | null {
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const p of nativeAddonCandidates()) {
    if (!existsSync(p)) {
      tried.push(`${p} (missing)`);
      continue;
    }
    try {
      const a = require(p) as NativeAddon;
      const stale = a.abiVersion !== ABI_VERSION ? `ABI ${a.abiVersion}, expected ${ABI_VERSION}` : tableMismatch(a);
      if (stale !== null) {
        tried.push(`${p} (stale build: ${stale}; rebuild with node scripts/build-native.mjs)`);
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

/** Loads the native backend once (validated); null (see `nativeBackendError`) when unavailable. */
export function loadNativeBackend(): Backend | null {
  if (cached === undefined) {
    const addon = loadAddon();
    cached = addon ? { addon, backend: validated(nativeKernels(addon)) } : null;
  }
  return cached ? cached.backend : null;
}

/** The raw addon, without the boundary's validation (tests of its own bounds checks); null when unavailable. */
export function loadNativeAddon(): NativeAddon | null {
  loadNativeBackend();
  return cached ? cached.addon : null;
}

/** The addon's kernels as an (unvalidated) Backend. */
function nativeKernels(addon: NativeAddon): Backend {
  const kernels: Record<string, unknown> = { name: "native" };
  for (const k of KERNEL_NAMES) kernels[k] = addon[k as KernelName];
  return kernels as unknown as Backend;
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
