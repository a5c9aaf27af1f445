// The two config.json layouts a Perceiver AR folder may hold, read and written:
//
// - hub layout, as transformers' `save_pretrained` writes krasserm/perceiver-io's models:
//     { "architectures": ["PerceiverCausalLanguageModel"], "is_decoder": true,
//       "model_config": { <CausalSequenceModelConfig fields> },
//       "model_type": "perceiver-ar-causal-language-model", "tokenizer_class": "XLNetTokenizerFast",
//       "torch_dtype": "float32", "transformers_version": "4.28.0" }
// - flat layout (ours, and the reference's plain CausalSequenceModelConfig): the model fields at
//   the top level.
//
// Contract: `parseConfigJson` accepts either; in the hub layout every top-level key other than
// `model_config` is hub metadata: the well-known ones are read, any other is ignored and listed
// in `ignoredKeys` (the loader prints them in one line). A hub `model_type` that is not a Perceiver
// AR model is refused. The model fields go through `makeConfig` (unknown fields, Object.prototype
// names and out-of-range values are ConfigErrors naming the field). `hubConfigJson` writes the hub
// layout that the reference's `from_pretrained` reads.

import { ConfigError, makeConfig, REFERENCE_TRAINING_FIELDS, toReferenceConfig, type PerceiverARConfig } from "./config.js";

/** The reference's model types and the class `from_pretrained` builds for each. */
export const HUB_MODEL_TYPES: Record<string, string> = {
  "perceiver-ar-causal-language-model": "PerceiverCausalLanguageModel",
  "perceiver-ar-symbolic-audio-model": "PerceiverSymbolicAudioModel",
};

export const DEFAULT_HUB_MODEL_TYPE = "perceiver-ar-causal-language-model";

/** Hub metadata read (and written) next to the model fields. */
export interface HubMetadata {
  modelType: string;
  architectures: string[];
  tokenizerClass?: string;
  torchDtype?: string;
  transformersVersion?: string;
}

export interface ParsedConfigJson {
  config: PerceiverARConfig;
  /** Present when the file has the hub layout. */
  hub?: HubMetadata;
  /** Reference-only training fields (dropouts, max_heads_parallel, ...) as given, for writing back. */
  referenceFields: Record<string, unknown>;
  /** Top-level hub keys that were ignored because nothing here uses them. */
  ignoredKeys: string[];
}

/** Hub keys that are read or known to be irrelevant (PretrainedConfig's own bookkeeping). */
const KNOWN_HUB_KEYS = new Set(["model_config", "model_type", "architectures", "tokenizer_class", "torch_dtype", "transformers_version", "is_decoder"]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function optionalString(raw: Record<string, unknown>, key: string): string | undefined {
  if (!Object.hasOwn(raw, key) || raw[key] === null) return undefined;
  const v = raw[key];
  if (typeof v !== "string") throw new ConfigError(`config.json "${key}" must be a string, got ${JSON.stringify(v)?.slice(0, 60)}`);
  return v;
}

/** Reads a parsed config.json (either layout). */
export function parseConfigJson(raw: unknown): ParsedConfigJson {
  if (!isObject(raw)) throw new ConfigError(`config.json must hold a JSON object`);
  if (!Object.hasOwn(raw, "model_config")) {
    const referenceFields: Record<string, unknown> = {};
    for (const k of REFERENCE_TRAINING_FIELDS) if (Object.hasOwn(raw, k)) referenceFields[k] = raw[k];
    return { config: makeConfig(raw), referenceFields, ignoredKeys: [] };
  }
  const model = raw.model_config;
  if (!isObject(model)) throw new ConfigError(`config.json "model_config" must be an object of model fields`);
  const modelType = optionalString(raw, "model_type") ?? DEFAULT_HUB_MODEL_TYPE;
  if (!Object.hasOwn(HUB_MODEL_TYPES, modelType)) {
    throw new ConfigError(`config.json is a "${modelType}" model, not Perceiver AR (model_type must be one of ${Object.keys(HUB_MODEL_TYPES).join(", ")})`);
  }
  const arch = Object.hasOwn(raw, "architectures") ? raw.architectures : undefined;
  if (arch !== undefined && arch !== null && !(Array.isArray(arch) && arch.every((a) => typeof a === "string"))) {
    throw new ConfigError(`config.json "architectures" must be a list of class names`);
  }
  const hub: HubMetadata = { modelType, architectures: (arch as string[] | undefined | null) ?? [HUB_MODEL_TYPES[modelType]!] };
  const tokenizerClass = optionalString(raw, "tokenizer_class");
  if (tokenizerClass !== undefined) hub.tokenizerClass = tokenizerClass;
  const torchDtype = optionalString(raw, "torch_dtype");
  if (torchDtype !== undefined) hub.torchDtype = torchDtype;
  const version = optionalString(raw, "transformers_version");
  if (version !== undefined) hub.transformersVersion = version;
  const referenceFields: Record<string, unknown> = {};
  for (const k of REFERENCE_TRAINING_FIELDS) if (Object.hasOwn(model, k)) referenceFields[k] = model[k];
  const ignoredKeys = Object.keys(raw).filter((k) => !KNOWN_HUB_KEYS.has(k));
  return { config: makeConfig({ model_config: model }), hub, referenceFields, ignoredKeys };
}

/** Reference defaults of the training-only fields, written when a model carries none. */
const REFERENCE_TRAINING_DEFAULTS: Record<string, unknown> = {
  max_heads_parallel: null,
  post_attention_dropout: 0.0,
  residual_dropout: 0.0,
  activation_checkpointing: false,
  activation_offloading: false,
};

export interface HubConfigOptions {
  /** Default "perceiver-ar-causal-language-model" (text); "perceiver-ar-symbolic-audio-model" for music. */
  modelType?: string;
  /** transformers' tokenizer class name (e.g. "XLNetTokenizerFast"), when the folder has a tokenizer. */
  tokenizerClass?: string;
  /** Reference-only training fields to keep (e.g. from the config.json the model was loaded from). */
  referenceFields?: Record<string, unknown>;
}

/**
 * The hub-layout config.json object for `config`, with keys in the order save_pretrained writes
 * them (sorted). `model_config` holds every field of the reference's CausalSequenceModelConfig.
 */
export function hubConfigJson(config: PerceiverARConfig, o: HubConfigOptions = {}): Record<string, unknown> {
  const modelType = o.modelType ?? DEFAULT_HUB_MODEL_TYPE;
  const architecture = HUB_MODEL_TYPES[modelType];
  if (architecture === undefined || !Object.hasOwn(HUB_MODEL_TYPES, modelType)) {
    throw new ConfigError(`modelType must be one of ${Object.keys(HUB_MODEL_TYPES).join(", ")}, got "${modelType}"`);
  }
  const fields: Record<string, unknown> = { ...REFERENCE_TRAINING_DEFAULTS, ...toReferenceConfig(config) };
  for (const [k, v] of Object.entries(o.referenceFields ?? {})) if (Object.hasOwn(REFERENCE_TRAINING_DEFAULTS, k)) fields[k] = v;
  const modelConfig: Record<string, unknown> = {};
  for (const k of Object.keys(fields).sort()) modelConfig[k] = fields[k];
  const out: Record<string, unknown> = { architectures: [architecture], is_decoder: true, model_config: modelConfig, model_type: modelType };
  if (o.tokenizerClass !== undefined) out.tokenizer_class = o.tokenizerClass;
  out.torch_dtype = "float32";
  return out;
}
