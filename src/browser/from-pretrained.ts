// fromPretrained(id | URL) in a browser: the same entry as Node's (src/hub/from-pretrained.ts),
// downloading through the same logic (src/hub/model-download.ts and download.ts: config.json,
// the first weight file the repo has and an index's shards, the tokenizer files; cache hits,
// resume with HTTP Range, size and hash checks, progress) into the Cache API (BrowserHubCache),
// then loading from the cached bytes like dropped files (model-io.ts; tokenizer.json beside the
// weights becomes `tokenizer`).
//
// Contract: options are Node's (HubOptions: endpoint, token, revision, offline, retries,
// timeoutMs, onProgress, cache, fetch) and LoadOptions; `cache` defaults to a BrowserHubCache
// named "perceiver-ar-hub". There is no process environment here: HF_ENDPOINT / HF_TOKEN /
// HF_HUB_OFFLINE are read from `env` only when given. Without a network (or offline) a cached
// snapshot of the revision loads without any request. The hub must allow the page's origin (CORS,
// as huggingface.co does) and, on a cross-origin isolated page (COEP), answer with CORS headers.

import type { Backend } from "../backend/backend.js";
import type { LoadOptions } from "../io/model-folder.js";
import { BrowserHubCache } from "../hub/browser-cache.js";
import { downloadModelFiles, type ModelDownloadOptions } from "../hub/model-download.js";
import { loadModelFromBytes, type BrowserLoadedModel } from "./model-io.js";

/** Options of the browser's `fromPretrained`. */
export type BrowserPretrainedOptions = Omit<ModelDownloadOptions, "configOnly"> & LoadOptions;

/** Downloads (or takes from the Cache API) the model of a hub id or URL and loads it. */
export async function fromPretrained(ref: string, backend: Backend, o: BrowserPretrainedOptions = {}): Promise<BrowserLoadedModel> {
  const cache = o.cache ?? new BrowserHubCache();
  const { repo, commit, files } = await downloadModelFiles(ref, cache, { env: {}, ...o });
  const bytes = new Map<string, Uint8Array>();
  for (const [name, location] of files) bytes.set(name, await cache.read(location));
  return loadModelFromBytes(bytes, `${repo}@${commit ?? o.revision ?? "main"}`, backend, o);
}
