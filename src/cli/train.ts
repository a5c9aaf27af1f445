// `perceiver-ar train`: train a model on a task (text, copy, image, music) with progress, periodic
// validation, crash-safe checkpoints, exact `--resume`, metrics.jsonl and a loss plot in the run
// folder. Ctrl-C stops after the current step, validates and writes a checkpoint.
//
// Order of work (so that a bad flag leaves nothing behind): every flag is parsed and checked
// against its range (src/train/defaults.ts) and the trainer options are resolved; then the run
// folder is locked (one trainer per folder, src/train/run-lock.ts); only then is anything deleted
// (--overwrite) or written (task.json). `--resume` continues the checkpoint with the settings that
// may change (RESUME_OVERRIDES: steps, schedule, cadences, stop-at-accuracy; a finished run can be
// extended with a larger --max-steps), says what changed, and refuses the ones that cannot (model,
// data, seed, batch composition) with the reason.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { getNativeThreads } from "../backend/native/index.js";
import { readConfigFile } from "../io/checkpoint.js";
import { makeConfig, type PerceiverARConfig } from "../models/config.js";
import { estimateTrainingMemory, formatBytes, largestTrainableContext } from "../models/memory.js";
import { PerceiverAR } from "../models/perceiver-ar.js";
import { getPreset } from "../models/presets.js";
import { warmStart } from "../models/warm-start.js";
import { makeTask, TASK_NAMES } from "../tasks/index.js";
import { readTaskFile, TASK_FILE, writeTaskFile } from "../tasks/task-file.js";
import type { Task, TaskName, TaskSpec } from "../tasks/task.js";
import { defaultFlag, TRAINING_DEFAULTS, type TrainingDefaultName } from "../train/defaults.js";
import { findCheckpoint } from "../train/run-folder.js";
import { LOCK_FILE, acquireRunLock } from "../train/run-lock.js";
import { readTrainerState } from "../train/trainer-checkpoint.js";
import { RESUME_OVERRIDES, resolveTrainerOptions, Trainer, type ResumeOverrides, type TrainerOptions, type TrainerOptionsInput } from "../train/trainer.js";
import { openModel, selectBackend, type BackendFlags } from "./common.js";
import { integerFlag, trainFlag } from "./flags.js";
import { DEFAULT_CONFIG } from "../models/config.js";
import { resolveModelConfig } from "./model-config.js";
import { parseOverrides, toFlag, UsageError } from "./overrides.js";
import { Activity, ProgressDisplay } from "./progress.js";

export interface TrainFlags extends BackendFlags {
  task?: string;
  data?: string;
  tokenizer?: string;
  preset?: string;
  config?: string;
  context?: string;
  initFrom?: string;
  stopAtAccuracy?: string;
  runDir?: string;
  resume?: boolean;
  overwrite?: boolean;
  maxSteps?: string;
  batchSize?: string;
  gradAccumulation?: string;
  lr?: string;
  warmupSteps?: string;
  minLr?: string;
  weightDecay?: string;
  clipNorm?: string;
  seed?: string;
  evalEvery?: string;
  evalWindows?: string;
  checkpointEvery?: string;
  sampleTokens?: string;
  cache?: string;
}

export const DEFAULT_PRESET: Record<TaskName, (data?: string) => string> = {
  text: () => "text-small",
  copy: () => "copy",
  image: (data) => (data === "emoji64" ? "image-emoji" : "image-mnist"),
  music: () => "music-small",
};

/** The task when --task is not given. */
const DEFAULT_TASK: TaskName = "text";
/** Largest --context: a sequence length must fit an int32 index. */
const MAX_CONTEXT = 2 ** 31 - 2;
/** Samples after training longer than this get a progress line on a terminal. */
const SAMPLE_PROGRESS_TOKENS = 200;

/** The trainer options a flag sets (parsed and range-checked, src/train/defaults.ts). */
const TRAINER_FLAGS = ["maxSteps", "batchSize", "gradAccumulation", "lr", "warmupSteps", "minLr", "weightDecay", "clipNorm", "seed", "evalEvery", "checkpointEvery", "stopAtAccuracy"] as const;

/** Why a flag cannot change on --resume, by flag. */
const FIXED_ON_RESUME: [keyof TrainFlags, string][] = [
  ["task", "the checkpoint continues its own task"],
  ["data", "the checkpoint's data state points into the run's data"],
  ["tokenizer", "the model's vocabulary is the run's tokenizer"],
  ["preset", "the model's shape is the checkpoint's"],
  ["config", "the model's shape is the checkpoint's"],
  ["context", "the model's shape is the checkpoint's"],
  ["initFrom", "the run already has weights (its checkpoint)"],
  ["seed", "the checkpoint continues the run's random state"],
  ["batchSize", "the checkpoint's data state continues the run's batches"],
  ["gradAccumulation", "the checkpoint's data state continues the run's batches"],
];

function given(flags: TrainFlags): TrainerOptionsInput {
  const o: TrainerOptionsInput = {};
  for (const name of TRAINER_FLAGS) {
    const v = trainFlag(name, flags[name]);
    if (v !== undefined) (o as Record<string, number>)[name] = v;
  }
  return o;
}

/** resolveTrainerOptions with the flags' names in its errors. */
function checkOptions(o: TrainerOptionsInput): TrainerOptions {
  try {
    return resolveTrainerOptions(o);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new UsageError(e.message.replace(/\b(maxSteps|batchSize|gradAccumulation|lr|warmupSteps|minLr|weightDecay|clipNorm|seed|evalEvery|checkpointEvery|stopAtAccuracy)\b/g, (f) => defaultFlag(f as TrainingDefaultName)));
  }
}

export async function trainCommand(flags: TrainFlags, rest: readonly string[], commandFlags: readonly string[] = []): Promise<void> {
  // 1. Every flag, before anything is touched.
  const taskName = flags.task ?? DEFAULT_TASK;
  if (!(TASK_NAMES as readonly string[]).includes(taskName)) throw new UsageError(`--task must be one of ${TASK_NAMES.join(", ")}, got "${taskName}"`);
  if (flags.overwrite && flags.resume) throw new UsageError("--overwrite and --resume exclude each other");
  const options = given(flags);
  const evalWindowsFlag = trainFlag("evalWindows", flags.evalWindows);
  const sampleTokens = trainFlag("sampleTokens", flags.sampleTokens) ?? TRAINING_DEFAULTS.sampleTokens.value;
  const context = flags.context !== undefined ? integerFlag("context", flags.context, 2, MAX_CONTEXT) : undefined;
  const backend = selectBackend(flags);
  const runDir = flags.runDir ?? path.join("runs", taskName);
  const checkpoint = fs.existsSync(runDir) ? findCheckpoint(runDir) : null;
  const resuming = flags.resume === true && checkpoint !== null;
  let setup: NewRunSetup | null = null;
  if (resuming) refuseFixedFlags(flags, rest, runDir);
  else {
    if (!flags.overwrite && checkpoint !== null) throw new UsageError(`${runDir} already holds a run; continue it with --resume or choose another --run-dir`);
    checkOptions(options);
    setup = planNewRun(taskName, flags, rest, options, context, commandFlags);
  }
  if (flags.overwrite && fs.existsSync(runDir) && !fs.existsSync(path.join(runDir, TASK_FILE))) {
    throw new UsageError(`--overwrite: ${runDir} is not a perceiver-ar run folder (no ${TASK_FILE}); not deleting it`);
  }

  // 2. One trainer per run folder; then the folder may change.
  const lock = acquireRunLock(runDir, `perceiver-ar train${resuming ? " --resume" : ""}`);
  if (lock.recoveredFrom !== null) console.log(`took over the lock of an earlier trainer that no longer runs (pid ${lock.recoveredFrom.pid}, since ${lock.recoveredFrom.acquiredAt})`);
  if (flags.resume && !resuming) console.log(`no checkpoint in ${runDir}; starting a new run there`);
  // --overwrite deletes the old run only once the new one is set up (a refusal keeps it).
  const clearOldRun = () => {
    if (flags.overwrite) for (const e of fs.readdirSync(runDir)) if (e !== LOCK_FILE) fs.rmSync(path.join(runDir, e), { recursive: true, force: true });
  };
  const run = setup === null ? await resumeRun(runDir, flags, options, evalWindowsFlag, backend) : await newRun(runDir, setup, flags, evalWindowsFlag, backend, clearOldRun);
  if (run === null) return;
  await runTraining(run.trainer, run.task, runDir, sampleTokens);
}

/** --resume with a flag that cannot change: refuse, with the reason. */
function refuseFixedFlags(flags: TrainFlags, rest: readonly string[], runDir: string): void {
  const fixed = FIXED_ON_RESUME.filter(([f]) => flags[f] !== undefined).map(([f, why]) => `${toFlag(f)} (${why})`);
  if (rest.length > 0) fixed.push(`model fields ${rest.filter((a) => a.startsWith("--")).join(" ")} (the model's shape is the checkpoint's)`);
  if (fixed.length > 0) {
    throw new UsageError(
      `--resume continues ${runDir} as it was set up; these cannot change: ${fixed.join("; ")}. ` +
        `Settings that can: ${[...RESUME_OVERRIDES.filter((k) => TRAINING_DEFAULTS[k].cli).map(toFlag), "--eval-windows", "--sample-tokens"].join(", ")}. ` +
        `To change the others, start a new run from this one's weights with --init-from ${runDir}`,
    );
  }
}

async function resumeRun(runDir: string, flags: TrainFlags, given: TrainerOptionsInput, evalWindowsFlag: number | undefined, backend: ReturnType<typeof selectBackend>) {
  const taskFile = readTaskFile(runDir);
  if (taskFile === null) throw new UsageError(`${runDir} has a checkpoint but no ${TASK_FILE}: it was not written by perceiver-ar train`);
  const { dir, state } = readTrainerState(runDir);
  const saved = state.options as unknown as TrainerOptions;
  const overrides: ResumeOverrides = {};
  for (const k of RESUME_OVERRIDES) if ((given as Record<string, unknown>)[k] !== undefined) (overrides as Record<string, unknown>)[k] = (given as Record<string, unknown>)[k];
  const maxSteps = overrides.maxSteps ?? saved.maxSteps;
  if (maxSteps < state.step) throw new UsageError(`--max-steps ${maxSteps}: ${runDir} is already at step ${state.step}`);
  if (maxSteps === state.step) {
    console.log(`${runDir} already finished its ${saved.maxSteps} steps; nothing to do (to train it further: --resume --max-steps ${2 * state.step}, or any larger number)`);
    return null;
  }
  if (overrides.lr !== undefined && overrides.minLr === undefined && saved.minLr > overrides.lr) {
    throw new UsageError(`--lr ${overrides.lr} is below the run's --min-lr ${saved.minLr}; pass --min-lr too`);
  }
  const spec = taskFile.spec;
  if (taskFile.dataMissing !== undefined) throw new UsageError(`the run's data ${taskFile.dataMissing} is not there any more (${taskFile.file} records it); put it back to resume (the checkpoint's data state points into it)`);
  const task = makeTask(spec, flags.cache);
  await fetchData(task);
  const config = makeConfig(readConfigFile(dir));
  const evalWindows = evalWindowsFlag ?? spec.validationWindows ?? task.defaultValidationCount(config);
  const data = task.trainSource(config.maxSeqLen, saved.batchSize, saved.seed, config.maxLatents);
  let trainer: Trainer;
  try {
    trainer = Trainer.resume(runDir, data, { backend, validation: evalWindows > 0 ? task.validation(config.maxSeqLen, evalWindows) : undefined, overrides });
  } catch (e) {
    if (e instanceof RangeError) checkOptions({ ...saved, ...overrides, runDir: null });
    throw e;
  }
  console.log(`resuming ${runDir} at step ${trainer.completedSteps} of ${trainer.options.maxSteps}`);
  const changes = trainer.resumeChanges.map((c) => `${toFlag(c.option)} ${String(c.from)} -> ${String(c.to)}`);
  if (evalWindowsFlag !== undefined && evalWindowsFlag !== (spec.validationWindows ?? evalWindows)) changes.push(`--eval-windows ${spec.validationWindows ?? "default"} -> ${evalWindowsFlag}`);
  if (changes.length > 0) {
    const o = trainer.options;
    const schedule = trainer.resumeChanges.some((c) => ["maxSteps", "lr", "minLr", "warmupSteps"].includes(c.option))
      ? ` (schedule: warmup ${o.warmupSteps} steps, cosine from ${o.lr} to ${o.minLr} at step ${o.maxSteps}; step ${trainer.completedSteps + 1} runs at lr ${trainer.lrAt(trainer.completedSteps + 1).toExponential(3)})`
      : "";
    console.log(`changed on resume: ${changes.join(", ")}${schedule}`);
  }
  if (evalWindowsFlag !== undefined) writeTaskFile(runDir, { ...spec, validationWindows: evalWindowsFlag });
  const from = trainer.resumedFrom;
  const threads = backend.name === "native" ? getNativeThreads() : null;
  if (from !== null && (from.backend !== backend.name || from.threads !== threads)) {
    console.log(
      `note: the checkpoint was written on the ${from.backend} backend${from.threads !== null ? ` with ${from.threads} threads` : ""}, this session runs ${backend.name}${threads !== null ? ` with ${threads} threads` : ""}: ` +
        `${from.backend !== backend.name ? "the losses will differ in the last bits from an uninterrupted run" : "results are the same at any thread count (README: Reproducibility)"}`,
    );
  }
  return { trainer, task };
}

/** What a new run is, decided before the run folder is touched. */
interface NewRunSetup {
  task: Task;
  /** The model config, or null with --init-from (it comes from the source model, loaded later). */
  config: PerceiverARConfig | null;
  given: TrainerOptionsInput;
  seed: number;
  batchSize: number;
  /** Model field overrides and --context, applied to the source config with --init-from. */
  rest: readonly string[];
  context: number | undefined;
}

/** The task and (without --init-from) the model config of a new run, every field checked. */
function planNewRun(taskName: string, flags: TrainFlags, rest: readonly string[], given: TrainerOptionsInput, context: number | undefined, commandFlags: readonly string[]): NewRunSetup {
  const seed = given.seed ?? TRAINING_DEFAULTS.seed.value;
  const batchSize = given.batchSize ?? TRAINING_DEFAULTS.batchSize.value;
  const task = makeTask({ task: taskName as TaskName, data: flags.data, tokenizer: flags.tokenizer, seed }, flags.cache);
  let config: PerceiverARConfig | null = null;
  if (flags.initFrom === undefined) {
    config = taskModelConfig(task, flags, rest, context, undefined, commandFlags);
    checkMemory(config, batchSize);
  } else {
    parseOverrides(rest, Object.keys(DEFAULT_CONFIG), commandFlags); // names now; values once the source config is known
    if (flags.preset !== undefined || flags.config !== undefined) throw new UsageError("--init-from takes the model config from the source model; use --context and --key value overrides instead of --preset/--config");
  }
  return { task, config, given, seed, batchSize, rest, context };
}

async function newRun(
  runDir: string,
  setup: NewRunSetup,
  flags: TrainFlags,
  evalWindowsFlag: number | undefined,
  backend: ReturnType<typeof selectBackend>,
  clearOldRun: () => void,
) {
  const { task, given, seed, batchSize } = setup;
  await fetchData(task);
  const source = flags.initFrom !== undefined ? openModel(flags.initFrom, backend) : null;
  const config = setup.config ?? taskModelConfig(task, flags, setup.rest, setup.context, source!.dir, []);
  if (setup.config === null) checkMemory(config, batchSize);
  const evalWindows = evalWindowsFlag ?? task.defaultValidationCount(config);
  for (const line of task.planRun?.({ seqLen: config.maxSeqLen, validationWindows: evalWindows }) ?? []) console.log(line);
  const validation = evalWindows > 0 ? task.validation(config.maxSeqLen, evalWindows) : undefined;
  const model = new PerceiverAR(config, backend, { seed });
  if (source !== null) {
    warmStart(model, source.model);
    console.log(`initialised from ${source.dir} (context ${source.model.config.maxSeqLen} -> ${config.maxSeqLen})`);
  }
  const data = task.trainSource(config.maxSeqLen, batchSize, seed, config.maxLatents);
  clearOldRun();
  writeTaskFile(runDir, { ...task.spec, validationWindows: evalWindows });
  const trainer = Trainer.create(model, data, { ...given, runDir }, { validation });
  console.log(`training a ${model.numParameters.toLocaleString("en-US")}-parameter Perceiver AR on ${describeTask(task)} (${backend.name} backend) into ${runDir}`);
  console.log(`context ${config.maxSeqLen}, latents ${config.maxLatents}, width ${config.numChannels}, ${config.numSelfAttentionLayers} self-attention layers`);
  if (validation !== undefined) console.log(`validation: ${validation.windows.length} ${task.spec.task === "image" ? "whole images" : task.spec.task === "copy" ? "examples" : `windows (the last ${config.maxLatents} tokens of each scored)`} ${trainer.options.evalEvery > 0 ? `every ${trainer.options.evalEvery} steps and ` : ""}at the end`);
  else console.log("no validation (--eval-windows 0)");
  return { trainer, task };
}

/** The task's data, fetched into the cache if needed, with the fetch's progress. */
async function fetchData(task: Task): Promise<void> {
  if (task.ensureData === undefined) return;
  const activity = new Activity("fetching data");
  try {
    await task.ensureData((m) => activity.log(m));
  } finally {
    activity.stop();
  }
}

async function runTraining(trainer: Trainer, task: Task, runDir: string, sampleTokens: number): Promise<void> {
  const bar = new ProgressDisplay({ total: trainer.options.maxSteps, start: trainer.completedSteps, unit: "step" });
  const abort = new AbortController();
  const onSigint = () => {
    bar.log("stopping after this step: validating and writing a checkpoint (Ctrl-C again to kill)");
    abort.abort();
    process.off("SIGINT", onSigint);
  };
  process.on("SIGINT", onSigint);
  const t0 = Date.now();
  const summary = await trainer.train({
    signal: abort.signal,
    onProgress: (e) => {
      if (e.kind === "train") bar.update(e.step, { loss: e.loss.toFixed(4), "": `${e.tokensPerSec.toFixed(0)} tok/s`, lr: e.lr.toExponential(2) });
      else if (e.kind === "phase") bar.phase(e.phase === "validation" ? `validating ${Math.floor((100 * e.done) / e.total)}%` : "writing checkpoint");
      else if (e.kind === "checkpoint") bar.phase(null);
      else if (e.kind === "eval") {
        bar.phase(null);
        bar.log(`step ${e.step}: validation ${task.metricName} ${task.metric(e).toFixed(4)} (loss ${e.loss.toFixed(4)} nats/token, accuracy ${(e.accuracy * 100).toFixed(2)}%)${e.best ? " *best*" : ""}`);
      }
    },
  });
  bar.stop();
  process.off("SIGINT", onSigint);
  const minutes = (Date.now() - t0) / 60000;
  const how = { abort: "stopped", maxSteps: "finished", accuracy: "reached the target accuracy and stopped" }[summary.stoppedBy];
  console.log(`${how} at step ${summary.step} in ${minutes.toFixed(1)} min; checkpoint in ${path.join(runDir, "checkpoint")}, metrics in ${path.join(runDir, "metrics.jsonl")}, plot in ${path.join(runDir, "loss.svg")}`);
  const final = summary.lastEval;
  if (final !== null) console.log(`validation: ${task.metricName} ${task.metric(final).toFixed(4)}, loss ${final.loss.toFixed(4)} nats/token over ${final.tokens} tokens (best: step ${summary.bestStep})`);
  const sampling = sampleTokens > SAMPLE_PROGRESS_TOKENS && process.stdout.isTTY === true ? new ProgressDisplay({ total: sampleTokens, unit: "token" }) : null; // a log needs no token count
  const lines = await task.trainingReport(trainer.model, { sampleTokens, tick: sampling !== null ? (done) => sampling.update(done, {}) : undefined });
  sampling?.stop();
  for (const line of lines) console.log(line);
  trainer.close();
}

function describeTask(task: Task): string {
  return `${task.spec.task}${task.spec.data ? ` (${task.spec.data})` : ""}`;
}

/** The new run's config: the preset (or, with --init-from, the source model's config), then --config, --context and overrides. */
function taskModelConfig(task: Task, flags: TrainFlags, rest: readonly string[], context: number | undefined, sourceDir: string | undefined, commandFlags: readonly string[]): PerceiverARConfig {
  if (sourceDir !== undefined && (flags.preset !== undefined || flags.config !== undefined)) {
    throw new UsageError("--init-from takes the model config from the source model; use --context and --key value overrides instead of --preset/--config");
  }
  const preset = sourceDir !== undefined ? undefined : (flags.preset ?? DEFAULT_PRESET[task.spec.task](task.spec.data));
  if (preset !== undefined) getPreset(preset);
  const cfg = resolveModelConfig({ preset, config: sourceDir ?? flags.config }, rest, sourceDir !== undefined ? {} : { vocabSize: task.vocabSize }, commandFlags);
  if (context !== undefined) {
    cfg.maxSeqLen = context;
    cfg.maxLatents = Math.min(cfg.maxLatents as number, context);
  }
  if (cfg.vocabSize !== task.vocabSize) throw new UsageError(`the ${task.spec.task} task has ${task.vocabSize} tokens, but the model's vocab_size is ${String(cfg.vocabSize)}`);
  return makeConfig(cfg);
}

function checkMemory(config: PerceiverARConfig, batchSize: number): void {
  const est = estimateTrainingMemory(config, { batchSize });
  const budget = os.totalmem();
  if (est.totalBytes > budget) {
    const fit = largestTrainableContext(config, budget, { batchSize });
    throw new UsageError(
      `this run needs about ${formatBytes(est.totalBytes)} (activations ${formatBytes(est.activationBytes)}), more than the machine's ${formatBytes(budget)}; the largest context that fits at batch size ${batchSize} is about ${fit}`,
    );
  }
}
