// `perceiver-ar train`: train a model on a task (text, copy, image, music) with progress, periodic
// validation, crash-safe checkpoints, exact `--resume`, metrics.jsonl and a loss plot in the run
// folder. Ctrl-C stops after the current step and writes a checkpoint. Flags that are not given
// take their value from src/train/defaults.ts (through the Trainer, or directly for the ones the
// CLI needs itself).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic-write.js";
import { readConfigFile } from "../io/checkpoint.js";
import { makeConfig, type PerceiverARConfig } from "../models/config.js";
import { estimateTrainingMemory, formatBytes, largestTrainableContext } from "../models/memory.js";
import { PerceiverAR } from "../models/perceiver-ar.js";
import { getPreset } from "../models/presets.js";
import { warmStart } from "../models/warm-start.js";
import { makeTask, TASK_NAMES } from "../tasks/index.js";
import type { Task, TaskName, TaskSpec } from "../tasks/task.js";
import { TRAINING_DEFAULTS } from "../train/defaults.js";
import { findCheckpoint } from "../train/run-folder.js";
import { Trainer, type TrainerOptionsInput } from "../train/trainer.js";
import { openModel, progress, selectBackend, TASK_FILE, type BackendFlags } from "./common.js";
import { integerFlag, numberFlag } from "./flags.js";
import { resolveModelConfig } from "./model-config.js";
import { UsageError } from "./overrides.js";

export interface TrainFlags extends BackendFlags {
  task: string;
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

/** An integer flag >= min, or undefined when it was not given (the Trainer's default applies). */
function int(flag: string, v: string | undefined, min: number): number | undefined {
  return v === undefined ? undefined : integerFlag(flag, v, min);
}

/** A number flag >= min, or undefined when it was not given. */
function real(flag: string, v: string | undefined, min: number): number | undefined {
  return v === undefined ? undefined : numberFlag(flag, v, min);
}

export async function trainCommand(flags: TrainFlags, rest: readonly string[]): Promise<void> {
  if (!(TASK_NAMES as readonly string[]).includes(flags.task)) throw new UsageError(`--task must be one of ${TASK_NAMES.join(", ")}, got "${flags.task}"`);
  const backend = selectBackend(flags);
  const runDir = flags.runDir ?? path.join("runs", flags.task);
  if (flags.overwrite && flags.resume) throw new UsageError("--overwrite and --resume exclude each other");
  if (flags.overwrite && fs.existsSync(runDir)) {
    if (!fs.existsSync(path.join(runDir, TASK_FILE))) throw new UsageError(`--overwrite: ${runDir} is not a perceiver-ar run folder (no ${TASK_FILE}); not deleting it`);
    fs.rmSync(runDir, { recursive: true, force: true });
  }
  const checkpoint = findCheckpoint(runDir);
  const resuming = flags.resume === true && checkpoint !== null;
  if (resuming && flags.initFrom !== undefined) throw new UsageError("--init-from starts a new run; it cannot be combined with --resume of an existing one");
  if (flags.resume && !resuming) console.log(`no checkpoint in ${runDir}; starting a new run there`);
  if (!resuming && checkpoint !== null) {
    throw new UsageError(`${runDir} already holds a run; continue it with --resume or choose another --run-dir`);
  }

  const D = TRAINING_DEFAULTS;
  const seed = int("seed", flags.seed, 0) ?? D.seed.value;
  const batchSize = int("batch-size", flags.batchSize, 1) ?? D.batchSize.value;
  const evalWindows = int("eval-windows", flags.evalWindows, 1) ?? D.evalWindows.value;
  const sampleTokens = int("sample-tokens", flags.sampleTokens, 0) ?? D.sampleTokens.value;
  const spec: TaskSpec = resuming
    ? (JSON.parse(fs.readFileSync(path.join(runDir, TASK_FILE), "utf8")) as TaskSpec)
    : { task: flags.task as TaskName, data: flags.data, tokenizer: flags.tokenizer, seed };
  const task = makeTask(spec, flags.cache);
  await task.ensureData?.((m) => console.log(m));

  let trainer: Trainer;
  let config: PerceiverARConfig;
  if (resuming) {
    config = makeConfig(readConfigFile(checkpoint!));
    const state = JSON.parse(fs.readFileSync(path.join(checkpoint!, "trainer-state.json"), "utf8"));
    const data = task.trainSource(config.maxSeqLen, state.options.batchSize, state.options.seed, config.maxLatents);
    const overrides = flags.stopAtAccuracy !== undefined ? { stopAtAccuracy: stopAccuracy(flags.stopAtAccuracy) } : {};
    trainer = Trainer.resume(runDir, data, { backend, validation: task.validation(config.maxSeqLen, evalWindows), overrides });
    console.log(`resuming ${runDir} at step ${trainer.completedSteps}`);
  } else {
    const source = flags.initFrom !== undefined ? openModel(flags.initFrom, backend) : null;
    config = taskModelConfig(task, flags, rest, source?.dir);
    checkMemory(config, batchSize);
    const model = new PerceiverAR(config, backend, { seed });
    if (source !== null) {
      warmStart(model, source.model);
      console.log(`initialised from ${source.dir} (context ${source.model.config.maxSeqLen} -> ${config.maxSeqLen})`);
    }
    const options: TrainerOptionsInput = {
      maxSteps: int("max-steps", flags.maxSteps, 1),
      batchSize,
      gradAccumulation: int("grad-accumulation", flags.gradAccumulation, 1),
      lr: real("lr", flags.lr, 0),
      warmupSteps: int("warmup-steps", flags.warmupSteps, 0),
      minLr: real("min-lr", flags.minLr, 0),
      weightDecay: real("weight-decay", flags.weightDecay, 0),
      clipNorm: real("clip-norm", flags.clipNorm, 0),
      seed,
      evalEvery: int("eval-every", flags.evalEvery, 0),
      checkpointEvery: int("checkpoint-every", flags.checkpointEvery, 0),
      runDir,
      stopAtAccuracy: flags.stopAtAccuracy !== undefined ? stopAccuracy(flags.stopAtAccuracy) : undefined,
    };
    const data = task.trainSource(config.maxSeqLen, batchSize, seed, config.maxLatents);
    fs.mkdirSync(runDir, { recursive: true });
    writeFileAtomic(path.join(runDir, TASK_FILE), JSON.stringify(task.spec, null, 2) + "\n");
    trainer = Trainer.create(model, data, options, { validation: task.validation(config.maxSeqLen, evalWindows) });
    console.log(`training a ${model.numParameters.toLocaleString("en-US")}-parameter Perceiver AR on ${describeTask(task)} (${backend.name} backend) into ${runDir}`);
    console.log(`context ${config.maxSeqLen}, latents ${config.maxLatents}, width ${config.numChannels}, ${config.numSelfAttentionLayers} self-attention layers`);
  }

  const total = trainer.options.maxSteps;
  const bar = progress(total, trainer.completedSteps);
  const abort = new AbortController();
  const onSigint = () => {
    bar.log("stopping after this step and writing a checkpoint (Ctrl-C again to kill)");
    abort.abort();
    process.off("SIGINT", onSigint);
  };
  process.on("SIGINT", onSigint);
  const t0 = Date.now();
  const summary = await trainer.train({
    signal: abort.signal,
    onProgress: (e) => {
      if (e.kind === "train") bar.update(e.step, { loss: e.loss.toFixed(4), tps: e.tokensPerSec.toFixed(0), lr: e.lr.toExponential(2) });
      else if (e.kind === "eval") bar.log(`step ${e.step}: validation ${task.metricName} ${task.metric(e).toFixed(4)} (loss ${e.loss.toFixed(4)} nats/token, accuracy ${(e.accuracy * 100).toFixed(2)}%)${e.best ? " *best*" : ""}`);
    },
  });
  bar.stop();
  process.off("SIGINT", onSigint);
  const minutes = (Date.now() - t0) / 60000;
  const how = { abort: "stopped", maxSteps: "finished", accuracy: "reached the target accuracy and stopped" }[summary.stoppedBy];
  console.log(`${how} at step ${summary.step} in ${minutes.toFixed(1)} min; checkpoint in ${path.join(runDir, "checkpoint")}, metrics in ${path.join(runDir, "metrics.jsonl")}, plot in ${path.join(runDir, "loss.svg")}`);
  const final = trainer.evaluate();
  if (final) console.log(`validation: ${task.metricName} ${task.metric(final).toFixed(4)}, loss ${final.loss.toFixed(4)} nats/token over ${final.tokens} tokens`);
  for (const line of await task.trainingReport(trainer.model, { sampleTokens })) console.log(line);
}

function describeTask(task: Task): string {
  return `${task.spec.task}${task.spec.data ? ` (${task.spec.data})` : ""}`;
}

/** The new run's config: the preset (or, with --init-from, the source model's config), then --config, --context and overrides. */
function taskModelConfig(task: Task, flags: TrainFlags, rest: readonly string[], sourceDir?: string): PerceiverARConfig {
  if (sourceDir !== undefined && (flags.preset !== undefined || flags.config !== undefined)) {
    throw new UsageError("--init-from takes the model config from the source model; use --context and --key value overrides instead of --preset/--config");
  }
  const preset = sourceDir !== undefined ? undefined : (flags.preset ?? DEFAULT_PRESET[task.spec.task](task.spec.data));
  if (preset !== undefined) getPreset(preset);
  const cfg = resolveModelConfig({ preset, config: sourceDir ?? flags.config }, rest, sourceDir !== undefined ? {} : { vocabSize: task.vocabSize });
  if (flags.context !== undefined) {
    const n = integerFlag("context", flags.context, 2);
    cfg.maxSeqLen = n;
    cfg.maxLatents = Math.min(cfg.maxLatents as number, n);
  }
  if (cfg.vocabSize !== task.vocabSize) throw new UsageError(`the ${task.spec.task} task has ${task.vocabSize} tokens, but the model's vocab_size is ${String(cfg.vocabSize)}`);
  return makeConfig(cfg);
}

function stopAccuracy(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1) throw new UsageError(`--stop-at-accuracy must be a fraction in (0, 1], e.g. 0.99, got "${v}"`);
  return n;
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
