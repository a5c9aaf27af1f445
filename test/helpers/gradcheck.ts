// Finite-difference gradient checking for autograd ops.
//
// For an op y = f(x1..xk) we take the scalar L = Σ y ⊙ R with a fixed random R, backpropagate R
// through the recorded graph, and compare every input's gradient with central differences
// (L(x + εe) - L(x - εe)) / 2ε, evaluated without recording. Inputs are float32, so ε is 1e-2 and
// the tolerance is relative to the largest gradient magnitude of each input.

import { Graph, Var } from "../../src/autograd.js";
import type { Backend } from "../../src/backend/backend.js";
import { Tensor } from "../../src/tensor.js";

export type OpBuilder = (g: Graph, inputs: Var[]) => Var;

/** Deterministic normal(0, 1)-ish values from a seed (sum of uniforms). */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (u() + u() + u() + u() - 2) * Math.sqrt(3) * scale;
  return out;
}

export interface GradCheckResult {
  /** Per input: max |analytic - numeric| / max(1e-3, max |numeric|). */
  errors: number[];
}

export function gradCheck(backend: Backend, build: OpBuilder, inputs: Tensor[], seed = 7, eps = 1e-2): GradCheckResult {
  const vars = inputs.map((t) => new Var(t.clone(), true));
  const g = new Graph(backend, true);
  const y = build(g, vars);
  const R = randn(y.value.size, seed);
  y.grad.set(R);
  g.backward(y, false);

  const lossAt = (): number => {
    const g2 = new Graph(backend, false);
    const out = build(g2, vars.map((v) => new Var(v.value, false)));
    let s = 0;
    for (let i = 0; i < R.length; i++) s += out.data[i] * R[i];
    return s;
  };
  const errors = vars.map((v) => {
    const numeric = new Float64Array(v.value.size);
    const x = v.value.data;
    for (let i = 0; i < x.length; i++) {
      const orig = x[i];
      x[i] = orig + eps;
      const up = lossAt();
      x[i] = orig - eps;
      const down = lossAt();
      x[i] = orig;
      numeric[i] = (up - down) / (2 * eps);
    }
    let scale = 1e-3;
    let err = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(numeric[i]));
      err = Math.max(err, Math.abs(numeric[i] - v.grad[i]));
    }
    return err / scale;
  });
  return { errors };
}
