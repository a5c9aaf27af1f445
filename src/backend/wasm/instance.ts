// One instance of a wasm backend module on the calling thread: its memory, its exports, which
// typed arrays are views of that memory, calls into the module with trap recovery, and the
// backend's storage (the `BackendStorage` of backend.ts) over the module's heap (csrc/heap.cc).
//
// Views and memory growth. The threaded build's memory is shared: growing it never detaches a
// view, it only makes `memory.buffer` return a new, longer SharedArrayBuffer object over the same
// memory. So a view made at allocation stays valid for the block's life, and a view belongs to
// this memory when its buffer is any of the buffer objects the memory has returned (`owns`). The
// single-threaded build's memory is not shared; growing it would detach every view, so it is
// created at its final size and never grows (memory.ts): when it is full, allocation fails with a
// RangeError that says how to ask for more.
//
// Traps. A failed allocation inside a kernel (scratch) records its size and traps; any trap
// leaves the C stack pointer where it was, so `call` restores it and rethrows (a RangeError for
// out-of-memory). Helpers are never inside a region when the caller traps: regions allocate
// nothing.

import type { BackendStorage } from "../backend.js";
import type { WasmExports, WasmFlavour } from "./module.js";

/** Bytes per float32 element. */
const F32_BYTES = 4;

export class WasmInstance {
  readonly exports: WasmExports;
  /** Buffer objects this memory returned (a shared memory returns a new one after each growth). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private current: ArrayBufferLike;
  readonly storage: BackendStorage;

  constructor(
    readonly flavour: WasmFlavour,
    readonly module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    instance: WebAssembly.Instance,
    /** The memory's maximum in bytes (the single build: its fixed size). */
    readonly maxBytes: number,
  ) {
    this.exports = instance.exports as unknown as WasmExports;
    this.current = memory.buffer;
    this.buffers.add(this.current);
    this.call(() => this.exports.par_init());
    this.storage = new WasmStorage(this);
  }

  /** The memory's buffer as of now (re-read after anything that may have grown it). */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.current) {
      this.buffers.add(b);
      this.current = b;
    }
    return b;
  }

  /** Whether `a` is a view of this module's memory (then its byteOffset is its address there). */
  owns(a: ArrayBufferView): boolean {
    const b = a.buffer;
    if (b === this.current || this.buffers.has(b)) return true;
    return this.buffer() === b;
  }

  /** Runs `f` (calls into the module); after a trap restores the C stack and rethrows. */
  call<T>(f: () => T): T {
    const sp = this.exports.__stack_pointer;
    const saved = sp?.value as number | undefined;
    try {
      return f();
    } catch (e) {
      if (sp !== undefined) sp.value = saved;
      const oom = this.exports.par_take_oom() >>> 0;
      if (oom > 0) throw this.outOfMemory(oom);
      throw e;
    }
  }

  /** `bytes` bytes on the module heap (64-byte aligned); throws a RangeError when it is full. */
  alloc(bytes: number): number {
    const p = bytes > 0xffffffff ? 0 : this.exports.par_alloc(bytes) >>> 0;
    if (p === 0) throw this.outOfMemory(bytes);
    return p;
  }

  free(p: number): void {
    this.exports.par_free(p);
  }

  /** Bytes in heap blocks not freed. */
  heapBytes(): number {
    return this.exports.par_heap_in_use() >>> 0;
  }

  private outOfMemory(bytes: number): RangeError {
    const size = this.exports.par_memory_bytes();
    const how =
      this.flavour === "single"
        ? "the single-threaded module's memory has a fixed size (growing it would detach every tensor's view): ask for more with maxMemoryBytes"
        : "raise maxMemoryBytes (at most 4 GiB)";
    return new RangeError(`wasm backend: out of memory allocating ${bytes} bytes (memory ${mib(size)} of at most ${mib(this.maxBytes)}; heap in use ${mib(this.heapBytes())}); ${how}`);
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Tensors in the module's memory. A block is freed by `free`, or, for an array nobody freed, when
 * the garbage collector reclaims the view `allocFloat32` returned (a FinalizationRegistry): keep
 * that view reachable while any subarray of it is in use across an await (a subarray does not
 * keep the block alive; within one synchronous computation nothing is ever reclaimed).
 */
class WasmStorage implements BackendStorage {
  private readonly blocks = new WeakMap<Float32Array, number>();
  private readonly registry: FinalizationRegistry<number>;

  constructor(private readonly inst: WasmInstance) {
    this.registry = new FinalizationRegistry((p) => inst.free(p));
  }

  allocFloat32(n: number): Float32Array {
    const p = this.inst.alloc(n * F32_BYTES);
    const a = new Float32Array(this.inst.buffer(), p, n);
    a.fill(0);
    this.blocks.set(a, p);
    this.registry.register(a, p, a);
    return a;
  }

  free(a: Float32Array): void {
    const p = this.blocks.get(a);
    if (p === undefined) throw new TypeError("wasm backend storage: free() takes an array that allocFloat32() returned and that was not freed yet");
    this.blocks.delete(a);
    this.registry.unregister(a);
    this.inst.free(p);
  }

  owns(a: Float32Array): boolean {
    return this.blocks.has(a);
  }
}
