// Benchmark: generation speed and the quality cost of the schedules, in four sections.
//
//   node dist/bench/generate.js phases [latentSteps prefixSteps slideSteps]
//   node dist/bench/generate.js schedules [--model DIR] [--clm-base [DIR]] [--periods P] [--exact-tokens E]
//   node dist/bench/generate.js quality --model DIR [--segments K] [--periods P]
//   node dist/bench/generate.js batch [--model DIR] [--rows B] [--tokens N]
//
// - phases: KV-cached vs uncached tokens/s per phase of the exact schedule (prefill, latents
//   growing, prefix growing, window sliding) on a random model (max_seq_len 4096, 256 latents,
//   width 256, 5 self-attention layers, rotary only), both decoders in lock-step (greedy on the
//   cached logits). Defaults 16 16 16 (reference backend: 4 3 3). Validated: the first step vs the
//   reference backend; cached vs uncached at every step (1e-4).
// - schedules: tokens/s of the exact and the reset schedule (default fill) at full window (a prompt
//   of max_seq_len tokens: every exact step recomputes all M latents), greedy, on a trained model
//   (--model: a model or run folder; its validation text as the prompt) and/or a clm-base-sized
//   model (--clm-base: the folder bench/make_clm_base_folder.py wrote, or without DIR a random one
//   of the published config built here). The reset schedule runs P whole periods (default 1) of
//   M - R + 1 tokens, so its figure is its steady state (one full pass per period); the exact one
//   E tokens (default 4; each costs the same at full window); the reset schedule again with int8
//   weights. Also: the weight bytes one cheap (one latent row per layer) step reads, the time they
//   take at the memory bandwidth measured in the same run (bench/memory-bandwidth.ts), and the
//   cheap steps' measured time. Validated: the cached logits of the first two steps of each run and
//   of its first reset step vs a full forward on the step's window (int8: vs a fresh int8 decoder,
//   whose first step is a full pass), 1e-4, outside the timed region.
// - quality: bits/byte of each schedule's teacher-forced predictions (generate/schedule-score.ts)
//   on the model's validation text (a text task's run): K segments (default 16) of max_seq_len + S
//   tokens, the first max_seq_len the prompt, S = P periods of the reset schedule (default 2) the
//   scored tokens; the same tokens for every schedule; float32 and int8 weights (int8: the cached
//   decoder teacher-forced). Validated: the first segment's float32 scores of each schedule from full
//   forwards vs the cached decoder teacher-forced on the same steps (1e-3 nats).
// - batch: B prompts (default 4, lengths spread over [1, max_seq_len/2]) generated together vs one
//   at a time, greedy, N tokens each (default 64), on --model or the phases model. Validated: the
//   batch's tokens equal the one-at-a-time tokens row for row.
// Backend: getBackend() (env PERCEIVER_AR_BACKEND=native|reference).

import { parseArgs } from "node:util";
import { referenceBackend } from "../src/backend/reference/index.js";
import { getBackend } from "../src/backend/select.js";
import { openModel, taskFor } from "../src/cli/common.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { generate, generateBatch, lastPositionLogits } from "../src/generate/generate.js";
import { argmax } from "../src/generate/sampling.js";
import type { WeightFormat } from "../src/generate/int8-layers.js";
import { scheduleLogLoss } from "../src/generate/schedule-score.js";
import { defaultNumLatents, defaultResetFill, generationSchedule, type ScheduleChoice, type StepKind } from "../src/generate/schedule.js";
import { loadModel } from "../src/io/checkpoint.js";
import { getPreset } from "../src/models/presets.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { TextTask } from "../src/tasks/text-task.js";
import { Rng } from "../src/util/rng.js";
import type { Backend } from "../src/backend/backend.js";
import { machineDescription, markdownTable } from "./harness.js";
import { measureMemoryBandwidth } from "./memory-bandwidth.js";
import { maxAbsDiff, maxAbsOrRelError, requireClose, TOLERANCE, ValidationError } from "./validate.js";

const PHASES_CONFIG = {
  vocab_size: 262,
  max_seq_len: 4096,
  max_latents: 256,
  num_channels: 256,
  num_heads: 4,
  num_self_attention_layers: 5,
  num_self_attention_rotary_layers: -1,
  abs_pos_emb: false,
  output_norm: true,
  output_bias: false,
  cross_attention_dropout: 0,
};
/** Scores from a full forward vs from the cached decoder: float32 logits, float64 sums (nats per token). */
const SCORE_TOLERANCE = 1e-3;

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toPrecision(3));

function intOption(v: string | undefined, name: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < min) throw new RangeError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function deterministicTokens(n: number, vocab: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.nextInt(vocab));
}

/** A trained text model and its validation token stream. */
function textModel(dirArg: string, backend: Backend): { model: PerceiverAR; validation: Int32Array; task: TextTask; name: string } {
  const { model, dir } = openModel(dirArg, backend);
  const task = taskFor(dir, { task: "text" } as never);
  if (!(task instanceof TextTask)) throw new RangeError(`${dir}: a text model is needed, this run's task is ${task.spec.task}`);
  return { model, validation: task.data().validation, task, name: dir };
}

/** The clm-base-sized model: loaded from a folder, or random with the published config. */
function clmBaseModel(dir: string | undefined, backend: Backend): { model: PerceiverAR; name: string } {
  if (dir !== undefined) return { model: loadModel(dir, backend, { log: () => {} }), name: dir };
  process.stderr.write("building a random model of clm-base's published config (455M parameters)...\n");
  return { model: new PerceiverAR(getPreset("clm-base").model, backend, { seed: 0 }), name: "clm-base config, random" };
}

// ---------------------------------------------------------------------------------------------
// phases

function phases(argv: string[], backend: Backend): void {
  const defaults = backend.name === "reference" ? [4, 3, 3] : [16, 16, 16];
  const [latentSteps, prefixSteps, slideSteps] = [0, 1, 2].map((i) => intOption(argv[i], ["latentSteps", "prefixSteps", "slideSteps"][i], defaults[i]));
  const config = PHASES_CONFIG;
  const model = new PerceiverAR(config, backend, { seed: 1 });
  const maxPrefix = config.max_seq_len - config.max_latents;
  const numLatents = config.max_latents - latentSteps;
  const promptLength = maxPrefix - prefixSteps + numLatents;
  const steps = 1 + latentSteps + prefixSteps + slideSteps;
  const prompt = Array.from({ length: promptLength }, (_, i) => (i * 7919) % config.vocab_size);
  console.log(`backend ${backend.name}; model ${model.numParameters.toLocaleString()} parameters; prompt ${promptLength} tokens, ${numLatents} initial latents, ${steps} steps; ${machineDescription()}`);
  lastPositionLogits(model, prompt.slice(0, 1024), 1024 - 256); // warm-up (JIT, thread pool)
  const schedule = [...generationSchedule(model.config, promptLength, numLatents, steps)];
  if (backend.name !== referenceBackend.name) {
    process.stderr.write("validating the first step's uncached logits against the reference backend...\n");
    const first = schedule[0];
    const window = prompt.slice(first.windowStart);
    const want = lastPositionLogits(new PerceiverAR(config, referenceBackend, { seed: 1 }), window, first.prefixLen);
    const err = maxAbsOrRelError(lastPositionLogits(model, window, first.prefixLen), want);
    requireClose(err, TOLERANCE.logits, `first step's logits on the ${backend.name} backend vs the reference backend`);
    console.log(`validated: first step's logits vs the reference backend, max error ${err.toExponential(1)}; cached vs uncached at every step below (tolerance ${TOLERANCE.cache})`);
  }
  const decoder = new CachedDecoder(model);
  decoder.push(prompt);
  const stream = [...prompt];
  const rows = new Map<StepKind, { steps: number; cached: number; full: number; diff: number }>();
  for (const st of schedule) {
    let t = performance.now();
    const cached = decoder.logits(st.prefixLen);
    const cachedMs = performance.now() - t;
    t = performance.now();
    const full = lastPositionLogits(model, stream.slice(st.windowStart), st.prefixLen);
    const fullMs = performance.now() - t;
    const diff = maxAbsDiff(cached, full);
    requireClose(diff, TOLERANCE.cache, `step ${st.step} (${st.kind}): cached vs uncached logits`);
    const r = rows.get(st.kind) ?? { steps: 0, cached: 0, full: 0, diff: 0 };
    rows.set(st.kind, { steps: r.steps + 1, cached: r.cached + cachedMs, full: r.full + fullMs, diff: Math.max(r.diff, diff) });
    const token = argmax(cached);
    stream.push(token);
    decoder.push([token]);
    process.stderr.write(`step ${st.step} ${st.kind} window ${st.window} prefix ${st.prefixLen}: cached ${cachedMs.toFixed(0)} ms, full ${fullMs.toFixed(0)} ms\n`);
  }
  const table = [...rows].map(([kind, r]) => {
    const full = (1000 * r.steps) / r.full;
    const cached = (1000 * r.steps) / r.cached;
    return [kind, String(r.steps), fmt(full), fmt(cached), `${(cached / full).toFixed(2)}x`, r.diff.toExponential(1)];
  });
  console.log("\n" + markdownTable(["phase", "steps", "uncached tok/s", "cached tok/s", "speed-up", "max abs logits diff"], table));
}

// ---------------------------------------------------------------------------------------------
// schedules

interface ScheduleRun {
  tokens: number;
  seconds: number;
  /** Seconds of the steps that computed one latent row (the reset schedule's cheap steps). */
  cheapSeconds: number;
  cheapSteps: number;
  maxError: number;
}

/** Greedy generation of `count` tokens after `prompt` with the cached decoder, timed per step; some steps validated against a full forward (untimed). */
function timeSchedule(model: PerceiverAR, prompt: number[], count: number, choice: ScheduleChoice, label: string, weights: WeightFormat = "f32"): ScheduleRun {
  const steps = [...generationSchedule(model.config, prompt.length, defaultNumLatents(model.config, prompt.length, choice), count, choice)];
  const firstReset = steps.findIndex((st) => st.kind === "reset");
  const check = new Set([0, 1, firstReset].filter((s) => s >= 0));
  const decoder = new CachedDecoder(model, { weights });
  const reference = new CachedDecoder(model, { weights });
  decoder.push(prompt);
  const stream = [...prompt];
  const run: ScheduleRun = { tokens: 0, seconds: 0, cheapSeconds: 0, cheapSteps: 0, maxError: 0 };
  for (const st of steps) {
    const t0 = performance.now();
    const logits = decoder.logits(st.prefixLen, st.window);
    const token = argmax(logits);
    const dt = (performance.now() - t0) / 1000;
    run.seconds += dt;
    run.tokens++;
    if (decoder.lastStats.latentRows === 1) {
      run.cheapSeconds += dt;
      run.cheapSteps++;
    }
    if (check.has(st.step)) {
      // float32: a full forward; int8: a fresh int8 decoder (its first step is a full pass through the int8 view)
      const want = weights === "f32" ? lastPositionLogits(model, stream.slice(st.windowStart), st.prefixLen) : (reference.clear(), reference.push(stream), reference.logits(st.prefixLen, st.window));
      const err = maxAbsDiff(logits, want);
      requireClose(err, TOLERANCE.cache, `${label}, step ${st.step} (${st.kind}): cached logits vs a full forward`);
      run.maxError = Math.max(run.maxError, err);
    }
    stream.push(token);
    decoder.push([token]);
    process.stderr.write(`  ${label} step ${st.step} ${st.kind} window ${st.window} latents ${st.numLatents}: ${(dt * 1000).toFixed(0)} ms\n`);
  }
  return run;
}

/** Bytes of the weight matrices one latent row reads per step: every 2-D parameter a linear layer uses (the tied embedding once, as the output projection). */
export function weightBytesPerRow(model: PerceiverAR, bytesPerWeight = 4): number {
  let n = 0;
  for (const [name, v] of model.parameters) {
    if (v.shape.length !== 2) continue; // norms, biases
    if (name.includes("pos_embedding")) continue; // a lookup, not a matrix product
    n += v.value.size;
  }
  return n * bytesPerWeight;
}

async function schedules(argv: string[], backend: Backend): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { model: { type: "string" }, "clm-base": { type: "boolean" }, periods: { type: "string" }, "exact-tokens": { type: "string" } }, allowPositionals: true, strict: false });
  const periods = intOption(values.periods as string | undefined, "periods", 1);
  const exactTokens = intOption(values["exact-tokens"] as string | undefined, "exact-tokens", 4);
  const clmDir = argv.includes("--clm-base") ? argv[argv.indexOf("--clm-base") + 1] : undefined;
  const models: Array<{ model: PerceiverAR; name: string; prompt: number[] }> = [];
  if (values.model !== undefined) {
    const t = textModel(values.model as string, backend);
    models.push({ model: t.model, name: t.name, prompt: Array.from(t.validation.subarray(0, t.model.config.maxSeqLen)) });
  }
  if (values["clm-base"]) {
    const c = clmBaseModel(clmDir !== undefined && !clmDir.startsWith("--") ? clmDir : undefined, backend);
    models.push({ ...c, prompt: deterministicTokens(c.model.config.maxSeqLen, c.model.config.vocabSize, 5) });
  }
  if (models.length === 0) throw new RangeError("schedules: give --model DIR and/or --clm-base [DIR]");
  process.stderr.write("measuring the memory bandwidth...\n");
  const bandwidth = measureMemoryBandwidth(backend);
  const readBw = Math.max(...bandwidth.map((b) => b.gbPerSecond));
  console.log(`backend ${backend.name}; ${machineDescription()}`);
  console.log(`memory bandwidth (STREAM-style, this run): ${bandwidth.map((b) => `${b.kernel} ${b.gbPerSecond.toFixed(1)} GB/s`).join("; ")}`);
  const table: string[][] = [];
  const quantised: string[] = [];
  for (const { model, name, prompt } of models) {
    const c = model.config;
    const R = defaultResetFill(c.maxLatents);
    const period = c.maxLatents - R + 1;
    lastPositionLogits(model, prompt.slice(0, Math.min(prompt.length, 64)), 0); // warm-up
    process.stderr.write(`${name}: exact, ${exactTokens} tokens at full window...\n`);
    const exact = timeSchedule(model, prompt, exactTokens, {}, "exact");
    process.stderr.write(`${name}: reset (fill ${R}), ${periods} x ${period} tokens...\n`);
    const reset = timeSchedule(model, prompt, periods * period, { schedule: "reset" }, "reset");
    const tq = performance.now();
    await generate(model, prompt.slice(0, 2), { maxNewTokens: 1, greedy: true, weights: "int8" }); // quantises every matrix (untimed)
    quantised.push(`${name}: ${((performance.now() - tq) / 1000).toFixed(1)} s`);
    process.stderr.write(`${name}: reset (fill ${R}) with int8 weights, ${periods} x ${period} tokens...\n`);
    const reset8 = timeSchedule(model, prompt, periods * period, { schedule: "reset" }, "reset int8", "int8");
    const exactTps = exact.tokens / exact.seconds;
    const label = `${name} (${(model.numParameters / 1e6).toFixed(1)}M, N ${c.maxSeqLen}, M ${c.maxLatents}, R ${R})`;
    for (const [what, run, bytesPerWeight] of [["exact", exact, 4], ["reset", reset, 4], ["reset, int8", reset8, 1]] as const) {
      const tps = run.tokens / run.seconds;
      const bytes = weightBytesPerRow(model, bytesPerWeight);
      const cheapMs = run.cheapSteps === 0 ? null : (1000 * run.cheapSeconds) / run.cheapSteps;
      table.push([
        label,
        what,
        fmt(tps),
        `${(tps / exactTps).toFixed(1)}x`,
        `${(bytes / 1e6).toFixed(0)} MB`,
        `${((1000 * bytes) / (readBw * 1e9)).toFixed(1)} ms`,
        cheapMs === null ? "-" : `${cheapMs.toFixed(1)} ms`,
        run.maxError.toExponential(1),
      ]);
    }
  }
  console.log(`\ngreedy, prompt = max_seq_len tokens (full window); exact: ${exactTokens} tokens; reset: ${periods} period(s) of M - R + 1 tokens; int8: quantising the weights (once, before timing) took ${quantised.join(", ")}`);
  console.log(
    markdownTable(["model", "schedule", "tokens/s", "vs exact", "weights read per one-row step", "that at the bandwidth", "one-row steps measured", "max logits err (checked steps)"], table),
  );
}

// ---------------------------------------------------------------------------------------------
// quality

function quality(argv: string[], backend: Backend): void {
  const { values } = parseArgs({ args: argv, options: { model: { type: "string" }, segments: { type: "string" }, periods: { type: "string" } } });
  if (values.model === undefined) throw new RangeError("quality: --model DIR (a text model or run folder) is required");
  const { model, validation, task, name } = textModel(values.model, backend);
  const c = model.config;
  const K = intOption(values.segments, "segments", 16);
  const R = defaultResetFill(c.maxLatents);
  const scored = intOption(values.periods, "periods", 2) * (c.maxLatents - R + 1);
  const L = c.maxSeqLen + scored;
  if (validation.length < K * L) throw new RangeError(`the validation text has ${validation.length} tokens, fewer than ${K} segments of ${L}`);
  const stride = Math.floor((validation.length - L) / Math.max(1, K - 1));
  const segments = Array.from({ length: K }, (_, k) => Array.from(validation.subarray(k * stride, k * stride + L)));
  const bytesOf = (id: number) => (task.tokenizer.decode([id]).length > 0 ? new TextEncoder().encode(task.tokenizer.decode([id])).length : 0);
  const choices: Array<[string, ScheduleChoice, WeightFormat]> = [
    ["exact", {}, "f32"],
    [`reset (fill ${R}, default)`, { schedule: "reset" }, "f32"],
    ["exact, int8 weights", {}, "int8"],
    [`reset (fill ${R}), int8 weights`, { schedule: "reset" }, "int8"],
  ];
  // float32: full forwards (schedule-score.ts); int8: the cached decoder teacher-forced. Validation:
  // on the first segment both ways agree for float32.
  for (const [label, choice] of choices.slice(0, 2)) {
    const got = scheduleLogLoss(model, segments[0], { promptLength: c.maxSeqLen, ...choice });
    const want = decoderScores(model, segments[0], c.maxSeqLen, choice);
    requireClose(maxAbsDiff(got, want), SCORE_TOLERANCE, `${label}: teacher-forced scores from full forwards vs the cached decoder`);
  }
  const score = (seg: number[], choice: ScheduleChoice, weights: WeightFormat) =>
    weights === "f32" ? scheduleLogLoss(model, seg, { promptLength: c.maxSeqLen, ...choice }) : decoderScores(model, seg, c.maxSeqLen, choice, weights);
  console.log(`${name}: ${K} validation segments of ${c.maxSeqLen} prompt + ${scored} scored tokens; backend ${backend.name}; ${machineDescription()}`);
  console.log(`validated: float32 scores from full forwards == the cached decoder's (${SCORE_TOLERANCE} nats), first segment, both schedules`);
  const rows: string[][] = [];
  let exactBpb = 0;
  for (const [label, choice, weights] of choices) {
    const t0 = performance.now();
    let nats = 0;
    let bytes = 0;
    for (const seg of segments) {
      const s = score(seg, choice, weights);
      for (let i = 0; i < s.length; i++) {
        nats += s[i];
        bytes += bytesOf(seg[c.maxSeqLen + i]);
      }
    }
    const bpb = nats / Math.LN2 / bytes;
    if (rows.length === 0) exactBpb = bpb;
    rows.push([label, String(K * scored), bpb.toFixed(4), (bpb - exactBpb).toFixed(4), ((performance.now() - t0) / 1000).toFixed(1)]);
    process.stderr.write(`${label}: ${bpb.toFixed(4)} bits/byte\n`);
  }
  console.log(markdownTable(["schedule", "scored tokens", "bits/byte", "minus exact", "scoring s"], rows));
}

/** Teacher-forced log-loss of seg[promptLength..] from the cached decoder on the schedule's steps. */
function decoderScores(model: PerceiverAR, seg: number[], promptLength: number, choice: ScheduleChoice, weights: WeightFormat = "f32"): Float64Array {
  const steps = [...generationSchedule(model.config, promptLength, defaultNumLatents(model.config, promptLength, choice), seg.length - promptLength, choice)];
  const d = new CachedDecoder(model, { weights });
  d.push(seg.slice(0, promptLength));
  const out = new Float64Array(steps.length);
  steps.forEach((st, i) => {
    const logits = d.logits(st.prefixLen, st.window);
    let max = -Infinity;
    for (const x of logits) max = Math.max(max, x);
    let sum = 0;
    for (const x of logits) sum += Math.exp(x - max);
    out[i] = max + Math.log(sum) - logits[seg[st.streamLength]];
    d.push([seg[st.streamLength]]);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// batch

async function batch(argv: string[], backend: Backend): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { model: { type: "string" }, rows: { type: "string" }, tokens: { type: "string" } } });
  const B = intOption(values.rows, "rows", 4);
  const N = intOption(values.tokens, "tokens", 64);
  let model: PerceiverAR;
  let source: number[];
  let name: string;
  if (values.model !== undefined) {
    const t = textModel(values.model, backend);
    ({ model, name } = t);
    source = Array.from(t.validation.subarray(0, t.model.config.maxSeqLen));
  } else {
    model = new PerceiverAR(PHASES_CONFIG, backend, { seed: 1 });
    name = "phases model (random)";
    source = deterministicTokens(PHASES_CONFIG.max_seq_len, PHASES_CONFIG.vocab_size, 3);
  }
  const half = Math.floor(model.config.maxSeqLen / 2);
  const prompts = Array.from({ length: B }, (_, b) => source.slice(b * 7, b * 7 + Math.max(1, Math.round((half * (b + 1)) / B))));
  const o = { maxNewTokens: N, greedy: true };
  await generate(model, prompts[0].slice(0, 8), { maxNewTokens: 2, greedy: true }); // warm-up
  let t0 = performance.now();
  const one: number[][] = [];
  for (const p of prompts) one.push(await generate(model, p, o));
  const oneSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const together = await generateBatch(model, prompts, o);
  const batchSeconds = (performance.now() - t0) / 1000;
  together.forEach((row, b) => {
    if (JSON.stringify(row) !== JSON.stringify(one[b])) throw new ValidationError(`row ${b}: the batch's tokens differ from one-at-a-time generation; refusing to print a speed`);
  });
  console.log(`${name}; ${B} prompts of ${prompts.map((p) => p.length).join(", ")} tokens, ${N} greedy tokens each (exact schedule); backend ${backend.name}; ${machineDescription()}`);
  console.log("validated: the batch's tokens == one-at-a-time, row for row");
  console.log(
    markdownTable(
      ["mode", "seconds", "tokens/s (all rows)", "speed-up"],
      [
        ["one prompt at a time", oneSeconds.toFixed(2), fmt((B * N) / oneSeconds), "1.00x"],
        [`${B} prompts at once`, batchSeconds.toFixed(2), fmt((B * N) / batchSeconds), `${(oneSeconds / batchSeconds).toFixed(2)}x`],
      ],
    ),
  );
}

// ---------------------------------------------------------------------------------------------

const SECTIONS: Record<string, (argv: string[], backend: Backend) => void | Promise<void>> = { phases, schedules, quality, batch };
const [section = "phases", ...rest] = process.argv.slice(2);
const run = SECTIONS[section] ?? (/^\d+$/.test(section) ? (argv: string[], b: Backend) => phases([section, ...argv], b) : undefined);
if (run === undefined) {
  process.stderr.write(`unknown section ${JSON.stringify(section)}: one of ${Object.keys(SECTIONS).join(", ")}\n`);
  process.exit(2);
}
Promise.resolve(run(rest, getBackend())).catch((e: unknown) => {
  process.stderr.write(`${e instanceof ValidationError || e instanceof RangeError ? (e as Error).message : (e as Error).stack}\n`);
  process.exit(1);
});
