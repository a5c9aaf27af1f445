// Gradient norm, clipping by global norm, and the non-finite guard of a training step.
//
// Contract:
// - `globalGradNorm` is the L2 norm of all gradients taken together, accumulated in float64 in
//   the parameters' iteration order (deterministic). A parameter whose gradient buffer was never
//   allocated counts as zeros.
// - `assertFiniteLoss` / `assertFiniteGradients` throw a `NonFiniteError` naming the quantity (and
//   for gradients the first offending parameter and element). They only read.
// - `clipGradNorm(params, maxNorm)` computes the norm, THEN checks it is finite (throwing before
//   any buffer is touched), then, when norm > maxNorm, scales every gradient by
//   maxNorm / (norm + 1e-6) (PyTorch's `clip_grad_norm_` formula). It returns the pre-clip norm.
//   maxNorm = Infinity disables the scaling but keeps the finiteness check.
// The trainer calls these before the optimizer, so a NaN/Inf loss or gradient stops the step with
// the weights and optimizer moments exactly as they were.

import type { Var } from "../autograd.js";

/** Named parameters as the model exposes them (`model.parameters`). */
export type NamedParameters = ReadonlyMap<string, Var>;

/** A loss or gradient norm that is NaN or ±Infinity; thrown before any weight is updated. */
export class NonFiniteError extends Error {
  override name = "NonFiniteError";
  /** Which quantity was not finite. */
  readonly quantity: "loss" | "gradient";
  /** The optimizer step (1-based) that was refused, when known. */
  readonly step: number | undefined;

  constructor(quantity: "loss" | "gradient", message: string, step?: number) {
    super(message);
    this.quantity = quantity;
    this.step = step;
  }
}

/** L2 norm over all gradients (float64 accumulation, deterministic order). */
export function globalGradNorm(params: NamedParameters): number {
  let sum = 0;
  for (const v of params.values()) {
    if (!v.hasGrad) continue;
    const g = v.grad;
    for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  }
  return Math.sqrt(sum);
}

/** The first parameter element whose gradient is NaN or infinite, or null. */
export function findNonFiniteGradient(params: NamedParameters): { name: string; index: number; value: number } | null {
  for (const [name, v] of params) {
    if (!v.hasGrad) continue;
    const g = v.grad;
    for (let i = 0; i < g.length; i++) if (!Number.isFinite(g[i])) return { name, index: i, value: g[i] };
  }
  return null;
}

const stepText = (step?: number): string => (step === undefined ? "" : ` at step ${step}`);

/** Throws NonFiniteError if `loss` is NaN or infinite. */
export function assertFiniteLoss(loss: number, step?: number): void {
  if (!Number.isFinite(loss)) {
    throw new NonFiniteError(
      "loss",
      `training loss is ${loss}${stepText(step)}; the update was skipped and the weights are unchanged (lower lr, enable clipNorm, or resume from the last checkpoint)`,
      step,
    );
  }
}

/** Throws NonFiniteError if `norm` (the global gradient norm) is not finite, naming the first bad gradient. */
export function assertFiniteGradients(params: NamedParameters, norm: number, step?: number): void {
  if (Number.isFinite(norm)) return;
  const bad = findNonFiniteGradient(params);
  const where = bad === null ? "(overflow in the norm)" : `(first: ${bad.name}[${bad.index}] = ${bad.value})`;
  throw new NonFiniteError(
    "gradient",
    `gradient norm is ${norm}${stepText(step)} ${where}; the update was skipped and the weights are unchanged`,
    step,
  );
}

/**
 * Clip all gradients together to global L2 norm `maxNorm` and return the norm before clipping.
 * @param maxNorm > 0; Infinity disables clipping (the finiteness check still runs)
 * @throws NonFiniteError if the norm is NaN/Infinity (no gradient is modified)
 * @throws RangeError if maxNorm is not > 0
 */
export function clipGradNorm(params: NamedParameters, maxNorm: number, step?: number): number {
  if (typeof maxNorm !== "number" || !(maxNorm > 0)) throw new RangeError(`maxNorm (clipNorm) must be > 0 (Infinity disables clipping), got ${String(maxNorm)}`);
  const norm = globalGradNorm(params);
  assertFiniteGradients(params, norm, step);
  if (norm > maxNorm) scaleGradients(params, maxNorm / (norm + 1e-6));
  return norm;
}

/** Multiply every allocated gradient by `factor` (rounded to float32 on store). */
export function scaleGradients(params: NamedParameters, factor: number): void {
  if (factor === 1) return;
  for (const v of params.values()) {
    if (!v.hasGrad) continue;
    const g = v.grad;
    for (let i = 0; i < g.length; i++) g[i] *= factor;
  }
}
