// Teacher-forced scoring of a generation schedule: the log-loss of each token of a text under the
// logits that generation with that schedule would have produced for it — the quality cost of a
// schedule (the reset schedule's earlier tokens see fewer latents than the exact schedule's).
//
// Contract: `scheduleLogLoss(model, tokens, { promptLength, ...schedule options })` treats
// tokens[0, promptLength) as the prompt and scores every later token t with the last-position logits
// of its schedule step s = t - promptLength (schedule.ts: window tokens[windowStart, t), prefixLen),
// as `generate` would compute them when the tokens before t had been generated. Returns the natural
// log-loss of each scored token, in order. Steps that share their window start and first latent are
// one forward pass (a causal latent's output does not depend on later tokens), as flaxformer's
// score_batch strides: one pass per token for the exact schedule once the latents are full, one per
// M - R + 1 tokens for the reset schedule.

import type { PerceiverAR } from "../models/perceiver-ar.js";
import { defaultNumLatents, effectiveConfig, generationSchedule, type ScheduleChoice, type ScheduleStep } from "./schedule.js";

export interface ScheduleScoreOptions extends ScheduleChoice {
  /** Tokens taken as the prompt, an integer in [1, tokens.length - 1]. */
  promptLength: number;
  /** As GenerateOptions.numLatents (default: the schedule's default for the prompt). */
  numLatents?: number;
  /** As GenerateOptions.maxLatents. */
  maxLatents?: number;
}

/** Natural log-loss of tokens[promptLength..] under the schedule's logits (one value per scored token). */
export function scheduleLogLoss(model: PerceiverAR, tokens: ArrayLike<number>, o: ScheduleScoreOptions): Float64Array {
  const L0 = o.promptLength;
  if (!Number.isInteger(L0) || L0 < 1 || L0 >= tokens.length) throw new RangeError(`promptLength must be an integer in [1, ${tokens.length - 1}] (tokens.length - 1), got ${L0}`);
  const view = effectiveConfig(model.config, o.maxLatents ?? model.config.maxLatents, "maxLatents");
  const choice: ScheduleChoice = { ...(o.schedule !== undefined ? { schedule: o.schedule } : {}), ...(o.resetFill !== undefined ? { resetFill: o.resetFill } : {}) };
  const steps = [...generationSchedule(view, L0, o.numLatents ?? defaultNumLatents(view, L0, choice), tokens.length - L0, choice)];
  const V = model.config.vocabSize;
  const out = new Float64Array(steps.length);
  let g = 0;
  while (g < steps.length) {
    // The run of steps with this window start and first latent: one forward on the longest window.
    const first = steps[g];
    const latentStart = first.windowStart + first.prefixLen;
    let last = g;
    while (last + 1 < steps.length && sameLatents(steps[last + 1], first.windowStart, latentStart)) last++;
    const end = steps[last].streamLength; // the window is tokens[windowStart, end)
    const window = Array.from({ length: end - first.windowStart }, (_, i) => tokens[first.windowStart + i]);
    const logits = model.forward([window], { prefixLen: first.prefixLen }).data; // (1, end - latentStart, V)
    for (let s = g; s <= last; s++) {
      const row = steps[s].streamLength - 1 - latentStart; // the latent at the step's last position
      out[s] = negLogSoftmax(logits.subarray(row * V, (row + 1) * V), tokens[steps[s].streamLength]);
    }
    g = last + 1;
  }
  return out;
}

function sameLatents(st: ScheduleStep, windowStart: number, latentStart: number): boolean {
  return st.windowStart === windowStart && st.windowStart + st.prefixLen === latentStart;
}

/** -log softmax(logits)[label], in float64. logits (V). */
function negLogSoftmax(logits: Float32Array, label: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum) - logits[label];
}
