// The weights of a model folder, opened lazily: every tensor's name, dtype and shape from the
// files' headers, and a way to read one tensor into a Float32Array, tensor by tensor. The folder
// is a ModelFiles (model-files.ts), so this is the same code on disk (Node: weights.ts) and in a
// browser (dropped or fetched files).
//
// A folder holds its weights in one of these (transformers' order of preference):
//   model.safetensors | weights.safetensors | model.safetensors.index.json + shards
//   pytorch_model.bin | pytorch_model.bin.index.json + shards
// Contract:
// - Safetensors beat .bin (a hub repo often holds both: the same weights in two formats). Two
//   candidates of the same kind (e.g. model.safetensors and weights.safetensors) are ambiguous
//   and refused. A sharded index's shard names must be plain files of the folder; a tensor may
//   appear in exactly one shard, which must be the one the index names, and every shard tensor
//   must be in the index.
// - The file kind is decided by content (safetensors length prefix vs zip/pickle magic), not by name.
// - Every problem is a CheckpointError (or SafetensorsError) naming the file and tensor.

import type { ByteReader } from "./byte-reader.js";
import { CheckpointError } from "./errors.js";
import { checkJsonBounds, JsonBoundsError } from "./json-bounds.js";
import { readModelText, type ModelFiles } from "./model-files.js";
import { isFloatDType, readFloatsInto, readSafetensorsIndex, readSafetensorsTensor, type StoredTensor, type TensorData } from "./safetensors-format.js";
import { looksLikeTorchFile, readTorchFloatsInto, readTorchIndex, readTorchTensor } from "./torch-bin.js";
import type { InflateRaw } from "./zip.js";

/** One tensor of a weight source. */
export interface WeightTensor {
  /** The name as stored (prefixes not stripped). */
  name: string;
  /** Element type as stored ("F32", "F16", "BF16", "I64", ...). */
  dtype: string;
  shape: number[];
  /** The file that holds it. */
  file: string;
  /** Reads a float tensor into `target` (length = element count), widening F16/BF16/F64. */
  readFloats(target: Float32Array): void;
  /** Reads the tensor whole (for conversion). */
  read(): StoredTensor;
}

export interface WeightSource {
  /** The weight files in use (one, or the shards). */
  files: string[];
  /** Tensors in file order. */
  tensors: Map<string, WeightTensor>;
  /** A line for the user, e.g. that pytorch_model.bin was ignored in favour of model.safetensors. */
  note?: string;
  close(): void;
}

const SAFETENSORS_CANDIDATES = ["model.safetensors", "weights.safetensors", "model.safetensors.index.json"];
const BIN_CANDIDATES = ["pytorch_model.bin", "pytorch_model.bin.index.json"];
/** Every file name that holds (or indexes) weights, for "no weights here" messages. */
export const WEIGHT_FILE_NAMES = [...SAFETENSORS_CANDIDATES, ...BIN_CANDIDATES];

/** Bounds of a shard index: {metadata: {...}, weight_map: {name: file}}. */
const INDEX_LIMITS = { maxDepth: 3, maxKeys: [16, 1 << 20], maxArrayLength: 0 };
const MAX_INDEX_BYTES = 64 << 20;

/** The weight file of a folder (a name in `files`), by the rules above. */
export function findModelWeights(files: ModelFiles): { kind: "safetensors" | "bin"; name: string; note?: string } {
  const dir = files.location;
  const present = (names: string[]) => names.filter((n) => files.has(n));
  const st = present(SAFETENSORS_CANDIDATES);
  const bin = present(BIN_CANDIDATES);
  if (st.length > 1) throw new CheckpointError(`${dir} holds ${st.join(" and ")}: ambiguous, keep one`);
  if (st.length === 1) {
    const note = bin.length > 0 ? `${bin.join(", ")} ignored: ${st[0]} holds the same model and is preferred (as in transformers)` : undefined;
    return { kind: "safetensors", name: st[0]!, ...(note !== undefined ? { note } : {}) };
  }
  if (bin.length > 1) throw new CheckpointError(`${dir} holds ${bin.join(" and ")}: ambiguous, keep one`);
  if (bin.length === 1) return { kind: "bin", name: bin[0]! };
  throw new CheckpointError(`no weights in ${dir} (looked for ${WEIGHT_FILE_NAMES.join(", ")})`);
}

/** Opens the weights of a folder (headers only). */
export function openModelWeights(files: ModelFiles): WeightSource {
  const found = findModelWeights(files);
  const source = found.name.endsWith(".index.json") ? openShardedModelWeights(files, found.name) : openModelWeightFile(files, found.name);
  if (found.note !== undefined) source.note = found.note;
  return source;
}

/** Opens one weight file of a folder, safetensors or torch.save, by its content. */
export function openModelWeightFile(files: ModelFiles, name: string): WeightSource {
  return openWeightReader(files.open(name), files.label(name), files.inflateRaw);
}

/** Opens weights from a reader (which the source then owns and closes), safetensors or torch.save by content. */
export function openWeightReader(reader: ByteReader, file: string, inflateRaw?: InflateRaw): WeightSource {
  try {
    const head = new Uint8Array(Math.min(8, reader.size));
    reader.readInto(0, head);
    const tensors = looksLikeTorchFile(head) ? torchTensors(reader, file, inflateRaw) : safetensorsTensors(reader, file);
    return { files: [file], tensors, close: () => reader.close() };
  } catch (e) {
    reader.close();
    throw e;
  }
}

function safetensorsTensors(reader: ByteReader, file: string): Map<string, WeightTensor> {
  const index = readSafetensorsIndex(reader, file);
  const out = new Map<string, WeightTensor>();
  for (const [name, e] of index.entries) {
    out.set(name, {
      name,
      dtype: e.dtype,
      shape: e.shape,
      file,
      readFloats: (target) => {
        if (!isFloatDType(e.dtype)) throw new CheckpointError(`${file}: tensor ${JSON.stringify(name)} is ${e.dtype}, not a float tensor`);
        readFloatsInto(reader, e.begin, e.dtype, target.length, target);
      },
      read: () => readSafetensorsTensor(reader, e),
    });
  }
  return out;
}

function torchTensors(reader: ByteReader, file: string, inflateRaw: InflateRaw | undefined): Map<string, WeightTensor> {
  const ckpt = readTorchIndex(reader, { file, ...(inflateRaw !== undefined ? { inflateRaw } : {}) });
  const out = new Map<string, WeightTensor>();
  for (const [name, t] of ckpt.tensors) {
    out.set(name, {
      name,
      dtype: t.dtype,
      shape: t.shape,
      file,
      readFloats: (target) => readTorchFloatsInto(ckpt, t, target),
      read: () => {
        const r = readTorchTensor(ckpt, t);
        return toStored(r.dtype, r.shape, r.data);
      },
    });
  }
  return out;
}

/** A torch tensor as a safetensors-style StoredTensor (floats as F32; small ints as I32). */
function toStored(dtype: string, shape: number[], data: TensorData): StoredTensor {
  if (data instanceof Float32Array) return { dtype: "F32", shape, data };
  if (data instanceof BigInt64Array) return { dtype: "I64", shape, data };
  if (data instanceof Int32Array) return { dtype: "I32", shape, data };
  return dtype === "BOOL" ? { dtype: "U8", shape, data, sourceDtype: "BOOL" } : { dtype: "U8", shape, data };
}

/** A sharded folder: `*.index.json` naming the shard of every tensor. */
export function openShardedModelWeights(files: ModelFiles, indexName: string): WeightSource {
  const indexFile = files.label(indexName);
  const fail = (m: string): never => {
    throw new CheckpointError(`${indexFile}: ${m}`);
  };
  let text = "";
  try {
    text = readModelText(files, indexName, MAX_INDEX_BYTES);
  } catch (e) {
    fail(`cannot read the shard index: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    checkJsonBounds(text, INDEX_LIMITS);
    raw = JSON.parse(text);
  } catch (e) {
    if (e instanceof JsonBoundsError || e instanceof SyntaxError) fail(`not a valid shard index: ${e.message}`);
    throw e;
  }
  const map = (raw as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) return fail(`"weight_map" must be an object of tensor name -> shard file`);
  const shardOf = new Map<string, string>();
  for (const name of Object.keys(map)) {
    const f = (map as Record<string, unknown>)[name];
    if (typeof f !== "string" || f.length === 0 || /[\\/]/.test(f) || f === "." || f === "..") fail(`shard of ${JSON.stringify(name)} must be a file name in the folder, got ${JSON.stringify(f)}`);
    shardOf.set(name, f as string);
  }
  const shards = [...new Set(shardOf.values())];
  const sources: WeightSource[] = [];
  const tensors = new Map<string, WeightTensor>();
  try {
    for (const shard of shards) {
      if (!files.has(shard)) fail(`shard ${shard} is missing`);
      const s = openModelWeightFile(files, shard);
      sources.push(s);
      for (const [name, t] of s.tensors) {
        if (tensors.has(name)) fail(`tensor ${JSON.stringify(name)} is in two shards (${shardOfFile(tensors.get(name)!.file)} and ${shard}): ambiguous`);
        const want = shardOf.get(name);
        if (want === undefined) fail(`shard ${shard} holds ${JSON.stringify(name)}, which the index does not list`);
        if (want !== shard) fail(`tensor ${JSON.stringify(name)} is in ${shard}, the index says ${want}`);
        tensors.set(name, t);
      }
    }
    for (const name of shardOf.keys()) if (!tensors.has(name)) fail(`tensor ${JSON.stringify(name)} is not in its shard ${shardOf.get(name)}`);
  } catch (e) {
    for (const s of sources) s.close();
    throw e;
  }
  return { files: shards.map((s) => files.label(s)), tensors, close: () => sources.forEach((s) => s.close()) };
}

/** The last component of a file label (a path or URL). */
function shardOfFile(label: string): string {
  return label.slice(Math.max(label.lastIndexOf("/"), label.lastIndexOf("\\")) + 1);
}
