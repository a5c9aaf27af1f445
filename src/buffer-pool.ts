// BufferPool: recycled Float32Arrays for the activations and gradients of one training step.
//
// Why: a fresh large typed array is zero pages from the OS, and touching them page-faults; on the
// virtual machines this runs on that costs ~10 ms per MB — far more than the kernels that fill
// them (a 16 MB gather: 1.5 ms warm, 150 ms fresh). Steps of the same shapes allocate the same
// sizes, so a step can reuse the previous step's buffers.
//
// Contract: `take(n)` returns a zero-filled Float32Array of length n that the caller owns until it
// gives it back with `give(a)`; after that it must not be read or written. `takeUnfilled(n)` is
// the same without the zero fill: a recycled buffer keeps whatever it held, so it is only for
// outputs that the caller overwrites entirely (an op's forward output; zeroing a 64 MB buffer
// that a kernel then overwrites costs as much as the kernel). Buffers are kept per
// exact length, up to `maxBytes` in total (more is left to the garbage collector). The default cap
// suits a browser tab; the Trainer raises it to half the machine's memory.

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  private pooledBytes = 0;

  constructor(public maxBytes = 4 * 2 ** 30) {}

  take(n: number): Float32Array {
    return this.takeUnfilled(n).fill(0);
  }

  takeUnfilled(n: number): Float32Array {
    const list = this.free.get(n);
    const a = list?.pop();
    if (a === undefined) return new Float32Array(n);
    this.pooledBytes -= a.byteLength;
    return a;
  }

  give(a: Float32Array): void {
    if (a.byteLength < 4096 || this.pooledBytes + a.byteLength > this.maxBytes) return;
    if (a.byteOffset !== 0 || a.length * 4 !== a.buffer.byteLength) return; // only whole buffers
    let list = this.free.get(a.length);
    if (list === undefined) this.free.set(a.length, (list = []));
    list.push(a);
    this.pooledBytes += a.byteLength;
  }

  /** Bytes currently held for reuse. */
  get bytes(): number {
    return this.pooledBytes;
  }

  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }
}
