// Build a Task from its spec (task.json of a run folder, or CLI options).

import { CopyTask } from "./copy-task.js";
import { ImageTask } from "./image-task.js";
import { MusicTask } from "./music-task.js";
import type { Task, TaskName, TaskSpec } from "./task.js";
import { TextTask } from "./text-task.js";
import type { Tokenizer } from "../data/tokenizer.js";

export const TASK_NAMES: readonly TaskName[] = ["text", "copy", "image", "music"];

/** The task of `spec`; `tokenizer` (text) is used instead of loading the spec's tokenizer file. */
export function makeTask(spec: TaskSpec, cacheDir?: string, tokenizer?: Tokenizer): Task {
  switch (spec.task) {
    case "text":
      return new TextTask(spec, tokenizer);
    case "copy":
      return new CopyTask(spec);
    case "image":
      return new ImageTask(spec, cacheDir);
    case "music":
      return new MusicTask(spec, cacheDir);
    default:
      throw new RangeError(`task must be one of ${TASK_NAMES.join(", ")}, got "${String((spec as TaskSpec).task)}"`);
  }
}
