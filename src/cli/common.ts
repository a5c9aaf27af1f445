// Shared CLI plumbing: backend selection flags, locating a model from a run folder or model
// folder, the task of a run (task.json), and a progress display that degrades to plain lines
// when stdout is not a terminal.

import cliProgress from "cli-progress";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Backend } from "../backend/backend.js";
import { BACKEND_NAMES, getBackend, setThreads, type BackendName } from "../backend/select.js";
import { loadModel } from "../io/checkpoint.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { findCheckpoint } from "../train/run-folder.js";
import { poolUpToHalfOfMemory } from "../train/memory-policy.js";
import { makeTask } from "../tasks/index.js";
import type { Task, TaskSpec } from "../tasks/task.js";
import { integerFlag } from "./flags.js";
import { UsageError } from "./overrides.js";

export const TASK_FILE = "task.json";
/** Upper bound of --threads: far above any CPU this runs on, low enough to catch a typo. */
const MAX_THREADS = 256;

export interface BackendFlags {
  backend?: string;
  threads?: string;
}

export function selectBackend(o: BackendFlags): Backend {
  if (o.backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(o.backend)) {
    throw new UsageError(`--backend must be ${BACKEND_NAMES.join(", ")}, got "${o.backend}"`);
  }
  const b = getBackend(o.backend as BackendName | undefined);
  if (o.threads !== undefined) setThreads(integerFlag("threads", o.threads, 1, MAX_THREADS));
  return b;
}

/** A model folder (config.json + weights) or a run folder (its checkpoint/ or best/). */
export function resolveModelDir(p: string, prefer: "checkpoint" | "best" = "best"): string {
  if (!fs.existsSync(p)) throw new UsageError(`no such model or run folder: ${p}`);
  if (fs.existsSync(path.join(p, "config.json"))) return p;
  const best = path.join(p, "best");
  if (prefer === "best" && fs.existsSync(path.join(best, "config.json"))) return best;
  const ckpt = findCheckpoint(p);
  if (ckpt !== null) return ckpt;
  if (fs.existsSync(path.join(best, "config.json"))) return best;
  throw new UsageError(`${p} holds neither a model (config.json) nor a run checkpoint`);
}

export function openModel(p: string, backend: Backend): { model: PerceiverAR; dir: string } {
  const dir = resolveModelDir(p);
  const model = loadModel(dir, backend);
  poolUpToHalfOfMemory(model);
  return { model, dir };
}

/** The task a run was trained on: task.json in the model folder or its parent run folder. */
export function readTaskSpec(modelDir: string): TaskSpec | null {
  for (const d of [modelDir, path.dirname(modelDir)]) {
    const f = path.join(d, TASK_FILE);
    if (fs.existsSync(f)) return JSON.parse(fs.readFileSync(f, "utf8")) as TaskSpec;
  }
  return null;
}

export function taskFor(modelDir: string, fallback: TaskSpec): Task {
  return makeTask(readTaskSpec(modelDir) ?? fallback);
}

export interface Progress {
  update(step: number, fields: Record<string, string>): void;
  log(line: string): void;
  stop(): void;
}

/** A progress bar on a terminal; one line every `every` steps otherwise. */
export function progress(total: number, start: number, every = 10): Progress {
  if (process.stdout.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: " {bar} step {value}/{total} | loss {loss} | {tps} tok/s | lr {lr} | ETA {eta_formatted}", hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { loss: "-", tps: "-", lr: "-" });
    return {
      update: (step, f) => bar.update(step, f),
      log: (line) => {
        bar.stop();
        console.log(line);
        bar.start(total, bar.getProgress() * total, {});
      },
      stop: () => bar.stop(),
    };
  }
  const t0 = Date.now();
  return {
    update: (step, f) => {
      if (step % every !== 0 && step !== total) return;
      const el = (Date.now() - t0) / 1000;
      const eta = step > start ? (el / (step - start)) * (total - step) : 0;
      console.log(`step ${step}/${total} | loss ${f.loss} | ${f.tps} tok/s | lr ${f.lr} | elapsed ${el.toFixed(0)}s | ETA ${eta.toFixed(0)}s`);
    },
    log: (line) => console.log(line),
    stop: () => {},
  };
}
