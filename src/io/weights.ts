// The weights of a model folder, opened lazily: every tensor's name, dtype and shape from the
// files' headers, and a way to read one tensor into a Float32Array, tensor by tensor.
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

import * as fs from "node:fs";
import * as path from "node:path";
import type { ByteReader } from "./byte-reader.js";
import { CheckpointError } from "./errors.js";
import { openFileReader } from "./file-reader.js";
import { checkJsonBounds, JsonBoundsError } from "./json-bounds.js";
import { nodeInflateRaw } from "./node-inflate.js";
import { isFloatDType, readFloatsInto, readSafetensorsIndex, readSafetensorsTensor, type StoredTensor, type TensorData } from "./safetensors.js";
import { looksLikeTorchFile, readTorchFloatsInto, readTorchIndex, readTorchTensor } from "./torch-bin.js";

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

/** The weight file(s) of a folder, by the rules above. */
export function findWeightFiles(dir: string): { kind: "safetensors" | "bin"; file: string; note?: string } {
  const present = (names: string[]) => names.filter((n) => fs.existsSync(path.join(dir, n)));
  const st = present(SAFETENSORS_CANDIDATES);
  const bin = present(BIN_CANDIDATES);
  if (st.length > 1) throw new CheckpointError(`${dir} holds ${st.join(" and ")}: ambiguous, keep one`);
  if (st.length === 1) {
    const note = bin.length > 0 ? `${bin.join(", ")} ignored: ${st[0]} holds the same model and is preferred (as in transformers)` : undefined;
    return { kind: "safetensors", file: path.join(dir, st[0]!), ...(note !== undefined ? { note } : {}) };
  }
  if (bin.length > 1) throw new CheckpointError(`${dir} holds ${bin.join(" and ")}: ambiguous, keep one`);
  if (bin.length === 1) return { kind: "bin", file: path.join(dir, bin[0]!) };
  throw new CheckpointError(`no weights in ${dir} (looked for ${WEIGHT_FILE_NAMES.join(", ")})`);
}

/** Opens the weights of a folder (headers only). */
export function openFolderWeights(dir: string): WeightSource {
  const found = findWeightFiles(dir);
  const source = found.file.endsWith(".index.json") ? openShardedWeights(found.file) : openWeightFile(found.file);
  if (found.note !== undefined) source.note = found.note;
  return source;
}

/** Opens one weight file, safetensors or torch.save, by its content. */
export function openWeightFile(file: string): WeightSource {
  const reader = openFileReader(file);
  try {
    const head = new Uint8Array(Math.min(8, reader.size));
    reader.readInto(0, head);
    const tensors = looksLikeTorchFile(head) ? torchTensors(reader, file) : safetensorsTensors(reader, file);
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

function torchTensors(reader: ByteReader, file: string): Map<string, WeightTensor> {
  const ckpt = readTorchIndex(reader, { file, inflateRaw: nodeInflateRaw });
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
export function openShardedWeights(indexFile: string): WeightSource {
  const dir = path.dirname(indexFile);
  const fail = (m: string): never => {
    throw new CheckpointError(`${indexFile}: ${m}`);
  };
  const stat = fs.statSync(indexFile);
  if (stat.size > MAX_INDEX_BYTES) fail(`${stat.size} bytes is too large for a shard index`);
  const text = fs.readFileSync(indexFile, "utf8");
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
    if (typeof f !== "string" || f.length === 0 || f !== path.basename(f) || f === "." || f === "..") fail(`shard of ${JSON.stringify(name)} must be a file name in the folder, got ${JSON.stringify(f)}`);
    shardOf.set(name, f as string);
  }
  const shards = [...new Set(shardOf.values())];
  const sources: WeightSource[] = [];
  const tensors = new Map<string, WeightTensor>();
  try {
    for (const shard of shards) {
      const file = path.join(dir, shard);
      if (!fs.existsSync(file)) fail(`shard ${shard} is missing`);
      const s = openWeightFile(file);
      sources.push(s);
      for (const [name, t] of s.tensors) {
        if (tensors.has(name)) fail(`tensor ${JSON.stringify(name)} is in two shards (${path.basename(tensors.get(name)!.file)} and ${shard}): ambiguous`);
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
  return { files: shards.map((s) => path.join(dir, s)), tensors, close: () => sources.forEach((s) => s.close()) };
}
