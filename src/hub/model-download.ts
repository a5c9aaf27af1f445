// The files of a model on the hub, downloaded into a HubCache (platform-neutral: Node's
// resolveModelFolder and the browser's fromPretrained both call this).
//
// Contract of `downloadModelFiles(ref, cache, options)`:
// - `ref` is a hub id ("org/name", optional "@revision") or a hub URL (model-ref.ts); a URL's
//   origin is the endpoint unless `options.endpoint` says otherwise.
// - config.json first; its commit then pins every other file (a push to the branch between two
//   files cannot mix revisions; in a browser it is also the only commit an LFS file's redirected
//   response can be placed under). Then the first weight file the repo has, in transformers'
//   order (HUB_WEIGHT_FILES; an index brings its shards), then the tokenizer files that exist.
//   Each through download.ts (cache hits, resume, size/hash checks, progress).
// - Returns the repo, the commit, and every file's location in the cache by name (optional files
//   the repo lacks are absent). `configOnly` stops after config.json.

import { CheckpointError } from "../io/errors.js";
import { TOKENIZER_FILES } from "../io/model-folder.js";
import { downloadHubFile, type HubOptions } from "./download.js";
import type { HubCache } from "./hub-cache.js";
import { parseModelRef } from "./model-ref.js";

/** Weight files tried in order (the first the repo has is used). */
export const HUB_WEIGHT_FILES = ["model.safetensors", "model.safetensors.index.json", "weights.safetensors", "pytorch_model.bin", "pytorch_model.bin.index.json"];

const COMMIT_RE = /^[0-9a-f]{40}$/;

export interface ModelDownloadOptions extends HubOptions {
  /** Only config.json (enough for parameter counts and memory estimates). */
  configOnly?: boolean;
}

/** A model's files in the cache. */
export interface DownloadedModel {
  repo: string;
  /** The commit every file was taken from (null only when the hub sent none and the revision is not a commit). */
  commit: string | null;
  /** Location in the cache (HubCache.read) of every file present, by name. */
  files: Map<string, string>;
}

/** Downloads the model files of `ref` into `cache` (see the file header). */
export async function downloadModelFiles(ref: string, cache: HubCache, o: ModelDownloadOptions = {}): Promise<DownloadedModel> {
  const hub = parseModelRef(ref, o.revision ?? "main");
  const opts: HubOptions = { ...o, ...(hub.endpoint !== undefined && o.endpoint === undefined ? { endpoint: hub.endpoint } : {}) };
  const files = new Map<string, string>();
  let revision = hub.revision;
  const get = async (file: string, optional: boolean): Promise<string | null> => {
    const location = await downloadHubFile(cache, hub.repo, revision, file, { ...opts, optional });
    if (location !== null) files.set(file, location);
    return location;
  };
  await get("config.json", false);
  const commit = COMMIT_RE.test(revision) ? revision : await cache.readRef(hub.repo, revision);
  if (commit !== null) revision = commit;
  if (o.configOnly) return { repo: hub.repo, commit, files };
  let weights: string | null = null;
  for (const f of HUB_WEIGHT_FILES) {
    if ((await get(f, true)) === null) continue;
    weights = f;
    break;
  }
  if (weights === null) throw new CheckpointError(`${hub.repo} has no weights (looked for ${HUB_WEIGHT_FILES.join(", ")})`);
  if (weights.endsWith(".index.json")) {
    let index: { weight_map?: Record<string, unknown> };
    try {
      index = JSON.parse(new TextDecoder().decode(await cache.read(files.get(weights)!))) as typeof index;
    } catch (e) {
      throw new CheckpointError(`${hub.repo}/${weights} is not valid JSON: ${(e as Error).message}`);
    }
    for (const shard of new Set(Object.values(index.weight_map ?? {}))) {
      if (typeof shard !== "string" || shard === "" || /[\\/]/.test(shard) || shard === "." || shard === "..") {
        throw new CheckpointError(`${hub.repo}: shard name ${JSON.stringify(shard)} is not a plain file name`);
      }
      await get(shard, false);
    }
  }
  for (const f of TOKENIZER_FILES) await get(f, true);
  return { repo: hub.repo, commit, files };
}
