// The wasm backend in Node: the module files read from next to this file (dist/src/backend/wasm/,
// where scripts/build-wasm.mjs writes them; env PERCEIVER_AR_WASM_DIR overrides), helpers as
// worker_threads (unref'd: they never keep the process alive), threads from env
// PERCEIVER_AR_THREADS or the machine's cores, notices on stderr. Node compiles synchronously, so
// `loadWasmBackend()` can make the backend on first use (getBackend("wasm") stays synchronous);
// `initWasmBackend()` is the asynchronous equivalent (it also waits for the helpers).

import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import type { Backend } from "../backend.js";
import { HELPER_RUN } from "./helpers.js";
import { WASM_FILES, type WasmFlavour } from "./module.js";
import { MAX_WASM_THREADS, WasmBackendSlot, type WasmBackend, type WasmBackendInfo, type WasmBackendOptions, type WasmPlatform } from "./wasm-backend.js";

export type { WasmBackend, WasmBackendInfo, WasmBackendOptions } from "./wasm-backend.js";

/** Where the module files are looked for. */
export function wasmModuleDir(): string {
  return process.env.PERCEIVER_AR_WASM_DIR || dirname(fileURLToPath(import.meta.url));
}

function moduleBytes(flavour: WasmFlavour): Uint8Array<ArrayBuffer> {
  const path = join(wasmModuleDir(), WASM_FILES[flavour]);
  if (!existsSync(path)) throw new Error(`the wasm backend is not built: ${path} is missing (npm run build builds it where clang++ and wasm-ld are installed)`);
  return new Uint8Array(readFileSync(path)) as Uint8Array<ArrayBuffer>;
}

function envThreads(): number | null {
  const e = process.env.PERCEIVER_AR_THREADS;
  const n = e === undefined ? NaN : Number(e);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, MAX_WASM_THREADS) : null;
}

/** A helper worker_thread: HELPER_RUN on its workerData. */
const NODE_HELPER_SOURCE = `${HELPER_RUN}
const { parentPort, workerData } = require("node:worker_threads");
run(workerData, (m) => parentPort.postMessage(m));
`;

export const nodeWasmPlatform: WasmPlatform = {
  compile: async (flavour) => WebAssembly.compile(moduleBytes(flavour)),
  compileSync: (flavour) => new WebAssembly.Module(moduleBytes(flavour)),
  spawnHelper: (data, onError) => {
    const w = new Worker(NODE_HELPER_SOURCE, { eval: true, workerData: data });
    w.on("message", (m: { error?: string }) => m.error !== undefined && onError(m.error));
    w.on("error", (e) => onError(e.message));
    w.unref(); // after the listeners: attaching a message listener refs the worker again
    return () => void w.terminate();
  },
  sharedMemoryUnavailable: () => (typeof SharedArrayBuffer === "undefined" ? "SharedArrayBuffer is unavailable" : null),
  defaultThreads: () => envThreads() ?? Math.min(availableParallelism(), MAX_WASM_THREADS),
  warn: (line) => void process.stderr.write(line + "\n"),
};

const slot = new WasmBackendSlot(nodeWasmPlatform);

/** The wasm backend (validated), made on first call; null when it cannot be (see wasmBackendError). */
export function loadWasmBackend(options?: WasmBackendOptions): Backend | null {
  return slot.load(options);
}

/** The same, asynchronously, waiting until its helper threads run. */
export function initWasmBackend(options?: WasmBackendOptions): Promise<Backend | null> {
  return slot.init(options);
}

/** Why the wasm backend could not be made (null when it was, or was never tried). */
export function wasmBackendError(): string | null {
  return slot.error;
}

/** The process's wasm backend with its controls (info, setThreads), once made. */
export function wasmBackendControls(): WasmBackend | null {
  return slot.backend;
}

/** State of the process's wasm backend, or null when it was not made. */
export function wasmBackendInfo(): WasmBackendInfo | null {
  return slot.backend?.info() ?? null;
}
