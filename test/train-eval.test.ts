// Tests for src/train/evaluate.ts and loss-plot.ts: validation loss in nats / bits per token /
// bits per byte over fixed windows, fewer latents than trained, and the SVG loss curve.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { referenceBackend } from "../src/backend/reference/index.js";
import { fixedWindows } from "../src/data/windows.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { evaluate } from "../src/train/evaluate.js";
import { lossPlotSvg, niceTicks, writeLossPlot } from "../src/train/loss-plot.js";
import type { MetricRecord } from "../src/train/run-folder.js";
import { Rng } from "../src/util/rng.js";

const TINY = { vocabSize: 20, maxSeqLen: 16, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1 };

function stream(length = 200): Int32Array {
  const rng = new Rng(12345);
  return Int32Array.from({ length }, () => rng.nextInt(20));
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("evaluate: nats, bits per token and bits per byte over fixed windows, deterministic", () => {
  const model = new PerceiverAR(TINY, referenceBackend, { seed: 4 });
  const windows = fixedWindows(stream(), 17, 7);
  const r = evaluate(model, windows, { batchSize: 3 });
  assert.equal(r.windows, 7);
  assert.equal(r.tokens, 7 * 4);
  assert.equal(r.contextLen, 16);
  assert.equal(r.numLatents, 4);
  assert.ok(Math.abs(r.loss - Math.log(20)) < 0.1, `untrained loss ${r.loss} ≈ ln 20`);
  assert.equal(r.bitsPerToken, r.loss / Math.LN2);
  assert.equal(r.bitsPerByte, r.bitsPerToken, "byte tokenizer: tokens == bytes");
  assert.equal(r.bytes, r.tokens);
  // Same numbers regardless of batching, and again on a second call.
  const r1 = evaluate(model, windows, { batchSize: 1 });
  assert.ok(Math.abs(r1.loss - r.loss) < 1e-6);
  assert.deepEqual(evaluate(model, windows, { batchSize: 3 }), r);
  // Hand computation of the mean: one window at a time through model.loss.
  let nats = 0;
  for (const w of windows) nats += model.loss([[...w.subarray(0, 16)]], [[...w.subarray(13, 17)]], { prefixLen: 12 }).loss * 4;
  assert.ok(Math.abs(nats / 28 - r.loss) < 1e-6);
  // Two bytes per token halves bits per byte.
  const r2 = evaluate(model, windows, { tokenByteLength: () => 2 });
  assert.equal(r2.bytes, 56);
  assert.ok(Math.abs(r2.bitsPerByte - r2.bitsPerToken / 2) < 1e-12);
});

test("evaluate: accuracy is the fraction of scored labels whose argmax logit is the label", () => {
  const model = new PerceiverAR({ ...TINY, initScale: 0.5 }, referenceBackend, { seed: 6 });
  const windows = fixedWindows(stream(), 17, 9);
  const r = evaluate(model, windows, { batchSize: 4 });
  let hits = 0;
  for (const w of windows) {
    const logits = model.forward([[...w.subarray(0, 16)]], { prefixLen: 12 }).data; // (1, 4, 20)
    for (let i = 0; i < 4; i++) {
      const row = [...logits.subarray(i * 20, (i + 1) * 20)];
      if (row.indexOf(Math.max(...row)) === w[13 + i]) hits++;
    }
  }
  assert.ok(hits > 0, "the random model gets some right (a test that can tell 0 from the count)");
  assert.equal(r.accuracy, hits / 36);
});

test("evaluate with fewer latents than trained scores the last numLatents tokens of each window", () => {
  const model = new PerceiverAR(TINY, referenceBackend, { seed: 4 });
  const windows = fixedWindows(stream(), 17, 5);
  const r = evaluate(model, windows, { numLatents: 2 });
  assert.equal(r.numLatents, 2);
  assert.equal(r.contextLen, 14, "prefix stays max_seq_len - max_latents = 12, context 12 + 2");
  assert.equal(r.tokens, 10);
  assert.ok(Number.isFinite(r.loss) && r.loss > 0);
  let nats = 0;
  for (const w of windows) nats += model.loss([[...w.subarray(2, 16)]], [[...w.subarray(15, 17)]], { prefixLen: 12 }).loss * 2;
  assert.ok(Math.abs(nats / 10 - r.loss) < 1e-6, `${nats / 10} vs ${r.loss}`);
  const r1 = evaluate(model, windows, { numLatents: 1 });
  assert.equal(r1.tokens, 5);
  assert.equal(r1.contextLen, 13);
  // Shorter windows than the model's context: the whole window is used.
  const short = evaluate(model, fixedWindows(stream(), 9, 5), { numLatents: 4 });
  assert.equal(short.contextLen, 8);
  assert.equal(short.tokens, 20);
});

test("evaluate validates its inputs", () => {
  const model = new PerceiverAR(TINY, referenceBackend);
  const w = fixedWindows(stream(), 17, 2);
  assert.throws(() => evaluate(model, w, { numLatents: 5 }), /numLatents must be an integer in \[1, 4\] \(at most the model's max_latents\), got 5/);
  assert.throws(() => evaluate(model, w, { numLatents: 0 }), /numLatents must be an integer in \[1, 4\]/);
  assert.throws(() => evaluate(model, w, { span: "some" as "all" }), /span must be "last" or "all"/);
  assert.throws(() => evaluate(model, w, { targets: [w[0].subarray(1)] }), /targets must hold one array per window \(2\), got 1/);
  assert.throws(() => evaluate(model, w, { targets: [w[0], w[1]] }), /targets\[0\] has 17 labels, expected window length - 1 = 16/);
  assert.throws(() => evaluate(model, w, { batchSize: 0 }), /batchSize must be an integer >= 1/);
  assert.throws(() => evaluate(model, []), /at least 1 window/);
  assert.throws(() => evaluate(model, [w[0], w[1].subarray(0, 10)]), /windows\[1\] has 10 tokens/);
});

test("evaluate span \"all\": every target once in chunks of K; targets replace the labels; IGNORE_INDEX targets are skipped", () => {
  const model = new PerceiverAR({ ...TINY, initScale: 0.5 }, referenceBackend, { seed: 6 });
  const windows = fixedWindows(stream(), 11, 3); // 10 targets each, within the model's 16 positions
  for (const K of [1, 3, 4]) {
    const all = evaluate(model, windows, { numLatents: K, span: "all" });
    assert.equal(all.tokens, 3 * 10, `K=${K}: every target once`);
    // The same chunks through "last" on prefixes of the windows: chunk ends K, 2K, ..., 10.
    let nats = 0;
    let count = 0;
    for (let from = 0; from < 10; from = Math.min(from + K, 10)) {
      const end = Math.min(from + K, 10);
      const part = evaluate(model, windows.map((w) => w.subarray(0, end + 1)), { numLatents: K, targets: windows.map((w) => Int32Array.from(w.subarray(1, end + 1), (t, i) => (i + 1 <= from ? -100 : t))) });
      nats += part.loss * part.tokens;
      count += part.tokens;
    }
    assert.equal(count, 30);
    assert.ok(Math.abs(nats / count - all.loss) < 1e-6, `K=${K}: ${all.loss} vs ${nats / count}`);
  }
  // Ignored targets are not counted, in loss, accuracy or bytes.
  const targets = windows.map((w) => Int32Array.from(w.subarray(1), (t, i) => (i % 2 === 0 ? -100 : t)));
  const some = evaluate(model, windows, { span: "all", targets });
  assert.equal(some.tokens, 3 * 5);
  assert.equal(some.bytes, 3 * 5);
});

/** Minimal XML well-formedness: balanced tags, one root <svg>. */
function assertWellFormedSvg(svg: string): void {
  assert.ok(svg.startsWith("<svg"), "starts with <svg");
  assert.ok(svg.trimEnd().endsWith("</svg>"), "ends with </svg>");
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  let m: RegExpExecArray | null;
  let roots = 0;
  while ((m = tag.exec(svg)) !== null) {
    assert.ok(!svg.slice(last, m.index).includes("<"), `stray '<' before ${m[0]}`);
    last = tag.lastIndex;
    const [, close, name, , self] = m;
    if (close) assert.equal(stack.pop(), name, `closing </${name}>`);
    else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  assert.deepEqual(stack, [], "all tags closed");
  assert.equal(roots, 1);
}

test("loss plot: well-formed SVG with both curves, axes, ticks and labels", () => {
  const records: MetricRecord[] = [];
  for (let s = 1; s <= 50; s++) records.push({ type: "train", step: s, loss: 3 * Math.exp(-s / 15) + 0.2 });
  for (const s of [10, 20, 30, 40, 50]) records.push({ type: "eval", step: s, valLoss: 3 * Math.exp(-s / 15) + 0.4 });
  records.push({ type: "train", step: 51, loss: NaN });
  const svg = lossPlotSvg(records, { title: "tiny <run>" });
  assertWellFormedSvg(svg);
  assert.match(svg, /<path class="train" d="M [\d.]+ [\d.]+( L [\d.]+ [\d.]+){49}"/);
  assert.match(svg, /<path class="val" d="M [\d.]+ [\d.]+( L [\d.]+ [\d.]+){4}"/);
  assert.equal((svg.match(/<circle /g) ?? []).length, 5);
  assert.match(svg, />step</);
  assert.match(svg, />loss \(nats\/token\)</);
  assert.match(svg, /tiny &lt;run&gt;/);
  for (const t of ["0", "10", "20", "50"]) assert.match(svg, new RegExp(`>${t}</text>`));
  assert.doesNotMatch(svg, /NaN/);
  // Long runs are averaged down.
  const many: MetricRecord[] = Array.from({ length: 5000 }, (_, i) => ({ type: "train" as const, step: i + 1, loss: 1 + 1 / (i + 1) }));
  const big = lossPlotSvg(many, { maxPoints: 100 });
  assertWellFormedSvg(big);
  assert.equal((big.match(/ L /g) ?? []).length, 99);
  // No data is still a valid SVG with a path (the axis).
  const empty = lossPlotSvg([]);
  assertWellFormedSvg(empty);
  assert.match(empty, /no data/);
  assert.match(empty, /<path /);
  assert.throws(() => lossPlotSvg([], { width: 10 }), /width must be an integer >= 200/);
});

test("writeLossPlot reads metrics.jsonl (skipping a torn last line) and writes the SVG", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "pa-plot-"));
  dirs.push(dir);
  const metrics = path.join(dir, "metrics.jsonl");
  const lines = [
    { type: "train", step: 1, loss: 3 },
    { type: "train", step: 2, loss: 2.5 },
    { type: "eval", step: 2, valLoss: 2.7 },
    { type: "train", step: 3, loss: 2 },
  ].map((r) => JSON.stringify(r));
  writeFileSync(metrics, lines.join("\n") + '\n{"type":"train","step":4,"lo');
  const out = path.join(dir, "loss.svg");
  writeLossPlot(metrics, out);
  const svg = readFileSync(out, "utf8");
  assertWellFormedSvg(svg);
  assert.match(svg, /<path class="train" d="M [\d.]+ [\d.]+ L [\d.]+ [\d.]+ L [\d.]+ [\d.]+"/);
});

test("niceTicks covers the range with 1-2-5 steps", () => {
  assert.deepEqual(niceTicks(0, 100), [0, 20, 40, 60, 80, 100]);
  assert.deepEqual(niceTicks(0.23, 2.96), [0, 0.5, 1, 1.5, 2, 2.5, 3]);
  const t = niceTicks(5, 5);
  assert.ok(t[0] <= 5 && t[t.length - 1] >= 5 && t.length >= 2);
});
