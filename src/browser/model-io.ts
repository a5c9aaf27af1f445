// Model folders in a browser: load from dropped files (`File`/`Blob`), bytes (`ArrayBuffer`,
// `Uint8Array`) or a folder URL, and save to Blobs, in the same formats as on disk (config.json +
// safetensors, or any hub folder that model-folder.ts accepts). Files are read into memory first
// (Blob reads are asynchronous; the parsers read synchronously through ByteReaders).
//
// Contract:
// - `loadModelFromFiles(files)`: files by name (a folder's entries; only the last path component
//   of a name counts, so a dropped folder's `webkitRelativePath` works); tokenizer.json among them
//   gives `tokenizer`. Every rule of model-folder.ts applies (ambiguity, shapes, NaN, memory).
// - `loadModelFromUrl(url)`: `url` is a folder (trailing slash optional); config.json is fetched,
//   then every weight file name of model-weights.ts is asked for with HEAD and the present ones
//   fetched (a sharded index's shards too), and tokenizer.json when present. A failed config or
//   weight fetch is a CheckpointError naming the URL and the HTTP status.
// - `saveModelToBlobs(model)`: the folder's files as Blobs by name (see modelFolderContents).
// - `loadModelFromBytes(files, location)`: the common end of every loader (and of fromPretrained).
// - Memory budget default: BROWSER_MEMORY_BUDGET.

import type { Backend } from "../backend/backend.js";
import { HfTokenizer, type HfTokenizerConfig, type HfTokenizerJson } from "../data/hf-tokenizer-core.js";
import { CheckpointError } from "../io/errors.js";
import { memoryModelFiles } from "../io/model-files.js";
import { loadModelFiles, modelFolderContents, type LoadedModel, type LoadOptions, type SaveOptions } from "../io/model-folder.js";
import { WEIGHT_FILE_NAMES } from "../io/model-weights.js";
import { serializeSafetensors } from "../io/safetensors-format.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";

/** Default memory budget of a model in a tab: a wasm32 memory's 4 GiB limit, and about what a tab may allocate. */
export const BROWSER_MEMORY_BUDGET = 4 * 1024 ** 3;

/** Something that holds a file's bytes. */
export type FileData = Blob | ArrayBuffer | Uint8Array;

/** A loaded model with its tokenizer (from tokenizer.json beside the weights), when there is one. */
export interface BrowserLoadedModel extends LoadedModel {
  tokenizer?: HfTokenizer;
}

function baseName(name: string): string {
  return name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
}

async function bytesOf(data: FileData): Promise<Uint8Array> {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(await data.arrayBuffer());
}

/** Files by name: a FileList or File[] (names from `File.name`), or a map / record of name -> data. */
export type ModelFileInput = Iterable<File> | ArrayLike<File> | ReadonlyMap<string, FileData> | Record<string, FileData>;

async function collect(input: ModelFileInput): Promise<Map<string, Uint8Array>> {
  const entries: [string, FileData][] = [];
  if (input instanceof Map) entries.push(...input);
  else if (typeof (input as Iterable<File>)[Symbol.iterator] === "function" || typeof (input as ArrayLike<File>).length === "number") {
    for (const f of Array.from(input as ArrayLike<File>)) entries.push([f.name, f]);
  } else entries.push(...Object.entries(input as Record<string, FileData>));
  const out = new Map<string, Uint8Array>();
  for (const [name, data] of entries) {
    const key = baseName(name);
    if (out.has(key)) throw new CheckpointError(`two files are named ${key}: give one folder's files`);
    out.set(key, await bytesOf(data));
  }
  return out;
}

/** Load a model from a folder's files as bytes by name (what every loader here ends in; `location` names the folder in errors). */
export function loadModelFromBytes(files: ReadonlyMap<string, Uint8Array>, location: string, backend: Backend, options: LoadOptions = {}): BrowserLoadedModel {
  const loaded = loadModelFiles(memoryModelFiles(files, location), backend, { ...options, memoryBudget: options.memoryBudget ?? BROWSER_MEMORY_BUDGET });
  const tok = files.get("tokenizer.json");
  if (tok === undefined) return loaded;
  const cfg = files.get("tokenizer_config.json");
  const parse = (b: Uint8Array, what: string): unknown => {
    try {
      return JSON.parse(new TextDecoder().decode(b));
    } catch (e) {
      throw new CheckpointError(`${location}/${what} is not valid JSON: ${(e as Error).message}`);
    }
  };
  return { ...loaded, tokenizer: new HfTokenizer(parse(tok, "tokenizer.json") as HfTokenizerJson, cfg === undefined ? {} : (parse(cfg, "tokenizer_config.json") as HfTokenizerConfig)) };
}

/** Load a model from a folder's files (see the header). */
export async function loadModelFromFiles(input: ModelFileInput, backend: Backend, options: LoadOptions = {}): Promise<BrowserLoadedModel> {
  return loadModelFromBytes(await collect(input), "dropped files", backend, options);
}

/** Options of `loadModelFromUrl`. */
export interface UrlLoadOptions extends LoadOptions {
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
}

/** Load a model folder served at `url` (see the header). */
export async function loadModelFromUrl(url: string, backend: Backend, options: UrlLoadOptions = {}): Promise<BrowserLoadedModel> {
  const get = options.fetch ?? globalThis.fetch.bind(globalThis);
  const base = url.endsWith("/") ? url : url + "/";
  const fileUrl = (name: string) => new URL(name, base).href;
  const fetchBytes = async (name: string): Promise<Uint8Array> => {
    const r = await get(fileUrl(name));
    if (!r.ok) throw new CheckpointError(`cannot fetch ${fileUrl(name)}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  };
  const present = async (name: string): Promise<boolean> => (await get(fileUrl(name), { method: "HEAD" })).ok;
  const files = new Map<string, Uint8Array>();
  files.set("config.json", await fetchBytes("config.json"));
  for (const name of WEIGHT_FILE_NAMES) {
    if (!(await present(name))) continue;
    const bytes = await fetchBytes(name);
    files.set(name, bytes);
    if (name.endsWith(".index.json")) {
      let shards: string[] = [];
      try {
        shards = [...new Set(Object.values((JSON.parse(new TextDecoder().decode(bytes)) as { weight_map?: Record<string, string> }).weight_map ?? {}))];
      } catch {
        // model-weights.ts refuses the index with a precise message
      }
      for (const s of shards) if (typeof s === "string" && !/[\\/]/.test(s) && !files.has(s)) files.set(s, await fetchBytes(s));
    }
  }
  for (const name of ["tokenizer.json", "tokenizer_config.json"]) if (await present(name)) files.set(name, await fetchBytes(name));
  return loadModelFromBytes(files, base.replace(/\/$/, ""), backend, options);
}

/** The model's folder as Blobs by file name: config.json and the weights (see modelFolderContents). */
export function saveModelToBlobs(model: PerceiverAR, options: SaveOptions = {}): Map<string, Blob> {
  const c = modelFolderContents(model, options);
  return new Map([
    ["config.json", new Blob([c.configJson], { type: "application/json" })],
    [c.weightsFile, new Blob([serializeSafetensors(c.tensors, c.metadata) as BlobPart], { type: "application/octet-stream" })],
  ]);
}
