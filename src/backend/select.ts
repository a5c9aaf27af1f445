// Backend selection in Node: select-core.ts with the native addon and the WebAssembly backend
// (the same kernels compiled for wasm32 SIMD128, threaded with worker_threads: useful where the
// addon cannot build) registered as the fast backends, in that order, and the choice read from
// env PERCEIVER_AR_BACKEND=native|wasm|reference|auto; the one fallback warning goes to stderr.
// `getBackend()` returns native when its addon loads, else wasm when its module is built, else
// the reference backend; explicitly asking for a backend that cannot load throws.

import { loadNativeBackend, nativeBackendError, setNativeThreads } from "./native/index.js";
import { configureSelection, registerBackend } from "./select-core.js";
import { loadWasmBackend, wasmBackendControls, wasmBackendError } from "./wasm/node.js";

export { getBackend, setDefaultBackend, backendNames, registerBackend, type BackendName, type BackendProvider } from "./select-core.js";

registerBackend("native", { load: loadNativeBackend, unavailableReason: () => nativeBackendError });
registerBackend("wasm", { load: () => loadWasmBackend(), unavailableReason: wasmBackendError });
configureSelection({
  configuredChoice: () => process.env.PERCEIVER_AR_BACKEND,
  warn: (line) => void process.stderr.write(line + "\n"),
});

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
