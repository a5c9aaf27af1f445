// Reproducibility of the native backend: every kernel that reduces (sums over an axis split
// across threads) gives bit-identical results on repeated calls at 2 threads, and the same bits
// at 1 thread, on inputs big enough to be split across the threads; and a small training run
// (model.lossAndGrad + AdamW) twice at 2 threads ends with bit-identical weights, and with the
// same weights at 1 thread. Before the fix the attention backward summed dq in thread-arrival
// order (and LayerNorm's dgamma/dbeta per thread), so these differed between runs.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { AttentionShape, Backend } from "../src/backend/backend.js";
import { getNativeThreads, setNativeThreads } from "../src/backend/native/index.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { AdamW } from "../src/train/adamw.js";
import { randn } from "./helpers/gradcheck.js";
import { nativeForTests } from "./helpers/native.js";

const { native, skip } = nativeForTests();
const RUNS = 12;

/** The bytes of every output array, for bit-exact comparison. */
function bits(arrays: ArrayBufferView[]): Buffer[] {
  return arrays.map((a) => Buffer.from(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
}

function sameBits(what: string, got: Buffer[], want: Buffer[]): void {
  for (let i = 0; i < want.length; i++) {
    if (!got[i].equals(want[i])) {
      const g = new Float32Array(got[i].buffer, got[i].byteOffset, got[i].length / 4);
      const w = new Float32Array(want[i].buffer, want[i].byteOffset, want[i].length / 4);
      let j = 0;
      while (Object.is(g[j], w[j])) j++;
      assert.fail(`${what}: output ${i} differs at element ${j}: ${g[j]} vs ${w[j]}`);
    }
  }
}

/** `run` returns fresh outputs: RUNS calls at 2 threads all equal, and equal to 1 thread. */
function reproducible(what: string, run: () => ArrayBufferView[]): void {
  setNativeThreads(2);
  const first = bits(run());
  for (let r = 1; r < RUNS; r++) sameBits(`${what}, run ${r} at 2 threads`, bits(run()), first);
  setNativeThreads(1);
  sameBits(`${what}, 1 thread vs 2`, bits(run()), first);
  setNativeThreads(2);
}

describe("native kernels are bit-reproducible (2 threads, and 1 vs 2)", { skip }, () => {
  const B = native as Backend;
  let threads = 0;
  before(() => (threads = getNativeThreads()));
  after(() => setNativeThreads(threads));

  it("matmul (threaded tiles, every transpose)", () => {
    const [m, n, k] = [301, 257, 333];
    const a = randn(m * k, 1), b = randn(k * n, 2);
    for (const [tA, tB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      reproducible(`matmul tA=${tA} tB=${tB}`, () => {
        const c = randn(m * n, 3);
        B.matmul(a, b, c, m, n, k, tA, tB, true);
        return [c];
      });
    }
  });

  it("matmul and linearBackward on both GEMM drivers: 1, 2 and 3 threads (other chunks), k over several regions", () => {
    const atThree = (what: string, run: () => ArrayBufferView[]): void => {
      reproducible(what, run);
      const want = bits(run());
      setNativeThreads(3);
      sameBits(`${what}, 3 threads vs 2`, bits(run()), want);
      setNativeThreads(2);
    };
    // Shared B: (64 × 1024 × 4200) packs more than the driver's 4 Mi floats, so k runs as two
    // regions (4096 + 104). Column chunks: too few rows for row chunks (30), and a B too wide to
    // pack whole (17,000 columns × one KC block > 4 Mi floats). 3 threads cut other chunks than 2.
    const products = [
      [64, 1024, 4200, false, false],
      [64, 1024, 4200, true, true],
      [30, 500, 200, false, true],
      [30, 500, 200, true, false],
      [64, 17000, 40, false, true],
      [64, 17000, 40, true, false],
    ] as const;
    for (const [m, n, k, tA, tB] of products) {
      const a = randn(m * k, 11), b = randn(k * n, 12);
      atThree(`matmul ${m}x${n}x${k} tA=${tA} tB=${tB}`, () => {
        const c = randn(m * n, 13);
        B.matmul(a, b, c, m, n, k, tA, tB, true);
        return [c];
      });
    }
    // linearBackward: both GEMMs in one region (rows 300), and one after the other (rows 4100:
    // dW's packed x no longer fits beside dx's).
    for (const [rows, inF, outF] of [[300, 130, 200], [4100, 1030, 96]] as const) {
      const dy = randn(rows * outF, 14), x = randn(rows * inF, 15), w = randn(outF * inF, 16);
      atThree(`linearBackward ${rows}x${inF}x${outF}`, () => {
        const dx = randn(rows * inF, 17), dw = randn(outF * inF, 18);
        B.linearBackward(dy, x, w, dx, dw, rows, inF, outF);
        return [dx, dw];
      });
    }
  });

  it("attention forward and backward: many heads, few heads (split key ranges), uniform rows", () => {
    const shapes: Array<{ s: AttentionShape; pad: boolean }> = [
      { s: { batch: 4, heads: 4, queries: 64, keys: 600, headDim: 16, causalOffset: 536, scale: 0.25 }, pad: false },
      { s: { batch: 1, heads: 2, queries: 200, keys: 1300, headDim: 32, causalOffset: 1100, scale: 0.17 }, pad: true },
      { s: { batch: 1, heads: 1, queries: 300, keys: 300, headDim: 24, causalOffset: 0, scale: 0.2 }, pad: false },
      { s: { batch: 2, heads: 3, queries: 50, keys: 700, headDim: 8, causalOffset: null, scale: 0.3 }, pad: true },
    ];
    for (const { s, pad } of shapes) {
      const nq = s.batch * s.queries * s.heads * s.headDim, nk = s.batch * s.keys * s.heads * s.headDim;
      const q = randn(nq, 4), k = randn(nk, 5), v = randn(nk, 6), dout = randn(nq, 7);
      let keyPad: Uint8Array | null = null;
      if (pad) {
        keyPad = new Uint8Array(s.batch * s.keys);
        keyPad.fill(1, 0, Math.ceil(s.keys * 0.9)); // batch 0: the first queries see only padding
      }
      const tag = `attention B=${s.batch} H=${s.heads} Tq=${s.queries} Tk=${s.keys} pad=${pad}`;
      const out = new Float32Array(nq), lse = new Float32Array(s.batch * s.heads * s.queries);
      reproducible(`${tag} forward`, () => {
        const o = new Float32Array(nq), l = new Float32Array(lse.length);
        B.attentionForward(s, q, k, v, keyPad, o, l);
        return [o, l];
      });
      B.attentionForward(s, q, k, v, keyPad, out, lse);
      reproducible(`${tag} backward`, () => {
        const dq = randn(nq, 8), dk = randn(nk, 9), dv = randn(nk, 10);
        B.attentionBackward(s, q, k, v, keyPad, out, dout, lse, dq, dk, dv);
        return [dq, dk, dv];
      });
    }
  });

  it("layerNorm forward and backward (dgamma/dbeta summed over many row chunks)", () => {
    const [rows, cols] = [5000, 96];
    const x = randn(rows * cols, 11), g = randn(cols, 12), b = randn(cols, 13), dy = randn(rows * cols, 14);
    const y = new Float32Array(rows * cols), mean = new Float32Array(rows), rstd = new Float32Array(rows);
    reproducible("layerNormForward", () => {
      const yy = new Float32Array(rows * cols), mm = new Float32Array(rows), rr = new Float32Array(rows);
      B.layerNormForward(x, g, b, yy, mm, rr, rows, cols, 1e-5);
      return [yy, mm, rr];
    });
    B.layerNormForward(x, g, b, y, mean, rstd, rows, cols, 1e-5);
    reproducible("layerNormBackward", () => {
      const dx = randn(rows * cols, 15), dg = randn(cols, 16), db = randn(cols, 17);
      B.layerNormBackward(dy, x, g, mean, rstd, dx, dg, db, rows, cols);
      return [dx, dg, db];
    });
  });

  it("sumRows, scatterAddRows (duplicate indices), crossEntropy forward and backward", () => {
    const [rows, cols] = [3000, 700];
    const d = randn(rows * cols, 18);
    reproducible("sumRows", () => {
      const db = randn(cols, 19);
      B.sumRows(d, db, rows, cols);
      return [db];
    });
    const [count, width, tableRows] = [6000, 64, 50];
    const index = Int32Array.from({ length: count }, (_, i) => (i * 7919) % tableRows);
    const g = randn(count * width, 20);
    reproducible("scatterAddRows", () => {
      const t = randn(tableRows * width, 21);
      B.scatterAddRows(g, index, t, count, width);
      return [t];
    });
    const [r, vocab] = [300, 5003];
    const logits = randn(r * vocab, 22, 4);
    const labels = Int32Array.from({ length: r }, (_, i) => (i % 9 === 0 ? -100 : (i * 31) % vocab));
    const lse = new Float32Array(r);
    reproducible("crossEntropyForward", () => {
      const l = new Float32Array(r), losses = new Float32Array(r);
      B.crossEntropyForward(logits, labels, l, losses, r, vocab, -100);
      return [l, losses];
    });
    B.crossEntropyForward(logits, labels, lse, new Float32Array(r), r, vocab, -100);
    reproducible("crossEntropyBackward", () => {
      const dl = randn(r * vocab, 23);
      B.crossEntropyBackward(logits, labels, lse, dl, r, vocab, -100, 0.01);
      return [dl];
    });
  });
});

describe("training is bit-reproducible at 2 threads (and 1 vs 2)", { skip }, () => {
  let threads = 0;
  before(() => (threads = getNativeThreads()));
  after(() => setNativeThreads(threads));

  // Big enough that every kernel splits across 2 threads: 5 key tiles per cross-attention head
  // (448 kept prefix keys + 128 latents), LayerNorm over 2048 rows, GEMMs above the threading
  // threshold.
  const CONFIG = {
    vocab_size: 96,
    max_seq_len: 1024,
    max_latents: 128,
    num_channels: 64,
    num_heads: 4,
    num_self_attention_layers: 2,
    num_self_attention_rotary_layers: 1,
    cross_attention_dropout: 0.5,
  };
  const [B, N, M] = [2, 1024, 128];

  function train(threadCount: number): Buffer[] {
    setNativeThreads(threadCount);
    const model = new PerceiverAR(CONFIG, native as Backend, { seed: 5 });
    const opt = new AdamW(model.parameters, native as Backend, { weightDecay: 0.1 });
    let seed = 1;
    for (let step = 0; step < 3; step++) {
      const ids = Int32Array.from(randn(B * (N + 1), 100 + step), (x) => Math.abs(Math.floor(x * 40)) % CONFIG.vocab_size);
      const inputs = new Int32Array(B * N), labels = new Int32Array(B * M);
      for (let b = 0; b < B; b++) {
        inputs.set(ids.subarray(b * (N + 1), b * (N + 1) + N), b * N);
        labels.set(ids.subarray(b * (N + 1) + N + 1 - M, (b + 1) * (N + 1)), b * M);
      }
      const padMask = new Uint8Array(B * N);
      padMask.fill(1, N, N + 900); // example 1 is padded past the prefix (896): uniform rows
      model.zeroGrads();
      const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      model.lossAndGrad({ data: inputs, shape: [B, N] }, { data: labels, shape: [B, M] }, { prefixLen: N - M, padMask, training: true, random });
      opt.update(1e-3);
    }
    return [...model.parameters.values()].map((p) => Buffer.from(p.data.buffer.slice(p.data.byteOffset, p.data.byteOffset + p.data.byteLength)));
  }

  it("three AdamW steps with cross-attention dropout and padding: same weights every run and at 1 thread", () => {
    const first = train(2);
    sameBits("weights after 3 steps, second run at 2 threads", train(2), first);
    sameBits("weights after 3 steps, 1 thread vs 2", train(1), first);
  });
});
