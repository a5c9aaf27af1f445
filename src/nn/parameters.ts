// Parameter store: named trainable tensors (Vars) keyed by the reference's state-dict names, plus
// non-trainable buffers (e.g. rotary inverse frequencies).
//
// Every parameter of every model is created by `ParameterStore.add` (the nn/ layers' create
// functions call it with names from parameter-names.ts): the one place where an initialiser runs.
// A Var is created once and never replaced; loading a checkpoint or a warm start overwrites its
// data in place, so the typed parameter objects the layers bound at construction stay valid.
// Parameters and their gradients live in the storage of the backend the store is made for (the
// wasm backend's memory; plain arrays for backends without storage).

import { Var } from "../autograd.js";
import type { Backend } from "../backend/backend.js";
import { allocFloat32, inStorage } from "../backend/storage.js";
import { Tensor } from "../tensor.js";

/** Initial values of a parameter of n elements. */
export type WeightInit = (n: number) => Float32Array;

/** Values of a parameter taken from elsewhere (e.g. a checkpoint), or undefined to use its initialiser. */
export type WeightSource = (name: string, shape: readonly number[]) => Float32Array | undefined;

export class ParameterStore {
  readonly params = new Map<string, Var>();
  readonly buffers = new Map<string, Tensor>();

  /**
   * `source`, when given, is asked for each parameter's values before its initialiser runs;
   * `backend`, when it has storage, holds the parameters and gradients.
   */
  constructor(
    private readonly source?: WeightSource,
    private readonly backend?: Backend,
  ) {}

  add(name: string, shape: readonly number[], init: Float32Array | WeightInit): Var {
    if (this.params.has(name)) throw new Error(`duplicate parameter ${name}`);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = inStorage(this.backend, this.source?.(name, shape) ?? (typeof init === "function" ? init(size) : init));
    const v = new Var(new Tensor(shape, data), true, (n) => allocFloat32(this.backend, n));
    this.params.set(name, v);
    return v;
  }

  addBuffer(name: string, value: Tensor): void {
    this.buffers.set(name, value);
  }

  get(name: string): Var {
    const v = this.params.get(name);
    if (v === undefined) throw new Error(`no parameter named ${name}`);
    return v;
  }

  /** Number of trainable scalars. */
  count(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.value.size;
    return n;
  }

  zeroGrads(): void {
    for (const v of this.params.values()) v.zeroGrad();
  }
}

/** A normal(0, std) initialiser drawing from `uniform` (a [0, 1) source), Box-Muller. */
export function normalInit(uniform: () => number, std: number): WeightInit {
  return (n) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u1 = Math.max(uniform(), 1e-300);
      const u2 = uniform();
      const r = Math.sqrt(-2 * Math.log(u1)) * std;
      out[i] = r * Math.cos(2 * Math.PI * u2);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return out;
  };
}

export const zerosInit = (n: number): Float32Array => new Float32Array(n);
export const onesInit = (n: number): Float32Array => new Float32Array(n).fill(1);
