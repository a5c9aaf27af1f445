// Tests for src/train/trainer.ts and run-folder.ts on the reference backend with a tiny model:
// learning a repeating pattern, determinism, exact resume (fresh objects and a fresh process),
// gradient accumulation, the non-finite guard, option validation and crash safety of checkpoints.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { referenceBackend } from "../src/backend/reference/index.js";
import { WindowSampler } from "../src/data/windows.js";
import { loadModel } from "../src/io/checkpoint.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { samplerBatchSource, type BatchSource } from "../src/train/batch-source.js";
import { NonFiniteError } from "../src/train/grad-clip.js";
import {
  CHECKPOINT_DIR,
  CHECKPOINT_OLD_DIR,
  CHECKPOINT_TMP_DIR,
  findCheckpoint,
  readMetrics,
  recoverRunFolder,
} from "../src/train/run-folder.js";
import { readCheckpoint } from "../src/train/trainer-checkpoint.js";
import { TRAINING_DEFAULTS } from "../src/train/defaults.js";
import { Trainer, type StepResult, type TrainerOptionsInput } from "../src/train/trainer.js";

const TINY = { vocabSize: 20, maxSeqLen: 16, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1 };
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** A learnable stream: a fixed 7-token motif repeated. */
function patternStream(length = 600): Int32Array {
  const motif = [3, 7, 1, 12, 5, 9, 15];
  const s = new Int32Array(length);
  for (let i = 0; i < length; i++) s[i] = motif[i % motif.length];
  return s;
}

function source(seed = 11, batchSize = 4): BatchSource {
  return samplerBatchSource(new WindowSampler(patternStream(), { maxSeqLen: TINY.maxSeqLen, seed }), batchSize);
}

const created: string[] = [];
after(() => {
  for (const d of created) rmSync(d, { recursive: true, force: true });
});

function tmp(name: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `pa-train-${name}-`));
  created.push(d);
  return d;
}

function newTrainer(opts: Partial<TrainerOptionsInput> = {}, modelSeed = 1, dataSeed = 11): Trainer {
  const model = new PerceiverAR(TINY, referenceBackend, { seed: modelSeed });
  return Trainer.create(model, source(dataSeed, opts.batchSize ?? 4), { batchSize: 4, lr: 1e-2, warmupSteps: 5, maxSteps: 10, seed: 7, ...opts });
}

function weightsOf(model: PerceiverAR): Map<string, number[]> {
  return new Map([...model.parameters].map(([n, v]) => [n, [...v.data]]));
}

function sameBits(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

test("loss falls on a repeating pattern over 100 steps", async () => {
  // init_scale 0.1: with the default 0.02 a 16-channel model sits ~200 steps on the ln(7)
  // unigram plateau before it picks up the bigram structure.
  const model = new PerceiverAR({ ...TINY, initScale: 0.1 }, referenceBackend, { seed: 1 });
  const t = Trainer.create(model, source(), { batchSize: 4, maxSteps: 100, warmupSteps: 10, lr: 1e-2, minLr: 1e-3, seed: 7, evalEvery: 0 });
  const losses: number[] = [];
  await t.train({ onProgress: (e) => e.kind === "train" && losses.push(e.loss) });
  assert.equal(losses.length, 100);
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(first > 2.5, `initial loss ${first} should be near ln(20) = 3.0`);
  assert.ok(last < 0.2, `loss should fall from ${first} to near 0 (a deterministic pattern), got ${last}`);
});

test("stopAtAccuracy ends training at the first validation that reaches it", async () => {
  const model = new PerceiverAR({ ...TINY, initScale: 0.1 }, referenceBackend, { seed: 1 });
  const valWindows = [0, 40, 80].map((s) => patternStream().subarray(s, s + 17));
  const t = Trainer.create(model, source(), { batchSize: 4, maxSteps: 300, warmupSteps: 10, lr: 1e-2, seed: 7, evalEvery: 5, stopAtAccuracy: 0.95 });
  t.validation = { windows: valWindows };
  const accuracies: number[] = [];
  const summary = await t.train({ onProgress: (e) => e.kind === "eval" && accuracies.push(e.accuracy) });
  assert.equal(summary.stoppedBy, "accuracy");
  assert.ok(summary.step < 300 && summary.step % 5 === 0, `stopped at step ${summary.step}`);
  assert.ok(accuracies.at(-1)! >= 0.95);
  assert.ok(accuracies.slice(0, -1).every((a) => a < 0.95), "no earlier validation reached the target");
  assert.throws(() => newTrainer({ stopAtAccuracy: 1.5 }), /stopAtAccuracy must be a number in \(0, 1\] or null, got 1.5/);
});

test("same seed and data give bit-identical losses; another dropout seed differs", () => {
  const run = (seed: number): number[] => {
    const t = newTrainer({ seed });
    return Array.from({ length: 6 }, () => t.step().loss);
  };
  const a = run(7);
  const b = run(7);
  assert.ok(sameBits(a, b), `${a} vs ${b}`);
  assert.ok(!sameBits(a, run(8)), "the dropout seed matters");
});

test("step() reports step, loss, lr, grad norm, throughput; lr follows the schedule", () => {
  const t = newTrainer({ warmupSteps: 4, maxSteps: 8, lr: 0.02, minLr: 0.002 });
  const rs: StepResult[] = [];
  for (let i = 0; i < 8; i++) rs.push(t.step());
  assert.deepEqual(rs.map((r) => r.step), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(rs[0].lr, 0.005);
  assert.equal(rs[3].lr, 0.02);
  assert.equal(rs[7].lr, 0.002);
  for (const r of rs) {
    assert.ok(Number.isFinite(r.loss) && r.gradNorm > 0 && r.tokensPerSec > 0);
    assert.equal(r.tokens, 4 * TINY.maxLatents);
  }
  assert.equal(t.completedSteps, 8);
});

for (const ignore of [0, 3])
test(`gradient accumulation of 2 micro-batches of 2 equals one batch of 4 (${ignore} ignored labels)`, () => {
  // Fixed batches (no sampler RNG): 4 windows split in two halves.
  const stream = patternStream();
  const rows = [0, 5, 17, 30].map((s) => stream.subarray(s, s + 17));
  // Full (B, N) labels, or (B, M) latent labels (window[1:N+1][P:]) when `latentOnly`.
  const mk = (idx: number[], latentOnly = false) => {
    const inputs = new Int32Array(idx.length * 16);
    const labels = new Int32Array(idx.length * (latentOnly ? 4 : 16));
    idx.forEach((r, b) => {
      inputs.set(rows[r].subarray(0, 16), b * 16);
      if (latentOnly) labels.set(rows[r].subarray(13, 17), b * 4);
      else labels.set(rows[r].subarray(1), b * 16);
      // Row 0 ignores its first `ignore` latent labels: micro-batches then count 5 and 8 labels.
      if (r === 0) for (let i = 0; i < ignore; i++) labels[b * (latentOnly ? 4 : 16) + (latentOnly ? 0 : 12) + i] = -100;
    });
    return { inputs, labels };
  };
  const fixed = (batches: Array<ReturnType<typeof mk>>): BatchSource => {
    let i = 0;
    return { next: () => batches[i++ % batches.length], getState: () => i, setState: (s) => void (i = s as number) };
  };
  const cfg = { ...TINY, crossAttentionDropout: 0 };
  const m1 = new PerceiverAR(cfg, referenceBackend, { seed: 3 });
  const m2 = new PerceiverAR(cfg, referenceBackend, { seed: 3 });
  const t1 = Trainer.create(m1, fixed([mk([0, 1, 2, 3])]), { batchSize: 4, maxSteps: 3, lr: 1e-2, warmupSteps: 0, clipNorm: 0 });
  const t2 = Trainer.create(m2, fixed([mk([0, 1], true), mk([2, 3], true)]), { batchSize: 2, gradAccumulation: 2, maxSteps: 3, lr: 1e-2, warmupSteps: 0, clipNorm: 0 });
  for (let s = 0; s < 3; s++) {
    const a = t1.step();
    const b = t2.step();
    assert.ok(Math.abs(a.loss - b.loss) < 1e-6, `step ${s}: ${a.loss} vs ${b.loss}`);
    assert.ok(Math.abs(a.gradNorm - b.gradNorm) < 1e-5 * a.gradNorm, `grad norm ${a.gradNorm} vs ${b.gradNorm}`);
  }
  for (const [name, v] of m1.parameters) {
    const w = m2.parameters.get(name)!.data;
    for (let i = 0; i < v.data.length; i++) assert.ok(Math.abs(v.data[i] - w[i]) < 1e-5, `${name}[${i}]`);
  }
});

test("resume after a checkpoint continues bit for bit (fresh objects)", async () => {
  const dirA = tmp("full");
  const dirB = tmp("split");
  const opts = { maxSteps: 10, evalEvery: 4, checkpointEvery: 5, gradAccumulation: 2 };
  const valWindows = [0, 40, 80].map((s) => patternStream().subarray(s, s + 17));

  const full = newTrainer({ ...opts, runDir: dirA });
  full.validation = { windows: valWindows };
  const lossesA: number[] = [];
  await full.train({ onProgress: (e) => e.kind === "train" && lossesA.push(e.loss) });
  const weightsA = weightsOf(full.model);

  const first = newTrainer({ ...opts, runDir: dirB });
  first.validation = { windows: valWindows };
  const ac = new AbortController();
  const lossesB: number[] = [];
  const s1 = await first.train({ signal: ac.signal, onProgress: (e) => {
    if (e.kind === "train") {
      lossesB.push(e.loss);
      if (e.step === 5) ac.abort();
    }
  } });
  assert.equal(s1.stoppedBy, "abort");
  assert.equal(s1.step, 5);
  // The stop validates (logged like any validation; it may become best/) before its checkpoint.
  assert.equal(s1.lastEval?.tokens, 3 * TINY.maxLatents);
  const atStop = readMetrics(path.join(dirB, "metrics.jsonl")).filter((r) => r.type === "eval").map((r) => r.step);
  assert.deepEqual(atStop, [4, 5]);

  // Fresh model (another init) and a fresh sampler with ANOTHER seed: the checkpoint must win.
  const resumed = Trainer.resume(dirB, source(999), { backend: referenceBackend, validation: { windows: valWindows } });
  assert.equal(resumed.completedSteps, 5);
  const s2 = await resumed.train({ onProgress: (e) => e.kind === "train" && lossesB.push(e.loss) });
  assert.equal(s2.stoppedBy, "maxSteps");
  assert.ok(sameBits(lossesA, lossesB), `uninterrupted ${lossesA}\nresumed      ${lossesB}`);
  for (const [name, w] of weightsOf(resumed.model)) assert.ok(sameBits(w, weightsA.get(name)!), `weights differ: ${name}`);

  // The metrics logs agree (ignoring wall-clock throughput), but for the validation at the stop.
  const strip = (dir: string) => readMetrics(path.join(dir, "metrics.jsonl")).map(({ tokensPerSec: _, ...r }) => r);
  assert.deepEqual(strip(dirB).filter((r) => !(r.type === "eval" && r.step === 5)), strip(dirA));
  const evals = strip(dirB).filter((r) => r.type === "eval");
  const bestB = evals.reduce((a, r) => ((r.valLoss as number) < (a.valLoss as number) ? r : a));
  assert.deepEqual(resumed.best, { valLoss: bestB.valLoss, step: bestB.step }, "best/ is chosen from every validation, the stop's included");
  assert.equal(strip(dirA).filter((r) => r.type === "train").length, 10);
  assert.deepEqual(strip(dirA).filter((r) => r.type === "eval").map((r) => r.step), [4, 8, 10]);

  // The checkpoint folder is a reference model folder; best/ exists; loss.svg was written.
  const model = loadModel(path.join(dirA, CHECKPOINT_DIR), referenceBackend);
  for (const [name, w] of weightsOf(model)) assert.ok(sameBits(w, weightsA.get(name)!));
  assert.ok(existsSync(path.join(dirA, "best", "weights.safetensors")));
  assert.ok(readFileSync(path.join(dirA, "loss.svg"), "utf8").startsWith("<svg"));
  const state = JSON.parse(readFileSync(path.join(dirA, CHECKPOINT_DIR, "trainer-state.json"), "utf8"));
  assert.equal(state.step, 10);
  assert.equal(state.options.gradAccumulation, 2);
  assert.equal(state.dropoutRng.algorithm, "xoshiro128**");
  assert.ok(state.data.rng && typeof state.data.windowsDrawn === "number");
  assert.deepEqual(readdirSync(path.join(dirA, CHECKPOINT_DIR)).sort(), ["config.json", "optimizer.safetensors", "trainer-state.json", "weights.safetensors"]);
});

test("resume in a new process reproduces the uninterrupted losses", () => {
  const dirA = tmp("procA");
  const t = newTrainer({ runDir: dirA });
  const lossesA = Array.from({ length: 10 }, () => t.step().loss);
  const dirB = tmp("procB");
  const u = newTrainer({ runDir: dirB });
  for (let i = 0; i < 5; i++) u.step();
  u.saveCheckpoint();
  u.close(); // the child takes the run folder's lock
  const url = (p: string) => JSON.stringify(pathToFileURL(path.join(HERE, "..", "src", p)).href);
  const script = `
    const { Trainer } = await import(${url("train/trainer.js")});
    const { samplerBatchSource } = await import(${url("train/batch-source.js")});
    const { WindowSampler } = await import(${url("data/windows.js")});
    const { referenceBackend } = await import(${url("backend/reference/index.js")});
    const motif = [3, 7, 1, 12, 5, 9, 15];
    const s = new Int32Array(600).map((_, i) => motif[i % 7]);
    const data = samplerBatchSource(new WindowSampler(s, { maxSeqLen: 16, seed: 5 }), 4);
    const t = Trainer.resume(process.argv[1], data, { backend: referenceBackend });
    const out = [];
    for (let i = 0; i < 5; i++) out.push(t.step().loss);
    console.log(JSON.stringify(out));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script, dirB], { encoding: "utf8" });
  const lossesB = JSON.parse(out) as number[];
  assert.ok(sameBits(lossesA.slice(5), lossesB), `${lossesA.slice(5)} vs ${lossesB}`);
});

test("a NaN loss or gradient stops the step with the weights and optimizer untouched", () => {
  const t = newTrainer();
  t.step();
  const before = weightsOf(t.model);
  const optBefore = t.optimizer.exportState();
  // NaN gradient with a finite loss: corrupt one gradient after the backward pass.
  const model = t.model;
  const original = model.lossAndGrad.bind(model);
  model.lossAndGrad = (ids, labels, options) => {
    const r = original(ids, labels, options);
    model.parameters.get("self_attention.0.1.module.1.weight")!.grad[3] = NaN;
    return r;
  };
  assert.throws(() => t.step(), (e: unknown) => e instanceof NonFiniteError && e.quantity === "gradient" && e.step === 2 && /self_attention\.0\.1\.module\.1\.weight\[3\]/.test(e.message));
  model.lossAndGrad = original;
  // NaN loss: a NaN output bias makes every logit NaN.
  const bias = model.parameters.get("output_adapter.bias")!.data;
  bias[0] = NaN;
  before.get("output_adapter.bias")![0] = NaN;
  assert.throws(() => t.step(), (e: unknown) => e instanceof NonFiniteError && e.quantity === "loss" && /training loss is NaN at step 2/.test(e.message));
  for (const [name, w] of weightsOf(model)) assert.ok(sameBits(w, before.get(name)!), `weights changed: ${name}`);
  assert.deepEqual(t.optimizer.exportState(), optBefore);
  assert.equal(t.completedSteps, 1);
  assert.equal(t.optimizer.step, 1);
});

test("trainer options are validated with the field and range in the error", () => {
  const model = new PerceiverAR(TINY, referenceBackend);
  const mk = (o: Partial<TrainerOptionsInput>) => () => Trainer.create(model, source(), { maxSteps: 10, ...o });
  assert.throws(mk({ batchSize: 0 }), /batchSize must be an integer in \[1, 65536\], got 0/);
  assert.throws(mk({ gradAccumulation: 1.5 }), /gradAccumulation must be an integer in \[1, 65536\]/);
  assert.throws(mk({ gradAccumulation: 1e12 }), /gradAccumulation must be an integer in \[1, 65536\], got 1000000000000/);
  assert.throws(mk({ maxSteps: 1e12 }), /maxSteps must be an integer in \[1, 1000000000\]/);
  assert.throws(mk({ weightDecay: 1e12 }), /weightDecay must be a number in \[0, 1\]/);
  assert.throws(mk({ lr: 1, weightDecay: 1 }), /lr times weightDecay must be < 1/);
  assert.throws(mk({ beta2: 1 }), /beta2 must be a number in \[0, 1\)/);
  assert.throws(mk({ minLr: 1 }), new RegExp(`minLr must be a number in \\[0, lr = ${TRAINING_DEFAULTS.lr.value}\\]`));
  assert.throws(mk({ warmupSteps: 20 }), /warmupSteps must be an integer in \[0, maxSteps = 10\]/);
  assert.throws(mk({ clipNorm: -1 }), /clipNorm must be a number in \[0, inf\), got -1/);
  assert.throws(mk({ maxSteps: 0 }), /maxSteps must be an integer in \[1, 1000000000\]/);
  assert.throws(mk({ bogus: 1 } as Partial<TrainerOptionsInput>), /unknown trainer option\(s\): bogus/);
  // Defaults come from TRAINING_DEFAULTS (derived ones through their rule).
  const dflt = Trainer.create(model, source()).options;
  assert.equal(dflt.maxSteps, TRAINING_DEFAULTS.maxSteps.value);
  assert.equal(dflt.lr, TRAINING_DEFAULTS.lr.value);
  assert.equal(dflt.evalEvery, TRAINING_DEFAULTS.evalEvery.value);
  assert.equal(dflt.beta2, TRAINING_DEFAULTS.beta2.value);
  assert.equal(dflt.warmupSteps, 100, "10% of the default 2,400 steps is 240: capped at 100");
  assert.equal(Trainer.create(model, source(), { maxSteps: 50 }).options.warmupSteps, 5, "10% of 50 steps");
  assert.equal(Trainer.create(model, source(), { lr: 0.5 }).options.minLr, 0.05, "minLr defaults to lr / 10");
  // Wrong batch shape from the source.
  const t = Trainer.create(model, source(11, 3), { maxSteps: 5, batchSize: 4 });
  assert.throws(() => t.step(), /inputs has 48 ids, expected \(batchSize 4, seqLen 16\) = 64/);
  // A run folder with a checkpoint must be resumed, not overwritten.
  const dir = tmp("exists");
  const u = newTrainer({ runDir: dir });
  u.step();
  u.saveCheckpoint();
  assert.throws(() => newTrainer({ runDir: dir }), /already holds a checkpoint.*Trainer\.resume/);
});

// ---------------------------------------------------------------------------------------------
// Crash safety

/** A run folder with a complete checkpoint at step 3; returns the folder and its weights. */
function runWithCheckpoint(name: string, steps = 3): { dir: string; weights: Map<string, number[]> } {
  const dir = tmp(name);
  const t = newTrainer({ runDir: dir });
  for (let i = 0; i < steps; i++) t.step();
  t.saveCheckpoint();
  return { dir, weights: weightsOf(t.model) };
}

function assertLoadsStep(dir: string, step: number, weights: Map<string, number[]>): void {
  const ckpt = findCheckpoint(dir);
  assert.ok(ckpt !== null, "a checkpoint is found");
  const model = loadModel(ckpt, referenceBackend);
  for (const [name, w] of weightsOf(model)) assert.ok(sameBits(w, weights.get(name)!), `${name} differs`);
  const t = Trainer.resume(dir, source(), { backend: referenceBackend });
  assert.equal(t.completedSteps, step);
  assert.ok(Number.isFinite(t.step().loss));
  assert.ok(!existsSync(path.join(dir, CHECKPOINT_TMP_DIR)) && !existsSync(path.join(dir, CHECKPOINT_OLD_DIR)), "transient folders cleaned up");
}

test("crash while writing checkpoint-tmp (stray temp files, torn weights) keeps the previous checkpoint", () => {
  const { dir, weights } = runWithCheckpoint("crash1");
  const tmpDir = path.join(dir, CHECKPOINT_TMP_DIR);
  mkdirSync(tmpDir);
  cpSync(path.join(dir, CHECKPOINT_DIR, "config.json"), path.join(tmpDir, "config.json"));
  const w = readFileSync(path.join(dir, CHECKPOINT_DIR, "weights.safetensors"));
  writeFileSync(path.join(tmpDir, "weights.safetensors.tmp-123-abcdef"), w.subarray(0, w.length >> 1));
  writeFileSync(path.join(dir, "metrics.jsonl"), readFileSync(path.join(dir, "metrics.jsonl"), "utf8") + '{"type":"train","st');
  assertLoadsStep(dir, 3, weights);
});

test("crash between the two renames restores checkpoint-old when checkpoint-tmp is incomplete", () => {
  const { dir, weights } = runWithCheckpoint("crash2");
  renameSync(path.join(dir, CHECKPOINT_DIR), path.join(dir, CHECKPOINT_OLD_DIR));
  const tmpDir = path.join(dir, CHECKPOINT_TMP_DIR);
  cpSync(path.join(dir, CHECKPOINT_OLD_DIR), tmpDir, { recursive: true });
  // tmp claims a checksum that its (torn) weights file does not match.
  const wf = path.join(tmpDir, "weights.safetensors");
  writeFileSync(wf, readFileSync(wf).subarray(0, 100));
  assertLoadsStep(dir, 3, weights);
});

test("crash between the two renames promotes a complete checkpoint-tmp", () => {
  const { dir } = runWithCheckpoint("crash3");
  const newer = runWithCheckpoint("crash3b", 4);
  renameSync(path.join(dir, CHECKPOINT_DIR), path.join(dir, CHECKPOINT_OLD_DIR));
  cpSync(path.join(newer.dir, CHECKPOINT_DIR), path.join(dir, CHECKPOINT_TMP_DIR), { recursive: true });
  assertLoadsStep(dir, 4, newer.weights);
});

test("crash while deleting checkpoint-old keeps the new checkpoint", () => {
  const { dir, weights } = runWithCheckpoint("crash4", 4);
  const old = path.join(dir, CHECKPOINT_OLD_DIR);
  mkdirSync(old);
  writeFileSync(path.join(old, "config.json"), "{");
  assertLoadsStep(dir, 4, weights);
});

test("an edited checkpoint is reported, and an empty run folder has none", () => {
  const { dir } = runWithCheckpoint("edited");
  const wf = path.join(dir, CHECKPOINT_DIR, "optimizer.safetensors");
  const bytes = readFileSync(wf);
  bytes[bytes.length - 1] ^= 1;
  writeFileSync(wf, bytes);
  assert.throws(() => readCheckpoint(dir, referenceBackend), /inconsistent.*optimizer\.safetensors does not match the SHA-256/);
  const empty = tmp("empty");
  assert.equal(recoverRunFolder(empty), null);
  assert.throws(() => Trainer.resume(empty, source(), { backend: referenceBackend }), /has no complete checkpoint/);
});

test("SIGKILL at random moments during checkpointing never leaves the run unloadable", async () => {
  const dir = tmp("kill");
  const url = (p: string) => JSON.stringify(pathToFileURL(path.join(HERE, "..", "src", p)).href);
  const script = `
    const { Trainer } = await import(${url("train/trainer.js")});
    const { samplerBatchSource } = await import(${url("train/batch-source.js")});
    const { WindowSampler } = await import(${url("data/windows.js")});
    const { PerceiverAR } = await import(${url("models/perceiver-ar.js")});
    const { referenceBackend } = await import(${url("backend/reference/index.js")});
    const motif = [3, 7, 1, 12, 5, 9, 15];
    const s = new Int32Array(600).map((_, i) => motif[i % 7]);
    const data = samplerBatchSource(new WindowSampler(s, { maxSeqLen: 16, seed: 5 }), 4);
    const dir = process.argv[1];
    const { existsSync } = await import("node:fs");
    const t = existsSync(dir + "/checkpoint") || existsSync(dir + "/checkpoint-old") || existsSync(dir + "/checkpoint-tmp")
      ? Trainer.resume(dir, data, { backend: referenceBackend })
      : Trainer.create(new PerceiverAR(${JSON.stringify(TINY)}, referenceBackend, { seed: 1 }), data, { batchSize: 4, maxSteps: 100000, runDir: dir });
    for (;;) { t.step(); t.saveCheckpoint(); process.stdout.write("c"); }
  `;
  let lastStep = 0;
  for (let round = 0; round < 10; round++) {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, dir], { stdio: ["ignore", "pipe", "inherit"] });
    // Wait for at least one checkpoint of this round, then kill at a random moment.
    const started = await new Promise<boolean>((resolve) => {
      child.stdout.once("data", () => resolve(true));
      child.once("exit", () => resolve(false));
    });
    assert.ok(started, `round ${round}: the checkpointing child exited before its first checkpoint (see its stderr)`);
    await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    if (process.env.PA_TRACE_KILL) console.error(`round ${round}: ${readdirSync(dir).join(" ")}`);
    const ck = readCheckpoint(dir, referenceBackend);
    assert.ok(ck.state.step > lastStep, `round ${round}: step ${ck.state.step} after ${lastStep}`);
    lastStep = ck.state.step;
    const entries = readdirSync(dir);
    assert.ok(!entries.includes(CHECKPOINT_TMP_DIR) && !entries.includes(CHECKPOINT_OLD_DIR));
  }
});
