// Generation against the reference's greedy trace (../shared/golden/rot/generate.json): the
// schedule's (prefix_len, window) pairs, teacher-forced last-position logits within 1e-4 both from
// a full forward and from the KV-cached decoder, and greedy generation reproducing the tokens. The
// number of steps, the prompt and the initial latents are the trace's own.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { generate, generateStream, lastPositionLogits } from "../src/generate/generate.js";
import { generationSchedule } from "../src/generate/schedule.js";
import { loadModel } from "../src/io/checkpoint.js";
import { GOLDEN_ROOT, maxMixedError } from "./helpers/golden.js";

interface GoldenStep {
  prefix_len: number;
  window: number;
  token: number;
  logits: number[];
}
interface GoldenTrace {
  prompt: number[];
  num_latents: number;
  steps: GoldenStep[];
  tokens: number[];
}

const dir = path.join(GOLDEN_ROOT, "rot");
const trace = JSON.parse(fs.readFileSync(path.join(dir, "generate.json"), "utf8")) as GoldenTrace;
const model = loadModel(dir, referenceBackend);
const cfg = model.config;

describe("generation golden trace (rot)", () => {
  it("the schedule reproduces every step's (prefix_len, window)", () => {
    const got = [...generationSchedule(cfg, trace.prompt.length, trace.num_latents, trace.steps.length)];
    assert.equal(got.length, trace.steps.length);
    for (let s = 0; s < trace.steps.length; s++) {
      assert.deepEqual([got[s].prefixLen, got[s].window], [trace.steps[s].prefix_len, trace.steps[s].window], `step ${s}`);
    }
    const kinds = new Set(got.map((s) => s.kind));
    for (const k of ["prefill", "grow-latents", "grow-prefix", "slide"]) assert.ok(kinds.has(k as never), `trace covers ${k}`);
  });

  it("teacher-forced logits match at every step, uncached and cached (1e-4)", () => {
    const decoder = new CachedDecoder(model);
    decoder.push(trace.prompt);
    const stream = [...trace.prompt];
    let worstFull = 0;
    let worstCached = 0;
    for (let s = 0; s < trace.steps.length; s++) {
      const st = trace.steps[s];
      const window = stream.slice(stream.length - st.window);
      assert.equal(window.length, st.window);
      const full = lastPositionLogits(model, window, st.prefix_len);
      const cached = decoder.logits(st.prefix_len);
      const eFull = maxMixedError(full, st.logits);
      const eCached = maxMixedError(cached, st.logits);
      worstFull = Math.max(worstFull, eFull);
      worstCached = Math.max(worstCached, eCached);
      assert.ok(eFull < 1e-4, `step ${s}: full forward error ${eFull}`);
      assert.ok(eCached < 1e-4, `step ${s}: cached error ${eCached}`);
      stream.push(st.token);
      decoder.push([st.token]);
    }
    console.log(`# golden generate: worst logits error full ${worstFull.toExponential(2)}, cached ${worstCached.toExponential(2)}`);
  });

  it("greedy generation reproduces the recorded tokens, cached and uncached", async () => {
    const want = trace.steps.map((s) => s.token);
    assert.deepEqual(want, trace.tokens);
    for (const useCache of [true, false]) {
      const got = await generate(model, trace.prompt, { maxNewTokens: want.length, numLatents: trace.num_latents, greedy: true, useCache });
      assert.deepEqual(got, want, `useCache ${useCache}`);
    }
  });

  it("generateStream yields the same tokens one at a time and reports them to onToken", async () => {
    const seen: Array<[number, number]> = [];
    const got: number[] = [];
    const count = Math.min(12, trace.tokens.length); // a few are enough: generate() covers the whole trace
    for await (const t of generateStream(model, trace.prompt, {
      maxNewTokens: count,
      numLatents: trace.num_latents,
      greedy: true,
      onToken: (t, i) => seen.push([t, i]),
    })) {
      got.push(t);
    }
    assert.deepEqual(got, trace.tokens.slice(0, count));
    assert.deepEqual(
      seen,
      got.map((t, i) => [t, i]),
    );
  });
});
