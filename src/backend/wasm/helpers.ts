// Helper threads of the threaded wasm build: each is a worker (a Web Worker in browsers, a
// worker_thread in Node) that instantiates the same compiled module on the same shared memory and
// parks in the runtime's helper loop (csrc/runtime.cc par_helper_main), taking tasks of the
// parallel regions the calling thread publishes. A helper never returns to its event loop.
//
// The worker's code is the one source below, for both platforms: in Node it runs with
// `new Worker(source, { eval: true, workerData })`, in a browser from a Blob URL with the data
// posted to it (no separate script file to locate or bundle). Its memory, stack and thread-local
// block are the caller's allocations (par_helper_block), so a helper never allocates.

import type { WasmExports } from "./module.js";

/** What a helper is started with. */
export interface HelperData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** par_helper_block's result: the helper's stack, then its thread-local block. */
  block: number;
  /** Top of its stack (block + par_helper_stack_bytes), where its __stack_pointer starts. */
  stackTop: number;
}

/** Starts one helper running HELPER_SOURCE with `data`; returns a function that stops it. */
export type SpawnHelper = (source: string, data: HelperData, onError: (message: string) => void) => () => void;

/**
 * The helper worker. Posts {error} when instantiation fails; otherwise blocks in par_helper_main
 * forever (the runtime counts started helpers: par_helpers_started).
 */
export const HELPER_SOURCE = `"use strict";
function run(d, post) {
  try {
    const instance = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
    instance.exports.__stack_pointer.value = d.stackTop;
    instance.exports.par_helper_main(d.block);
  } catch (e) {
    post({ error: String(e && e.message ? e.message : e) });
  }
}
if (typeof process === "object" && process.versions && process.versions.node) {
  const { parentPort, workerData } = require("node:worker_threads");
  run(workerData, (m) => parentPort.postMessage(m));
} else {
  self.onmessage = (e) => run(e.data, (m) => self.postMessage(m));
}
`;

/** Starts `count` helpers on the instance's module and memory; returns their stop functions. */
export function startHelpers(exports: WasmExports, module: WebAssembly.Module, memory: WebAssembly.Memory, count: number, spawn: SpawnHelper, onError: (message: string) => void): Array<() => void> {
  const stops: Array<() => void> = [];
  const stackBytes = (exports.par_helper_stack_bytes as () => number)();
  for (let i = 0; i < count; i++) {
    const block = (exports.par_helper_block as () => number)() >>> 0;
    stops.push(spawn(HELPER_SOURCE, { module, memory, block, stackTop: block + stackBytes }, onError));
  }
  return stops;
}
