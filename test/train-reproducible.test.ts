// Training is reproducible at the default thread count (issue 11 item 12, trainer level): with the
// native backend at 2 threads, two uninterrupted runs end with bit-identical weights, the same run
// at 1, 2 and 3 threads ends with bit-identical weights too (the README says so), and a run killed
// with SIGKILL at random moments and resumed ends exactly where the uninterrupted run ends. The
// model is one on which the kernels split their reductions over threads (before the
// thread-order-free reductions of src/backend two such runs differed after two steps).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { getNativeThreads, setNativeThreads } from "../src/backend/native/index.js";
import { WindowSampler } from "../src/data/windows.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { samplerBatchSource } from "../src/train/batch-source.js";
import { Trainer } from "../src/train/trainer.js";
import { killResumeTrial } from "./helpers/kill-resume.js";
import { nativeForTests } from "./helpers/native.js";

const { native, skip } = nativeForTests();
/** The kill-resume trial's model (test/helpers/kill-resume.ts TRIAL_MODEL), in the library's terms. */
const CONFIG = { vocabSize: 258, maxSeqLen: 512, maxLatents: 64, numChannels: 64, numHeads: 2, numSelfAttentionLayers: 2, crossAttentionDropout: 0.5 };
const STREAM = new Int32Array(20_000).map((_, i) => 2 + ((((i * 7919) % 97) + (i % 13)) % 256));

/** SHA-256 of every weight after `steps` steps at `threads` threads, and the last loss. */
function train(threads: number, steps: number): { weights: string; loss: number } {
  const before = getNativeThreads();
  setNativeThreads(threads);
  try {
    const model = new PerceiverAR(CONFIG, native!, { seed: 1 });
    const t = Trainer.create(model, samplerBatchSource(new WindowSampler(STREAM, { maxSeqLen: CONFIG.maxSeqLen, seed: 3 }), 4), { batchSize: 4, maxSteps: 100, seed: 2 });
    let loss = NaN;
    for (let i = 0; i < steps; i++) loss = t.step().loss;
    const h = createHash("sha256");
    for (const p of model.parameters.values()) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
    return { weights: h.digest("hex"), loss };
  } finally {
    setNativeThreads(before);
  }
}

describe("reproducible training on the native backend", { skip }, () => {
  it("two uninterrupted runs with the default 2 threads end with bit-identical weights", () => {
    const a = train(2, 3);
    const b = train(2, 3);
    assert.equal(b.weights, a.weights);
    assert.ok(Object.is(a.loss, b.loss));
  });

  it("the same run at 1, 2 and 3 threads ends with bit-identical weights", () => {
    const at2 = train(2, 3).weights;
    assert.equal(train(1, 3).weights, at2, "1 thread");
    assert.equal(train(3, 3).weights, at2, "3 threads");
  });

  it("resume after kill -9 at random moments is bit-exact at 2 threads (3 kills)", async () => {
    const r = await killResumeTrial({ kills: 3, threads: 2, steps: 20, seed: 7 });
    assert.ok(r.kills >= 1, "at least one kill landed before the run finished");
    assert.deepEqual(r.differences, []);
    assert.ok(r.exact);
  });
});
