// fromPretrained(id | URL | folder): a model as transformers.js offers it, for Node.
//
// Contract:
// - A path that exists on disk is a local folder and is loaded as it is (loadPretrained).
// - Anything else is a hub id or URL (model-ref.ts): config.json is downloaded, then the first
//   weight file the repo has, in transformers' order (model.safetensors, model.safetensors.index.json,
//   weights.safetensors, pytorch_model.bin, pytorch_model.bin.index.json; an index brings its
//   shards), then the tokenizer files that exist; everything through the HubCache (default: the
//   huggingface_hub cache folder), with resume, size/hash checks and progress (download.ts).
// - `resolveModelFolder` does the download part only and returns the snapshot folder, which is a
//   model folder like any other (the CLI uses it, then loads as usual). `{ configOnly: true }`
//   fetches config.json alone (for `info`).

import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadPretrained, TOKENIZER_FILES, type LoadedModel, type LoadOptions } from "../io/checkpoint.js";
import { CheckpointError } from "../io/errors.js";
import { DiskHubCache } from "./disk-cache.js";
import { downloadHubFile, type HubOptions } from "./download.js";
import { parseModelRef } from "./model-ref.js";

/** Weight files tried in order (the first the repo has is used). */
const HUB_WEIGHT_FILES = ["model.safetensors", "model.safetensors.index.json", "weights.safetensors", "pytorch_model.bin", "pytorch_model.bin.index.json"];

export interface ResolveOptions extends HubOptions {
  /** Only config.json (enough for parameter counts and memory estimates). */
  configOnly?: boolean;
}

/** A local folder holding the model (downloading it first when `ref` is a hub id or URL). */
export async function resolveModelFolder(ref: string, o: ResolveOptions = {}): Promise<string> {
  if (fs.existsSync(ref)) return ref;
  const hub = parseModelRef(ref, o.revision ?? "main");
  const opts: HubOptions = { ...o, ...(hub.endpoint !== undefined && o.endpoint === undefined ? { endpoint: hub.endpoint } : {}) };
  const cache = o.cache ?? new DiskHubCache();
  const get = (file: string, optional: boolean) => downloadHubFile(cache, hub.repo, hub.revision, file, { ...opts, optional });
  const config = await get("config.json", false);
  const dir = path.dirname(config!);
  if (o.configOnly) return dir;
  let weights: string | null = null;
  for (const f of HUB_WEIGHT_FILES) {
    weights = await get(f, true);
    if (weights !== null) break;
  }
  if (weights === null) throw new CheckpointError(`${hub.repo} has no weights (looked for ${HUB_WEIGHT_FILES.join(", ")})`);
  if (weights.endsWith(".index.json")) {
    const index = JSON.parse(fs.readFileSync(weights, "utf8")) as { weight_map?: Record<string, string> };
    const shards = new Set(Object.values(index.weight_map ?? {}));
    for (const shard of shards) {
      if (typeof shard !== "string" || shard !== path.basename(shard)) throw new CheckpointError(`${hub.repo}: shard name ${JSON.stringify(shard)} is not a plain file name`);
      await get(shard, false);
    }
  }
  for (const f of TOKENIZER_FILES) await get(f, true);
  return dir;
}

/** Loads a model from a hub id, URL or folder, with its tokenizer file when it has one. */
export async function fromPretrained(ref: string, backend: Backend, o: ResolveOptions & LoadOptions = {}): Promise<LoadedModel> {
  return loadPretrained(await resolveModelFolder(ref, o), backend, o);
}
