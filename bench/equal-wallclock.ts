// Equal wall-clock benchmark (issue 14, item 3): `npm start`'s model and recipe against our own
// decoder-only Transformer (PerceiverAR with latents = context) and a small PyTorch GPT
// (bench/torch_gpt.py, nanoGPT's architecture and the tuned recipe), each trained for the
// same budget of seconds on the built-in SOTU corpus (byte-level, npm start's split), then scored
// on the same validation bytes. One table, side by side.
//
// Usage:
//   npx tsc -p . && node dist/bench/equal-wallclock.js [--budget 95] [--clock wall|cpu]
//     [--contenders perceiver-ar,transformer,torch-gpt] [--threads 2] [--python /usr/bin/python3]
//     [--perceiver-ar key=value,...] [--transformer key=value,...] [--torch-gpt key=value,...]
//     [--steps N] [--label TEXT] [--log FILE] [--out FILE|none]
//   --budget: seconds of training per contender (default 95: the PyTorch GPT's ~95 s on a quiet
//     machine). --clock wall (default) counts wall-clock seconds; --clock cpu counts the CPU time
//     of the training thread (the main thread, which takes part in every parallel kernel: on a
//     quiet machine about the wall-clock), which a machine shared with other jobs disturbs less.
//   --steps N: train every contender for exactly N steps instead (the recipe search: then compare
//     bits/byte at equal steps and the measured seconds per step separately).
//   --perceiver-ar / --transformer / --torch-gpt: override recipe fields, e.g.
//     `--perceiver-ar maxSeqLen=2048,maxLatents=256,lr=3e-3,batchSize=16`; our contenders take model
//     config fields (src/models/config.ts) and trainer options (src/train/trainer-options.ts), the
//     GPT takes layers, width, heads, context, batch, lr, min-lr, warmup, weight-decay, beta2.
//   --log FILE: append every contender's JSON result as one line (the recipe search's record).
//   --out FILE: write the table, the command, the machine and its load to FILE as Markdown
//     (default: bench/results/equal-wallclock.md for a budget run of all three contenders with no
//     overrides of their recipes, none otherwise; `--out none` writes nothing).
//
// Contenders and their recipes:
//   perceiver-ar: the `npm start` model (src/models/presets.ts, the text task's default preset)
//     with the training defaults of src/train/defaults.ts, read from those files: what `npm start`
//     runs, except for its length (the budget decides it) and its periodic validations (none here).
//   transformer: PerceiverAR with max_latents = max_seq_len (no prefix: a decoder-only Transformer
//     of 1 + numSelfAttentionLayers layers), TRANSFORMER_RECIPE below, trainer defaults otherwise.
//   torch-gpt: bench/torch_gpt.py with its defaults (4 layers x 128, 4 heads, context 64, lr 2e-3
//     -> 2e-4), 2 threads, OPENBLAS_* unset, OMP_WAIT_POLICY=PASSIVE.
//
// Length of training (budget mode): each contender first times a few steps of a throwaway copy of
// its model (not counted), plans floor(budget / seconds per step) steps (warmup by the recipe's rule
// for that length), and re-plans every 10 steps from its rate so far, so that its cosine decay ends
// with the budget; it stops at the first step that ends past the budget. Only training steps count:
// no contender validates during its budget, and the final scoring (identical for all) is untimed.
//
// Scoring (bench/sotu-scoring.ts): the 12 validation documents of npm start's split; the last 128
// targets of each of the 684 windows of 1,025 tokens (87,552 bytes, npm start's all-window
// validation at context 1,024 and 128 latents), each predicted from the validation tokens before
// it, as many as the contender's context holds (chunks of at most `latents` targets for Perceiver
// AR, context / 4 for the Transformers). The Python side reads the same streams and ranges from
// files this script writes, and its scored token count, byte count and position checksum must equal
// ours, or the script exits 1.
//
// Validated before anything is timed (exit 1 on a mismatch): each of our contenders' models at a
// small size (the recipe's width, heads and layers; 256 tokens) against the reference backend, one
// training step with cross-attention dropout (loss, logits, every gradient, golden tolerances); our
// chunked scoring against src/train/evaluate.ts on 16 windows (it must give npm start's figure);
// the GPT's own checks (bench/torch_gpt.py: initial loss ~ ln V, attention vs an explicit softmax,
// causality).

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import { getNativeThreads, setNativeThreads } from "../src/backend/native/index.js";
import { getBackend } from "../src/backend/select.js";
import type { Backend } from "../src/backend/backend.js";
import { BYTE_VOCAB_SIZE } from "../src/data/byte-tokenizer.js";
import { fixedWindows } from "../src/data/windows.js";
import { DEFAULT_CONFIG, makeConfig, type PerceiverARConfig } from "../src/models/config.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { getPreset } from "../src/models/presets.js";
import { DEFAULT_PRESET } from "../src/cli/train.js";
import { streamTrainSource } from "../src/tasks/token-stream.js";
import { defaultWarmupSteps } from "../src/train/defaults.js";
import { evaluate } from "../src/train/evaluate.js";
import { resolveTrainerOptions, type TrainerOptions, type TrainerOptionsInput } from "../src/train/trainer-options.js";
import { TrainingLoop } from "../src/train/training-loop.js";
import { IGNORE_INDEX } from "../src/util/ignore-index.js";
import { Rng } from "../src/util/rng.js";
import { findTorchPython, machineDescription, markdownTable, runJsonChild, torchSettingEnv, writeJsonResult } from "./harness.js";
import { chunkPlan, exportForPython, planSummary, scoredRanges, scoreModel, sotuStreams, type PlanSummary } from "./sotu-scoring.js";
import { checkAgainstReference, describeCheck, requireValid } from "./validate.js";

/** The Transformer baseline: context 256 (every target sees 192-256 tokens when scored), width and heads of the npm start model, 1 + 3 layers, batch 8 (2,048 targets per step). */
const TRANSFORMER_RECIPE: Record<string, number | boolean> = {
  maxSeqLen: 256,
  maxLatents: 256,
  numSelfAttentionLayers: 3,
  crossAttentionDropout: 0,
};
/** Default budget: the PyTorch GPT's ~95 s on a quiet machine (issue 14). */
const DEFAULT_BUDGET_SECONDS = 95;
/** Untimed steps of the throwaway copy before the calibration steps (allocations, pools). */
const CALIBRATION_WARMUP = 1;
/** Timed calibration steps. */
const CALIBRATION_STEPS = 3;
/** Re-plan the schedule's length every this many steps from the rate so far. */
const REPLAN_EVERY = 10;
/** Targets per scoring chunk of a Transformer: context / 4 (every target sees >= 3/4 of the context). */
const TRANSFORMER_STRIDE_DIVISOR = 4;
/** Windows and positions of the scoring check against evaluate(). */
const CHECK_WINDOWS = 16;
/** Our scoring and evaluate() sum the same float32 losses in another order: relative difference allowed. */
const SCORE_CHECK_TOLERANCE = 1e-6;

type Contender = "perceiver-ar" | "transformer" | "torch-gpt";
const CONTENDERS: readonly Contender[] = ["perceiver-ar", "transformer", "torch-gpt"];
type Clock = "wall" | "cpu";

interface Flags {
  budget: number;
  clock: Clock;
  steps: number | null;
  contenders: Contender[];
  threads: number;
  python: string | null;
  overrides: Record<Contender, Record<string, number | boolean>>;
  label: string | null;
  log: string | null;
  out: string | null | undefined;
}

function parseFlags(argv: readonly string[]): Flags {
  const f: Flags = { budget: DEFAULT_BUDGET_SECONDS, clock: "wall", steps: null, contenders: [...CONTENDERS], threads: 2, python: null, overrides: { "perceiver-ar": {}, transformer: {}, "torch-gpt": {} }, label: null, log: null, out: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new RangeError(`${a} needs a value`);
      return x;
    };
    if (a === "--budget") f.budget = positive(a, v());
    else if (a === "--clock") {
      const c = v();
      if (c !== "wall" && c !== "cpu") throw new RangeError(`--clock must be wall or cpu, got ${c}`);
      f.clock = c;
    } else if (a === "--steps") f.steps = Math.round(positive(a, v()));
    else if (a === "--contenders") {
      f.contenders = v().split(",").map((c) => {
        if (!(CONTENDERS as readonly string[]).includes(c)) throw new RangeError(`--contenders: ${c} is not one of ${CONTENDERS.join(", ")}`);
        return c as Contender;
      });
    } else if (a === "--threads") f.threads = Math.round(positive(a, v()));
    else if (a === "--python") f.python = v();
    else if (a === "--label") f.label = v();
    else if (a === "--log") f.log = v();
    else if (a === "--out") {
      const o = v();
      f.out = o === "none" ? null : o;
    }
    else if (a === "--perceiver-ar" || a === "--transformer" || a === "--torch-gpt") f.overrides[a.slice(2) as Contender] = parseAssignments(a, v());
    else throw new RangeError(`unknown flag ${a}`);
  }
  return f;
}

function positive(flag: string, s: string): number {
  const x = Number(s);
  if (!(x > 0 && Number.isFinite(x))) throw new RangeError(`${flag} must be a positive number, got ${s}`);
  return x;
}

/** "a=1,b=true" -> {a: 1, b: true}. */
function parseAssignments(flag: string, s: string): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const part of s.split(",").filter((p) => p !== "")) {
    const [k, val] = part.split("=");
    if (k === undefined || val === undefined) throw new RangeError(`${flag}: expected key=value, got ${part}`);
    out[k] = val === "true" ? true : val === "false" ? false : positiveOrZero(`${flag} ${k}`, val);
  }
  return out;
}

function positiveOrZero(what: string, s: string): number {
  const x = Number(s);
  if (!Number.isFinite(x)) throw new RangeError(`${what} must be a number, got ${s}`);
  return x;
}

// ---------------------------------------------------------------------------------------------
// Clocks.

/** CPU seconds of the calling thread (Linux /proc; 10 ms resolution). */
export function threadCpuSeconds(): number {
  const stat = fs.readFileSync("/proc/thread-self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields[0] is field 3 (state)
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND; // utime, stime
}
/** sysconf(_SC_CLK_TCK) on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

function clockFn(c: Clock): () => number {
  return c === "wall" ? () => performance.now() / 1000 : threadCpuSeconds;
}

// ---------------------------------------------------------------------------------------------
// Our contenders' recipes.

interface OurRecipe {
  model: PerceiverARConfig;
  trainer: TrainerOptionsInput;
}

/** Model fields and trainer options of `overrides`, split by name; anything else is an error. */
function applyOverrides(model: Partial<PerceiverARConfig>, trainer: TrainerOptionsInput, overrides: Record<string, number | boolean>, who: string): OurRecipe {
  const m: Record<string, unknown> = { ...model };
  const t: Record<string, unknown> = { ...trainer };
  const trainerKeys = new Set(Object.keys(resolveTrainerOptions({})));
  for (const [k, v] of Object.entries(overrides)) {
    if (k in DEFAULT_CONFIG) m[k] = v;
    else if (trainerKeys.has(k)) t[k] = v;
    else throw new RangeError(`--${who}: ${k} is neither a model config field nor a trainer option`);
  }
  return { model: makeConfig(m), trainer: t as TrainerOptionsInput };
}

function ourRecipe(c: Exclude<Contender, "torch-gpt">, overrides: Record<string, number | boolean>): OurRecipe {
  const preset = getPreset(DEFAULT_PRESET.text()).model;
  const base = c === "perceiver-ar" ? preset : { ...preset, ...TRANSFORMER_RECIPE };
  const r = applyOverrides(base, {}, overrides, c);
  if (c === "transformer" && r.model.maxLatents !== r.model.maxSeqLen) throw new RangeError(`--transformer: maxLatents must equal maxSeqLen (a decoder-only Transformer), got ${r.model.maxLatents} and ${r.model.maxSeqLen}`);
  return r;
}

/** Targets per scoring chunk: the latents for Perceiver AR, context / 4 for a Transformer. */
function strideOf(m: PerceiverARConfig): number {
  return m.maxLatents < m.maxSeqLen ? m.maxLatents : Math.max(1, Math.floor(m.maxSeqLen / TRANSFORMER_STRIDE_DIVISOR));
}

// ---------------------------------------------------------------------------------------------
// Child: train one of our contenders, then score it.

interface ChildSpec {
  contender: Contender;
  recipe: OurRecipe;
  budget: number;
  clock: Clock;
  steps: number | null;
  threads: number;
}

export interface ContenderResult {
  contender: Contender;
  params: number;
  steps: number;
  plannedSteps: number;
  warmup: number;
  calibrationSecondsPerStep: number | null;
  trainWallSeconds: number;
  trainThreadCpuSeconds: number;
  trainProcessCpuSeconds?: number;
  finalTrainLoss: number;
  scoreSeconds: number;
  stride: number;
  targetsPerStep: number;
  nats: number;
  tokens: number;
  bytes: number;
  positionChecksum?: number;
  bitsPerByte: number;
  recipe: unknown;
  check?: unknown;
}

function loopOptions(recipe: OurRecipe, maxSteps: number): TrainerOptions {
  const t = recipe.trainer;
  return resolveTrainerOptions({ ...t, maxSteps, warmupSteps: Math.min(t.warmupSteps ?? defaultWarmupSteps(maxSteps), maxSteps), evalEvery: 0, checkpointEvery: 0, runDir: null, saveBest: false });
}

async function child(spec: ChildSpec): Promise<void> {
  setNativeThreads(spec.threads);
  const backend = getBackend();
  const streams = sotuStreams();
  const { model: config } = spec.recipe;
  const clock = clockFn(spec.clock);
  const trainer = resolveTrainerOptions({ ...spec.recipe.trainer });
  const targetsPerStep = trainer.batchSize * trainer.gradAccumulation * config.maxLatents;

  let planned = spec.steps ?? 0;
  let calibration: number | null = null;
  if (spec.steps === null) {
    // A throwaway copy (another seed, other batches) tells this machine's rate; it is not kept.
    const twin = new PerceiverAR(config, backend, { seed: trainer.seed + 1 });
    const tl = new TrainingLoop(twin, streamTrainSource(streams.train, config.maxSeqLen, trainer.batchSize, trainer.seed + 1), loopOptions(spec.recipe, 1_000_000));
    for (let i = 0; i < CALIBRATION_WARMUP; i++) tl.step();
    const t0 = clock();
    for (let i = 0; i < CALIBRATION_STEPS; i++) tl.step();
    calibration = (clock() - t0) / CALIBRATION_STEPS;
    twin.pool.clear();
    planned = Math.max(1, Math.floor(spec.budget / calibration));
  }
  const opts = loopOptions(spec.recipe, planned);
  const model = new PerceiverAR(config, backend, { seed: opts.seed });
  const loop = new TrainingLoop(model, streamTrainSource(streams.train, config.maxSeqLen, opts.batchSize, opts.seed), opts);
  const losses: number[] = [];
  const wall0 = performance.now();
  const cpu0 = threadCpuSeconds();
  const proc0 = process.cpuUsage();
  const t0 = clock();
  for (;;) {
    const r = loop.step();
    losses.push(r.loss);
    const elapsed = clock() - t0;
    if (spec.steps !== null) {
      if (r.step >= spec.steps) break;
    } else {
      if (elapsed >= spec.budget) break;
      if (r.step % REPLAN_EVERY === 0) {
        planned = Math.max(opts.warmupSteps + 1, r.step + 1, Math.round((r.step * spec.budget) / elapsed));
        loop.planSteps(planned);
      }
    }
    if (r.step % 100 === 0) process.stderr.write(`${spec.contender} step ${r.step}/${planned}: loss ${mean(losses.slice(-50)).toFixed(4)}, ${elapsed.toFixed(1)} s (${spec.clock})\n`);
  }
  const trainWallSeconds = (performance.now() - wall0) / 1000;
  const trainThreadCpuSeconds = threadCpuSeconds() - cpu0;
  const pu = process.cpuUsage(proc0);
  model.pool.clear();
  const stride = strideOf(config);
  const plan = chunkPlan(scoredRanges(streams.validation.length), config.maxSeqLen, stride);
  const s0 = performance.now();
  const score = scoreModel(model, streams.validation, plan, streams.tokenBytes);
  const summary = planSummary(streams.validation, plan, streams.tokenBytes);
  const result: ContenderResult = {
    contender: spec.contender,
    params: model.numParameters,
    steps: loop.completedSteps,
    plannedSteps: planned,
    warmup: opts.warmupSteps,
    calibrationSecondsPerStep: calibration,
    trainWallSeconds,
    trainThreadCpuSeconds,
    trainProcessCpuSeconds: (pu.user + pu.system) / 1e6,
    finalTrainLoss: mean(losses.slice(-50)),
    scoreSeconds: (performance.now() - s0) / 1000,
    stride,
    targetsPerStep,
    ...score,
    positionChecksum: summary.positionChecksum,
    recipe: { model: config, trainer: { ...opts, maxSteps: planned } },
  };
  writeJsonResult(result);
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

// ---------------------------------------------------------------------------------------------
// Validation before timing (in the parent).

/** Sequence length of the reference-backend check. */
const CHECK_SEQ_LEN = 256;
/** Latents of the reference-backend check (Perceiver AR). */
const CHECK_LATENTS = 32;
const CHECK_BATCH = 2;

function checkOurModel(backend: Backend, recipe: OurRecipe, who: string): string {
  const transformer = recipe.model.maxLatents === recipe.model.maxSeqLen;
  const N = transformer ? Math.min(64, recipe.model.maxSeqLen) : Math.min(CHECK_SEQ_LEN, recipe.model.maxSeqLen);
  const M = transformer ? N : Math.min(CHECK_LATENTS, recipe.model.maxLatents, N - 1);
  const config = { ...recipe.model, maxSeqLen: N, maxLatents: M };
  const data = new Rng(7);
  const ids = Int32Array.from({ length: CHECK_BATCH * N }, () => data.nextInt(config.vocabSize));
  const labels = Int32Array.from({ length: CHECK_BATCH * M }, (_, i) => (i % 5 === 3 ? IGNORE_INDEX : data.nextInt(config.vocabSize)));
  const check = checkAgainstReference(backend, (b) => {
    const model = new PerceiverAR(config, b, { seed: 3 });
    const dropout = new Rng(11);
    return {
      parameters: model.parameters,
      step: () => {
        const r = model.lossAndGrad({ data: ids, shape: [CHECK_BATCH, N] }, { data: labels, shape: [CHECK_BATCH, M] }, { prefixLen: N - M, training: true, random: () => dropout.nextFloat() });
        return { loss: r.loss };
      },
    };
  });
  requireValid(check, `${who} (context ${N}, ${M} latents, training step with dropout) on the ${backend.name} backend vs the reference backend`);
  return `${who}: one training step at context ${N}, ${M} latents vs the reference backend: ${check === null ? "(reference backend itself)" : describeCheck(check)}`;
}

/** Our chunked scoring of npm start's windows equals evaluate() (what npm start reports) on CHECK_WINDOWS windows. */
function checkScoring(backend: Backend, validation: Int32Array, tokenBytes: (id: number) => number): string {
  const config = makeConfig({ ...getPreset("tiny").model, vocabSize: BYTE_VOCAB_SIZE, maxSeqLen: 1024, maxLatents: 128 });
  const model = new PerceiverAR(config, backend, { seed: 5 });
  const ranges = scoredRanges(validation.length).slice(0, CHECK_WINDOWS);
  const ours = scoreModel(model, validation, chunkPlan(ranges, config.maxSeqLen, strideOf(config)), tokenBytes);
  const windows = fixedWindows(validation, 1025, Math.floor(validation.length / 1025)).slice(0, CHECK_WINDOWS);
  const want = evaluate(model, windows, { tokenByteLength: tokenBytes });
  const err = Math.abs(ours.bitsPerByte - want.bitsPerByte) / want.bitsPerByte;
  if (!(err <= SCORE_CHECK_TOLERANCE) || ours.tokens !== want.tokens || ours.bytes !== want.bytes) {
    console.error(`scoring check failed: chunked scoring ${ours.bitsPerByte} over ${ours.tokens} tokens / ${ours.bytes} bytes, evaluate() ${want.bitsPerByte} over ${want.tokens} / ${want.bytes}`);
    process.exit(1);
  }
  return `scoring: chunked scoring = evaluate() on ${CHECK_WINDOWS} windows of a random 1,024 / 128 model (relative difference ${err.toExponential(1)}, ${ours.tokens} tokens)`;
}

// ---------------------------------------------------------------------------------------------
// Parent.

function gptArgs(o: Record<string, number | boolean>): string[] {
  const known = new Set(["layers", "width", "heads", "context", "batch", "lr", "min-lr", "warmup", "weight-decay", "beta2", "clip", "seed", "stride"]);
  return Object.entries(o).flatMap(([k, v]) => {
    if (!known.has(k)) throw new RangeError(`--torch-gpt: ${k} is not one of ${[...known].join(", ")}`);
    return [`--${k}`, String(v)];
  });
}

function describeRecipe(r: ContenderResult): string {
  if (r.contender === "torch-gpt") {
    const g = r.recipe as Record<string, number>;
    return `${g.layers}x${g.width}, ctx ${g.context}, batch ${g.batch}, lr ${g.lr}->${g.min_lr}`;
  }
  const { model: m, trainer: t } = r.recipe as { model: PerceiverARConfig; trainer: TrainerOptions };
  const lat = m.maxLatents === m.maxSeqLen ? "" : `, ${m.maxLatents} lat, drop ${m.crossAttentionDropout}`;
  return `${1 + m.numSelfAttentionLayers}x${m.numChannels}, ctx ${m.maxSeqLen}${lat}, batch ${t.batchSize}, lr ${t.lr}->${t.minLr}`;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  setNativeThreads(flags.threads);
  const backend = getBackend();
  const machine = machineDescription();
  console.log(`equal wall-clock benchmark on ${machine}; ${backend.name} backend, ${getNativeThreads()} threads`);
  const budgetLine = flags.steps !== null ? `every contender trains ${flags.steps} steps` : `budget: ${flags.budget} s of training per contender (${flags.clock === "wall" ? "wall-clock" : "CPU time of the training thread"})`;
  console.log(budgetLine);
  const streams = sotuStreams();
  console.log(streams.describe);
  const ranges = scoredRanges(streams.validation.length);

  // Validation before timing.
  const recipes = new Map<Contender, OurRecipe>();
  for (const c of flags.contenders) if (c !== "torch-gpt") recipes.set(c, ourRecipe(c, flags.overrides[c]));
  const checks: string[] = [];
  for (const [c, r] of recipes) checks.push(checkOurModel(backend, r, c));
  checks.push(checkScoring(backend, streams.validation, streams.tokenBytes));
  for (const c of checks) console.log(c);

  const script = fileURLToPath(import.meta.url);
  const results: ContenderResult[] = [];
  const loads: number[] = [];
  let dataDir: string | null = null;
  try {
    for (const c of flags.contenders) {
      const load0 = os.loadavg()[0];
      let r: ContenderResult;
      if (c === "torch-gpt") {
        const py = findTorchPython(flags.python ?? "/usr/bin/python3");
        if (py === null) throw new Error("no Python with torch (tried --python or /usr/bin/python3)");
        if (dataDir === null) {
          dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "equal-wallclock-"));
          exportForPython(dataDir, streams, ranges, BYTE_VOCAB_SIZE);
        }
        const args = [path.join(path.dirname(script), "..", "..", "bench", "torch_gpt.py"), "--data", dataDir, "--threads", String(flags.threads), "--clock", flags.clock, "--budget", String(flags.budget), ...(flags.steps !== null ? ["--steps", String(flags.steps)] : []), ...gptArgs(flags.overrides["torch-gpt"])];
        r = await runJsonChild<ContenderResult>(py.python, args, { env: torchSettingEnv("passive") });
        const want: PlanSummary = planSummary(streams.validation, chunkPlan(ranges, (r.recipe as { context: number }).context, r.stride), streams.tokenBytes);
        if (r.tokens !== want.tokens || r.bytes !== want.bytes || r.positionChecksum !== want.positionChecksum) {
          console.error(`torch-gpt scored other positions: ${r.tokens} tokens, ${r.bytes} bytes, checksum ${r.positionChecksum}; ours ${want.tokens}, ${want.bytes}, ${want.positionChecksum}`);
          process.exit(1);
        }
        const g = r.check as { initialLoss: number; lnVocab: number; attentionRelError: number; causalityError: number };
        checks.push(`torch-gpt: initial loss ${g.initialLoss.toFixed(4)} (ln V ${g.lnVocab.toFixed(4)}), attention vs an explicit float64 softmax ${g.attentionRelError.toExponential(1)}, causality ${g.causalityError.toExponential(1)}; scored the same ${r.tokens} positions (${r.bytes} bytes, position checksum equal)`);
        console.log(checks.at(-1));
      } else {
        const spec: ChildSpec = { contender: c, recipe: recipes.get(c)!, budget: flags.budget, clock: flags.clock, steps: flags.steps, threads: flags.threads };
        r = await runJsonChild<ContenderResult>(process.execPath, [script, "--child", JSON.stringify(spec)]);
      }
      loads.push((load0 + os.loadavg()[0]) / 2);
      results.push(r);
      console.log(`${c}: ${r.bitsPerByte.toFixed(4)} bits/byte after ${r.steps} steps (${r.trainWallSeconds.toFixed(1)} s wall, ${r.trainThreadCpuSeconds.toFixed(1)} s thread CPU)`);
      if (flags.log !== null) fs.appendFileSync(flags.log, JSON.stringify({ label: flags.label, date: new Date().toISOString(), load: loads.at(-1), clock: flags.clock, budget: flags.steps === null ? flags.budget : null, ...r }) + "\n");
    }
  } finally {
    if (dataDir !== null) fs.rmSync(dataDir, { recursive: true, force: true });
  }

  const rows = results.map((r, i) => [
    r.contender,
    describeRecipe(r),
    r.params.toLocaleString("en-US"),
    String(r.steps),
    r.trainWallSeconds.toFixed(1),
    r.trainThreadCpuSeconds.toFixed(1),
    (r.trainThreadCpuSeconds / r.steps).toFixed(4),
    String(r.targetsPerStep),
    r.finalTrainLoss.toFixed(3),
    r.bitsPerByte.toFixed(4),
    loads[i].toFixed(1),
  ]);
  const scored = `scored: ${results[0]?.tokens ?? 0} validation targets (${results[0]?.bytes ?? 0} bytes) of the 12 held-out addresses, the same positions for every contender`;
  const table = markdownTable(["contender", "recipe", "params", "steps", "train s (wall)", "train s (thread CPU)", "thread CPU s/step", "targets/step", "train loss", "bits/byte", "load"], rows);
  console.log("");
  console.log(scored);
  console.log(table);
  const out = flags.out !== undefined ? flags.out : defaultOut(flags);
  if (out !== null) {
    const command = ["node dist/bench/equal-wallclock.js", ...process.argv.slice(2)].join(" ");
    const md = [
      "# Equal wall-clock: Perceiver AR (`npm start`) vs our Transformer vs a PyTorch GPT",
      "",
      `Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}.`,
      `Machine: ${machine}; ${backend.name} backend, ${getNativeThreads()} threads; Node ${process.version}.`,
      `Load averages during the contenders' runs: ${loads.map((l) => l.toFixed(1)).join(", ")} (2 cores: above 2 the machine was shared with other jobs).`,
      budgetLine,
      "",
      "Checked before timing:",
      "",
      ...checks.map((c) => `- ${c}`),
      "",
      scored + ".",
      "",
      table,
      "",
    ].join("\n");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, md);
    console.log(`wrote ${out}`);
  }
}

/** bench/results/equal-wallclock.md for the standard run (budget mode, all three contenders, their own recipes), else nothing. */
function defaultOut(f: Flags): string | null {
  const standard = f.steps === null && f.contenders.length === CONTENDERS.length && CONTENDERS.every((c) => Object.keys(f.overrides[c]).length === 0);
  return standard ? path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "results", "equal-wallclock.md") : null;
}

if (process.argv[2] === "--child") {
  child(JSON.parse(process.argv[3]!) as ChildSpec).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
