// The linear memory a wasm backend instance runs on, and how large it may get.
//
// - threads build: a shared WebAssembly.Memory starting at INITIAL_BYTES and growing on demand
//   (the heap grows it) up to `maxBytes`; views survive growth (instance.ts).
// - single build: a plain memory created at `maxBytes` and never grown (growing a non-shared
//   memory detaches every view of it). The pages are only reserved: the operating system backs
//   them with physical memory when they are first written.
// An engine may refuse a large reservation (32-bit devices, memory limits): the size is then
// halved until it is accepted, down to MIN_BYTES.

import type { WasmFlavour } from "./module.js";

const PAGE_BYTES = 65536;
/** All of wasm32's address space. */
export const MAX_MEMORY_BYTES = 4 * 1024 ** 3;
/** Default maximum: the threads build reserves address space only, so all of it. */
export const DEFAULT_THREADS_MEMORY_BYTES = MAX_MEMORY_BYTES;
/** Default size of the single build's memory (reserved up front, touched on use). */
export const DEFAULT_SINGLE_MEMORY_BYTES = 1024 ** 3;
/** The threads build's initial size: the module's static data and main stack (~1.2 MB) and room. */
const INITIAL_BYTES = 16 * 1024 ** 2;
/** Below this, give up rather than run a model in a memory too small for it. */
const MIN_BYTES = 64 * 1024 ** 2;

export interface CreatedMemory {
  memory: WebAssembly.Memory;
  /** What it may grow to (threads) or its size (single). */
  maxBytes: number;
}

/** A memory for `flavour` of at most `maxBytes` (whole pages), halving what the engine refuses. */
export function createMemory(flavour: WasmFlavour, maxBytes: number): CreatedMemory {
  if (!Number.isFinite(maxBytes) || maxBytes < MIN_BYTES || maxBytes > MAX_MEMORY_BYTES) {
    throw new RangeError(`maxMemoryBytes must be in [${MIN_BYTES}, ${MAX_MEMORY_BYTES}], got ${maxBytes}`);
  }
  let pages = Math.floor(maxBytes / PAGE_BYTES);
  let last: unknown = null;
  while (pages * PAGE_BYTES >= MIN_BYTES) {
    try {
      const memory =
        flavour === "threads"
          ? new WebAssembly.Memory({ initial: Math.min(pages, INITIAL_BYTES / PAGE_BYTES), maximum: pages, shared: true })
          : new WebAssembly.Memory({ initial: pages, maximum: pages });
      return { memory, maxBytes: pages * PAGE_BYTES };
    } catch (e) {
      last = e;
      pages = Math.floor(pages / 2);
    }
  }
  throw new RangeError(`wasm backend: this engine refused a ${flavour === "threads" ? "shared " : ""}memory of ${MIN_BYTES} bytes or more: ${last instanceof Error ? last.message : String(last)}`);
}
