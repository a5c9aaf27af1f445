// PerceiverARConfig: the model's hyper-parameters, with the reference's (krasserm/perceiver-io)
// defaults, conversion from/to its snake_case `config.json`, and validation whose errors name the
// field and the allowed range.

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
const SNAKE: Record<keyof PerceiverARConfig, string> = {
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

/** Reference fields we accept and ignore (training-time or PyTorch-only settings). */
const IGNORED_REFERENCE_FIELDS = new Set([
  "max_heads_parallel",
  "post_attention_dropout",
  "residual_dropout",
  "activation_checkpointing",
  "activation_offloading",
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

/**
 * Build a config from a partial one, accepting camelCase or the reference's snake_case keys
 * (a `model_config` sub-object, as in Hugging Face exports, is unwrapped). Unknown keys are errors.
 */
export function makeConfig(input: Record<string, unknown> = {}): PerceiverARConfig {
  const source = isObject(input.model_config) ? { ...input, ...input.model_config } : input;
  const fromSnake = new Map(Object.entries(SNAKE).map(([camel, snake]) => [snake, camel as keyof PerceiverARConfig]));
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(source)) {
    if (key === "model_config" || value === undefined) continue;
    const camel = key in SNAKE ? (key as keyof PerceiverARConfig) : fromSnake.get(key);
    if (camel !== undefined) out[camel] = value;
    else if (!IGNORED_REFERENCE_FIELDS.has(key)) unknown.push(key);
  }
  if (unknown.length > 0) {
    throw new ConfigError(`unknown config field(s): ${unknown.join(", ")}; known: ${Object.keys(SNAKE).join(", ")}`);
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
  const v = c[f];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${f} (${SNAKE[f]}) must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
}

function boolField(c: PerceiverARConfig, f: keyof PerceiverARConfig): void {
  if (typeof c[f] !== "boolean") throw new ConfigError(`${f} (${SNAKE[f]}) must be true or false, got ${JSON.stringify(c[f])}`);
}

export function validateConfig(c: PerceiverARConfig): void {
  intField(c, "vocabSize", 1);
  intField(c, "maxSeqLen", 1);
  intField(c, "maxLatents", 1, c.maxSeqLen);
  intField(c, "numChannels", 1);
  intField(c, "numHeads", 1, c.numChannels);
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
  intField(c, "numSelfAttentionLayers", 0);
  intField(c, "numSelfAttentionRotaryLayers", -1, c.numSelfAttentionLayers);
  intField(c, "selfAttentionWideningFactor", 1);
  intField(c, "crossAttentionWideningFactor", 1);
  const p = c.crossAttentionDropout;
  if (typeof p !== "number" || !(p >= 0 && p < 1)) {
    throw new ConfigError(`crossAttentionDropout (cross_attention_dropout) must be in [0, 1), got ${JSON.stringify(p)}`);
  }
  boolField(c, "absPosEmb");
  boolField(c, "outputNorm");
  boolField(c, "outputBias");
  if (typeof c.initScale !== "number" || !(c.initScale > 0 && Number.isFinite(c.initScale))) {
    throw new ConfigError(`initScale (init_scale) must be a positive number, got ${JSON.stringify(c.initScale)}`);
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
