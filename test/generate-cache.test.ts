// The KV-cached decoder against full forward passes on randomly initialised small models (abs
// position embedding on/off, rotary in the first or every self-attention layer, no self-attention),
// through all three schedule phases and well past the window sliding; the same with fewer latents
// than the model has (GenerateOptions.maxLatents = max/2 and 1: window (maxSeqLen - maxLatents) +
// cap); the samplers; validation.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../src/util/rng.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { generate, generateStream, lastPositionLogits } from "../src/generate/generate.js";
import { argmax, candidateDistribution, sampleToken, validateSamplingOptions } from "../src/generate/sampling.js";
import { effectiveConfig, generationSchedule, numLatentsRange, scheduleStep } from "../src/generate/schedule.js";
import { SMALL_GENERATION_CONFIG, maxAbsDiff, smallGenerationModel } from "./helpers/generation.js";


function randomTokens(n: number, vocab: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => rng.nextInt(vocab));
}

const VARIANTS: Array<[string, Record<string, unknown>]> = [
  ["abs_pos_emb, rotary layers 1", { abs_pos_emb: true, num_self_attention_rotary_layers: 1 }],
  ["abs_pos_emb, rotary layers -1", { abs_pos_emb: true, num_self_attention_rotary_layers: -1 }],
  ["rotary only, rotary layers 1", { abs_pos_emb: false, num_self_attention_rotary_layers: 1, output_norm: true, output_bias: false }],
  ["rotary only, rotary layers -1", { abs_pos_emb: false, num_self_attention_rotary_layers: -1, output_norm: true, output_bias: false }],
  ["rotary only, no self-attention", { abs_pos_emb: false, num_self_attention_layers: 0, num_self_attention_rotary_layers: 0 }],
];

describe("cached decoder == full forward", () => {
  for (const [name, over] of VARIANTS) {
    it(`${name}: 60 sampled steps through every phase (1e-4)`, () => {
      const model = smallGenerationModel(over);
      const rng = new Rng(7);
      const prompt = randomTokens(8, 50, rng);
      const numLatents = 2;
      const decoder = new CachedDecoder(model);
      decoder.push(prompt);
      const stream = [...prompt];
      let worst = 0;
      let minContrast = Infinity;
      const kinds = new Map<string, number>();
      for (const st of generationSchedule(model.config, prompt.length, numLatents, 60)) {
        const window = stream.slice(st.windowStart);
        const full = lastPositionLogits(model, window, st.prefixLen);
        const cached = decoder.logits(st.prefixLen);
        const err = maxAbsDiff(cached, full);
        worst = Math.max(worst, err);
        assert.ok(err < 1e-4, `step ${st.step} (${st.kind}, prefix ${st.prefixLen}, window ${st.window}): error ${err}`);
        // Sensitivity: another prefix length on the same window gives clearly different logits.
        const other = st.prefixLen > Math.max(0, st.window - 6) ? st.prefixLen - 1 : st.prefixLen + 1;
        if (other <= Math.min(st.window - 1, 18)) minContrast = Math.min(minContrast, maxAbsDiff(lastPositionLogits(model, window, other), full));
        // The cache does only the work the phase requires.
        const s = decoder.lastStats;
        kinds.set(st.kind, (kinds.get(st.kind) ?? 0) + 1);
        if (st.kind === "grow-latents") assert.deepEqual(s, { rebuilt: false, newTokens: 1, prefixTokens: 0, latentRows: 1 }, `step ${st.step}`);
        if (st.kind === "grow-prefix") assert.deepEqual(s, { rebuilt: false, newTokens: 1, prefixTokens: 1, latentRows: 6 }, `step ${st.step}`);
        if (st.kind === "slide") {
          if (model.config.absPosEmb) assert.deepEqual(s, { rebuilt: true, newTokens: 24, prefixTokens: 18, latentRows: 6 }, `step ${st.step}`);
          else assert.deepEqual(s, { rebuilt: false, newTokens: 1, prefixTokens: 1, latentRows: 6 }, `step ${st.step}`);
        }
        const token = sampleToken(cached, { temperature: 1.5, topK: 20 }, () => rng.nextFloat());
        stream.push(token);
        decoder.push([token]);
      }
      assert.deepEqual(Object.fromEntries(kinds), { prefill: 1, "grow-latents": 4, "grow-prefix": 12, slide: 43 });
      assert.ok(minContrast > 1e-3, `test sensitivity: a different prefix changes logits by only ${minContrast}`);
      console.log(`# cache ${name}: worst error ${worst.toExponential(2)}, min contrast ${minContrast.toExponential(2)}`);
    });
  }

  it("arbitrary prefix lengths, long prompts and repeated calls stay exact", () => {
    for (const abs of [false, true]) {
      const model = smallGenerationModel({ abs_pos_emb: abs, num_self_attention_rotary_layers: -1 }, 3);
      const rng = new Rng(11);
      const decoder = new CachedDecoder(model);
      const stream = randomTokens(30, 50, rng); // longer than max_seq_len: the window starts sliding at once
      decoder.push(stream);
      for (let s = 0; s < 40; s++) {
        const n = Math.min(stream.length, 24);
        const lo = Math.max(0, n - 6);
        const hi = Math.min(n - 1, 18);
        const p = lo + rng.nextInt(hi - lo + 1);
        const full = lastPositionLogits(model, stream.slice(stream.length - n), p);
        assert.ok(maxAbsDiff(decoder.logits(p), full) < 1e-4, `abs ${abs} step ${s} prefix ${p}`);
        assert.ok(maxAbsDiff(decoder.logits(p), full) < 1e-4, `abs ${abs} step ${s} repeated call`);
        const add = randomTokens(1 + rng.nextInt(3), 50, rng);
        stream.push(...add);
        decoder.push(add);
      }
    }
  });

  it("short prompt, window growing from 1 token", () => {
    const model = smallGenerationModel({ abs_pos_emb: false, num_self_attention_rotary_layers: -1 });
    const decoder = new CachedDecoder(model);
    const stream = [5];
    decoder.push(stream);
    for (const st of generationSchedule(model.config, 1, 1, 30)) {
      const full = lastPositionLogits(model, stream.slice(st.windowStart), st.prefixLen);
      assert.ok(maxAbsDiff(decoder.logits(st.prefixLen), full) < 1e-4, `step ${st.step}`);
      const t = argmax(full);
      stream.push(t);
      decoder.push([t]);
    }
  });

  it("validates its inputs", () => {
    const model = smallGenerationModel({});
    const d = new CachedDecoder(model);
    assert.throws(() => d.logits(0), /empty/);
    assert.throws(() => d.push([50]), /token 0 = 50 is outside the vocabulary \[0, 50\)/);
    d.push([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.throws(() => d.logits(1), /prefixLen must be an integer in \[2, 7\]/);
  });
});

describe("cached decoder with fewer latents (maxLatents cap) == full forward", () => {
  // SMALL_GENERATION_CONFIG: max_seq_len 24, max_latents 6, so the prefix limit is 18 and the capped window 18 + cap.
  // [cap, initial latents, expected phase counts over 60 steps from an 8-token prompt]
  const CAPS: Array<[number, number, Record<string, number>]> = [
    [3, 2, { prefill: 1, "grow-latents": 1, "grow-prefix": 12, slide: 46 }],
    [1, 1, { prefill: 1, "grow-prefix": 11, slide: 48 }],
  ];
  for (const [name, over] of VARIANTS) {
    for (const [cap, numLatents, expectedKinds] of CAPS) {
      it(`${name}, maxLatents ${cap}: 60 sampled steps through every phase (1e-4)`, () => {
        const model = smallGenerationModel(over);
        const rng = new Rng(17 + cap);
        const prompt = randomTokens(8, 50, rng);
        const view = effectiveConfig(model.config, cap);
        assert.deepEqual(view, { maxSeqLen: 18 + cap, maxLatents: cap });
        const decoder = new CachedDecoder(model, { maxLatents: cap });
        decoder.push(prompt);
        const stream = [...prompt];
        let worst = 0;
        let minContrast = Infinity;
        const kinds = new Map<string, number>();
        for (const st of generationSchedule(view, prompt.length, numLatents, 60)) {
          assert.ok(st.numLatents <= cap && st.window <= 18 + cap && st.prefixLen <= 18, `step ${st.step}: ${JSON.stringify(st)}`);
          const window = stream.slice(st.windowStart);
          const full = lastPositionLogits(model, window, st.prefixLen); // the model's real config
          const cached = decoder.logits(st.prefixLen);
          const err = maxAbsDiff(cached, full);
          worst = Math.max(worst, err);
          assert.ok(err < 1e-4, `step ${st.step} (${st.kind}, prefix ${st.prefixLen}, window ${st.window}): error ${err}`);
          // Sensitivity: the uncapped schedule's window (one token longer at least) gives other logits.
          if (st.kind === "slide") {
            const longer = stream.slice(Math.max(0, stream.length - 24));
            if (longer.length > window.length) minContrast = Math.min(minContrast, maxAbsDiff(lastPositionLogits(model, longer, longer.length - 6), full));
          }
          const s = decoder.lastStats;
          kinds.set(st.kind, (kinds.get(st.kind) ?? 0) + 1);
          if (st.kind === "grow-latents") assert.deepEqual(s, { rebuilt: false, newTokens: 1, prefixTokens: 0, latentRows: 1 }, `step ${st.step}`);
          if (st.kind === "grow-prefix") assert.deepEqual(s, { rebuilt: false, newTokens: 1, prefixTokens: 1, latentRows: cap }, `step ${st.step}`);
          if (st.kind === "slide") {
            if (model.config.absPosEmb) assert.deepEqual(s, { rebuilt: true, newTokens: 18 + cap, prefixTokens: 18, latentRows: cap }, `step ${st.step}`);
            else assert.deepEqual(s, { rebuilt: false, newTokens: 1, prefixTokens: 1, latentRows: cap }, `step ${st.step}`);
          }
          const token = sampleToken(cached, { temperature: 1.5, topK: 20 }, () => rng.nextFloat());
          stream.push(token);
          decoder.push([token]);
        }
        assert.deepEqual(Object.fromEntries(kinds), expectedKinds);
        assert.ok(minContrast > 1e-3, `test sensitivity: the uncapped window changes logits by only ${minContrast}`);
        console.log(`# cache ${name}, maxLatents ${cap}: worst error ${worst.toExponential(2)}, min contrast ${minContrast.toExponential(2)}`);
      });
    }
  }

  it("capped decoder: long prompts, arbitrary valid prefix lengths and repeated calls stay exact", () => {
    for (const abs of [false, true]) {
      for (const cap of [3, 1]) {
        const model = smallGenerationModel({ abs_pos_emb: abs, num_self_attention_rotary_layers: -1 }, 3);
        const rng = new Rng(29);
        const decoder = new CachedDecoder(model, { maxLatents: cap });
        const stream = randomTokens(30, 50, rng);
        decoder.push(stream);
        for (let s = 0; s < 40; s++) {
          const n = Math.min(stream.length, 18 + cap);
          const lo = Math.max(0, n - cap);
          const hi = Math.min(n - 1, 18);
          const p = lo + rng.nextInt(hi - lo + 1);
          const full = lastPositionLogits(model, stream.slice(stream.length - n), p);
          assert.ok(maxAbsDiff(decoder.logits(p), full) < 1e-4, `abs ${abs} cap ${cap} step ${s} prefix ${p}`);
          assert.ok(maxAbsDiff(decoder.logits(p), full) < 1e-4, `abs ${abs} cap ${cap} step ${s} repeated call`);
          const add = randomTokens(1 + rng.nextInt(3), 50, rng);
          stream.push(...add);
          decoder.push(add);
        }
      }
    }
  });

  it("validates maxLatents and the capped prefix range", () => {
    const model = smallGenerationModel({});
    for (const bad of [0, 7, 2.5, -1, NaN, "3"]) {
      assert.throws(() => new CachedDecoder(model, { maxLatents: bad as never }), /maxLatents must be an integer in \[1, 6\]/, String(bad));
    }
    const d = new CachedDecoder(model, { maxLatents: 3 });
    assert.equal(d.maxWindow, 21);
    d.push(randomTokens(30, 50, new Rng(1)));
    assert.throws(() => d.logits(17), /prefixLen must be an integer in \[18, 18\] for a window of 21 tokens/);
  });
});

describe("generate", () => {
  it("maxLatents: cached == uncached, default == the model's max_latents, and fewer latents change the output", async () => {
    for (const abs of [false, true]) {
      const model = smallGenerationModel({ abs_pos_emb: abs });
      const prompt = [3, 1, 4, 1, 5, 9, 2, 6];
      const o = { maxNewTokens: 40, temperature: 0.8, topP: 0.9, seed: 42 };
      const full = await generate(model, prompt, o);
      assert.deepEqual(await generate(model, prompt, { ...o, maxLatents: 6 }), full);
      for (const cap of [3, 1]) {
        const a = await generate(model, prompt, { ...o, maxLatents: cap });
        const b = await generate(model, prompt, { ...o, maxLatents: cap, useCache: false });
        assert.equal(a.length, 40);
        assert.deepEqual(a, b, `abs ${abs} cap ${cap}: cached == uncached`);
        assert.notDeepEqual(a, full, `abs ${abs} cap ${cap}: differs from the uncapped run`);
      }
      // A prompt longer than the capped window: only its last 18 + cap tokens are seen.
      const long = randomTokens(40, 50, new Rng(5));
      const g = { maxNewTokens: 20, greedy: true, maxLatents: 2 };
      const viaLong = await generate(model, long, g);
      assert.deepEqual(viaLong, await generate(model, long.slice(-20), g), "the window is the last 20 tokens");
      assert.deepEqual(viaLong, await generate(model, long, { ...g, useCache: false }));
    }
  });

  it("maxLatents validation errors name the field and the allowed range", async () => {
    const model = smallGenerationModel({});
    const bad = async (prompt: number[], o: Record<string, unknown>, re: RegExp) =>
      assert.rejects(generate(model, prompt, { maxNewTokens: 3, ...o } as never), re);
    await bad([1, 2, 3], { maxLatents: 0 }, /maxLatents must be an integer in \[1, 6\] \(at most the model's max_latents\), got 0/);
    await bad([1, 2, 3], { maxLatents: 7 }, /maxLatents must be an integer in \[1, 6\].*got 7/);
    await bad([1, 2, 3], { maxLatents: 1.5 }, /maxLatents must be an integer in \[1, 6\]/);
    await bad([1, 2, 3], { maxLatents: "2" }, /maxLatents must be an integer in \[1, 6\]/);
    await bad([1, 2, 3], { maxLatents: 2, numLatents: 3 }, /numLatents must be an integer in \[1, 2\]/);
    await bad(Array(30).fill(1), { maxLatents: 2, numLatents: 1 }, /numLatents must be an integer in \[2, 2\]/);
    await bad([1, 2, 3], { maxLatents: 0, useCache: false }, /maxLatents must be an integer in \[1, 6\]/);
  });


  it("cached and uncached sampling give the same tokens; same seed, same output", async () => {
    for (const abs of [false, true]) {
      const model = smallGenerationModel({ abs_pos_emb: abs });
      const prompt = [3, 1, 4, 1, 5, 9, 2, 6];
      const o = { maxNewTokens: 40, numLatents: 3, temperature: 0.8, topP: 0.9, seed: 42 };
      const a = await generate(model, prompt, o);
      const b = await generate(model, prompt, { ...o, useCache: false });
      const c = await generate(model, prompt, o);
      const d = await generate(model, prompt, { ...o, seed: 43 });
      assert.equal(a.length, 40);
      assert.deepEqual(a, b);
      assert.deepEqual(a, c);
      assert.notDeepEqual(a, d);
    }
  });

  it("stops at EOS (included) and at maxNewTokens; 0 tokens is allowed", async () => {
    const model = smallGenerationModel({});
    const prompt = [1, 2, 3];
    const free = await generate(model, prompt, { maxNewTokens: 30, seed: 5 });
    const eos = free[10];
    const cut = await generate(model, prompt, { maxNewTokens: 30, seed: 5, eosId: eos });
    assert.deepEqual(cut, free.slice(0, free.indexOf(eos) + 1));
    assert.deepEqual(await generate(model, prompt, { maxNewTokens: 0 }), []);
  });

  it("generateStream yields to the event loop between tokens and can be stopped early", async () => {
    const model = smallGenerationModel({});
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const got: number[] = [];
    const t0 = Date.now();
    for await (const t of generateStream(model, [1, 2, 3], { maxNewTokens: 100, seed: 1 })) {
      got.push(t);
      if (got.length === 25) break;
      while (Date.now() - t0 < got.length * 2) {
        /* let a timer tick become due */
      }
    }
    clearInterval(timer);
    assert.equal(got.length, 25);
    assert.ok(ticks > 0, "timers ran while generating");
  });

  it("validation errors name the field and the allowed range", async () => {
    const model = smallGenerationModel({});
    const bad = async (prompt: number[], o: Record<string, unknown>, re: RegExp) =>
      assert.rejects(generate(model, prompt, { maxNewTokens: 3, ...o } as never), re);
    await bad([1, 2, 3], { maxNewTokens: -1 }, /maxNewTokens must be an integer >= 0/);
    await bad([1, 2, 3], { maxNewTokens: 1.5 }, /maxNewTokens/);
    await bad([], {}, /prompt must be a non-empty/);
    await bad([1, 99], {}, /prompt\[1\] = 99 must be an integer token id in \[0, 50\)/);
    await bad([1, 2, 3], { numLatents: 0 }, /numLatents must be an integer in \[1, 3\]/);
    await bad([1, 2, 3], { numLatents: 4 }, /numLatents must be an integer in \[1, 3\]/);
    await bad(Array(22).fill(1), { numLatents: 3 }, /numLatents must be an integer in \[4, 6\]/);
    await bad([1, 2, 3], { temperature: 0 }, /temperature must be a finite number > 0/);
    await bad([1, 2, 3], { temperature: Infinity }, /temperature/);
    await bad([1, 2, 3], { topK: 0 }, /topK must be an integer >= 1/);
    await bad([1, 2, 3], { topK: 2.5 }, /topK must be an integer >= 1/);
    await bad([1, 2, 3], { topP: 0 }, /topP must be in \(0, 1\]/);
    await bad([1, 2, 3], { topP: 1.01 }, /topP must be in \(0, 1\]/);
    await bad([1, 2, 3], { eosId: 50 }, /eosId must be an integer token id in \[0, 50\)/);
    await bad([1, 2, 3], { seed: 0.5 }, /seed must be a safe integer/);
    await bad([1, 2, 3], { useCache: "yes" }, /useCache must be true or false/);
  });
});

describe("schedule", () => {
  const cfg = { maxSeqLen: 24, maxLatents: 6 };
  it("latents grow, then the prefix, then the window slides", () => {
    const steps = [...generationSchedule(cfg, 8, 2, 30)];
    assert.deepEqual(steps.slice(0, 6).map((s) => [s.prefixLen, s.window, s.numLatents, s.kind]), [
      [6, 8, 2, "prefill"],
      [6, 9, 3, "grow-latents"],
      [6, 10, 4, "grow-latents"],
      [6, 11, 5, "grow-latents"],
      [6, 12, 6, "grow-latents"],
      [7, 13, 6, "grow-prefix"],
    ]);
    assert.deepEqual([steps[16].prefixLen, steps[16].window, steps[16].kind], [18, 24, "grow-prefix"]);
    assert.deepEqual([steps[17].prefixLen, steps[17].window, steps[17].windowStart, steps[17].kind], [18, 24, 1, "slide"]);
    assert.deepEqual(numLatentsRange(cfg, 100), [6, 6]);
    assert.equal(scheduleStep(cfg, 100, 6, 0).windowStart, 76);
  });

  it("with a latent cap: latents grow to the cap, the prefix to max_seq_len - max_latents, then the window slides", () => {
    const view = effectiveConfig(cfg, 3);
    assert.deepEqual(view, { maxSeqLen: 21, maxLatents: 3 });
    assert.deepEqual(effectiveConfig(cfg), cfg);
    const steps = [...generationSchedule(view, 8, 2, 20)];
    assert.deepEqual(steps.slice(0, 3).map((s) => [s.prefixLen, s.window, s.numLatents, s.kind]), [
      [6, 8, 2, "prefill"],
      [6, 9, 3, "grow-latents"],
      [7, 10, 3, "grow-prefix"],
    ]);
    assert.deepEqual([steps[13].prefixLen, steps[13].window, steps[13].kind], [18, 21, "grow-prefix"]);
    assert.deepEqual([steps[14].prefixLen, steps[14].window, steps[14].windowStart, steps[14].kind], [18, 21, 1, "slide"]);
    assert.deepEqual(numLatentsRange(view, 100), [3, 3]);
    assert.throws(() => effectiveConfig(cfg, 7), /maxLatents must be an integer in \[1, 6\]/);
  });
});

describe("sampling", () => {
  const rng = new Rng(123);
  const logits = Float32Array.from({ length: 40 }, () => rng.nextFloat() * 6 - 3);
  const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a]);

  it("greedy and the temperature -> 0 limit pick the argmax", () => {
    assert.equal(sampleToken(logits, { greedy: true }, () => 0.99), order[0]);
    for (let i = 0; i < 200; i++) assert.equal(sampleToken(logits, { temperature: 1e-4 }, () => rng.nextFloat()), order[0]);
    assert.equal(argmax([1, 3, 3, 2]), 1);
  });

  it("top-k never picks outside the k most likely tokens", () => {
    const allowed = new Set(order.slice(0, 5));
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const t = sampleToken(logits, { topK: 5, temperature: 3 }, () => rng.nextFloat());
      assert.ok(allowed.has(t), `token ${t} outside the top 5`);
      seen.add(t);
    }
    assert.equal(seen.size, 5);
    assert.equal(candidateDistribution(logits, { topK: 1000 }).ids.length, 40);
  });

  it("top-p keeps the smallest most-likely set with mass >= p", () => {
    const full = candidateDistribution(logits, {});
    for (const p of [0.1, 0.5, 0.9, 0.99]) {
      const { ids, probs } = candidateDistribution(logits, { topP: p });
      let mass = 0;
      for (let i = 0; i < ids.length; i++) {
        assert.equal(ids[i], full.ids[i]);
        mass += full.probs[i];
      }
      assert.ok(mass >= p, `mass ${mass} < ${p}`);
      assert.ok(mass - full.probs[ids.length - 1] < p, `dropping the last kept token still reaches ${p}`);
      assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      for (let i = 0; i < 300; i++) assert.ok(ids.includes(sampleToken(logits, { topP: p }, () => rng.nextFloat())));
    }
    assert.equal(candidateDistribution(logits, { topP: 1 }).ids.length, 40);
  });

  it("sampling frequencies follow the softmax; same seed, same draws", () => {
    const small = [0, Math.log(2), Math.log(7)]; // probabilities 0.1, 0.2, 0.7
    const r1 = new Rng(9);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampleToken(small, {}, () => r1.nextFloat())]++;
    assert.ok(Math.abs(counts[0] / 20000 - 0.1) < 0.01 && Math.abs(counts[2] / 20000 - 0.7) < 0.015, `counts ${counts}`);
    const draw = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, { topK: 10, topP: 0.95 }, () => r.nextFloat()));
    };
    assert.deepEqual(draw(1), draw(1));
    assert.notDeepEqual(draw(1), draw(2));
  });

  it("validation errors name the field and range", () => {
    assert.throws(() => validateSamplingOptions({ temperature: -1 }), /temperature must be a finite number > 0, got -1/);
    assert.throws(() => validateSamplingOptions({ temperature: NaN }), /temperature/);
    assert.throws(() => validateSamplingOptions({ topK: 0 }), /topK must be an integer >= 1, got 0/);
    assert.throws(() => validateSamplingOptions({ topP: 0 }), /topP must be in \(0, 1\], got 0/);
    assert.throws(() => validateSamplingOptions({ topP: NaN }), /topP/);
    assert.throws(() => validateSamplingOptions({ greedy: 1 as never }), /greedy must be true or false/);
    assert.throws(() => sampleToken([0, NaN], {}, Math.random), /logits\[1\] is NaN/);
    assert.throws(() => sampleToken([0, 1], {}, () => 1), /random\(\) must return a number in \[0, 1\)/);
    assert.equal(sampleToken([-Infinity, 0, -Infinity], {}, () => 0.999), 1);
  });
});
