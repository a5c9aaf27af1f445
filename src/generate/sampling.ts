// Next-token selection from one row of logits: greedy (argmax), or sampling with temperature,
// top-k and top-p (nucleus) filtering, driven by a caller-supplied uniform [0, 1) source so that
// the same seed gives the same tokens.
//
// Contract:
// - `greedy: true` picks the argmax (the lowest index among ties) and ignores the other options.
// - Otherwise the filters apply in the order temperature -> top-k -> top-p (as Hugging Face's
//   generate does): logits / temperature; keep the topK largest (ties broken by lower index);
//   then keep the smallest set of the most probable tokens whose probability mass is >= topP
//   (at least one token); renormalise and draw one token with one call to `random()`.
// - Options are validated (`validateSamplingOptions`) with RangeErrors naming the field and its
//   allowed range: temperature finite and > 0, topK an integer >= 1 (values above the vocabulary
//   size keep everything), topP in (0, 1]. NaN logits are an error; -Infinity logits are never picked.

export interface SamplingOptions {
  /** Pick the most likely token (argmax); no randomness. Default false. */
  greedy?: boolean;
  /** Softmax temperature, > 0. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens, integer >= 1. Default: no limit. */
  topK?: number;
  /** Keep the smallest most-likely set with probability mass >= topP, in (0, 1]. Default 1. */
  topP?: number;
}

/** The filtered distribution sampling draws from: token ids, most likely first, and their probabilities. */
export interface CandidateDistribution {
  ids: Int32Array;
  /** Renormalised probabilities (sum 1), aligned with `ids`, non-increasing. */
  probs: Float64Array;
}

export function validateSamplingOptions(o: SamplingOptions): void {
  if (typeof o !== "object" || o === null) throw new TypeError(`sampling options must be an object, got ${String(o)}`);
  if (o.greedy !== undefined && typeof o.greedy !== "boolean") throw new TypeError(`greedy must be true or false, got ${JSON.stringify(o.greedy)}`);
  const t = o.temperature;
  if (t !== undefined && (typeof t !== "number" || !Number.isFinite(t) || !(t > 0))) {
    throw new RangeError(`temperature must be a finite number > 0, got ${String(t)} (use greedy: true for argmax decoding)`);
  }
  const k = o.topK;
  if (k !== undefined && (typeof k !== "number" || !Number.isInteger(k) || k < 1)) {
    throw new RangeError(`topK must be an integer >= 1, got ${String(k)}`);
  }
  const p = o.topP;
  if (p !== undefined && (typeof p !== "number" || !(p > 0 && p <= 1))) {
    throw new RangeError(`topP must be in (0, 1], got ${String(p)}`);
  }
}

/** Index of the largest logit (lowest index among ties). logits (V). */
export function argmax(logits: ArrayLike<number>): number {
  if (logits.length === 0) throw new RangeError("logits must not be empty");
  let best = 0;
  let bestValue = logits[0];
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (Number.isNaN(x)) throw new RangeError(`logits[${i}] is NaN`);
    if (x > bestValue) {
      best = i;
      bestValue = x;
    }
  }
  return best;
}

/** The distribution after temperature, top-k and top-p (options must be valid; `greedy` is ignored). logits (V). */
export function candidateDistribution(logits: ArrayLike<number>, o: SamplingOptions = {}): CandidateDistribution {
  const V = logits.length;
  if (V === 0) throw new RangeError("logits must not be empty");
  const temperature = o.temperature ?? 1;
  // Sort the finite-or-+inf candidates by logit, descending; ties by index.
  const order: number[] = [];
  for (let i = 0; i < V; i++) {
    const x = logits[i];
    if (Number.isNaN(x)) throw new RangeError(`logits[${i}] is NaN`);
    if (x !== -Infinity) order.push(i);
  }
  if (order.length === 0) throw new RangeError("every logit is -Infinity: no token can be sampled");
  order.sort((a, b) => logits[b] - logits[a] || a - b);
  const k = Math.min(o.topK ?? order.length, order.length);
  const top = logits[order[0]];
  // Softmax over the k survivors (in float64, max-subtracted; +Infinity logits share the mass).
  const probs = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const x = logits[order[i]];
    const e = top === Infinity ? (x === Infinity ? 1 : 0) : Math.exp((x - top) / temperature);
    probs[i] = e;
    sum += e;
  }
  // Nucleus: the shortest most-likely prefix whose mass reaches topP (compared with a tiny slack
  // so that topP = 1 keeps everything despite rounding).
  let keep = k;
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let mass = 0;
    for (let i = 0; i < k; i++) {
      mass += probs[i] / sum;
      if (mass >= topP - 1e-12) {
        keep = i + 1;
        break;
      }
    }
  }
  let kept = 0;
  for (let i = 0; i < keep; i++) kept += probs[i];
  const ids = new Int32Array(keep);
  const out = new Float64Array(keep);
  for (let i = 0; i < keep; i++) {
    ids[i] = order[i];
    out[i] = probs[i] / kept;
  }
  return { ids, probs: out };
}

/** Choose the next token from a logits row (V) with one draw from `random` (unless greedy). */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, random: () => number): number {
  validateSamplingOptions(o);
  if (o.greedy) return argmax(logits);
  const { ids, probs } = candidateDistribution(logits, o);
  const u = random();
  if (!(u >= 0 && u < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${u}`);
  let c = 0;
  for (let i = 0; i < ids.length; i++) {
    c += probs[i];
    if (u < c) return ids[i];
  }
  return ids[ids.length - 1]; // rounding: u within float error of 1
}
