// Tests for src/data/text-corpus.ts: built-in sotu corpus, file/folder corpora, document split,
// tokenization into one stream.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTextCorpus, splitByDocument, splitFileText, tokenizeDocuments, type TextCorpus } from "../src/data/text-corpus.js";
import { ByteTokenizer, BYTE_EOS_ID } from "../src/data/byte-tokenizer.js";
import type { Tokenizer } from "../src/data/tokenizer.js";

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "pa-corpus-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("sotu: loads > 100 documents (default source)", () => {
  const c = loadTextCorpus();
  assert.equal(c.name, "sotu");
  assert.ok(c.documents.length > 100, `got ${c.documents.length}`);
  assert.equal(c.sources.length, c.documents.length);
  assert.match(c.sources[0]!, /^1790 George Washington/);
  for (const d of c.documents) assert.ok(typeof d === "string" && d.length > 100);
  // cached data is not shared mutably
  (c.documents as string[]).pop();
  assert.equal(loadTextCorpus("sotu").documents.length, c.documents.length + 1);
});

test("sotu: split is deterministic, disjoint and covers all documents", () => {
  const c = loadTextCorpus("sotu");
  const n = c.documents.length;
  const a = splitByDocument(c);
  const b = splitByDocument(c, { validationFraction: 0.05, seed: 0 });
  assert.deepEqual(a.trainIndices, b.trainIndices);
  assert.deepEqual(a.validationIndices, b.validationIndices);
  assert.equal(a.validationIndices.length, Math.round(n * 0.05));
  const all = new Set([...a.trainIndices, ...a.validationIndices]);
  assert.equal(all.size, n);
  assert.equal(a.trainIndices.length + a.validationIndices.length, n);
  for (const i of a.validationIndices) assert.ok(!a.trainIndices.includes(i));
  assert.deepEqual(a.validation.documents, a.validationIndices.map((i) => c.documents[i]));
  assert.deepEqual(a.train.documents, a.trainIndices.map((i) => c.documents[i]));
  // sorted (corpus order kept)
  assert.deepEqual([...a.trainIndices], [...a.trainIndices].sort((x, y) => x - y));
  // different seed -> different split (overwhelmingly likely)
  const other = splitByDocument(c, { seed: 1 });
  assert.notDeepEqual(other.validationIndices, a.validationIndices);
});

test("split: small corpora and option errors", () => {
  const mk = (n: number): TextCorpus => ({ name: "t", documents: Array.from({ length: n }, (_, i) => `doc ${i}`), sources: [] });
  for (const n of [2, 3, 5, 10]) {
    const s = splitByDocument(mk(n), { validationFraction: 0.01 });
    assert.ok(s.train.documents.length >= 1 && s.validation.documents.length >= 1, `n=${n}`);
    const s2 = splitByDocument(mk(n), { validationFraction: 0.99 });
    assert.ok(s2.train.documents.length >= 1 && s2.validation.documents.length >= 1, `n=${n}`);
  }
  const one = splitByDocument(mk(1));
  assert.deepEqual([one.train.documents.length, one.validation.documents.length], [1, 0]);
  const zero = splitByDocument(mk(10), { validationFraction: 0 });
  assert.equal(zero.validation.documents.length, 0);
  assert.throws(() => splitByDocument(mk(10), { validationFraction: 1 }), /validationFraction must be a number in \[0, 1\), got 1/);
  assert.throws(() => splitByDocument(mk(10), { validationFraction: -0.1 }), /validationFraction/);
  assert.throws(() => splitByDocument(mk(10), { seed: 1.5 }), /seed must be a safe integer.*got 1.5/);
  assert.throws(() => splitByDocument(mk(0)), /0 documents/);
});

test("folder corpus: recursive *.txt/*.md, sorted by path, one document each", () => {
  withTempDir((dir) => {
    mkdirSync(join(dir, "b", "deep"), { recursive: true });
    mkdirSync(join(dir, ".hidden"));
    writeFileSync(join(dir, "z.txt"), "last file");
    writeFileSync(join(dir, "a.md"), "\uFEFF# markdown\n\nbody\f not split in folders");
    writeFileSync(join(dir, "b", "deep", "c.TXT"), "deep one");
    writeFileSync(join(dir, "b", "ignored.json"), "{}");
    writeFileSync(join(dir, "b", "empty.txt"), "  \n ");
    writeFileSync(join(dir, ".hidden", "h.txt"), "hidden");
    const c = loadTextCorpus(dir);
    assert.deepEqual(c.sources, ["a.md", "b/deep/c.TXT", "z.txt"]);
    assert.deepEqual(c.documents, ["# markdown\n\nbody\f not split in folders", "deep one", "last file"]);
    assert.deepEqual(loadTextCorpus(dir), c);
  });
});

test("file corpus: one document unless form feeds or <|endoftext|> lines", () => {
  withTempDir((dir) => {
    const p = join(dir, "single.txt");
    writeFileSync(p, "line one\n\nline two\n");
    const c = loadTextCorpus(p);
    assert.equal(c.name, "single.txt");
    assert.deepEqual(c.documents, ["line one\n\nline two\n"]);
    const q = join(dir, "multi.txt");
    writeFileSync(q, "doc A\n<|endoftext|>\r\ndoc B\n\fdoc C\n<|endoftext|>\n\n<|endoftext|>\ninline <|endoftext|> stays\n");
    assert.deepEqual(loadTextCorpus(q).documents, ["doc A", "doc B", "doc C", "inline <|endoftext|> stays"]);
    assert.deepEqual(splitFileText("   "), []);
    writeFileSync(join(dir, "empty.txt"), "\n\n");
    assert.throws(() => loadTextCorpus(join(dir, "empty.txt")), /empty/);
    assert.throws(() => loadTextCorpus(join(dir, "missing.txt")), /neither a built-in corpus \(sotu, moby-dick\) nor an existing file/);
    mkdirSync(join(dir, "nothing"));
    assert.throws(() => loadTextCorpus(join(dir, "nothing")), /no non-empty/);
  });
});

test("moby-dick: clear install hint when the package is missing", () => {
  let installed = true;
  try {
    loadTextCorpus("moby-dick");
  } catch (e) {
    installed = false;
    assert.match((e as Error).message, /npm install @stdlib\/datasets-moby-dick/);
  }
  if (installed) assert.ok(loadTextCorpus("moby-dick").documents.length > 0);
});

test("tokenizeDocuments: concatenation with EOS after every document", () => {
  const t = new ByteTokenizer();
  const docs = ["ab", "", "中"];
  const s = tokenizeDocuments(docs, t);
  assert.ok(s instanceof Int32Array);
  assert.deepEqual(Array.from(s), [...t.encode("ab"), BYTE_EOS_ID, BYTE_EOS_ID, ...t.encode("中"), BYTE_EOS_ID]);
  assert.deepEqual(Array.from(tokenizeDocuments(docs, t, { appendEos: false })), [...t.encode("ab"), ...t.encode("中")]);
  const noEos: Tokenizer = { vocabSize: 258, padId: 0, eosId: null, kind: "noeos", isByteLevel: true, encode: (x) => t.encode(x), decode: (ids) => t.decode(ids) };
  assert.deepEqual(Array.from(tokenizeDocuments(docs, noEos)), [...t.encode("ab"), ...t.encode("中")]);
  const bad: Tokenizer = { ...noEos, kind: "bad", encode: () => [5, 300] };
  assert.throws(() => tokenizeDocuments(["x"], bad), /produced id 300 at token 1 of document 0; ids must be integers in \[0, 257\]/);
  // A whole corpus works too and round-trips through decode.
  const corpus: TextCorpus = { name: "c", documents: ["héllo", "🎉"], sources: ["1", "2"] };
  assert.equal(t.decode(tokenizeDocuments(corpus, t)), "héllo🎉");
});

test("tokenizeDocuments: whole sotu corpus with the byte tokenizer", () => {
  const c = loadTextCorpus("sotu");
  const t = new ByteTokenizer();
  const stream = tokenizeDocuments(c, t);
  let eos = 0;
  for (let i = 0; i < stream.length; i++) if (stream[i] === BYTE_EOS_ID) eos++;
  assert.equal(eos, c.documents.length);
  assert.ok(stream.length > 1_000_000, `stream length ${stream.length}`);
});

test("planTextSplit: by document when the held-out documents hold the windows, else inside them (at most 10%), else a DataError with bytes", async () => {
  const { planTextSplit, applyTextSplit } = await import("../src/data/text-split.js");
  const t = new ByteTokenizer();
  const doc = (n: number, c: string) => c.repeat(n);
  const many: TextCorpus = { name: "many", documents: Array.from({ length: 40 }, (_, i) => doc(700, String.fromCharCode(97 + (i % 26)))), sources: [] };
  const a = planTextSplit(many, t, { seqLen: 64, validationWindows: 8, seed: 0 });
  assert.deepEqual(a.split, { by: "document" });
  assert.match(a.describe, /split by document: 38 for training/);
  const one: TextCorpus = { name: "one", documents: [doc(10_000, "x")], sources: [] };
  const b = planTextSplit(one, t, { seqLen: 64, validationWindows: 8, seed: 0 });
  assert.deepEqual(b.split, { by: "tail", validationTokens: 8 * 65 });
  assert.equal(b.train.length + b.validation.length, 10_001, "every token (and the EOS) is in one of the two");
  const capped = planTextSplit(one, t, { seqLen: 64, validationWindows: 1000, seed: 0 });
  assert.deepEqual(capped.split, { by: "tail", validationTokens: 1000 }, "at most 10% of the tokens");
  assert.deepEqual(Array.from(applyTextSplit(one, t, capped.split, 0).validation), Array.from(capped.validation), "a recorded split rebuilds the same streams");
  assert.throws(() => planTextSplit({ name: "small", documents: ["hello"], sources: [] }, t, { seqLen: 64, validationWindows: 1, seed: 0 }), /corpus "small" is too small: it has 5 bytes \(6 tokens\), but .* needs 130 tokens/);
  assert.deepEqual(planTextSplit(one, t, { seqLen: 64, validationWindows: 0, seed: 0 }).split, { by: "none" });
});

test("loadTextCorpus: .jsonl lines are documents; a Latin-1 file is read as Latin-1 with a note", () => {
  const dir = mkdtempSync(join(tmpdir(), "pa-corpus-jsonl-"));
  try {
    writeFileSync(join(dir, "a.jsonl"), '{"text": "first"}\n\n{"text": "second", "id": 2}\n');
    assert.deepEqual(loadTextCorpus(join(dir, "a.jsonl")).documents, ["first", "second"]);
    writeFileSync(join(dir, "b.jsonl"), '{"text": "ok"}\n[1, 2]\n');
    assert.throws(() => loadTextCorpus(join(dir, "b.jsonl")), /b\.jsonl:2: the line has no string "text" field/);
    writeFileSync(join(dir, "c.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    const c = loadTextCorpus(join(dir, "c.txt"));
    assert.deepEqual(c.documents, ["café"]);
    assert.deepEqual(c.notes, ["c.txt is not valid UTF-8; read as Latin-1 (windows-1252)"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
