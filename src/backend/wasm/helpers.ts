// Helper threads of the threaded wasm build: each is a worker (a Web Worker in browsers, a
// worker_thread in Node) that instantiates the same compiled module on the same shared memory and
// parks in the runtime's helper loop (csrc/runtime.cc par_helper_main), taking tasks of the
// parallel regions the calling thread publishes. A helper never returns to its event loop.
//
// The worker's code is one function, HELPER_RUN, that each platform wraps in its way of receiving
// the data: in Node `new Worker(source, { eval: true, workerData })` (node.ts), in a browser a
// worker from a Blob URL with the data posted to it (web.ts): no script file to locate or bundle. Its memory, stack and thread-local
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

/** Starts one helper (HELPER_RUN in the platform's worker) with `data`; returns a function that stops it. */
export type SpawnHelper = (data: HelperData, onError: (message: string) => void) => () => void;

/**
 * The helper's code (JavaScript source): `run(data, post)` instantiates the module on the shared
 * memory and blocks in par_helper_main forever (the runtime counts started helpers:
 * par_helpers_started); when instantiation fails it calls post({ error }).
 */
export const HELPER_RUN = `"use strict";
function run(d, post) {
  try {
    const instance = new WebAssembly.Instance(d.module, { env: { memory: d.memory } });
    instance.exports.__stack_pointer.value = d.stackTop;
    instance.exports.par_helper_main(d.block);
  } catch (e) {
    post({ error: String(e && e.message ? e.message : e) });
  }
}
`;

/** Starts `count` helpers on the instance's module and memory; returns their stop functions. */
export function startHelpers(exports: WasmExports, module: WebAssembly.Module, memory: WebAssembly.Memory, count: number, spawn: SpawnHelper, onError: (message: string) => void): Array<() => void> {
  const stops: Array<() => void> = [];
  const stackBytes = (exports.par_helper_stack_bytes as () => number)();
  for (let i = 0; i < count; i++) {
    const block = (exports.par_helper_block as () => number)() >>> 0;
    stops.push(spawn({ module, memory, block, stackTop: block + stackBytes }, onError));
  }
  return stops;
}
