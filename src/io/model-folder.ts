// A model folder, loaded and built, on any platform: a config.json (ours, flat; or the hub layout
// transformers' save_pretrained writes) beside the weights (model-weights.ts lists the files
// accepted), read through ModelFiles (model-files.ts: a folder on disk, dropped files, fetched URLs),
// and the files a saved folder holds. checkpoint.ts (Node) reads and writes folders on disk with
// these; the browser entry loads dropped or fetched files and saves to Blobs with them.
//
// Loading contract (`loadModelFiles`):
// 1. the config is validated and its memory estimate compared with the memory budget before
//    anything is allocated (assertModelFits: refusals name the field, the estimate and the budget);
// 2. the weights' headers are opened (no data read) and compared with the config: a config with
//    more parameters than the file holds values is refused at once (nothing is allocated for it);
// 3. the model is built with each parameter read from the file into its own buffer, tensor by
//    tensor (no random initialisation, no whole-file buffer, no 2 GiB limit; F16/BF16 widened);
// 4. names are the reference's, optionally prefixed `backend_model.` or `model.`; a name present
//    both with and without a prefix, unknown or missing names, wrong shapes or dtypes, and NaN/Inf
//    values are refused with the full list of problems, naming the tensors.
// `tokenizer.json` beside the weights is the model's tokenizer (`tokenizerFile`).
//
// Saving contract (`modelFolderContents`): format "ours" (default) is config.json +
// weights.safetensors (the names the reference's CausalSequenceModel loads); format "hf" is the
// hub layout the reference's `from_pretrained` loads: hub config.json, model.safetensors with the
// `backend_model.` prefix and metadata {"format": "pt"} (checkpoint.ts adds the tokenizer files).

import type { Backend } from "../backend/backend.js";
import { parseConfigJson, hubConfigJson, type HubConfigOptions, type ParsedConfigJson } from "../models/config-file.js";
import { toReferenceConfig } from "../models/config.js";
import { assertModelFits, countParameters } from "../models/memory.js";
import { PerceiverAR } from "../models/perceiver-ar.js";
import { INV_FREQ_BUFFER } from "../nn/parameter-names.js";
import type { StoredTensor, WritableTensor } from "./safetensors-format.js";
import { CheckpointError } from "./errors.js";
import { checkJsonBounds } from "./json-bounds.js";
import { readModelText, type ModelFiles } from "./model-files.js";
import { openModelWeights, type WeightSource, type WeightTensor } from "./model-weights.js";

/** Name prefixes of the reference's wrappers: the hub model (`backend_model.`) and Lightning (`model.`). */
export const NAME_PREFIXES = ["backend_model.", "model."];
/** Our own weight file name (format "ours"); the hub's is model.safetensors. */
export const OUR_WEIGHTS_FILE = "weights.safetensors";
export const HUB_WEIGHTS_FILE = "model.safetensors";
/** Files copied with a model in format "hf" when they sit beside its config (tokenizer files). */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "spiece.model"];
/** Largest config.json read (a real one is ~1 KB). */
const MAX_CONFIG_BYTES = 1 << 20;
/** Structure of a config.json: a hub config nests 2 levels; anything far deeper or wider is not a config. */
const CONFIG_JSON_LIMITS = { maxDepth: 16, maxKeys: [4096], maxArrayLength: 4096 };
/** At most this many problems are listed in one error. */
const MAX_LISTED_PROBLEMS = 20;

/** A model folder's config.json as JSON (either layout; see config-file.ts). */
export function readModelConfig(files: ModelFiles): Record<string, unknown> {
  const file = files.label("config.json");
  let text: string;
  try {
    text = readModelText(files, "config.json", MAX_CONFIG_BYTES);
  } catch (e) {
    throw new CheckpointError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    checkJsonBounds(text, CONFIG_JSON_LIMITS); // duplicate keys (JSON.parse keeps the last) are ambiguous
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${file} is not a valid config: ${(e as Error).message}`);
  }
}

export interface LoadOptions {
  /** Memory the model may use, in bytes (Node default: the machine's total memory; browser: BROWSER_MEMORY_BUDGET). */
  memoryBudget?: number;
  /** Where notes go (ignored config keys, ignored duplicate weight files). Default console.warn. */
  log?: (line: string) => void;
}

export interface LoadedModel {
  model: PerceiverAR;
  dir: string;
  /** The config.json as read: config, hub metadata, reference-only fields, ignored keys. */
  configJson: ParsedConfigJson;
  /** The weight file(s) used. */
  weightFiles: string[];
  /** `tokenizer.json` beside the weights, when present: the model's tokenizer. */
  tokenizerFile?: string;
}

/** Load a model from its folder's files (ours or a hub folder), with what else it holds; `memoryBudget` is required here (each platform has its default). */
export function loadModelFiles(files: ModelFiles, backend: Backend, options: LoadOptions & { memoryBudget: number }): LoadedModel {
  const log = options.log ?? ((line: string) => console.warn(line));
  const configJson = parseConfigJson(readModelConfig(files));
  if (configJson.ignoredKeys.length > 0) log(`${files.label("config.json")}: ignoring hub keys not used here: ${configJson.ignoredKeys.join(", ")}`);
  const config = configJson.config;
  assertModelFits(config, options.memoryBudget);
  const weights = openModelWeights(files);
  try {
    if (weights.note !== undefined) log(`${files.location}: ${weights.note}`);
    const model = buildFromWeights(config, backend, weights, files.location);
    const tokenizer = "tokenizer.json";
    return { model, dir: files.location, configJson, weightFiles: weights.files, ...(files.has(tokenizer) ? { tokenizerFile: files.label(tokenizer) } : {}) };
  } finally {
    weights.close();
  }
}

/** Strips one known prefix; refuses a name that appears both with and without it. */
function byReferenceName(tensors: Map<string, WeightTensor>, where: string): Map<string, WeightTensor> {
  const named = new Map<string, WeightTensor>();
  const problems: string[] = [];
  for (const [raw, t] of tensors) {
    const prefix = NAME_PREFIXES.find((p) => raw.startsWith(p));
    const name = prefix === undefined ? raw : raw.slice(prefix.length);
    const other = named.get(name);
    if (other !== undefined) problems.push(`${JSON.stringify(other.name)} and ${JSON.stringify(raw)} both name ${name}`);
    else named.set(name, t);
  }
  if (problems.length > 0) throw new CheckpointError(`${where}: ambiguous weights, refusing:\n  ${listProblems(problems)}`);
  return named;
}

function listProblems(problems: string[]): string {
  const shown = problems.slice(0, MAX_LISTED_PROBLEMS);
  if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
  return shown.join("\n  ");
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Index of the first NaN or infinity, or -1. */
function firstNonFinite(a: Float32Array): number {
  // Fast pass: x * 0 is NaN exactly for NaN and ±Inf, and NaN propagates through the sums; four
  // independent accumulators keep the loop branch-free (~2x faster than testing each element).
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n4 = a.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    s0 += a[i]! * 0;
    s1 += a[i + 1]! * 0;
    s2 += a[i + 2]! * 0;
    s3 += a[i + 3]! * 0;
  }
  for (let i = n4; i < a.length; i++) s0 += a[i]! * 0;
  if (s0 + s1 + s2 + s3 === 0) return -1;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    if (x - x !== 0) return i; // NaN - NaN and Inf - Inf are NaN
  }
  return -1;
}

function buildFromWeights(config: PerceiverAR["config"], backend: Backend, weights: WeightSource, location: string): PerceiverAR {
  const where = weights.files.length === 1 ? weights.files[0]! : `${location} (${weights.files.length} shards)`;
  const named = byReferenceName(weights.tensors, where);
  // Compare sizes before allocating anything: a config describing far more than the file holds
  // (e.g. num_channels edited up) would otherwise allocate it all before the names are compared.
  let fileFloats = 0;
  for (const [name, t] of named) if (name !== INV_FREQ_BUFFER) fileFloats += elements(t.shape);
  const expected = countParameters(config);
  if (expected > fileFloats) {
    throw new CheckpointError(
      `${where}: config.json describes ${expected.toLocaleString("en-US")} parameters but the weights hold only ${fileFloats.toLocaleString("en-US")} values: the config does not belong to these weights`,
    );
  }
  const problems: string[] = [];
  const used = new Set<string>();
  const read = (name: string, t: WeightTensor, shape: readonly number[]): Float32Array | undefined => {
    if (t.shape.join(",") !== shape.join(",")) {
      problems.push(`${name}: shape [${t.shape.join(", ")}] in ${baseName(t.file)}, the config needs [${shape.join(", ")}]`);
      return undefined;
    }
    if (!["F32", "F16", "BF16", "F64"].includes(t.dtype)) {
      problems.push(`${name}: dtype ${t.dtype} is not a float type`);
      return undefined;
    }
    const data = new Float32Array(elements(shape));
    t.readFloats(data);
    const bad = firstNonFinite(data);
    if (bad >= 0) {
      problems.push(`${name}: element ${bad} is ${data[bad]} (NaN/Inf weights)`);
      return undefined;
    }
    return data;
  };
  const model = new PerceiverAR(config, backend, {
    weights: (name, shape) => {
      used.add(name);
      const t = named.get(name);
      if (t === undefined) {
        problems.push(`${name}: missing`);
        return undefined;
      }
      return read(name, t, shape);
    },
  });
  const inv = named.get(INV_FREQ_BUFFER);
  if (inv !== undefined) {
    used.add(INV_FREQ_BUFFER);
    const buf = model.store.buffers.get(INV_FREQ_BUFFER)!;
    const data = read(INV_FREQ_BUFFER, inv, buf.shape);
    if (data !== undefined) buf.data.set(data);
  }
  const unknown = [...named.keys()].filter((n) => !used.has(n));
  for (const n of unknown) problems.push(`${n}: not a parameter of this config`);
  if (problems.length > 0) throw new CheckpointError(`${where}: weights do not match the model config:\n  ${listProblems(problems)}`);
  return model;
}

/** Copy a state dict into the model; names must match exactly (after prefix stripping). */
export function loadStateDict(model: PerceiverAR, tensors: Map<string, StoredTensor>): void {
  const named = new Map<string, StoredTensor>();
  const problems: string[] = [];
  for (const [raw, t] of tensors) {
    const prefix = NAME_PREFIXES.find((p) => raw.startsWith(p));
    const name = prefix === undefined ? raw : raw.slice(prefix.length);
    if (named.has(name)) problems.push(`two tensors name ${name} (one with a prefix): ambiguous`);
    named.set(name, t);
  }
  const unknown = [...named.keys()].filter((n) => !model.parameters.has(n) && !model.store.buffers.has(n));
  const missing = [...model.parameters.keys()].filter((n) => !named.has(n));
  if (unknown.length > 0) problems.push(`unknown parameters: ${unknown.join(", ")}`);
  if (missing.length > 0) problems.push(`missing parameters: ${missing.join(", ")}`);
  for (const [name, v] of [...model.parameters, ...model.store.buffers]) {
    const t = named.get(name);
    if (t === undefined) continue;
    const shape = "shape" in v ? v.shape : [];
    if (!(t.data instanceof Float32Array)) problems.push(`${name}: dtype ${t.dtype} is not a float type`);
    else if (t.shape.join(",") !== shape.join(",")) problems.push(`${name}: shape [${t.shape.join(", ")}] in file, model expects [${shape.join(", ")}]`);
    else if (firstNonFinite(t.data) >= 0) problems.push(`${name}: holds NaN/Inf values`);
  }
  if (problems.length > 0) throw new CheckpointError(`state dict does not match the model config:\n  ${listProblems(problems)}`);
  for (const [name, v] of model.parameters) v.data.set(named.get(name)!.data as Float32Array);
  const inv = named.get(INV_FREQ_BUFFER);
  if (inv !== undefined) model.store.buffers.get(INV_FREQ_BUFFER)!.data.set(inv.data as Float32Array);
}

/** The state dict (parameters + buffers) under reference names, as safetensors-writable tensors. */
export function stateDict(model: PerceiverAR, prefix = ""): Map<string, WritableTensor> {
  const out = new Map<string, WritableTensor>();
  for (const [name, v] of model.parameters) out.set(prefix + name, { shape: [...v.shape], data: v.data });
  for (const [name, t] of model.store.buffers) out.set(prefix + name, { shape: [...t.shape], data: t.data });
  return out;
}

/** The last component of a file label (a path or a URL). */
function baseName(label: string): string {
  return label.slice(Math.max(label.lastIndexOf("/"), label.lastIndexOf("\\")) + 1);
}

export interface SaveOptions extends HubConfigOptions {
  /** "ours" (default): config.json + weights.safetensors; "hf": the hub layout (see the header). */
  format?: "ours" | "hf";
  /** "hf": tokenizer files to copy into the folder (e.g. a source folder's tokenizer.json; Node only). */
  tokenizerFiles?: string[];
}

/** What a saved folder holds: the config.json text and the weight file's name and tensors. */
export interface ModelFolderContents {
  configJson: string;
  weightsFile: string;
  /** The weight file that must not sit beside `weightsFile` (the other format's): the folder would be ambiguous. */
  otherWeightsFile: string;
  tensors: Map<string, WritableTensor>;
  metadata: Record<string, string>;
}

/** The files of a saved model folder in `format` (see the header); write them with serializeSafetensors. */
export function modelFolderContents(model: PerceiverAR, options: SaveOptions = {}): ModelFolderContents {
  const format = options.format ?? "ours";
  if (format !== "ours" && format !== "hf") throw new CheckpointError(`format must be "ours" or "hf", got ${JSON.stringify(format)}`);
  const metadata = { format: "pt" };
  if (format === "ours") {
    return { configJson: JSON.stringify(toReferenceConfig(model.config), null, 2) + "\n", weightsFile: OUR_WEIGHTS_FILE, otherWeightsFile: HUB_WEIGHTS_FILE, tensors: stateDict(model), metadata };
  }
  return { configJson: JSON.stringify(hubConfigJson(model.config, options), null, 2) + "\n", weightsFile: HUB_WEIGHTS_FILE, otherWeightsFile: OUR_WEIGHTS_FILE, tensors: stateDict(model, "backend_model."), metadata };
}
