// Memory planning: estimates of peak memory for training and generation of a PerceiverAR config,
// counted from what this engine keeps alive (every op output of a forward pass stays on the tape
// for the backward, and each gets a gradient buffer of the same size during the backward).
//
// Per prefix token kept in the cross-attention: embedding, position embedding, their sum, the
// gathered row, its LayerNorm, the concatenated kv row, k, v, rotated k (9·C floats), rotary
// tables (4·r), each doubled for gradients. Per latent: ~20·C for the cross-attention block and
// MLP and ~21·C per self-attention layer (4·C-wide MLP hidden states included), doubled for
// gradients, plus logits and their gradient (2·V). Parameters cost 16 bytes each in training
// (value, gradient, two AdamW moments).

import { ConfigError, type PerceiverARConfig } from "./config.js";
import { rotatedChannelsPerHead } from "./config.js";

export interface MemoryEstimate {
  parameters: number;
  /** Bytes of parameters, gradients and optimizer state. */
  parameterBytes: number;
  /** Bytes of activations kept for the backward pass (training) or live in one forward (generation). */
  activationBytes: number;
  /** Fixed overhead: Node.js runtime, code, buffers. */
  runtimeBytes: number;
  totalBytes: number;
}

const RUNTIME_BYTES = 120 * 2 ** 20;

export function countParameters(c: PerceiverARConfig): number {
  const C = c.numChannels;
  let n = c.vocabSize * C + (c.absPosEmb ? c.maxSeqLen * C : 0);
  n += 4 * C + 4 * C * C + C + 2 * C + 2 * c.crossAttentionWideningFactor * C * C; // cross-attention layer
  n += c.numSelfAttentionLayers * (2 * C + 4 * C * C + 2 * C + 2 * c.selfAttentionWideningFactor * C * C);
  if (c.outputNorm) n += 2 * C;
  if (c.outputBias) n += c.vocabSize;
  return n;
}

export interface EstimateOptions {
  batchSize?: number;
  /** Context length N (default max_seq_len). */
  seqLen?: number;
  /** Latents M (default max_latents). */
  numLatents?: number;
  /** Apply cross-attention dropout to the prefix (training default true). */
  prefixDropout?: boolean;
}

export function estimateTrainingMemory(c: PerceiverARConfig, o: EstimateOptions = {}): MemoryEstimate {
  const B = o.batchSize ?? 1;
  const N = o.seqLen ?? c.maxSeqLen;
  const M = Math.min(o.numLatents ?? c.maxLatents, N);
  const P = N - M;
  const keep = o.prefixDropout === false ? P : P - Math.floor(P * c.crossAttentionDropout);
  const C = c.numChannels;
  const r = rotatedChannelsPerHead(c);
  const perPrefix = 2 * (9 * C + 4 * r) * 4;
  const perPrefixAll = (3 * C + 2 * r) * 4 * 2; // embeddings of dropped prefix rows still exist
  const perLatent = 2 * (20 * C + c.numSelfAttentionLayers * 21 * C + 2 * c.vocabSize) * 4;
  const params = countParameters(c);
  const parameterBytes = 16 * params;
  const activationBytes = B * (keep * perPrefix + (P - keep) * perPrefixAll + M * perLatent);
  return { parameters: params, parameterBytes, activationBytes, runtimeBytes: RUNTIME_BYTES, totalBytes: parameterBytes + activationBytes + RUNTIME_BYTES };
}

export function estimateGenerationMemory(c: PerceiverARConfig, o: EstimateOptions = {}): MemoryEstimate {
  const B = o.batchSize ?? 1;
  const N = o.seqLen ?? c.maxSeqLen;
  const M = Math.min(o.numLatents ?? c.maxLatents, N);
  const C = c.numChannels;
  const r = rotatedChannelsPerHead(c);
  const params = countParameters(c);
  const parameterBytes = 4 * params;
  // KV cache for the prefix (k, v) and per-layer latent K/V, plus one forward's live activations.
  const activationBytes = B * 4 * (N * (2 * C + 4 * r + 4 * C) + M * (c.numSelfAttentionLayers * 2 * C + 20 * C + c.vocabSize));
  return { parameters: params, parameterBytes, activationBytes, runtimeBytes: RUNTIME_BYTES, totalBytes: parameterBytes + activationBytes + RUNTIME_BYTES };
}

/** Largest context N (multiple of 1024, >= max_latents) whose training estimate fits in `budgetBytes`. */
export function largestTrainableContext(c: PerceiverARConfig, budgetBytes: number, o: EstimateOptions = {}): number {
  let best = 0;
  for (let N = Math.max(1024, c.maxLatents); N <= 1 << 24; N += 1024) {
    const e = estimateTrainingMemory({ ...c, maxSeqLen: N }, { ...o, seqLen: N });
    if (e.totalBytes > budgetBytes) break;
    best = N;
  }
  return best;
}

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(n >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Bytes of one float32 parameter held for inference (no gradient, no optimizer state). */
const INFERENCE_BYTES_PER_PARAMETER = 4;

/**
 * The terms of the parameter count, each with the config fields that size it, largest first: the
 * field of the largest term is the one to name when a config cannot fit.
 */
export function parameterBreakdown(c: PerceiverARConfig): { what: string; fields: string; count: number }[] {
  const C = c.numChannels;
  const selfLayer = 2 * C + 4 * C * C + 2 * C + 2 * c.selfAttentionWideningFactor * C * C;
  const terms = [
    { what: "token embedding", fields: `vocab_size = ${c.vocabSize} x num_channels = ${C}`, count: c.vocabSize * C },
    { what: "position embedding", fields: `max_seq_len = ${c.maxSeqLen} x num_channels = ${C}`, count: c.absPosEmb ? c.maxSeqLen * C : 0 },
    {
      what: "cross-attention layer",
      fields: `num_channels = ${C} (${4 + 2 * c.crossAttentionWideningFactor}·C² with cross_attention_widening_factor = ${c.crossAttentionWideningFactor})`,
      count: 4 * C + 4 * C * C + C + 2 * C + 2 * c.crossAttentionWideningFactor * C * C,
    },
    {
      what: "self-attention layers",
      fields: `num_self_attention_layers = ${c.numSelfAttentionLayers} x ${4 + 2 * c.selfAttentionWideningFactor}·num_channels² (num_channels = ${C}, self_attention_widening_factor = ${c.selfAttentionWideningFactor})`,
      count: c.numSelfAttentionLayers * selfLayer,
    },
  ];
  return terms.filter((t) => t.count > 0).sort((a, b) => b.count - a.count);
}

/**
 * Refuses (ConfigError) a config whose float32 parameters alone exceed `budgetBytes` (the
 * machine's memory), before anything is allocated: the message names the field that sizes the
 * largest part, the estimate and the budget.
 */
export function assertModelFits(c: PerceiverARConfig, budgetBytes: number, what = "this machine's memory"): void {
  const params = countParameters(c);
  const bytes = params * INFERENCE_BYTES_PER_PARAMETER + RUNTIME_BYTES;
  if (bytes <= budgetBytes) return;
  const top = parameterBreakdown(c)[0]!;
  throw new ConfigError(
    `model config does not fit: ${params.toLocaleString("en-US")} parameters need ~${formatBytes(bytes)} as float32, more than ${what} (${formatBytes(budgetBytes)}); ` +
      `the largest part is the ${top.what} (${top.count.toLocaleString("en-US")} parameters from ${top.fields})`,
  );
}
