// Tests for src/data tokenizers: ByteTokenizer (layout, round trips, invalid UTF-8, streaming) and
// HfTokenizer on a tiny byte-level BPE tokenizer.json written by the test itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ByteTokenizer,
  BYTE_EOS_ID,
  BYTE_OFFSET,
  BYTE_PAD_ID,
  BYTE_VOCAB_SIZE,
} from "../src/data/byte-tokenizer.js";
import { HfTokenizer, type HfTokenizerJson } from "../src/data/hf-tokenizer.js";
import { createStreamingDecoder, type Tokenizer } from "../src/data/tokenizer.js";
import { Rng } from "../src/util/rng.js";

const SAMPLES = [
  "",
  "hello world",
  "héllo wörld — ñ",
  "emoji: 🎉👩‍👩‍👧‍👦🇫🇷 ok",
  "中文字符测试，日本語のテキスト、한국어",
  "\uFEFFleading BOM kept",
  "mixed\n\ttabs\r\nand 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u0000 nul",
];

test("byte tokenizer: explicit special layout", () => {
  const t = new ByteTokenizer();
  assert.equal(BYTE_PAD_ID, 0);
  assert.equal(BYTE_EOS_ID, 1);
  assert.equal(BYTE_OFFSET, 2);
  assert.equal(BYTE_VOCAB_SIZE, 258);
  assert.equal(t.vocabSize, 258);
  assert.equal(t.padId, 0);
  assert.equal(t.eosId, 1);
  assert.equal(t.isByteLevel, true);
  assert.equal(t.kind, "byte");
  assert.deepEqual(t.encode("A"), [65 + 2]);
  assert.deepEqual(t.encode("é"), [0xc3 + 2, 0xa9 + 2]);
  assert.deepEqual(t.encode("\u0000\u00ff"), [2, 0xc3 + 2, 0xbf + 2]);
  for (const s of SAMPLES) for (const id of t.encode(s)) assert.ok(id >= 2 && id <= 257);
});

test("byte tokenizer: encode -> decode round trip (emoji, CJK, BOM)", () => {
  const t = new ByteTokenizer();
  for (const s of SAMPLES) {
    assert.equal(t.decode(t.encode(s)), s);
    assert.equal(t.decode(t.encodeToInt32(s)), s);
    assert.deepEqual(Array.from(t.encodeToInt32(s)), t.encode(s));
  }
});

test("byte tokenizer: decode never throws; specials and out-of-range ids skipped", () => {
  const t = new ByteTokenizer();
  const hi = t.encode("hi");
  assert.equal(t.decode([BYTE_PAD_ID, ...hi, BYTE_EOS_ID, BYTE_PAD_ID]), "hi");
  assert.equal(t.decode([-5, 258, 1000, 2.5, NaN, ...hi, Infinity]), "hi");
  assert.equal(t.decode([]), "");
  // Invalid UTF-8: lone continuation byte, truncated 3-byte sequence, overlong encoding, 0xFF.
  const bad = [0x80, 0x41, 0xe4, 0xb8, 0x42, 0xc0, 0xaf, 0xff].map((b) => b + BYTE_OFFSET);
  let out = "";
  assert.doesNotThrow(() => {
    out = t.decode(bad);
  });
  assert.ok(out.includes("\uFFFD"));
  assert.ok(out.includes("A") && out.includes("B"));
  assert.equal(t.decode([0xf0 + 2, 0x9f + 2]), "\uFFFD"); // truncated emoji at end
  assert.equal(t.decode(Int32Array.from([...hi, 0xe4 + 2])), "hi\uFFFD");
});

test("byte tokenizer: streaming decoder equals full decode for random splits", () => {
  const t = new ByteTokenizer();
  const rng = new Rng(123);
  const text = SAMPLES.join(" | ") + " 🎉中文🇫🇷";
  const clean = t.encode(text);
  for (let trial = 0; trial < 50; trial++) {
    // Random specials / garbage inserted, sometimes an invalid byte, random flush points never mid-run.
    const ids: number[] = [];
    for (const id of clean) {
      if (rng.nextFloat() < 0.02) ids.push(rng.nextFloat() < 0.5 ? BYTE_EOS_ID : 999);
      if (rng.nextFloat() < 0.01) ids.push(0xff + BYTE_OFFSET);
      ids.push(id);
    }
    if (trial % 5 === 0) ids.push(0xf0 + BYTE_OFFSET); // dangling lead byte at the end
    const dec = t.streamingDecoder();
    let acc = "";
    let i = 0;
    while (i < ids.length) {
      const chunk = 1 + rng.nextInt(7);
      const part = ids.slice(i, i + chunk);
      if (rng.nextFloat() < 0.5) for (const id of part) acc += dec.push(id);
      else acc += dec.pushAll(part);
      i += chunk;
    }
    acc += dec.flush();
    assert.equal(acc, t.decode(ids));
  }
});

test("byte tokenizer: streaming emits characters as soon as complete", () => {
  const t = new ByteTokenizer();
  const dec = t.streamingDecoder();
  const ids = t.encode("a🎉");
  assert.equal(dec.push(ids[0]!), "a");
  assert.equal(dec.push(ids[1]!), "");
  assert.equal(dec.push(ids[2]!), "");
  assert.equal(dec.push(ids[3]!), "");
  assert.equal(dec.push(ids[4]!), "🎉");
  assert.equal(dec.flush(), "");
  // flush of an incomplete character yields U+FFFD and resets.
  dec.push(0xe4 + 2);
  assert.equal(dec.flush(), "\uFFFD");
  assert.equal(dec.push(t.encode("z")[0]!), "z");
  // createStreamingDecoder picks the tokenizer's own decoder.
  const generic = createStreamingDecoder(t);
  assert.equal(ids.map((id) => generic.push(id)).join("") + generic.flush(), "a🎉");
});

// ---------------------------------------------------------------------------------------------
// HF tokenizer on a tiny GPT-2 style byte-level BPE built here.

/** GPT-2 bytes_to_unicode mapping. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const out = new Array<string>(256);
  bs.forEach((b, i) => (out[b] = String.fromCharCode(cs[i]!)));
  return out;
}

function tinyByteLevelBpe(): HfTokenizerJson {
  const chars = bytesToUnicode();
  const vocab: Record<string, number> = { "<pad>": 0, "<|endoftext|>": 1 };
  let id = 2;
  for (let b = 0; b < 256; b++) vocab[chars[b]!] = id++;
  const merges: [string, string][] = [
    ["Ġ", "t"],
    ["h", "e"],
    ["Ġt", "he"],
    ["Ġ", "c"],
    ["a", "t"],
  ];
  for (const [a, b] of merges) vocab[a + b] = id++;
  const special = { single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      { id: 0, content: "<pad>", ...special },
      { id: 1, content: "<|endoftext|>", ...special },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

function withTempDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "pa-hf-tok-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("hf tokenizer: fromFile on a test-made tokenizer.json", () => {
  withTempDir((dir) => {
    const path = join(dir, "tokenizer.json");
    writeFileSync(path, JSON.stringify(tinyByteLevelBpe()));
    const t: Tokenizer = HfTokenizer.fromFile(path);
    assert.equal(t.vocabSize, 2 + 256 + 5);
    assert.equal(t.padId, 0); // well-known "<pad>"
    assert.equal(t.eosId, 1); // well-known "<|endoftext|>"
    assert.equal(t.kind, "hf:BPE");
    assert.equal(t.isByteLevel, true);
    // merges are applied: "the" -> "t"+"he"; " the" -> "Ġthe"
    const ids = t.encode("the cat the");
    assert.ok(ids.length < "the cat the".length, `expected merges to shorten ${ids}`);
    for (const s of [...SAMPLES.filter((x) => !x.startsWith("\uFEFF")), "a . b , c", "x<|endoftext|>y"]) {
      assert.equal(t.decode(t.encode(s)), s.replace("<|endoftext|>", ""), `round trip of ${JSON.stringify(s)}`);
    }
    // The special token in text maps to its id and is skipped on decode.
    assert.ok(t.encode("x<|endoftext|>y").includes(1));
    // never throws
    assert.equal(t.decode([]), "");
    assert.equal(t.decode([-1, 99999, 1.5, 0, 1]), "");
    assert.doesNotThrow(() => t.decode([0xe4 + 2, 0xb8 + 2]));
    // directory form
    const t2 = HfTokenizer.fromFile(dir);
    assert.deepEqual(t2.encode("hello"), t.encode("hello"));
    // generic streaming decoder equals full decode
    const text = "the cat 🎉 中文 the";
    const enc = t.encode(text);
    const sd = createStreamingDecoder(t);
    assert.equal(enc.map((id) => sd.push(id)).join("") + sd.flush(), t.decode(enc));
  });
});

test("hf tokenizer: tokenizer_config.json special tokens and errors", () => {
  withTempDir((dir) => {
    const json = tinyByteLevelBpe();
    json.added_tokens!.push({ id: 263, content: "<my_eos>", special: true }, { id: 264, content: "<my_pad>", special: true });
    mkdirSync(join(dir, "m"));
    writeFileSync(join(dir, "m", "tokenizer.json"), JSON.stringify(json));
    writeFileSync(join(dir, "m", "tokenizer_config.json"), JSON.stringify({ eos_token: { content: "<my_eos>" }, pad_token: "<my_pad>" }));
    const t = HfTokenizer.fromFile(join(dir, "m", "tokenizer.json"));
    assert.equal(t.eosId, 263);
    assert.equal(t.padId, 264);
    assert.equal(t.vocabSize, 265);
    const t2 = HfTokenizer.fromObjects(json, {});
    assert.equal(t2.eosId, 1);
    assert.throws(() => HfTokenizer.fromFile(join(dir, "nope.json")), /tokenizer\.json not found/);
    writeFileSync(join(dir, "bad.json"), "{not json");
    assert.throws(() => HfTokenizer.fromFile(join(dir, "bad.json")), /not valid JSON/);
    assert.throws(() => new HfTokenizer({} as HfTokenizerJson), /tokenizerJson\.model/);
  });
});

test("streaming decode with the prompt as context keeps the space before a SentencePiece word (it printed 'The Congressshall')", async () => {
  const { sentencePieceTokenizer } = await import("./helpers/text-fixtures.js");
  const { decodeContinuation } = await import("../src/data/tokenizer.js");
  const t = HfTokenizer.fromObjects(sentencePieceTokenizer());
  const prompt = t.encode("The Congress");
  const more = t.encode("shall make no law");
  const withContext = createStreamingDecoder(t, prompt);
  const streamed = more.map((id) => withContext.push(id)).join("") + withContext.flush();
  assert.equal(streamed, " shall make no law");
  assert.equal(decodeContinuation(t, prompt, more), t.decode([...prompt, ...more]).slice(t.decode(prompt).length));
  const without = createStreamingDecoder(t);
  assert.equal(more.map((id) => without.push(id)).join("") + without.flush(), "shall make no law", "without context the word marker of the first piece is dropped");
});
