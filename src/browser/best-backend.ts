// The fastest backend a browser offers, obtained asynchronously (a WebAssembly module compiles
// asynchronously; a GPU adapter is requested asynchronously).
//
// The WebAssembly backend (src/backend/wasm/web.ts) is initialised asynchronously and registered as
// "wasm" with `registerBackend` (select-core.ts), and the "auto" choice then picks it: threaded on a
// cross-origin isolated page, single-threaded elsewhere (said once), the reference backend where
// WebAssembly SIMD is unavailable (said once, with the reason). Callers (the page's worker, the
// browser tests, the benchmark) only ever call `loadBestBackend()` and use `backend.name` to say
// what they got; `wasmBackendInfo()` (web.ts) tells the wasm backend's build and threads.

import type { Backend } from "../backend/backend.js";
import { getBackend, registerBackend } from "../backend/select-core.js";
import { initWasmBackend, wasmBackendProvider, type WebWasmOptions } from "../backend/wasm/web.js";

let best: Promise<Backend> | undefined;

/**
 * The best backend available here (validated), initialised once; later calls return the same one.
 * `wasm` options (threads, memory, where the .wasm files are) apply to the first call only.
 */
export function loadBestBackend(wasm: WebWasmOptions = {}): Promise<Backend> {
  best ??= (async () => {
    await initWasmBackend(wasm);
    registerBackend("wasm", wasmBackendProvider);
    return getBackend("auto");
  })();
  return best;
}
