// The `npm start` model (preset text-small: context 1024, 128 latents, width 128, 3 self-attention
// layers) on the wasm backend in Node next to the native backend: the training step (batch 8,
// cross-attention dropout 0.5, forward + backward + AdamW, as `npm start` trains) and cached
// greedy generation (tokens/s over a run that covers every schedule phase).
//
//   npx tsc -p . && node scripts/build-wasm.mjs && node dist/bench/wasm-model.js [--steps 6] [--tokens 256] [--threads 2] [--no-write]
// Writes bench/results/wasm-model.md.
//
// Validated before timing (bench/validate.ts): one training step of the same model on each
// backend against the reference backend (batch 1, no dropout: loss, logits, every gradient), and
// for generation the first step's logits against the reference backend and every cached step's
// logits against a full forward on the same backend (1e-4). Steps of the two backends alternate
// (wasm, native, wasm, ...) so that both see the same machine load; figures are medians (and the
// best) of the timed steps after one warm-up step each. The machine line gives the load average.

import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Backend } from "../src/backend/backend.js";
import { loadNativeBackend, nativeBackendError, setNativeThreads } from "../src/backend/native/index.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { loadWasmBackend, wasmBackendControls, wasmBackendError } from "../src/backend/wasm/node.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { lastPositionLogits } from "../src/generate/generate.js";
import { argmax } from "../src/generate/sampling.js";
import { generationSchedule } from "../src/generate/schedule.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { makeConfig } from "../src/models/config.js";
import { getPreset } from "../src/models/presets.js";
import { AdamW } from "../src/train/adamw.js";
import { TRAINING_DEFAULTS } from "../src/train/defaults.js";
import { uniformSource } from "../src/util/rng.js";
import { machineDescription, markdownTable, median } from "./harness.js";
import { checkAgainstReference, describeCheck, maxAbsOrRelError, requireClose, requireValid, TOLERANCE } from "./validate.js";

const argv = process.argv.slice(2);
const arg = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const steps = arg("--steps", 6);
const tokens = arg("--tokens", 256);
const threads = arg("--threads", 2);
const config = makeConfig(getPreset("text-small").model as Record<string, unknown>);
const BATCH = TRAINING_DEFAULTS.batchSize.value;
const N = config.maxSeqLen;
const M = config.maxLatents;

function tokenBatch(seed: number, B: number): { ids: { data: Int32Array; shape: [number, number] }; labels: { data: Int32Array; shape: [number, number] } } {
  const u = uniformSource(seed);
  const seq = Int32Array.from({ length: B * (N + 1) }, () => Math.floor(u() * 256));
  const ids = new Int32Array(B * N), labels = new Int32Array(B * M);
  for (let b = 0; b < B; b++) {
    ids.set(seq.subarray(b * (N + 1), b * (N + 1) + N), b * N);
    labels.set(seq.subarray(b * (N + 1) + N + 1 - M, (b + 1) * (N + 1)), b * M);
  }
  return { ids: { data: ids, shape: [B, N] }, labels: { data: labels, shape: [B, M] } };
}

/** A training-step runner on `backend`: the model, its optimizer, a fixed batch. */
function trainer(backend: Backend): () => number {
  const model = new PerceiverAR(config, backend, { seed: 0 });
  const opt = new AdamW(model.parameters, backend, { weightDecay: TRAINING_DEFAULTS.weightDecay.value });
  const { ids, labels } = tokenBatch(1, BATCH);
  const random = uniformSource(2);
  return () => {
    model.zeroGrads();
    const { loss } = model.lossAndGrad(ids, labels, { training: true, random });
    opt.update(TRAINING_DEFAULTS.lr.value);
    return loss;
  };
}

function validateStep(backend: Backend): string {
  const check = checkAgainstReference(backend, (b) => {
    const model = new PerceiverAR(config, b, { seed: 0 });
    const { ids, labels } = tokenBatch(3, 1);
    return { parameters: model.parameters, step: () => ({ loss: model.lossAndGrad(ids, labels, {}).loss, logits: model.forward(ids).data }) };
  });
  requireValid(check, `a training step on the ${backend.name} backend`);
  return check === null ? "reference" : describeCheck(check);
}

/** Seconds of each alternating step, after one warm-up step per backend. */
function timeAlternating(runs: Record<string, () => unknown>, count: number): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, run] of Object.entries(runs)) (run(), (out[name] = []));
  for (let s = 0; s < count; s++) {
    for (const [name, run] of Object.entries(runs)) {
      const t = performance.now();
      run();
      out[name].push((performance.now() - t) / 1000);
    }
  }
  return out;
}

/** Greedy cached generation of `count` tokens after a prompt covering every schedule phase; tokens/s. */
function generation(backend: Backend, count: number, check: boolean): { tokensPerSecond: number; worstCachedError: number } {
  const model = new PerceiverAR(config, backend, { seed: 5 });
  const maxPrefix = config.maxSeqLen - config.maxLatents;
  const numLatents = 1;
  const prompt = Array.from({ length: maxPrefix - 8 }, (_, i) => (i * 7919) % 256);
  const stream = [...prompt];
  const decoder = new CachedDecoder(model);
  decoder.push(prompt);
  let worst = 0;
  const start = performance.now();
  let produced = 0;
  for (const step of generationSchedule(model.config, prompt.length, numLatents, count)) {
    const logits = decoder.logits(step.prefixLen);
    if (check) worst = Math.max(worst, maxAbsOrRelError(logits, lastPositionLogits(model, stream.slice(stream.length - step.window), step.prefixLen)));
    const token = argmax(logits);
    stream.push(token);
    decoder.push([token]);
    produced++;
  }
  return { tokensPerSecond: produced / ((performance.now() - start) / 1000), worstCachedError: worst };
}

function main(): void {
  const native = loadNativeBackend();
  if (!native) throw new Error(`native backend unavailable: ${nativeBackendError}`);
  const wasm = loadWasmBackend({ threads });
  if (!wasm) throw new Error(`wasm backend unavailable: ${wasmBackendError()}`);
  setNativeThreads(threads);
  wasmBackendControls()!.setThreads(threads);
  const machineStart = machineDescription();
  process.stderr.write(`validating a training step against the reference backend...\n`);
  const checks = { wasm: validateStep(wasm), native: validateStep(native) };

  process.stderr.write(`validating generation (first step vs reference, cached vs full forward)...\n`);
  const gm = new PerceiverAR(config, wasm, { seed: 5 });
  const gr = new PerceiverAR(config, referenceBackend, { seed: 5 });
  const window = Array.from({ length: N }, (_, i) => (i * 31) % 256);
  requireClose(maxAbsOrRelError(lastPositionLogits(gm, window, N - M), lastPositionLogits(gr, window, N - M)), TOLERANCE.logits, "wasm generation logits vs reference");
  const checked = generation(wasm, 24, true);
  requireClose(checked.worstCachedError, TOLERANCE.logits, "wasm cached logits vs full forward");

  process.stderr.write(`timing ${steps} training steps per backend (alternating)...\n`);
  const times = timeAlternating({ wasm: trainer(wasm), native: trainer(native) }, steps);
  process.stderr.write(`timing generation of ${tokens} tokens per backend...\n`);
  const gen = { wasm: [] as number[], native: [] as number[] };
  for (let r = 0; r < 2; r++) for (const [name, b] of [["wasm", wasm], ["native", native]] as const) gen[name].push(generation(b, tokens, false).tokensPerSecond);
  const machineEnd = machineDescription();

  const ms = (s: number) => (s * 1000).toFixed(0);
  const stepRow = (name: "wasm" | "native") => [name, `${ms(median(times[name]))} (${ms(Math.min(...times[name]))})`, `${(median(times.native) / median(times[name])).toFixed(2)}×`, `${Math.max(...gen[name]).toFixed(0)}`, `${(Math.max(...gen[name]) / Math.max(...gen.native)).toFixed(2)}×`];
  const table = markdownTable(["backend", "training step ms, median (best)", "speed vs native", "generation tokens/s", "vs native"], [stepRow("wasm"), stepRow("native")]);
  const text = [
    "# The npm start model on the wasm backend in Node, next to native",
    "",
    `\`node dist/bench/wasm-model.js --steps ${steps} --tokens ${tokens} --threads ${threads}\``,
    "",
    `The npm start model (text-small, ${new PerceiverAR(config, referenceBackend).numParameters.toLocaleString("en-US")} parameters) in Node, ${threads} threads: training step (batch ${BATCH}, context ${N}, ${M} latents, dropout ${config.crossAttentionDropout}, with AdamW) over ${steps} alternating steps; cached greedy generation of ${tokens} tokens (best of 2).`,
    "",
    table,
    "",
    `- Validation: training step vs reference: wasm ${checks.wasm}; native ${checks.native}. Generation: first-step logits vs reference and ${checked.worstCachedError.toExponential(1)} worst cached-vs-full error over 24 steps.`,
    `- Machine at the start: ${machineStart}; at the end: ${machineEnd}. Shared machine: compare within this table.`,
    "",
  ].join("\n");
  process.stdout.write(text);
  if (!argv.includes("--no-write")) writeFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "results", "wasm-model.md"), text);
}

main();
process.exit(0);
