// pipeline(task, idOrFolder, options): a ready-to-use model and tokenizer in one line, as
// transformers.js offers it:
//   const generator = await pipeline("text-generation", "krasserm/perceiver-ar-clm-base");
//   const { text } = await generator("A long time ago", { maxNewTokens: 50, temperature: 0.8 });
//
// Contract:
// - `idOrFolder` is a model folder (config.json + weights; a training run's `best/`), a hub id or a
//   URL (hub/from-pretrained.ts: downloaded and cached, with `options` as its hub options).
// - The tokenizer: `options.tokenizer` (a Tokenizer, or a path to a tokenizer.json or to a folder
//   holding one), else the folder's tokenizer.json (with tokenizer_config.json beside it), else the
//   byte tokenizer when the model's vocabulary holds its 258 ids; otherwise an error says to pass
//   one. A tokenizer with more ids than the model's vocab_size is refused.
// - The backend: `options.backend` (a Backend or a name; default the package's: PERCEIVER_AR_BACKEND,
//   else native when it is built).
// - Tasks: "text-generation" (text-generation.ts). Any other name is an error listing the tasks.

import type { Backend } from "../backend/backend.js";
import { getBackend, type BackendName } from "../backend/select.js";
import { BYTE_VOCAB_SIZE, ByteTokenizer } from "../data/byte-tokenizer.js";
import { HfTokenizer } from "../data/hf-tokenizer.js";
import type { Tokenizer } from "../data/tokenizer.js";
import { fromPretrained, type ResolveOptions } from "../hub/from-pretrained.js";
import type { LoadedModel, LoadOptions } from "../io/checkpoint.js";
import { textGenerationPipeline, type TextGenerationPipeline } from "./text-generation.js";

export const PIPELINE_TASKS = ["text-generation"] as const;
export type PipelineTask = (typeof PIPELINE_TASKS)[number];

export interface PipelineOptions extends ResolveOptions, LoadOptions {
  /** A Backend, or "native" | "reference" | "auto" (default: env PERCEIVER_AR_BACKEND, else "auto"). */
  backend?: Backend | BackendName;
  /** The tokenizer, or a path to a tokenizer.json (or a folder with one); default: the model's (see the header). */
  tokenizer?: Tokenizer | string;
}

export async function pipeline(task: "text-generation", idOrFolder: string, options?: PipelineOptions): Promise<TextGenerationPipeline>;
export async function pipeline(task: PipelineTask, idOrFolder: string, options: PipelineOptions = {}): Promise<TextGenerationPipeline> {
  if (!PIPELINE_TASKS.includes(task)) throw new RangeError(`pipeline task must be one of ${PIPELINE_TASKS.map((t) => JSON.stringify(t)).join(", ")}, got ${JSON.stringify(task)}`);
  if (typeof idOrFolder !== "string" || idOrFolder.length === 0) throw new TypeError("pipeline: the model must be a folder, a hub id or a URL");
  const backend = typeof options.backend === "object" ? options.backend : getBackend(options.backend);
  const loaded = await fromPretrained(idOrFolder, backend, options);
  return textGenerationPipeline(loaded.model, modelTokenizer(loaded, options.tokenizer));
}

/** The tokenizer of a loaded model (see the header for the order). */
export function modelTokenizer(loaded: Pick<LoadedModel, "model" | "dir" | "tokenizerFile">, given?: Tokenizer | string): Tokenizer {
  if (given !== undefined && typeof given !== "string") return given;
  const file = given ?? loaded.tokenizerFile;
  if (file !== undefined) return HfTokenizer.fromFile(file);
  const V = loaded.model.config.vocabSize;
  if (V >= BYTE_VOCAB_SIZE) return new ByteTokenizer();
  throw new RangeError(`${loaded.dir} has no tokenizer.json and its vocab_size ${V} is smaller than the byte tokenizer's ${BYTE_VOCAB_SIZE} ids: pass options.tokenizer`);
}
