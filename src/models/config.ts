// PerceiverARConfig: the model's hyper-parameters, with the reference's (krasserm/perceiver-io)
// defaults, conversion from/to its snake_case `config.json`, and validation whose errors name the
// field and the allowed range.

import { assertIntegerInRange } from "../util/integer-range.js";

export interface PerceiverARConfig {
  vocabSize: number;
  maxSeqLen: number;
  maxLatents: number;
  numChannels: number;
  numHeads: number;
  numSelfAttentionLayers: number;
  /** Self-attention layers (from the first) that use rotary embeddings; -1 = all. */
  numSelfAttentionRotaryLayers: number;
  selfAttentionWideningFactor: number;
  crossAttentionWideningFactor: number;
  /** Fraction of prefix positions dropped from the cross-attention in training. */
  crossAttentionDropout: number;
  /** Learned absolute position embedding (and rotary on half of each head's channels). */
  absPosEmb: boolean;
  outputNorm: boolean;
  outputBias: boolean;
  initScale: number;
}

export const DEFAULT_CONFIG: PerceiverARConfig = {
  vocabSize: 262,
  maxSeqLen: 4096,
  maxLatents: 512,
  numChannels: 512,
  numHeads: 8,
  numSelfAttentionLayers: 8,
  numSelfAttentionRotaryLayers: 1,
  selfAttentionWideningFactor: 4,
  crossAttentionWideningFactor: 4,
  crossAttentionDropout: 0.5,
  absPosEmb: true,
  outputNorm: false,
  outputBias: true,
  initScale: 0.02,
};

/** camelCase field -> the reference's snake_case name. */
export const SNAKE: Record<keyof PerceiverARConfig, string> = {
  vocabSize: "vocab_size",
  maxSeqLen: "max_seq_len",
  maxLatents: "max_latents",
  numChannels: "num_channels",
  numHeads: "num_heads",
  numSelfAttentionLayers: "num_self_attention_layers",
  numSelfAttentionRotaryLayers: "num_self_attention_rotary_layers",
  selfAttentionWideningFactor: "self_attention_widening_factor",
  crossAttentionWideningFactor: "cross_attention_widening_factor",
  crossAttentionDropout: "cross_attention_dropout",
  absPosEmb: "abs_pos_emb",
  outputNorm: "output_norm",
  outputBias: "output_bias",
  initScale: "init_scale",
};

/**
 * Reference model fields we accept and ignore: training-time or PyTorch-only settings of
 * krasserm/perceiver-io's CausalSequenceModelConfig that do not change the function computed.
 */
export const REFERENCE_TRAINING_FIELDS: readonly string[] = [
  "max_heads_parallel",
  "post_attention_dropout",
  "residual_dropout",
  "activation_checkpointing",
  "activation_offloading",
];

/** Keys older flat config.json files of ours and the reference's scripts carry; accepted and ignored. */
const IGNORED_FLAT_KEYS = new Set([
  ...REFERENCE_TRAINING_FIELDS,
  "validation_sample_prompt",
  "validation_sample_record",
  "params",
  "model_type",
  "architectures",
  "torch_dtype",
  "transformers_version",
  "is_decoder",
  "num_latents",
]);

const SNAKE_TO_CAMEL = new Map(Object.entries(SNAKE).map(([camel, snake]) => [snake, camel as keyof PerceiverARConfig]));
const CAMEL_FIELDS = new Set(Object.keys(SNAKE));

/**
 * Build a config from a partial one, accepting camelCase or the reference's snake_case keys.
 * A Hugging Face `config.json` (model fields nested under `model_config`) is unwrapped: its other
 * top-level keys are hub metadata and are ignored here (see config-file.ts, which reports them).
 * Unknown model keys are errors, and so are keys that name Object.prototype members
 * (`constructor`, `__proto__`, ...): they must never pass for, or overwrite, a field.
 */
export function makeConfig(input: Record<string, unknown> = {}): PerceiverARConfig {
  if (!isObject(input)) throw new ConfigError(`a model config must be a JSON object, got ${describeValue(input)}`);
  const nested = Object.hasOwn(input, "model_config") ? input.model_config : undefined;
  if (nested !== undefined && !isObject(nested)) {
    throw new ConfigError(`model_config must be an object of model fields, got ${describeValue(nested)}`);
  }
  const source = nested ?? input;
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const unknown: string[] = [];
  const seen = new Map<keyof PerceiverARConfig, string>();
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (key === "model_config" || value === undefined) continue;
    const camel = CAMEL_FIELDS.has(key) ? (key as keyof PerceiverARConfig) : SNAKE_TO_CAMEL.get(key);
    if (camel !== undefined) {
      const other = seen.get(camel);
      if (other !== undefined) throw new ConfigError(`config field ${SNAKE[camel]} is given twice (as "${other}" and "${key}"); keep one`);
      seen.set(camel, key);
      out[camel] = value;
    } else if (nested !== undefined ? !REFERENCE_TRAINING_FIELDS.includes(key) : !IGNORED_FLAT_KEYS.has(key)) {
      unknown.push(key);
    }
  }
  if (unknown.length > 0) {
    throw new ConfigError(`unknown config field(s): ${unknown.join(", ")}; known: ${Object.values(SNAKE).join(", ")}`);
  }
  const config = out as unknown as PerceiverARConfig;
  validateConfig(config);
  return config;
}

/** The config as the reference's snake_case JSON object. */
export function toReferenceConfig(c: PerceiverARConfig): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const [camel, snake] of Object.entries(SNAKE)) out[snake] = c[camel as keyof PerceiverARConfig];
  return out;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

function intField(c: PerceiverARConfig, f: keyof PerceiverARConfig, min: number, max = Number.MAX_SAFE_INTEGER): void {
  assertIntegerInRange(`${f} (${SNAKE[f]})`, c[f], min, max, ConfigError);
}

function boolField(c: PerceiverARConfig, f: keyof PerceiverARConfig): void {
  if (typeof c[f] !== "boolean") throw new ConfigError(`${f} (${SNAKE[f]}) must be true or false, got ${describeValue(c[f])}`);
}

/**
 * Upper bounds of every dimension. They are far above any published model and only keep a
 * corrupt or hostile config.json from describing an absurd model; whether a model within them
 * fits this machine is decided by memory.ts (`assertModelFits`) before anything is allocated.
 */
export const CONFIG_LIMITS = {
  /** Token ids are exact integers in float32 up to 2^24; real vocabularies are <= 256k. */
  vocabSize: 1 << 24,
  /** Positions and token indices are int32; 2^30 leaves room for batch x context products. */
  maxSeqLen: 1 << 30,
  /** Width of the largest dense transformers (~16k) with headroom. */
  numChannels: 1 << 15,
  /** Attention heads; each head needs at least 2 channels for rotary. */
  numHeads: 1 << 12,
  /** The deepest published transformers have ~128 layers. */
  numSelfAttentionLayers: 1 << 10,
  /** MLP widening factors; 4 is the reference default. */
  wideningFactor: 64,
} as const;

export function validateConfig(c: PerceiverARConfig): void {
  intField(c, "vocabSize", 1, CONFIG_LIMITS.vocabSize);
  intField(c, "maxSeqLen", 1, CONFIG_LIMITS.maxSeqLen);
  intField(c, "maxLatents", 1, c.maxSeqLen);
  intField(c, "numChannels", 1, CONFIG_LIMITS.numChannels);
  intField(c, "numHeads", 1, Math.min(c.numChannels, CONFIG_LIMITS.numHeads));
  if (c.numChannels % c.numHeads !== 0) {
    throw new ConfigError(`numHeads (num_heads) = ${c.numHeads} must divide numChannels (num_channels) = ${c.numChannels}`);
  }
  const headDim = c.numChannels / c.numHeads;
  const rot = c.absPosEmb ? Math.floor(headDim / 2) : headDim;
  if (rot % 2 !== 0) {
    throw new ConfigError(
      `rotary needs an even number of rotated channels per head: num_channels / num_heads${c.absPosEmb ? " / 2" : ""} = ${rot}; choose num_channels and num_heads so it is even`,
    );
  }
  intField(c, "numSelfAttentionLayers", 0, CONFIG_LIMITS.numSelfAttentionLayers);
  intField(c, "numSelfAttentionRotaryLayers", -1, c.numSelfAttentionLayers);
  intField(c, "selfAttentionWideningFactor", 1, CONFIG_LIMITS.wideningFactor);
  intField(c, "crossAttentionWideningFactor", 1, CONFIG_LIMITS.wideningFactor);
  const p = c.crossAttentionDropout;
  if (typeof p !== "number" || !(p >= 0 && p < 1)) {
    throw new ConfigError(`crossAttentionDropout (cross_attention_dropout) must be in [0, 1), got ${describeValue(p)}`);
  }
  boolField(c, "absPosEmb");
  boolField(c, "outputNorm");
  boolField(c, "outputBias");
  if (typeof c.initScale !== "number" || !(c.initScale > 0 && Number.isFinite(c.initScale))) {
    throw new ConfigError(`initScale (init_scale) must be a positive number, got ${describeValue(c.initScale)}`);
  }
}

/** Channels per head that carry rotary embeddings: half of each head with abs_pos_emb, else all. */
export function rotatedChannelsPerHead(c: PerceiverARConfig): number {
  const headDim = c.numChannels / c.numHeads;
  return c.absPosEmb ? Math.floor(headDim / 2) : headDim;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A short rendering of a config value for error messages. */
function describeValue(v: unknown): string {
  let s: string;
  try {
    s = v === undefined ? "undefined" : JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
