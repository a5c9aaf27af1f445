// The latent-reset schedule (schedule "reset"): its closed form against the rule stepped by hand,
// its limits, its equivalence with the exact schedule at resetFill = M; the cached decoder on it
// against full forwards of the same (window, prefixLen) at every step, through several resets, with
// the work each step does; generation with it cached == uncached; validation.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../src/util/rng.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { generate, lastPositionLogits } from "../src/generate/generate.js";
import { sampleToken } from "../src/generate/sampling.js";
import { scheduleLogLoss } from "../src/generate/schedule-score.js";
import { defaultNumLatents, defaultResetFill, effectiveConfig, generationSchedule, numLatentsRange, type ScheduleConfig, type ScheduleStep } from "../src/generate/schedule.js";
import { maxAbsDiff, smallGenerationModel } from "./helpers/generation.js";


/** The reset rule stepped by hand (the schedule.ts header's), for comparison with the closed form. */
function resetByHand(c: ScheduleConfig, L0: number, m0: number, R: number, count: number): Array<[number, number, boolean]> {
  const P = c.maxSeqLen - c.maxLatents;
  let ls = L0 - m0;
  const out: Array<[number, number, boolean]> = []; // [windowStart, latentStart, reset]
  for (let s = 0; s < count; s++) {
    const T = L0 + s;
    let reset = false;
    if (T - ls > c.maxLatents) {
      ls = T - R;
      reset = true;
    }
    out.push([Math.max(0, ls - P), ls, reset]);
  }
  return out;
}

describe("reset schedule", () => {
  const CONFIGS: ScheduleConfig[] = [
    { maxSeqLen: 24, maxLatents: 6 },
    { maxSeqLen: 1024, maxLatents: 128 },
    { maxSeqLen: 8, maxLatents: 8 }, // M = N: a decoder-only Transformer
    effectiveConfig({ maxSeqLen: 24, maxLatents: 6 }, 2),
  ];

  it("closed form == the rule stepped by hand; limits hold; one full pass every M - R + 1 tokens", () => {
    for (const c of CONFIGS) {
      const M = c.maxLatents;
      for (const R of new Set([1, defaultResetFill(M), M - 1, M].filter((r) => r >= 1))) {
        for (const L0 of [1, 3, c.maxSeqLen - c.maxLatents + 2, c.maxSeqLen, c.maxSeqLen + 7]) {
          const [, hi] = numLatentsRange(c, L0, { schedule: "reset" });
          for (const m0 of new Set([1, Math.min(hi, R), hi])) {
            const count = 3 * (M + 2);
            const got = [...generationSchedule(c, L0, m0, count, { schedule: "reset", resetFill: R })];
            const want = resetByHand(c, L0, m0, R, count);
            got.forEach((st, s) => {
              const where = `M ${M} R ${R} L0 ${L0} m0 ${m0} step ${s}`;
              assert.deepEqual([st.windowStart, st.windowStart + st.prefixLen, st.kind === "reset"], want[s], where);
              assert.equal(st.streamLength, L0 + s, where);
              assert.equal(st.window, st.streamLength - st.windowStart, where);
              assert.ok(st.window <= c.maxSeqLen && st.prefixLen <= c.maxSeqLen - M && st.numLatents >= 1 && st.numLatents <= M, `${where}: ${JSON.stringify(st)}`);
              if (st.kind === "reset") assert.equal(st.numLatents, R, where);
            });
            const resets = got.filter((st) => st.kind === "reset").map((st) => st.step);
            for (let i = 1; i < resets.length; i++) assert.equal(resets[i] - resets[i - 1], M - R + 1);
          }
        }
      }
    }
  });

  it("resetFill = M is the exact schedule (for numLatents the exact schedule accepts)", () => {
    for (const c of CONFIGS) {
      for (const L0 of [1, 5, c.maxSeqLen, c.maxSeqLen + 3]) {
        const m0 = numLatentsRange(c, L0)[0];
        const exact = [...generationSchedule(c, L0, m0, 40)];
        const reset = [...generationSchedule(c, L0, m0, 40, { schedule: "reset", resetFill: c.maxLatents })];
        const key = (st: ScheduleStep) => [st.windowStart, st.window, st.prefixLen];
        assert.deepEqual(reset.map(key), exact.map(key), `M ${c.maxLatents} L0 ${L0}`);
      }
    }
  });

  it("defaults: resetFill max(M - 128, M / 2, 1); numLatents the exact minimum, at most the fill", () => {
    assert.deepEqual([512, 128, 6, 1].map(defaultResetFill), [384, 64, 3, 1]);
    const c = { maxSeqLen: 1024, maxLatents: 512 };
    assert.equal(defaultNumLatents(c, 100, { schedule: "reset" }), 1);
    assert.equal(defaultNumLatents(c, 1024, {}), 512);
    assert.equal(defaultNumLatents(c, 1024, { schedule: "reset" }), 384);
    assert.equal(defaultNumLatents(c, 1024, { schedule: "reset", resetFill: 500 }), 500);
  });
});

describe("cached decoder on the reset schedule == full forward", () => {
  const VARIANTS: Array<[string, Record<string, unknown>]> = [
    ["rotary only, rotary layers -1", { abs_pos_emb: false, num_self_attention_rotary_layers: -1, output_norm: true, output_bias: false }],
    ["rotary only, rotary layers 1", { abs_pos_emb: false, num_self_attention_rotary_layers: 1 }],
    ["abs_pos_emb", { abs_pos_emb: true, num_self_attention_rotary_layers: 1 }],
  ];
  for (const [name, over] of VARIANTS) {
    for (const [cap, R] of [[6, 3], [6, 1], [4, 2]] as const) {
      it(`${name}, maxLatents ${cap}, resetFill ${R}: 50 sampled steps, every step (1e-4)`, () => {
        const model = smallGenerationModel(over);
        const view = effectiveConfig(model.config, cap);
        const rng = new Rng(3 + R);
        const prompt = Array.from({ length: 22 }, () => rng.nextInt(50));
        const choice = { schedule: "reset" as const, resetFill: R };
        const decoder = new CachedDecoder(model, { maxLatents: cap });
        decoder.push(prompt);
        const stream = [...prompt];
        let worst = 0;
        let resets = 0;
        for (const st of generationSchedule(view, prompt.length, defaultNumLatents(view, prompt.length, choice), 50, choice)) {
          const full = lastPositionLogits(model, stream.slice(st.windowStart), st.prefixLen);
          const cached = decoder.logits(st.prefixLen, st.window);
          const err = maxAbsDiff(cached, full);
          worst = Math.max(worst, err);
          assert.ok(err < 1e-4, `step ${st.step} (${st.kind}, window ${st.window}, prefix ${st.prefixLen}): error ${err}`);
          const s = decoder.lastStats;
          if (st.kind === "grow-latents") assert.deepEqual(s, { rebuilt: false, newTokens: 1, prefixTokens: 0, latentRows: 1 }, `step ${st.step}`);
          if (st.kind === "reset") {
            resets++;
            assert.equal(s.latentRows, R, `step ${st.step}: a reset computes R latent rows`);
            if (!model.config.absPosEmb) assert.deepEqual(s, { rebuilt: false, newTokens: 1, prefixTokens: Math.min(cap - R + 1, st.prefixLen), latentRows: R }, `step ${st.step}`);
          }
          const token = sampleToken(cached, { temperature: 1.3, topK: 20 }, () => rng.nextFloat());
          stream.push(token);
          decoder.push([token]);
        }
        assert.ok(resets >= 50 / (cap - R + 1) - 2, `${resets} resets`);
        console.log(`# reset ${name} cap ${cap} R ${R}: worst error ${worst.toExponential(2)}, ${resets} resets`);
      });
    }
  }
});

describe("generate with schedule reset", () => {
  it("cached == uncached; resetFill = M == exact; differs from exact otherwise", async () => {
    for (const abs of [false, true]) {
      const model = smallGenerationModel({ abs_pos_emb: abs });
      const prompt = Array.from({ length: 20 }, (_, i) => (i * 7) % 50);
      const o = { maxNewTokens: 30, temperature: 0.9, seed: 5 };
      const reset = await generate(model, prompt, { ...o, schedule: "reset" });
      assert.equal(reset.length, 30);
      assert.deepEqual(await generate(model, prompt, { ...o, schedule: "reset", useCache: false }), reset, `abs ${abs}: cached == uncached`);
      const capped = await generate(model, prompt, { ...o, schedule: "reset", resetFill: 2, maxLatents: 4 });
      assert.deepEqual(await generate(model, prompt, { ...o, schedule: "reset", resetFill: 2, maxLatents: 4, useCache: false }), capped, `abs ${abs} capped`);
      const exact = await generate(model, prompt, o);
      assert.deepEqual(await generate(model, prompt, { ...o, schedule: "reset", resetFill: 6 }), exact, `abs ${abs}: resetFill = M is exact`);
      assert.deepEqual(await generate(model, prompt, { ...o, schedule: "exact" }), exact);
      assert.notDeepEqual(reset, exact, `abs ${abs}: the reset schedule changes the samples`);
    }
  });

  it("validation errors name the field and its allowed range", async () => {
    const model = smallGenerationModel({});
    const bad = async (o: Record<string, unknown>, re: RegExp) => assert.rejects(generate(model, [1, 2, 3], { maxNewTokens: 3, ...o } as never), re);
    await bad({ schedule: "sliding" }, /schedule must be one of "exact", "reset", got "sliding"/);
    await bad({ schedule: "reset", resetFill: 0 }, /resetFill must be an integer in \[1, 6\]/);
    await bad({ schedule: "reset", resetFill: 7 }, /resetFill must be an integer in \[1, 6\].*got 7/);
    await bad({ schedule: "reset", resetFill: 3, maxLatents: 2 }, /resetFill must be an integer in \[1, 2\]/);
    await bad({ resetFill: 3 }, /resetFill applies to schedule "reset" only/);
    await bad({ schedule: "reset", numLatents: 4 }, /numLatents must be an integer in \[1, 3\] for a prompt of 3 tokens/);
  });
});

describe("scheduleLogLoss: teacher-forced scoring of a schedule", () => {
  it("== the log-loss of each step's own forward; one pass per M - R + 1 tokens with reset, per token with exact", () => {
    const model = smallGenerationModel({ abs_pos_emb: false, num_self_attention_rotary_layers: -1 });
    const rng = new Rng(21);
    const tokens = Array.from({ length: 70 }, () => rng.nextInt(50));
    const forward = model.forward.bind(model);
    let passes = 0;
    model.forward = (...a: Parameters<typeof model.forward>) => (passes++, forward(...a));
    const results: Float64Array[] = [];
    for (const choice of [{}, { schedule: "reset" as const }, { schedule: "reset" as const, resetFill: 1 }]) {
      passes = 0;
      const got = scheduleLogLoss(model, tokens, { promptLength: 30, ...choice });
      const scorePasses = passes;
      assert.equal(got.length, 40);
      const steps = [...generationSchedule(model.config, 30, defaultNumLatents(model.config, 30, choice), 40, choice)];
      steps.forEach((st, s) => {
        const logits = lastPositionLogits(model, tokens.slice(st.windowStart, st.streamLength), st.prefixLen);
        let max = -Infinity;
        for (const x of logits) max = Math.max(max, x);
        let sum = 0;
        for (const x of logits) sum += Math.exp(x - max);
        const want = max + Math.log(sum) - logits[tokens[st.streamLength]];
        assert.ok(Math.abs(got[s] - want) < 1e-4, `${JSON.stringify(choice)} step ${s}: ${got[s]} vs ${want}`);
      });
      const expected = new Set(steps.map((st) => `${st.windowStart}/${st.prefixLen}`)).size;
      assert.equal(scorePasses, expected, `${JSON.stringify(choice)}: one forward per (window start, first latent)`);
      results.push(got);
    }
    // 30 tokens >= max_seq_len - max_latents: the exact schedule is full at once (one pass per token).
    assert.equal(new Set([...generationSchedule(model.config, 30, 6, 40)].map((st) => st.windowStart)).size, 40);
    assert.notDeepEqual(results[1], results[0], "the reset schedule scores differently");
    assert.throws(() => scheduleLogLoss(model, tokens, { promptLength: 70 }), /promptLength must be an integer in \[1, 69\]/);
  });
});
