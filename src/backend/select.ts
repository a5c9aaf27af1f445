// Backend selection: `getBackend()` returns the native backend when its addon loads, else the
// WebAssembly backend (the same kernels compiled for wasm32 SIMD128, threaded with
// worker_threads) when its module is built and the engine has SIMD, else the reference backend
// (printing ONE warning per process with the reasons). The choice can be forced with the argument,
// `setDefaultBackend`, or env PERCEIVER_AR_BACKEND=native|wasm|reference; explicitly asking for a
// backend that cannot load throws. Every backend handed out here is behind the boundary's
// validation (validate.ts), a custom Backend object included.

import type { Backend } from "./backend.js";
import { loadNativeBackend, nativeBackendError, setNativeThreads } from "./native/index.js";
import { referenceBackend } from "./reference/index.js";
import { validated } from "./validate.js";
import { loadWasmBackend, wasmBackendControls, wasmBackendError } from "./wasm/node.js";

export type BackendName = "native" | "wasm" | "reference" | "auto";

/** The names `getBackend` accepts. */
export const BACKEND_NAMES: readonly BackendName[] = ["native", "wasm", "reference", "auto"];

let defaultChoice: BackendName | Backend | null = null;
let warned = false;

function isName(e: unknown): e is BackendName {
  return typeof e === "string" && (BACKEND_NAMES as readonly string[]).includes(e);
}

function fromEnv(): BackendName {
  const e = process.env.PERCEIVER_AR_BACKEND;
  if (e === undefined || e === "") return "auto";
  if (isName(e)) return e;
  throw new RangeError(`PERCEIVER_AR_BACKEND must be one of ${BACKEND_NAMES.join(", ")}, got ${JSON.stringify(e)}`);
}

/**
 * The backend to use, validated. `name` overrides the default set by `setDefaultBackend`, which
 * overrides env PERCEIVER_AR_BACKEND, which defaults to "auto".
 */
export function getBackend(name?: BackendName): Backend {
  return validated(choose(name ?? defaultChoice ?? fromEnv()));
}

function warnOnce(line: string): void {
  if (warned) return;
  warned = true;
  process.stderr.write(`perceiver-ar: ${line}\n`);
}

function choose(choice: BackendName | Backend): Backend {
  if (typeof choice === "object") return choice;
  switch (choice) {
    case "reference":
      return referenceBackend;
    case "native": {
      const b = loadNativeBackend();
      if (!b) throw new Error(`native backend requested but unavailable: ${nativeBackendError ?? "unknown reason"}`);
      return b;
    }
    case "wasm": {
      const b = loadWasmBackend();
      if (!b) throw new Error(`wasm backend requested but unavailable: ${wasmBackendError() ?? "unknown reason"}`);
      return b;
    }
    case "auto": {
      const native = loadNativeBackend();
      if (native) return native;
      const wasm = loadWasmBackend();
      if (wasm) {
        warnOnce(`native backend unavailable, using the wasm backend: ${nativeBackendError ?? "unknown reason"}`);
        return wasm;
      }
      warnOnce(
        `native and wasm backends unavailable, falling back to the (slow) reference backend: native: ${nativeBackendError ?? "unknown reason"}; wasm: ${wasmBackendError() ?? "unknown reason"}`,
      );
      return referenceBackend;
    }
    default:
      throw new RangeError(`unknown backend ${JSON.stringify(choice)}`);
  }
}

/** Sets the process-wide default (a name or a Backend object); null restores env/auto. */
export function setDefaultBackend(choice: BackendName | Backend | null): void {
  if (typeof choice === "string" && !isName(choice)) throw new RangeError(`unknown backend ${JSON.stringify(choice)}`);
  if (choice === "native" || choice === "wasm") getBackend(choice); // throw now if it cannot load
  if (typeof choice === "object" && choice !== null) validated(choice); // throw now if a kernel is missing
  defaultChoice = choice;
}

/**
 * Number of threads of the native backend's pool and of the wasm backend, when each is loaded
 * (default: the machine's cores, or env PERCEIVER_AR_THREADS). Returns the native value in effect,
 * else the wasm one, or 0 when neither is loaded.
 */
export function setThreads(n: number): number {
  const native = setNativeThreads(n);
  const wasm = wasmBackendControls()?.setThreads(n) ?? 0;
  return native || wasm;
}
