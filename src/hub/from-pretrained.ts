// fromPretrained(id | URL | folder): a model as transformers.js offers it, for Node.
//
// Contract:
// - A path that exists on disk is a local folder and is loaded as it is (loadPretrained).
// - Anything else is a hub id or URL (model-ref.ts), downloaded by model-download.ts
//   `downloadModelFiles` (config.json, the first weight file the repo has and an index's shards,
//   the tokenizer files that exist) through the HubCache (default: the huggingface_hub cache
//   folder), with resume, size/hash checks and progress (download.ts).
// - `resolveModelFolder` does the download part only and returns the snapshot folder, which is a
//   model folder like any other (the CLI uses it, then loads as usual). `{ configOnly: true }`
//   fetches config.json alone (for `info`).

import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadPretrained, type LoadedModel, type LoadOptions } from "../io/checkpoint.js";
import { DiskHubCache } from "./disk-cache.js";
import { downloadModelFiles, type ModelDownloadOptions } from "./model-download.js";

export type ResolveOptions = ModelDownloadOptions;

/** A local folder holding the model (downloading it first when `ref` is a hub id or URL). */
export async function resolveModelFolder(ref: string, o: ResolveOptions = {}): Promise<string> {
  if (fs.existsSync(ref)) return ref;
  const { files } = await downloadModelFiles(ref, o.cache ?? new DiskHubCache(), o);
  return path.dirname(files.get("config.json")!);
}

/** Loads a model from a hub id, URL or folder, with its tokenizer file when it has one. */
export async function fromPretrained(ref: string, backend: Backend, o: ResolveOptions & LoadOptions = {}): Promise<LoadedModel> {
  return loadPretrained(await resolveModelFolder(ref, o), backend, o);
}
