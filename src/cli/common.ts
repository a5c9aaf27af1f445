// Shared CLI plumbing: backend selection flags, locating a model from a run folder or model
// folder, and the task of a model (its run's task.json, overridden by --task/--data/--tokenizer;
// for text, the model's own tokenizer, checked against its vocabulary).

import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend } from "../backend/backend.js";
import { backendNames, getBackend, setThreads, type BackendName } from "../backend/select.js";
import { modelTokenizer } from "../data/model-tokenizer.js";
import { loadModel } from "../io/checkpoint.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { modelFolderOf, runFolderOf } from "../train/run-folder.js";
import { poolUpToHalfOfMemory } from "../train/memory-policy.js";
import { makeTask, TASK_NAMES } from "../tasks/index.js";
import { readTaskFile } from "../tasks/task-file.js";
import type { Task, TaskName, TaskSpec } from "../tasks/task.js";
import { integerFlag } from "./flags.js";
import { UsageError } from "./overrides.js";

export { TASK_FILE } from "../tasks/task-file.js";
/** Upper bound of --threads: far above any CPU this runs on, low enough to catch a typo. */
const MAX_THREADS = 256;

export interface BackendFlags {
  backend?: string;
  threads?: string;
}

export function selectBackend(o: BackendFlags): Backend {
  if (o.backend !== undefined && !backendNames().includes(o.backend)) {
    throw new UsageError(`--backend must be ${backendNames().join(", ")}, got "${o.backend}"`);
  }
  const threads = o.threads !== undefined ? integerFlag("threads", o.threads, 1, MAX_THREADS) : undefined;
  const b = getBackend(o.backend as BackendName | undefined);
  if (threads !== undefined) setThreads(threads);
  return b;
}

/** A model folder (config.json + weights) or a run folder (its best/ or checkpoint/, see train/run-folder.ts modelFolderOf). */
export function resolveModelDir(p: string, prefer: "checkpoint" | "best" = "best"): string {
  if (!fs.existsSync(p)) throw new UsageError(`no such model or run folder: ${p}`);
  const dir = modelFolderOf(p, prefer);
  if (!fs.existsSync(path.join(dir, "config.json"))) throw new UsageError(`${p} holds neither a model (config.json) nor a run checkpoint`);
  return dir;
}

export function openModel(p: string, backend: Backend): { model: PerceiverAR; dir: string } {
  const dir = resolveModelDir(p);
  const model = loadModel(dir, backend);
  poolUpToHalfOfMemory(model);
  return { model, dir };
}

/** The task a run was trained on: task.json in the model folder or its run folder, paths resolved (tasks/task-file.ts). */
export function readTaskSpec(modelDir: string): TaskSpec | null {
  return readTaskFile(modelDir)?.spec ?? null;
}

/** Flags that choose or override a model's task. */
export interface TaskFlags {
  task?: string;
  data?: string;
  tokenizer?: string;
  cache?: string;
}

/**
 * The task of the model in `modelDir`: its run's task.json with --data and --tokenizer taking
 * precedence, or (no task.json) --task (default text) on --data. A text model gets its own
 * tokenizer (--tokenizer, the run's, a tokenizer.json beside it, or bytes) and must match it.
 * `needsData`: the command reads the task's data, so a run whose data moved needs --data.
 */
export function openTask(modelDir: string, model: PerceiverAR | null, flags: TaskFlags, o: { needsData: boolean | ((task: TaskName) => boolean) }): Task {
  if (flags.task !== undefined && !(TASK_NAMES as readonly string[]).includes(flags.task)) throw new UsageError(`--task must be one of ${TASK_NAMES.join(", ")}, got "${flags.task}"`);
  const file = readTaskFile(modelDir);
  if (file !== null && flags.task !== undefined && flags.task !== file.spec.task) {
    throw new UsageError(`--task ${flags.task}: ${file.file} says this model was trained on the ${file.spec.task} task`);
  }
  const spec: TaskSpec = file?.spec ?? { task: (flags.task ?? "text") as TaskName };
  if (flags.data !== undefined) spec.data = flags.data;
  else if ((typeof o.needsData === "function" ? o.needsData(spec.task) : o.needsData) && file?.dataMissing !== undefined) {
    throw new UsageError(`the run's data ${file.dataMissing} is not there any more (${file.file} records it); pass --data <path> with where it is now`);
  }
  let task: Task;
  if (spec.task === "text") {
    const tok = modelTokenizer({ override: flags.tokenizer, fromTask: spec.tokenizer, folders: [modelDir, runFolderOf(modelDir)], vocabSize: model?.config.vocabSize ?? null });
    task = makeTask({ ...spec, tokenizer: tok.file }, flags.cache, tok.tokenizer);
  } else {
    if (flags.tokenizer !== undefined) throw new UsageError(`--tokenizer applies to text models; this is a ${spec.task} model`);
    task = makeTask(spec, flags.cache);
  }
  if (model !== null && task.vocabSize !== model.config.vocabSize) {
    throw new UsageError(`the model's vocab_size is ${model.config.vocabSize}, but the ${spec.task} task has ${task.vocabSize} tokens${file === null ? "; pass --task with the task it was trained on" : ""}`);
  }
  return task;
}

/** `openTask` of `modelDir` with `fallback` (task and data) when it has no task.json; the vocabulary is checked when `model` is given. */
export function taskFor(modelDir: string, fallback: TaskSpec, model: PerceiverAR | null = null): Task {
  return openTask(modelDir, model, { task: readTaskFile(modelDir) === null ? fallback.task : undefined, data: fallback.data }, { needsData: false });
}
