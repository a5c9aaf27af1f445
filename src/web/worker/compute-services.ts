// Compute services of the worker for the browser tests and the benchmark (no UI): the results
// leave the page as plain arrays and are compared in Node against the golden vectors and the
// reference backend. The page only computes here; every comparison is the test's.

import { loadModelFromUrl, PerceiverAR, getPreset, TrainingSession, samplerBatchSource, WindowSampler, Rng } from "../../index.browser.js";
import type { WorkerContext } from "./context.js";

/** Forward (logits) and backward (loss, every parameter gradient) of the model folder at `url`. */
export async function forwardBackward(ctx: WorkerContext, r: { url: string; ids: number[]; shape: [number, number]; labels: number[]; padMask: number[]; prefixLen: number }) {
  const { model } = await loadModelFromUrl(new URL(r.url, self.location.href).href, ctx.backend);
  const [B, N] = r.shape;
  const ids = { data: Int32Array.from(r.ids), shape: [B, N] as [number, number] };
  const labels = { data: Int32Array.from(r.labels), shape: [B, N - r.prefixLen] as [number, number] };
  const opts = { prefixLen: r.prefixLen, padMask: Uint8Array.from(r.padMask) };
  const logits = model.forward(ids, opts);
  model.zeroGrads();
  const { loss } = model.lossAndGrad(ids, labels, opts);
  const grads: Record<string, number[]> = {};
  for (const [name, v] of model.parameters) grads[name] = Array.from(v.grad);
  return { backend: ctx.backend.name, logits: Array.from(logits.data), logitsShape: logits.shape, loss, grads };
}

/** Logits of a freshly initialised model (config, seed) on `ids`. */
export function initLogits(ctx: WorkerContext, r: { config: Record<string, unknown>; seed: number; ids: number[]; shape: [number, number] }) {
  const model = new PerceiverAR(r.config, ctx.backend, { seed: r.seed });
  const logits = model.forward({ data: Int32Array.from(r.ids), shape: r.shape });
  return { backend: ctx.backend.name, logits: Array.from(logits.data), shape: logits.shape };
}

/** Logits (1, M, V) of a tab's model on one row of ids. */
export function slotLogits(ctx: WorkerContext, r: { slot: "text" | "music" | "image"; ids: number[] }) {
  const slot = ctx.models[r.slot];
  if (slot === undefined) throw new Error(`no ${r.slot} model loaded`);
  const logits = slot.model.forward([r.ids]);
  return { backend: ctx.backend.name, logits: Array.from(logits.data), shape: logits.shape };
}

/** The keys (URLs) of the entries of the Cache API cache `cacheName`. */
export async function cacheKeys(cacheName: string): Promise<string[]> {
  return (await (await caches.open(cacheName)).keys()).map((k) => k.url);
}

/** The trained model's parameters, by reference name. */
export function trainedStateDict(ctx: WorkerContext): Record<string, number[]> {
  if (ctx.run === null) throw new Error("nothing trained yet");
  const out: Record<string, number[]> = {};
  for (const [name, v] of ctx.run.session.model.parameters) out[name] = Array.from(v.data);
  return out;
}

/** Seconds per training step of a preset's model on random byte windows (after one warm-up step). */
export function timeSteps(ctx: WorkerContext, r: { preset: string; batchSize: number; steps: number; seed: number }) {
  return { backend: ctx.backend.name, ...timeTrainingSteps(new PerceiverAR(getPreset(r.preset).model, ctx.backend, { seed: r.seed }), r) };
}

/** Times `steps` training steps of `model` (batch `batchSize`) on seeded random bytes after one warm-up step; the benchmark's Node side runs the same. */
export function timeTrainingSteps(model: PerceiverAR, r: { batchSize: number; steps: number; seed: number }): { seconds: number[]; losses: number[] } {
  const rng = new Rng(r.seed);
  const stream = Int32Array.from({ length: model.config.maxSeqLen * 4 + 1 }, () => 2 + rng.nextInt(256));
  const session = new TrainingSession(model, samplerBatchSource(new WindowSampler(stream, { maxSeqLen: model.config.maxSeqLen, seed: r.seed }), r.batchSize), { batchSize: r.batchSize, maxSteps: r.steps + 1, seed: r.seed });
  session.step(); // warm-up: buffer pool, JIT
  const seconds: number[] = [];
  const losses: number[] = [];
  for (let i = 0; i < r.steps; i++) {
    const s = session.step();
    seconds.push(s.seconds);
    losses.push(s.loss);
  }
  return { seconds, losses };
}
