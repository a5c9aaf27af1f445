// Validation before timing (llm.c's `validate_result` before `benchmark_kernel`): a benchmark that
// prints a speed first checks that what it times computes the right thing, and refuses to print a
// speed when it does not.
//
// - Tolerances are the golden vectors' (/work/shared/golden/README.md): logits and loss within 1e-4
//   (absolute or relative, whichever is larger), every gradient within 1e-3 of its tensor's largest
//   magnitude; cached generation logits within 1e-4 of a full forward (the cache tests').
// - `captureStep` runs one training step's forward + backward (gradients zeroed first) and copies the
//   loss, optional logits and every parameter gradient; `compareSteps` compares two captures.
// - `checkAgainstReference` builds the same model (same seed) on the benchmark's backend and on the
//   reference backend and compares their first step.
// - `requireValid` / `requireClose` throw a ValidationError ("... refusing to print a speed").

import type { Var } from "../src/autograd.js";
import type { Backend } from "../src/backend/backend.js";
import { referenceBackend } from "../src/backend/reference/index.js";

export const TOLERANCE = {
  /** Logits and loss: max |got - want| / max(1, |want|). */
  logits: 1e-4,
  loss: 1e-4,
  /** Gradients: max |got - want| / max |want| of each tensor. */
  grad: 1e-3,
  /** KV-cached vs full-forward last-position logits: max |got - want| (test/generate-cache.test.ts). */
  cache: 1e-4,
} as const;

export class ValidationError extends Error {
  override name = "ValidationError";
}

/** max over i of |got_i - want_i| / max(1, |want_i|): "absolute or relative, whichever is larger". */
export function maxAbsOrRelError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  return Number.isNaN(e) ? Infinity : e;
}

/** max |got_i - want_i| (Infinity on a length mismatch or NaN). */
export function maxAbsDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let d = 0;
  for (let i = 0; i < want.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
  return Number.isNaN(d) ? Infinity : d;
}

/** max |got - want| / max |want| (the gradient tolerance's measure); 0 when both are all zero. */
export function maxErrorOfTensorMax(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  if (Number.isNaN(diff)) return Infinity;
  return diff === 0 ? 0 : diff / Math.max(scale, 1e-30);
}

/** The outputs of one training step's forward + backward. */
export interface StepOutput {
  loss: number;
  /** Logits of the step's positions, when the caller has them. */
  logits?: Float32Array;
  /** Gradient of every parameter, by name. */
  grads: Map<string, Float32Array>;
}

export interface StepCheck {
  ok: boolean;
  lossError: number;
  /** null when one side has no logits. */
  logitsError: number | null;
  gradError: number;
  worstParameter: string | null;
  /** Parameters present on one side only. */
  missing: string[];
}

/** Zero the gradients, run `step` (forward + backward), and copy its loss, logits and gradients. */
export function captureStep(parameters: ReadonlyMap<string, Var>, step: () => { loss: number; logits?: Float32Array }): StepOutput {
  for (const p of parameters.values()) p.grad.fill(0);
  const { loss, logits } = step();
  const grads = new Map<string, Float32Array>();
  for (const [name, p] of parameters) grads.set(name, p.grad.slice());
  return { loss, logits: logits?.slice(), grads };
}

/** Compare `got` with `want` under TOLERANCE. */
export function compareSteps(got: StepOutput, want: StepOutput): StepCheck {
  const lossError = maxAbsOrRelError([got.loss], [want.loss]);
  const logitsError = got.logits && want.logits ? maxAbsOrRelError(got.logits, want.logits) : null;
  let gradError = 0;
  let worstParameter: string | null = null;
  const missing = [...want.grads.keys()].filter((n) => !got.grads.has(n)).concat([...got.grads.keys()].filter((n) => !want.grads.has(n)));
  for (const [name, w] of want.grads) {
    const g = got.grads.get(name);
    if (g === undefined) continue;
    const e = maxErrorOfTensorMax(g, w);
    if (worstParameter === null || e > gradError) {
      gradError = e;
      worstParameter = name;
    }
  }
  const ok = lossError <= TOLERANCE.loss && (logitsError === null || logitsError <= TOLERANCE.logits) && gradError <= TOLERANCE.grad && missing.length === 0;
  return { ok, lossError, logitsError, gradError, worstParameter, missing };
}

/** A model built on a backend, ready for one checked step. */
export interface CheckedModel {
  parameters: ReadonlyMap<string, Var>;
  /** Forward + backward of one step (gradients already zeroed); its loss and, if cheap, logits. */
  step: () => { loss: number; logits?: Float32Array };
}

/**
 * Builds the model twice with `build` (which must be deterministic: same seed, same data), on
 * `backend` and on the reference backend, and compares one step. With the reference backend
 * itself there is nothing to compare: returns null.
 */
export function checkAgainstReference(backend: Backend, build: (b: Backend) => CheckedModel): StepCheck | null {
  if (backend.name === referenceBackend.name) return null;
  const run = (b: Backend): StepOutput => {
    const m = build(b);
    return captureStep(m.parameters, m.step);
  };
  return compareSteps(run(backend), run(referenceBackend));
}

/** One line: "loss 1.2e-7, logits 3.0e-7, gradients 2.1e-5 (worst x.weight)". */
export function describeCheck(c: StepCheck): string {
  const e = (x: number): string => x.toExponential(1);
  let s = `loss ${e(c.lossError)}, ${c.logitsError === null ? "" : `logits ${e(c.logitsError)}, `}gradients ${e(c.gradError)}${c.worstParameter ? ` (worst ${c.worstParameter})` : ""}`;
  if (c.missing.length > 0) s += `; parameters on one side only: ${c.missing.join(", ")}`;
  return s;
}

/** Throws a ValidationError naming `what` unless `c` is ok (a null check, against itself, passes). */
export function requireValid(c: StepCheck | null, what: string): void {
  if (c === null || c.ok) return;
  throw new ValidationError(
    `${what} disagrees beyond tolerance (loss/logits ${TOLERANCE.loss}, gradients ${TOLERANCE.grad}): ${describeCheck(c)}; refusing to print a speed`,
  );
}

/** Throws a ValidationError naming `what` unless error <= tolerance. */
export function requireClose(error: number, tolerance: number, what: string): void {
  if (error <= tolerance) return;
  throw new ValidationError(`${what}: error ${error.toExponential(2)} exceeds ${tolerance}; refusing to print a speed`);
}
