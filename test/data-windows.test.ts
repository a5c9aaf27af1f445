// Tests for src/util/rng.ts and src/data/windows.ts: PRNG determinism and state save/restore,
// random training windows, fixed evaluation windows, error messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/util/rng.js";
import { WindowSampler, fixedWindows, fixedWindowStarts, batchFromWindows } from "../src/data/windows.js";

test("rng: deterministic, in range, state save/restore through JSON", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.nextUint32()));
  for (const x of xs) assert.ok(Number.isInteger(x) && x >= 0 && x < 2 ** 32);
  assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => new Rng(43).nextUint32()));
  const r = new Rng(7);
  for (let i = 0; i < 1000; i++) {
    const f = r.nextFloat();
    assert.ok(f >= 0 && f < 1);
    const k = r.nextInt(13);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 13);
  }
  const saved = JSON.parse(JSON.stringify(r.getState()));
  const seq = [r.nextUint32(), r.nextFloat(), r.nextInt(1000), r.nextInt(2 ** 32)];
  r.setState(saved);
  assert.deepEqual([r.nextUint32(), r.nextFloat(), r.nextInt(1000), r.nextInt(2 ** 32)], seq);
  const c = Rng.fromState(saved);
  assert.equal(c.nextUint32(), seq[0]);
  // large and negative seeds are accepted and distinct
  assert.notEqual(new Rng(2 ** 40).nextUint32(), new Rng(0).nextUint32());
  assert.notEqual(new Rng(-1).nextUint32(), new Rng(1).nextUint32());
  // rough uniformity of nextInt
  const counts = new Array(10).fill(0);
  const u = new Rng(1);
  for (let i = 0; i < 20000; i++) counts[u.nextInt(10)]++;
  for (const n of counts) assert.ok(n > 1700 && n < 2300, `bucket count ${n}`);
});

test("rng: errors name the field and range", () => {
  assert.throws(() => new Rng(1.5), /seed must be a safe integer.*got 1.5/);
  assert.throws(() => new Rng(0).nextInt(0), /n must be an integer in \[1, 4294967296\], got 0/);
  assert.throws(() => new Rng(0).setState({ algorithm: "xoshiro128**", s: [0, 0, 0, 0] }), /all zeros/);
  assert.throws(() => new Rng(0).setState({ algorithm: "xoshiro128**", s: [1, 2, 3, -1] }), /state\.s\[3\] must be an integer in \[0, 4294967295\], got -1/);
  assert.throws(() => new Rng(0).setState({ algorithm: "mt" } as never), /algorithm/);
});

const stream = Int32Array.from({ length: 1000 }, (_, i) => i);

test("windows: labels are inputs shifted by one; deterministic for the same seed", () => {
  const s1 = new WindowSampler(stream, { maxSeqLen: 16, seed: 3 });
  const s2 = new WindowSampler(stream, { maxSeqLen: 16, seed: 3 });
  const b1 = s1.sample(4);
  const b2 = s2.sample(4);
  assert.deepEqual(b1, b2);
  assert.equal(b1.inputs.length, 4 * 16);
  assert.equal(b1.labels.length, 4 * 16);
  for (let b = 0; b < 4; b++) {
    const start = b1.starts[b]!;
    assert.ok(start >= 0 && start <= 1000 - 17);
    for (let t = 0; t < 16; t++) {
      assert.equal(b1.inputs[b * 16 + t], start + t);
      assert.equal(b1.labels[b * 16 + t], start + t + 1);
    }
  }
  const other = new WindowSampler(stream, { maxSeqLen: 16, seed: 4 }).sample(4);
  assert.notDeepEqual(other.starts, b1.starts);
});

test("windows: sampler state save/restore reproduces the same batches", () => {
  const s = new WindowSampler(stream, { maxSeqLen: 8, seed: 11 });
  s.sample(3);
  const state = JSON.parse(JSON.stringify(s.getState()));
  const next = [s.sample(2), s.sample(5)];
  const resumed = new WindowSampler(stream, { maxSeqLen: 8, seed: 999 });
  resumed.setState(state);
  assert.deepEqual([resumed.sample(2), resumed.sample(5)], next);
  assert.equal(resumed.getState().windowsDrawn, 10);
});

test("windows: all starts reachable, including the last one", () => {
  const short = Int32Array.from([10, 11, 12, 13]);
  const s = new WindowSampler(short, { maxSeqLen: 2, seed: 0 });
  assert.equal(s.numStarts, 2);
  const seen = new Set(s.sample(64).starts);
  assert.deepEqual([...seen].sort(), [0, 1]);
  // stream exactly one window long
  const exact = new WindowSampler(Int32Array.from([5, 6, 7]), { maxSeqLen: 2 });
  assert.deepEqual(Array.from(exact.sample(1).labels), [6, 7]);
});

test("windows: short streams and bad options give clear errors", () => {
  assert.throws(() => new WindowSampler(new Int32Array(10), { maxSeqLen: 10 }), /token stream has 10 tokens but one window needs 11/);
  assert.throws(() => new WindowSampler(stream, { maxSeqLen: 0 }), /maxSeqLen must be an integer in \[1, .*got 0/);
  assert.throws(() => new WindowSampler(stream, { maxSeqLen: 8 }).sample(0), /batch must be an integer in \[1, .*got 0/);
  assert.throws(() => fixedWindows(new Int32Array(5), 6, 1), /token stream has 5 tokens but one window needs 6/);
  assert.throws(() => fixedWindows(stream, 100, 11), /fits at most 10 windows of 100.*got 11/);
});

test("fixedWindows: non-overlapping, evenly spread, deterministic", () => {
  const w = fixedWindows(stream, 33, 5);
  assert.equal(w.length, 5);
  const starts = w.map((x) => x[0]!);
  assert.deepEqual(starts, fixedWindowStarts(1000, 33, 5));
  assert.equal(starts[0], 0);
  assert.equal(w[4]![32], 999); // last window ends at the end of the stream
  for (let i = 1; i < 5; i++) {
    assert.ok(starts[i]! >= starts[i - 1]! + 33, "non-overlapping");
    const gap = starts[i]! - starts[i - 1]!;
    assert.ok(Math.abs(gap - (1000 - 33) / 4) <= 1, `even spread, gap ${gap}`);
  }
  for (const x of w) assert.equal(x.length, 33);
  assert.deepEqual(fixedWindows(stream, 33, 5), w);
  assert.deepEqual(fixedWindows(stream, 100, 10).map((x) => x[0]), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  assert.deepEqual(fixedWindows(stream, 1000, 1)[0], stream);
  const batch = batchFromWindows(w);
  assert.equal(batch.seqLen, 32);
  assert.deepEqual(Array.from(batch.inputs.subarray(32, 64)), Array.from(w[1]!.subarray(0, 32)));
  assert.deepEqual(Array.from(batch.labels.subarray(32, 64)), Array.from(w[1]!.subarray(1)));
});
