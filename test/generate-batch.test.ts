// Batched generation: several prompts of different lengths, left-padded on one timeline. The
// decoder's rows against one-row full forwards at every step (exact and reset schedules, through
// the window sliding and resets); generateBatch against one-at-a-time generate (greedy and seeded
// sampling: the same tokens); per-row stop conditions; rows leaving the batch; validation.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../src/util/rng.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { generate, generateBatch, generateBatchStream, lastPositionLogits, type BatchGenerateOptions } from "../src/generate/generate.js";
import { argmax } from "../src/generate/sampling.js";
import { generationSchedule, type ScheduleChoice } from "../src/generate/schedule.js";
import { maxAbsDiff, smallGenerationModel } from "./helpers/generation.js";


const rng = new Rng(99);
const tokens = (n: number) => Array.from({ length: n }, () => rng.nextInt(50));
/** Prompt lengths: short, mid, longer than the window (a window that slides from the start). */
const PROMPTS = [tokens(3), tokens(11), tokens(1), tokens(30)];

const VARIANTS: Array<[string, Record<string, unknown>]> = [
  ["rotary only", { abs_pos_emb: false, num_self_attention_rotary_layers: -1, output_norm: true, output_bias: false }],
  ["abs_pos_emb", { abs_pos_emb: true, num_self_attention_rotary_layers: 1 }],
];

describe("batched cached decoder == one-row full forwards", () => {
  for (const [name, over] of VARIANTS) {
    for (const choice of [{}, { schedule: "reset", resetFill: 3 }] as ScheduleChoice[]) {
      it(`${name}, ${choice.schedule ?? "exact"}: 4 rows, 40 greedy steps, every row and step (1e-4)`, () => {
        const model = smallGenerationModel(over);
        const V = 50;
        // The rows share numLatents; a prompt shorter than it starts with all its tokens as latents.
        const shared = choice.schedule === "reset" ? 1 : 6; // 6: the 30-token prompt's minimum
        const m0 = PROMPTS.map((p) => Math.min(shared, p.length));
        const schedules = PROMPTS.map((p, b) => [...generationSchedule(model.config, p.length, m0[b], 40, choice)]);
        const d = new CachedDecoder(model, { batch: PROMPTS.length });
        d.pushRows(PROMPTS);
        const streams = PROMPTS.map((p) => [...p]);
        let worst = 0;
        for (let s = 0; s < 40; s++) {
          const steps = schedules.map((sch) => sch[s]);
          const got = d.logitsRows(steps); // (B, V)
          const next: number[] = [];
          steps.forEach((st, b) => {
            const want = lastPositionLogits(model, streams[b].slice(st.windowStart), st.prefixLen);
            const row = got.subarray(b * V, (b + 1) * V);
            const err = maxAbsDiff(row, want);
            worst = Math.max(worst, err);
            assert.ok(err < 1e-4, `step ${s} row ${b} (${st.kind}, window ${st.window}, prefix ${st.prefixLen}): error ${err}`);
            next.push(argmax(want));
          });
          streams.forEach((st, b) => st.push(next[b]));
          d.pushRows(next.map((t) => [t]));
        }
        for (let b = 0; b < PROMPTS.length; b++) assert.deepEqual(d.rowStream(b), streams[b]);
        console.log(`# batch decoder ${name} ${choice.schedule ?? "exact"}: worst error ${worst.toExponential(2)}`);
      });
    }
  }

  it("retainRows keeps the other rows' caches valid", () => {
    const model = smallGenerationModel(VARIANTS[0][1]);
    const d = new CachedDecoder(model, { batch: 3 });
    const prompts = [tokens(5), tokens(2), tokens(8)];
    d.pushRows(prompts);
    const sched = prompts.map((p) => [...generationSchedule(model.config, p.length, 1, 12)]);
    const streams = prompts.map((p) => [...p]);
    let rows = [0, 1, 2];
    for (let s = 0; s < 12; s++) {
      if (s === 4) {
        d.retainRows([0, 2]);
        rows = [0, 2];
      }
      const got = d.logitsRows(rows.map((b) => sched[b][s]));
      if (s === 4 || s === 5) assert.equal(d.lastStats.latentRows, 1, `step ${s} (latents growing): only the new latent is computed`);
      const next = rows.map((b, i) => {
        const st = sched[b][s];
        const want = lastPositionLogits(model, streams[b].slice(st.windowStart), st.prefixLen);
        assert.ok(maxAbsDiff(got.subarray(i * 50, (i + 1) * 50), want) < 1e-4, `step ${s} row ${b}`);
        return argmax(want);
      });
      rows.forEach((b, i) => streams[b].push(next[i]));
      d.pushRows(next.map((t) => [t]));
    }
  });

  it("validates rows, lengths and the shared first latent", () => {
    const model = smallGenerationModel({});
    const d = new CachedDecoder(model, { batch: 2 });
    assert.throws(() => d.pushRows([[1, 2]]), /one token list per row \(2\)/);
    assert.throws(() => d.pushRows([[1, 2], []]), /every row of a batch needs at least one token/);
    d.pushRows([[1, 2, 3, 4], [5, 6]]);
    assert.throws(() => d.pushRows([[1], [2, 3]]), /the same number of tokens/);
    assert.throws(() => d.push([1]), /one-row decoder/);
    assert.throws(() => d.logitsRows([{ window: 4, prefixLen: 2 }, { window: 3, prefixLen: 0 }]), /row 1: window must be an integer in \[1, 2\]/);
    assert.throws(() => d.logitsRows([{ window: 4, prefixLen: 2 }, { window: 2, prefixLen: 1 }]), /row 1: batched rows must share their first latent position/);
    assert.throws(() => d.retainRows([1, 0]), /strictly ascending/);
    assert.throws(() => new CachedDecoder(model, { batch: 0 }), /batch must be an integer >= 1/);
  });
});

describe("generateBatch == one prompt at a time", () => {
  for (const [name, over] of VARIANTS) {
    for (const choice of [{}, { schedule: "reset" }] as ScheduleChoice[]) {
      it(`${name}, ${choice.schedule ?? "exact"}: greedy and seeded sampling give each row its own run's tokens`, async () => {
        const model = smallGenerationModel(over);
        const prompts = choice.schedule === "reset" ? PROMPTS : PROMPTS.slice(0, 3).concat([tokens(19)]);
        const o: BatchGenerateOptions = { ...choice, maxNewTokens: 35, greedy: true };
        const batch = await generateBatch(model, prompts, o);
        // The batch's numLatents: exact, the largest row default (1: 19 tokens <= max_seq_len -
        // max_latents + 1); reset, at most the shortest prompt (1).
        const shared = 1;
        for (let b = 0; b < prompts.length; b++) {
          const one = await generate(model, prompts[b], { ...choice, maxNewTokens: 35, greedy: true, numLatents: Math.min(shared, prompts[b].length) });
          assert.deepEqual(batch[b], one, `greedy row ${b}`);
        }
        const seeds = [7, 8, 9, 10];
        const sampled = await generateBatch(model, prompts, { ...choice, maxNewTokens: [20, 5, 30, 12], temperature: 1.2, topP: 0.95, seed: seeds });
        for (let b = 0; b < prompts.length; b++) {
          const one = await generate(model, prompts[b], { ...choice, maxNewTokens: [20, 5, 30, 12][b], temperature: 1.2, topP: 0.95, seed: seeds[b], numLatents: shared });
          assert.deepEqual(sampled[b], one, `sampled row ${b}`);
        }
        assert.deepEqual(await generateBatch(model, prompts, { ...o, useCache: false }), batch, "uncached == cached");
      });
    }
  }

  it("a shared numLatents: the batch's default is the largest row default, shorter prompts use all their tokens", async () => {
    const model = smallGenerationModel(VARIANTS[0][1]);
    const prompts = [tokens(2), tokens(22)]; // 22 tokens: at least 22 - 18 = 4 latents
    const batch = await generateBatch(model, prompts, { maxNewTokens: 25, greedy: true });
    assert.deepEqual(batch[0], await generate(model, prompts[0], { maxNewTokens: 25, greedy: true, numLatents: 2 }));
    assert.deepEqual(batch[1], await generate(model, prompts[1], { maxNewTokens: 25, greedy: true, numLatents: 4 }));
  });

  it("per-row stops: EOS, maxNewTokens, a stop callback; the stream names rows and indices", async () => {
    const model = smallGenerationModel(VARIANTS[0][1]);
    const prompts = PROMPTS.slice(0, 3);
    const free = await generateBatch(model, prompts, { maxNewTokens: 20, greedy: true });
    const eos = free[0][5]; // row 0 stops at its 6th token (or earlier, at the first occurrence)
    const stopped = await generateBatch(model, prompts, { maxNewTokens: [20, 20, 3], greedy: true, eosId: eos, stop: (row, t) => row === 1 && t.length === 7 });
    const cut = (r: number[], n: number) => {
      const i = r.indexOf(eos);
      return r.slice(0, Math.min(n, i === -1 ? n : i + 1));
    };
    assert.deepEqual(stopped, [cut(free[0], 20), cut(free[1], 7), cut(free[2], 3)]);
    const events: string[] = [];
    for await (const t of generateBatchStream(model, [[1, 2], [3]], { maxNewTokens: [2, 1], greedy: true })) events.push(`${t.row}:${t.index}`);
    assert.deepEqual(events, ["0:0", "1:0", "0:1"]);
    assert.deepEqual(await generateBatch(model, [[1], [2]], { maxNewTokens: [0, 2], greedy: true }), [[], (await generate(model, [2], { maxNewTokens: 2, greedy: true }))]);
  });

  it("validation errors name the field and its allowed range", async () => {
    const model = smallGenerationModel({});
    const bad = async (prompts: number[][], o: Record<string, unknown>, re: RegExp) => assert.rejects(generateBatch(model, prompts, { maxNewTokens: 3, ...o } as never), re);
    await bad([], {}, /prompts must be a non-empty array/);
    await bad([[1], []], {}, /prompts\[1\] must be a non-empty array of token ids/);
    await bad([[1], [50]], {}, /prompts\[1\]\[0\] = 50 must be an integer token id in \[0, 50\)/);
    await bad([[1], [2]], { maxNewTokens: [1, 2, 3] }, /maxNewTokens must be one value or one per prompt \(2\), got 3 values/);
    await bad([[1], [2]], { maxNewTokens: [1, -1] }, /maxNewTokens\[1\] must be an integer >= 0/);
    await bad([[1], [2]], { seed: [1, 0.5] }, /seed\[1\] must be a safe integer/);
    await bad([[1, 2, 3], [2]], { schedule: "reset", numLatents: 2 }, /numLatents must be at most the shortest prompt \(1 tokens\) with schedule "reset"/);
    await bad([[1], Array(30).fill(2)], { numLatents: 1 }, /prompts\[1\]: numLatents must be an integer in \[6, 6\]/);
    await bad([[1], [2]], { stop: 3 }, /stop must be a function/);
  });
});
