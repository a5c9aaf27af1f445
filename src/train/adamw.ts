// AdamW over a model's named parameters, running the backend's fused `adamw` kernel.
//
// Contract:
// - One `update(lr)` applies, to every parameter in the map's order, with t = the new step count:
//     m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²
//     p -= lr · ( (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps) + wd · p )
//   i.e. Adam with bias correction and decoupled weight decay (Loshchilov & Hutter; identical to
//   PyTorch's AdamW, which applies p *= 1 - lr·wd before the Adam step). Every parameter is
//   updated every step; a never-allocated gradient counts as zeros.
// - Weight-decay groups (`paramGroup`): by name and shape, with the reference's state-dict names:
//     "embedding": input_adapter.txt_embedding.weight / input_adapter.pos_embedding.weight
//                  (the token embedding is also the tied output projection);
//     "norm":      LayerNorm weights and biases (names with a `norm` component, every 1-D
//                  `.weight`, and the `.bias` next to such a weight: this covers the MLP norms
//                  named `<mlp>.0.weight` / `<mlp>.0.bias`);
//     "bias":      other `.bias` parameters (o_proj, output_adapter);
//     "decay":     everything else (the 2-D projection and MLP matrices).
//   Only "decay" gets `weightDecay` by default; `decayEmbeddings` / `decayNorms` opt those groups
//   in; plain biases are never decayed.
// - `exportState()` returns the step count and the moments as named Float32Arrays
//   (`m.<param name>`, `v.<param name>`, copies); `importState()` validates names and sizes and
//   restores them exactly, so a resumed run continues bit for bit.
// - Hyper-parameters are validated at construction with errors naming the field and its range.

import type { Var } from "../autograd.js";
import type { Backend } from "../backend/backend.js";
import { allocFloat32 } from "../backend/storage.js";
import { assertIntegerInRange } from "../util/integer-range.js";

/** AdamW hyper-parameters (the learning rate is given per update). */
export interface AdamWOptions {
  /** First-moment decay, in [0, 1). Default 0.9. */
  beta1?: number;
  /** Second-moment decay, in [0, 1). Default 0.95. */
  beta2?: number;
  /** Denominator epsilon, > 0. Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay of the "decay" group, >= 0. Default 0.01. */
  weightDecay?: number;
  /** Also decay the token/position embeddings. Default false. */
  decayEmbeddings?: boolean;
  /** Also decay LayerNorm weights and biases. Default false. */
  decayNorms?: boolean;
}

/** Weight-decay group of a parameter; see the file header. */
export type ParamGroup = "decay" | "norm" | "bias" | "embedding";

/** Optimizer state for checkpoints: the step count and `m.<name>` / `v.<name>` moments. */
export interface AdamWState {
  /** Number of updates applied so far (the bias-correction t of the last update). */
  step: number;
  tensors: Map<string, Float32Array>;
}

const EMBEDDING_NAMES = /(^|\.)(txt_embedding|pos_embedding)\.weight$/;
const NORM_COMPONENT = /(^|\.)[a-z_]*norm\./;

/**
 * The weight-decay group of parameter `name` with `shape`. Pass all parameters as `siblings` so a
 * `.bias` whose `.weight` is a LayerNorm gamma (the MLP norms `<mlp>.0.bias`) counts as "norm".
 */
export function paramGroup(name: string, shape: readonly number[], siblings?: ReadonlyMap<string, { shape: readonly number[] }>): ParamGroup {
  if (EMBEDDING_NAMES.test(name)) return "embedding";
  if (NORM_COMPONENT.test(name)) return "norm";
  if (name.endsWith(".weight") && shape.length === 1) return "norm";
  if (name.endsWith(".bias")) {
    const weight = siblings?.get(name.slice(0, -".bias".length) + ".weight");
    if (weight !== undefined && paramGroup(name.slice(0, -".bias".length) + ".weight", weight.shape) === "norm") return "norm";
    return "bias";
  }
  return "decay";
}

function checkUnit(field: string, v: unknown): number {
  if (typeof v !== "number" || !(v >= 0 && v < 1)) throw new RangeError(`${field} must be a number in [0, 1), got ${String(v)}`);
  return v;
}

interface Slot {
  name: string;
  param: Var;
  m: Float32Array;
  v: Float32Array;
  group: ParamGroup;
  weightDecay: number;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly decayEmbeddings: boolean;
  readonly decayNorms: boolean;
  readonly backend: Backend;
  private readonly slots: Slot[] = [];
  private t = 0;

  /**
   * @param params named parameters (e.g. `model.parameters`); the map's order is the update order
   * @param backend the backend whose `adamw` kernel runs the update (e.g. `model.backend`)
   */
  constructor(params: ReadonlyMap<string, Var>, backend: Backend, options: AdamWOptions = {}) {
    this.beta1 = checkUnit("beta1", options.beta1 ?? 0.9);
    this.beta2 = checkUnit("beta2", options.beta2 ?? 0.95);
    this.eps = options.eps ?? 1e-8;
    if (typeof this.eps !== "number" || !(this.eps > 0) || !Number.isFinite(this.eps)) throw new RangeError(`eps must be a finite number > 0, got ${String(options.eps)}`);
    this.weightDecay = options.weightDecay ?? 0.01;
    if (typeof this.weightDecay !== "number" || !(this.weightDecay >= 0) || !Number.isFinite(this.weightDecay)) {
      throw new RangeError(`weightDecay must be a finite number >= 0, got ${String(options.weightDecay)}`);
    }
    this.decayEmbeddings = options.decayEmbeddings ?? false;
    this.decayNorms = options.decayNorms ?? false;
    if (typeof this.decayEmbeddings !== "boolean") throw new TypeError(`decayEmbeddings must be true or false, got ${String(options.decayEmbeddings)}`);
    if (typeof this.decayNorms !== "boolean") throw new TypeError(`decayNorms must be true or false, got ${String(options.decayNorms)}`);
    this.backend = backend;
    for (const [name, param] of params) {
      const n = param.value.size;
      const group = paramGroup(name, param.shape, params);
      this.slots.push({ name, param, m: allocFloat32(backend, n), v: allocFloat32(backend, n), group, weightDecay: this.decayOf(group) });
    }
  }

  private decayOf(group: ParamGroup): number {
    switch (group) {
      case "decay":
        return this.weightDecay;
      case "embedding":
        return this.decayEmbeddings ? this.weightDecay : 0;
      case "norm":
        return this.decayNorms ? this.weightDecay : 0;
      case "bias":
        return 0;
    }
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.t;
  }

  /** The weight decay applied to parameter `name`. */
  weightDecayOf(name: string): number {
    const s = this.slots.find((x) => x.name === name);
    if (s === undefined) throw new RangeError(`no parameter named ${name} in this optimizer`);
    return s.weightDecay;
  }

  /** Parameter names per weight-decay group (for logging and tests). */
  groups(): Record<ParamGroup, string[]> {
    const out: Record<ParamGroup, string[]> = { decay: [], norm: [], bias: [], embedding: [] };
    for (const s of this.slots) out[s.group].push(s.name);
    return out;
  }

  /**
   * Apply one AdamW update with learning rate `lr` using the parameters' current gradients.
   * Check gradients for NaN/Inf (see grad-clip.ts) BEFORE calling: this method trusts them.
   * @throws RangeError if lr is not a finite number >= 0 (nothing is modified)
   */
  update(lr: number): void {
    if (typeof lr !== "number" || !(lr >= 0) || !Number.isFinite(lr)) throw new RangeError(`lr must be a finite number >= 0, got ${String(lr)}`);
    const t = this.t + 1;
    for (const s of this.slots) {
      const p = s.param;
      this.backend.adamw(p.data, p.grad, s.m, s.v, p.value.size, {
        lr,
        beta1: this.beta1,
        beta2: this.beta2,
        eps: this.eps,
        weightDecay: s.weightDecay,
        t,
      });
    }
    this.t = t;
  }

  /** Copies of the moments (`m.<name>`, `v.<name>`) and the step count. */
  exportState(): AdamWState {
    const tensors = new Map<string, Float32Array>();
    for (const s of this.slots) {
      tensors.set(`m.${s.name}`, s.m.slice());
      tensors.set(`v.${s.name}`, s.v.slice());
    }
    return { step: this.t, tensors };
  }

  /**
   * Restore a state from `exportState()` (or a checkpoint). Every parameter needs both moments
   * with the right size; extra names are rejected. Nothing is modified if validation fails.
   */
  importState(state: AdamWState): void {
    assertIntegerInRange("optimizer state step", state.step, 0);
    const problems: string[] = [];
    const expected = new Set<string>();
    for (const s of this.slots) {
      for (const k of ["m", "v"]) {
        const key = `${k}.${s.name}`;
        expected.add(key);
        const a = state.tensors.get(key);
        if (a === undefined) problems.push(`missing ${key}`);
        else if (!(a instanceof Float32Array) || a.length !== s.param.value.size) {
          problems.push(`${key} must be a Float32Array of ${s.param.value.size} values, got ${a instanceof Float32Array ? a.length : typeof a}`);
        }
      }
    }
    for (const key of state.tensors.keys()) if (!expected.has(key)) problems.push(`unknown tensor ${key}`);
    if (problems.length > 0) throw new RangeError(`optimizer state does not match the model's parameters:\n  ${problems.join("\n  ")}`);
    for (const s of this.slots) {
      s.m.set(state.tensors.get(`m.${s.name}`)!);
      s.v.set(state.tensors.get(`v.${s.name}`)!);
    }
    this.t = state.step;
  }
}
