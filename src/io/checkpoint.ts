// Reference-compatible model folders: `config.json` (the reference's snake_case fields) plus
// `weights.safetensors` or `model.safetensors` (state dict with the reference's parameter names).
//
// Loading strips a `backend_model.` or `model.` prefix, widens F16/BF16 to F32, and fails with the
// full list of unknown, missing or mis-shaped names. Saving writes the same names, so the reference
// PyTorch code can load what we save. Writes are atomic (temp file + fsync + rename).

import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend } from "../backend/backend.js";
import { makeConfig, toReferenceConfig } from "../models/config.js";
import { INV_FREQ_BUFFER, PerceiverAR } from "../models/perceiver-ar.js";
import { readSafetensorsFile, writeSafetensorsFile, type StoredTensor, type WritableTensor } from "./safetensors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { modelFolderOf } from "../train/run-folder.js";

export const WEIGHT_FILES = ["weights.safetensors", "model.safetensors"];
const PREFIXES = ["backend_model.", "model."];

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** Read a model folder's config.json into a model config object (snake_case accepted). */
export function readConfigFile(dir: string): Record<string, unknown> {
  const file = path.join(dir, "config.json");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CheckpointError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${file} is not a valid config: ${(e as Error).message}`);
  }
}

export function findWeightsFile(dir: string): string {
  for (const f of WEIGHT_FILES) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) return p;
  }
  throw new CheckpointError(`no ${WEIGHT_FILES.join(" or ")} in ${dir}`);
}

/** Load a reference model folder, or the model of a run folder (its best/ or last checkpoint, src/train/run-folder.ts). */
export function loadModel(dir: string, backend: Backend): PerceiverAR {
  dir = modelFolderOf(dir);
  const config = makeConfig(readConfigFile(dir));
  const model = new PerceiverAR(config, backend);
  const { tensors } = readSafetensorsFile(findWeightsFile(dir));
  loadStateDict(model, tensors);
  return model;
}

/** Copy a state dict into the model; names must match exactly (after prefix stripping). */
export function loadStateDict(model: PerceiverAR, tensors: Map<string, StoredTensor>): void {
  const named = new Map<string, StoredTensor>();
  for (const [rawName, t] of tensors) named.set(stripPrefix(rawName), t);
  const problems: string[] = [];
  const unknown = [...named.keys()].filter((n) => !model.parameters.has(n) && !model.store.buffers.has(n));
  const missing = [...model.parameters.keys()].filter((n) => !named.has(n));
  if (unknown.length > 0) problems.push(`unknown parameters: ${unknown.join(", ")}`);
  if (missing.length > 0) problems.push(`missing parameters: ${missing.join(", ")}`);
  for (const [name, v] of model.parameters) {
    const t = named.get(name);
    if (t === undefined) continue;
    if (!(t.data instanceof Float32Array)) problems.push(`${name}: dtype ${t.dtype} is not a float type`);
    else if (t.shape.join(",") !== v.shape.join(",")) problems.push(`${name}: shape [${t.shape.join(", ")}] in file, model expects [${v.shape.join(", ")}]`);
  }
  const inv = named.get(INV_FREQ_BUFFER);
  const invBuf = model.store.buffers.get(INV_FREQ_BUFFER)!;
  if (inv !== undefined && (!(inv.data instanceof Float32Array) || inv.data.length !== invBuf.size)) {
    problems.push(`${INV_FREQ_BUFFER}: expected ${invBuf.size} float values, file has shape [${inv.shape.join(", ")}]`);
  }
  if (problems.length > 0) throw new CheckpointError(`state dict does not match the model config:\n  ${problems.join("\n  ")}`);
  for (const [name, v] of model.parameters) v.data.set(named.get(name)!.data as Float32Array);
  if (inv !== undefined) invBuf.data.set(inv.data as Float32Array);
}

/** The state dict (parameters + buffers) under reference names, as safetensors-writable tensors. */
export function stateDict(model: PerceiverAR): Map<string, WritableTensor> {
  const out = new Map<string, WritableTensor>();
  for (const [name, v] of model.parameters) out.set(name, { shape: [...v.shape], data: v.data });
  for (const [name, t] of model.store.buffers) out.set(name, { shape: [...t.shape], data: t.data });
  return out;
}

/** Save a reference-compatible folder: config.json + weights.safetensors (atomic writes). */
export function saveModel(model: PerceiverAR, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, "config.json"), JSON.stringify(toReferenceConfig(model.config), null, 2) + "\n");
  writeSafetensorsFile(path.join(dir, "weights.safetensors"), stateDict(model), { format: "pt" });
}

function stripPrefix(name: string): string {
  for (const p of PREFIXES) if (name.startsWith(p)) return name.slice(p.length);
  return name;
}
