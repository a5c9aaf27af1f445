// One training step for Node and the browser (src/train/training-loop.ts): the Node Trainer and
// the browser's TrainingSession run the same loop, so with the same model init, data, seed and
// options they give the same losses, learning rates, gradient norms, validations and weights bit
// for bit (gradient accumulation and clipping included). The session's `run` stops on an aborted
// signal and continues after `extend`, validating where it stops.

import assert from "node:assert/strict";
import { test } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { TrainingSession } from "../src/browser/training-session.js";
import { fixedWindows, WindowSampler } from "../src/data/windows.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { samplerBatchSource } from "../src/train/batch-source.js";
import { Trainer } from "../src/train/trainer.js";

const TINY = { vocabSize: 20, maxSeqLen: 16, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1, crossAttentionDropout: 0.5 };
const OPTIONS = { batchSize: 3, gradAccumulation: 2, lr: 1e-2, maxSteps: 12, warmupSteps: 3, clipNorm: 0.5, seed: 5, evalEvery: 4 };

function stream(): Int32Array {
  const motif = [3, 7, 1, 12, 5, 9, 15, 2, 2, 8];
  return Int32Array.from({ length: 700 }, (_, i) => motif[(i * 7 + (i >> 4)) % motif.length]!);
}

const data = () => samplerBatchSource(new WindowSampler(stream(), { maxSeqLen: TINY.maxSeqLen, seed: 11 }), OPTIONS.batchSize);
const validation = () => ({ windows: fixedWindows(stream().subarray(500), TINY.maxSeqLen + 1, 4) });

test("the Node Trainer and the browser's TrainingSession take the same steps bit for bit", async () => {
  const trainer = Trainer.create(new PerceiverAR(TINY, referenceBackend, { seed: 2 }), data(), OPTIONS, { validation: validation() });
  const fromTrainer: unknown[] = [];
  await trainer.train({ onProgress: (e) => (e.kind === "train" || e.kind === "eval") && fromTrainer.push(e.kind === "train" ? [e.step, e.loss, e.lr, e.gradNorm, e.tokens] : ["eval", e.step, e.loss, e.best]) });

  const session = new TrainingSession(new PerceiverAR(TINY, referenceBackend, { seed: 2 }), data(), OPTIONS, validation());
  const fromSession: unknown[] = [];
  await session.run({ onStep: (r) => fromSession.push([r.step, r.loss, r.lr, r.gradNorm, r.tokens]), onValidation: (step, r, best) => fromSession.push(["eval", step, r.loss, best]) });

  assert.equal(fromTrainer.filter((e) => (e as unknown[])[0] === "eval").length, 3, "validations at steps 4, 8, 12");
  assert.deepEqual(fromSession, fromTrainer);
  for (const [name, v] of trainer.model.parameters) assert.deepEqual(session.model.parameters.get(name)!.data, v.data, name);
  assert.deepEqual(session.best, trainer.best);
  assert.deepEqual(session.optimizer.exportState().step, 12);
});

test("a session stops on an aborted signal, validates there, and continues after extend", async () => {
  const session = new TrainingSession(new PerceiverAR(TINY, referenceBackend, { seed: 2 }), data(), { ...OPTIONS, maxSteps: 6, evalEvery: 0 }, validation());
  const stop = new AbortController();
  const validated: number[] = [];
  const first = await session.run({ signal: stop.signal, onStep: (r) => r.step === 2 && stop.abort(), onValidation: (step) => validated.push(step) });
  assert.equal(first.stoppedBy, "abort");
  assert.equal(session.completedSteps, 2);
  session.extend(6);
  assert.equal(session.maxSteps, 8);
  const second = await session.run({ onValidation: (step) => validated.push(step) });
  assert.equal(second.stoppedBy, "maxSteps");
  assert.deepEqual(validated, [2, 8], "a validation where each run stopped");
  assert.throws(() => new TrainingSession(new PerceiverAR(TINY, referenceBackend), data(), { runDir: "x" } as never), /no run folder: runDir/);
});
