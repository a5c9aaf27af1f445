// Reverse-mode autograd over coarse ops (llm.c style): each op computes its forward with a backend
// kernel and, when any input needs a gradient, records a closure that runs its backward kernel.
//
// Contract:
// - A `Var` holds a value Tensor and, when it requires a gradient, a lazily allocated gradient
//   buffer of the same size (zero-filled on first use). Backward kernels accumulate into it.
// - A `Graph` is one forward pass: the backend it runs on, whether it records, and the tape.
//   `graph.backward(loss)` seeds d loss / d loss = 1 and runs the tape in reverse, once.
// - A Graph built with a BufferPool takes its op outputs, their gradients and op scratch from the
//   pool; `graph.release()` gives them all back. Only do that when nothing the graph made is used
//   afterwards (a training step's intermediates); parameter gradients are never pooled.
// - `graph.output(shape)` is an op's forward result: its values are UNSPECIFIED (a recycled
//   buffer is not zeroed) and the op must write every element. Gradients and `alloc` are zeroed.
// - `graph.view(x, start, count)` is rows [start, start + count) of x's flat row layout as a Var
//   sharing x's value and gradient buffers: no copy forward, nothing to do backward (its
//   consumers accumulate straight into x's gradient).
// - Every array a Graph makes is in its backend's storage when the backend has one (the wasm
//   backend's memory, backend.ts `BackendStorage`), else a plain Float32Array.

import type { Backend } from "./backend/backend.js";
import { allocFloat32 } from "./backend/storage.js";
import type { BufferPool } from "./buffer-pool.js";
import { Tensor } from "./tensor.js";

export class Var {
  readonly value: Tensor;
  readonly requiresGrad: boolean;
  private gradData: Float32Array | null = null;
  private readonly allocate: (n: number) => Float32Array;

  /** `allocate` provides the (zero-filled) gradient buffer; default a fresh array. */
  constructor(value: Tensor, requiresGrad = false, allocate?: (n: number) => Float32Array) {
    this.value = value;
    this.requiresGrad = requiresGrad;
    this.allocate = allocate ?? ((n) => new Float32Array(n));
  }

  get shape(): readonly number[] {
    return this.value.shape;
  }

  get data(): Float32Array {
    return this.value.data;
  }

  /** The gradient buffer, allocated (zeros) on first access. */
  get grad(): Float32Array {
    if (this.gradData === null) this.gradData = this.allocate(this.value.size);
    return this.gradData;
  }

  get hasGrad(): boolean {
    return this.gradData !== null;
  }

  zeroGrad(): void {
    this.gradData?.fill(0);
  }

  /** Drop the gradient buffer (frees memory between steps). */
  releaseGrad(): void {
    this.gradData = null;
  }
}

export class Graph {
  readonly backend: Backend;
  /** Whether ops record backward closures (false for inference). */
  readonly recording: boolean;
  private readonly tape: Array<() => void> = [];
  private done = false;
  private readonly pool: BufferPool | null;
  private readonly taken: Float32Array[] = [];

  constructor(backend: Backend, recording: boolean, pool: BufferPool | null = null) {
    this.backend = backend;
    this.recording = recording;
    this.pool = pool;
  }

  /**
   * A scratch array owned by this graph (pooled when the graph has a pool): zero-filled, or with
   * `filled` false unspecified values (for scratch a kernel overwrites).
   */
  alloc(n: number, filled = true): Float32Array {
    if (this.pool === null) return allocFloat32(this.backend, n);
    const a = filled ? this.pool.take(n, this.backend.storage) : this.pool.takeUnfilled(n, this.backend.storage);
    this.taken.push(a);
    return a;
  }

  /** Give every pooled array of this graph back; the graph and its Vars must not be used after. */
  release(): void {
    if (this.pool === null) return;
    for (const a of this.taken) this.pool.give(a, this.backend.storage);
    this.taken.length = 0;
    this.tape.length = 0;
  }

  /** True when the op producing from `inputs` must record its backward. */
  needsGrad(...inputs: Array<Var | null | undefined>): boolean {
    if (!this.recording) return false;
    for (const v of inputs) if (v && v.requiresGrad) return true;
    return false;
  }

  /** A new op output (values unspecified: the op writes them all); it requires a gradient iff any input does (and we record). */
  output(shape: readonly number[], ...inputs: Array<Var | null | undefined>): Var {
    const size = shape.reduce((a, b) => a * b, 1);
    const value = new Tensor(shape, this.alloc(size, false));
    return new Var(value, this.needsGrad(...inputs), (n) => this.alloc(n));
  }

  /**
   * Elements [start·C, (start + count)·C) of x (C = its last dimension) as a Var of `shape`,
   * sharing x's buffers: its gradient is that range of x's gradient.
   */
  view(x: Var, start: number, count: number, shape: readonly number[]): Var {
    const C = x.shape[x.shape.length - 1];
    const from = start * C;
    const to = from + count * C;
    const value = new Tensor(shape, x.data.subarray(from, to));
    return new Var(value, x.requiresGrad && this.recording, () => x.grad.subarray(from, to));
  }

  record(backward: () => void): void {
    this.tape.push(backward);
  }

  /** Backpropagate from a scalar `loss` (seed 1) or from a Var whose grad the caller has set. */
  backward(loss: Var, seed = true): void {
    if (this.done) throw new Error("Graph.backward may only run once per forward pass");
    if (!loss.requiresGrad) throw new Error("backward: the loss does not depend on any parameter");
    if (seed) {
      if (loss.value.size !== 1) throw new Error(`backward: loss must be a scalar, got shape [${loss.shape.join(", ")}]`);
      loss.grad[0] = 1;
    }
    for (let i = this.tape.length - 1; i >= 0; i--) this.tape[i]();
    this.tape.length = 0;
    this.done = true;
  }
}
