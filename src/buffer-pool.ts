// BufferPool: recycled Float32Arrays for the activations and gradients of one training step.
//
// Why: a fresh large typed array is zero pages from the OS, and touching them page-faults; on the
// virtual machines this runs on that costs ~10 ms per MB — far more than the kernels that fill
// them (a 16 MB gather: 1.5 ms warm, 150 ms fresh). Steps of the same shapes allocate the same
// sizes, so a step can reuse the previous step's buffers.
//
// Contract: `take(n, storage)` returns a zero-filled Float32Array of length n that the caller owns
// until it gives it back with `give(a, storage)`; after that it must not be read or written.
// Buffers are kept per storage (a backend's `BackendStorage`, or none: plain arrays) and exact
// length, up to `maxBytes` in total. What the pool does not keep is dropped: a plain array to the
// garbage collector, a storage array freed in its storage. When a storage is full, `take` frees
// what the pool keeps in it and tries once more. The default cap suits a browser tab; the Trainer
// raises it to half the machine's memory.

import type { BackendStorage } from "./backend/backend.js";
import { releaseFloat32 } from "./backend/storage.js";

/** Arrays smaller than this are not worth keeping. */
const MIN_POOLED_BYTES = 4096;

export class BufferPool {
  /** Free arrays by storage (null: plain arrays), then by length. */
  private readonly free = new Map<BackendStorage | null, Map<number, Float32Array[]>>();
  private pooledBytes = 0;

  constructor(public maxBytes = 4 * 2 ** 30) {}

  take(n: number, storage?: BackendStorage): Float32Array {
    const a = this.free.get(storage ?? null)?.get(n)?.pop();
    if (a === undefined) return this.fresh(n, storage);
    this.pooledBytes -= a.byteLength;
    a.fill(0);
    return a;
  }

  give(a: Float32Array, storage?: BackendStorage): void {
    const whole = storage === undefined ? a.byteOffset === 0 && a.length * 4 === a.buffer.byteLength : storage.owns(a);
    if (!whole) return; // only whole buffers (a storage's own arrays)
    if (a.byteLength < MIN_POOLED_BYTES || this.pooledBytes + a.byteLength > this.maxBytes) {
      releaseFloat32(storage, a);
      return;
    }
    let byLength = this.free.get(storage ?? null);
    if (byLength === undefined) this.free.set(storage ?? null, (byLength = new Map()));
    let list = byLength.get(a.length);
    if (list === undefined) byLength.set(a.length, (list = []));
    list.push(a);
    this.pooledBytes += a.byteLength;
  }

  /** Bytes currently held for reuse. */
  get bytes(): number {
    return this.pooledBytes;
  }

  clear(): void {
    for (const storage of [...this.free.keys()]) this.release(storage);
    this.free.clear();
    this.pooledBytes = 0;
  }

  private fresh(n: number, storage: BackendStorage | undefined): Float32Array {
    if (storage === undefined) return new Float32Array(n);
    try {
      return storage.allocFloat32(n);
    } catch (e) {
      if (!(e instanceof RangeError) || !this.free.has(storage)) throw e;
      this.release(storage); // the storage is full: give it what this pool keeps, then retry
      return storage.allocFloat32(n);
    }
  }

  /** Drops (frees) every array kept for `storage`. */
  private release(storage: BackendStorage | null): void {
    const byLength = this.free.get(storage);
    if (byLength === undefined) return;
    for (const list of byLength.values()) {
      for (const a of list) {
        this.pooledBytes -= a.byteLength;
        releaseFloat32(storage ?? undefined, a);
      }
    }
    this.free.delete(storage);
  }
}
