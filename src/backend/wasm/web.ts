// The wasm backend in browsers (and any worker or page with fetch and Web Workers): the module
// fetched from next to this file (or from `baseUrl`: a bundler that moves this file must copy
// dist/src/backend/wasm/*.wasm next to its bundle or pass their URL), helpers as Web Workers from
// a Blob URL (no script file to locate), threads from navigator.hardwareConcurrency, notices on
// console.warn. Threads need a cross-origin isolated page (COOP/COEP headers, for
// SharedArrayBuffer); elsewhere the single-threaded build runs, which is said once.
//
// Browsers compile asynchronously: `await initWasmBackend()` makes the page's backend, after which
// `loadWasmBackend()` returns it synchronously. The selection layer registers the pair as a
// backend provider (`wasmBackendProvider`, the shape of select-core's BackendProvider).

import type { Backend } from "../backend.js";
import { HELPER_RUN } from "./helpers.js";
import { WASM_FILES, type WasmFlavour } from "./module.js";
import { MAX_WASM_THREADS, WasmBackendSlot, type WasmBackend, type WasmBackendInfo, type WasmBackendOptions, type WasmPlatform } from "./wasm-backend.js";

export type { WasmBackend, WasmBackendInfo, WasmBackendOptions } from "./wasm-backend.js";

export interface WebWasmOptions extends WasmBackendOptions {
  /** URL of the folder holding the .wasm files (default: this module's folder). */
  baseUrl?: string | URL;
}

async function compileFrom(url: URL): Promise<WebAssembly.Module> {
  if (typeof WebAssembly.compileStreaming === "function") {
    try {
      return await WebAssembly.compileStreaming(fetch(url));
    } catch {
      // a server without the application/wasm type: compile from the bytes below
    }
  }
  const r = await fetch(url);
  if (!r.ok) throw new Error(`fetching ${url.href} failed: HTTP ${r.status}`);
  return WebAssembly.compile(await r.arrayBuffer());
}

/** A helper Web Worker: HELPER_RUN on the first message's data. */
const WEB_HELPER_SOURCE = `${HELPER_RUN}
self.onmessage = (e) => run(e.data, (m) => self.postMessage(m));
`;

/**
 * This module's folder, where the .wasm files sit beside it. (Through a variable: a bundler such as
 * vite would otherwise try to resolve "." as an asset at build time.)
 */
function moduleFolder(): URL {
  const here = import.meta.url;
  return new URL(".", here);
}

/** The browser platform, the .wasm files under `baseUrl`. */
export function webWasmPlatform(baseUrl: string | URL = moduleFolder()): WasmPlatform {
  const base = new URL(String(baseUrl).endsWith("/") ? String(baseUrl) : `${String(baseUrl)}/`, globalThis.location?.href);
  return {
    compile: (flavour: WasmFlavour) => compileFrom(new URL(WASM_FILES[flavour], base)),
    spawnHelper:
      typeof Worker === "undefined"
        ? null
        : (data, onError) => {
            const url = URL.createObjectURL(new Blob([WEB_HELPER_SOURCE], { type: "text/javascript" }));
            const w = new Worker(url);
            w.onmessage = (e: MessageEvent<{ error?: string }>) => e.data?.error !== undefined && onError(e.data.error);
            w.onerror = (e) => onError(e.message);
            w.postMessage(data);
            return () => {
              w.terminate();
              URL.revokeObjectURL(url);
            };
          },
    sharedMemoryUnavailable: () => {
      if (typeof SharedArrayBuffer === "undefined" || globalThis.crossOriginIsolated === false) {
        return "SharedArrayBuffer is unavailable: the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)";
      }
      return typeof Worker === "undefined" ? "this context cannot start Web Workers" : null;
    },
    defaultThreads: () => Math.max(1, Math.min(globalThis.navigator?.hardwareConcurrency ?? 1, MAX_WASM_THREADS)),
    warn: (line) => console.warn(line),
  };
}

let slot: WasmBackendSlot | null = null;

/** Makes the page's wasm backend once (validated); null when it cannot be (see wasmBackendError). */
export function initWasmBackend(options: WebWasmOptions = {}): Promise<Backend | null> {
  slot ??= new WasmBackendSlot(webWasmPlatform(options.baseUrl));
  return slot.init(options);
}

/** The backend initWasmBackend made, or null (before it resolved, or when it failed). */
export function loadWasmBackend(): Backend | null {
  return slot?.load() ?? null;
}

/** Why the wasm backend could not be made (null when it was, or was never tried). */
export function wasmBackendError(): string | null {
  if (slot === null) return "the wasm backend was not initialised (await initWasmBackend() first)";
  return slot.error;
}

/** The page's wasm backend with its controls (info, setThreads), once made. */
export function wasmBackendControls(): WasmBackend | null {
  return slot?.backend ?? null;
}

/** State of the page's wasm backend, or null before it was made. */
export function wasmBackendInfo(): WasmBackendInfo | null {
  return slot?.backend?.info() ?? null;
}

/** initWasmBackend's result as a backend provider for the selection layer (load / unavailableReason). */
export const wasmBackendProvider = { load: loadWasmBackend, unavailableReason: wasmBackendError };
