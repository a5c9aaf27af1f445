// The whole model on the wasm backend, for the threaded build at 2 and 1 threads and the
// single-threaded build: every golden case against the reference implementation (logits and loss
// within 1e-4, every gradient within 1e-3 of its tensor's largest magnitude), the greedy
// generation trace of golden/rot (cached decoder and full forward), training steps (the same
// losses as the reference backend, loss falling, and no tensor copied into the module: every
// Float32Array the engine made lives in the backend's storage), and bit-identical training at
// any thread count.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";

import type { Backend } from "../src/backend/backend.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { generate } from "../src/generate/generate.js";
import { loadModel } from "../src/io/checkpoint.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { AdamW } from "../src/train/adamw.js";
import { Rng } from "../src/util/rng.js";
import { GOLDEN_ROOT, goldenCaseNames, goldenInputs, loadGolden, maxMixedError, maxScaledError } from "./helpers/golden.js";
import { wasmCases, wasmForTests, type WasmCase } from "./helpers/wasm.js";

const { skip } = wasmForTests();
const goldenCases = goldenCaseNames();

function goldenOn(wc: WasmCase, name: string): void {
  const golden = loadGolden(name);
  const f = golden.forward;
  const { batch, labels, opts } = goldenInputs(golden);
  const model = loadModel(golden.dir, wc.backend);
  const logits = model.forward(batch, opts);
  const logitsErr = maxMixedError(logits.data, f.get("logits")!.data as Float32Array);
  assert.ok(logitsErr < 1e-4, `${name}: logits error ${logitsErr}`);
  model.zeroGrads();
  const { loss } = model.lossAndGrad(batch, labels, opts);
  const wantLoss = (f.get("loss")!.data as Float32Array)[0];
  assert.ok(Math.abs(loss - wantLoss) / Math.max(1, Math.abs(wantLoss)) < 1e-4, `${name}: loss ${loss} vs ${wantLoss}`);
  let worst = 0;
  for (const [pname, v] of model.parameters) {
    const want = f.get(`grad/${pname}`);
    assert.ok(want, `golden ${name} has no gradient for ${pname}`);
    const err = maxScaledError(v.grad, want.data as Float32Array);
    worst = Math.max(worst, err);
    assert.ok(err < 1e-3, `${name} ${pname}: gradient error ${err}`);
  }
  console.log(`# golden ${name} wasm ${wc.label}: logits error ${logitsErr.toExponential(2)}, worst gradient error ${worst.toExponential(2)}`);
}

/** A small text model with rotary, absolute positions, dropout-free cross-attention. */
const SMALL = { vocab_size: 61, max_seq_len: 48, max_latents: 16, num_channels: 32, num_heads: 4, num_self_attention_layers: 2, abs_pos_emb: true, num_self_attention_rotary_layers: 1 };

function batchOf(seed: number, B: number, N: number, vocab: number): { ids: Int32Array; labels: Int32Array; shape: [number, number] } {
  const r = new Rng(seed);
  const ids = Int32Array.from({ length: B * N }, () => Math.floor(r.nextFloat() * vocab));
  const M = SMALL.max_latents;
  const labels = Int32Array.from({ length: B * M }, (_, i) => ids[Math.floor(i / M) * N + N - M + (i % M)] % 7);
  return { ids, labels, shape: [B, N] };
}

/** `steps` training steps (lossAndGrad + AdamW); the losses and the final weights. */
function train(backend: Backend, steps: number): { losses: number[]; weights: Float32Array[] } {
  const model = new PerceiverAR(SMALL, backend, { seed: 3 });
  const opt = new AdamW(model.parameters, backend, { weightDecay: 0.01 });
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { ids, labels, shape } = batchOf(100 + (s % 3), 3, SMALL.max_seq_len, SMALL.vocab_size);
    model.zeroGrads();
    const { loss } = model.lossAndGrad({ data: ids, shape }, { data: labels, shape: [3, SMALL.max_latents] }, {});
    opt.update(3e-3);
    losses.push(loss);
  }
  return { losses, weights: [...model.parameters.values()].map((v) => Float32Array.from(v.data)) };
}

describe("the model on the wasm backend", { skip }, () => {
  const cases = wasmCases();
  assert.ok(goldenCases.length >= 3, `golden cases in ${GOLDEN_ROOT}: ${goldenCases.join(", ")}`);

  for (const wc of cases) {
    describe(wc.label, () => {
      for (const name of goldenCases) {
        it(`golden ${name}: logits, loss and every gradient`, () => {
          wc.enter();
          goldenOn(wc, name);
        });
      }

      it("golden rot generation trace: cached logits at every step (1e-4) and the greedy tokens", async () => {
        wc.enter();
        const dir = path.join(GOLDEN_ROOT, "rot");
        const trace = JSON.parse(fs.readFileSync(path.join(dir, "generate.json"), "utf8")) as { prompt: number[]; num_latents: number; steps: { prefix_len: number; token: number; logits: number[] }[]; tokens: number[] };
        const model = loadModel(dir, wc.backend);
        const decoder = new CachedDecoder(model);
        decoder.push(trace.prompt);
        let worst = 0;
        for (const st of trace.steps) {
          worst = Math.max(worst, maxMixedError(decoder.logits(st.prefix_len), st.logits));
          decoder.push([st.token]);
        }
        assert.ok(worst < 1e-4, `cached logits error ${worst}`);
        const got = await generate(model, trace.prompt, { maxNewTokens: trace.tokens.length, numLatents: trace.num_latents, greedy: true });
        assert.deepEqual(got, trace.tokens);
      });

      it("training steps: the reference backend's losses, falling, with no tensor staged", () => {
        wc.enter();
        const before = wc.controls.info().staging.float32Bytes;
        const got = train(wc.backend, 6);
        assert.equal(wc.controls.info().staging.float32Bytes, before, "every Float32Array a training step touched was in the wasm backend's storage");
        const want = train(referenceBackend, 6);
        got.losses.forEach((l, s) => assert.ok(Math.abs(l - want.losses[s]) / Math.max(1, Math.abs(want.losses[s])) < 1e-4, `step ${s}: loss ${l} vs reference ${want.losses[s]}`));
        assert.ok(got.losses[5] < got.losses[0], `loss fell: ${got.losses.join(", ")}`);
        got.weights.forEach((w, i) => assert.ok(maxScaledError(w, want.weights[i]) < 1e-3, `weights ${i} after 6 steps`));
      });
    });
  }

  it("training is bit-identical on repeated runs and at 1 and 2 threads, and in both builds", () => {
    const [threads2, threads1, single] = cases;
    threads2.enter();
    const a = train(threads2.backend, 3);
    const b = train(threads2.backend, 3);
    threads1.enter();
    const c = train(threads1.backend, 3);
    threads2.enter();
    const d = train(single.backend, 3);
    for (const [other, what] of [[b, "repeated"], [c, "1 thread"], [d, "single-threaded build"]] as const) {
      assert.deepEqual(other.losses, a.losses, `${what}: losses`);
      other.weights.forEach((w, i) => assert.deepEqual(w, a.weights[i], `${what}: weights ${i}`));
    }
  });
});
