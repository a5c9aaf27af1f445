// The text-generation pipeline: pipeline("text-generation", folder) with the byte tokenizer (a
// folder without tokenizer.json) and with the folder's SentencePiece-style tokenizer.json; text ==
// the decoded tokens generate() produces; the stream's pieces == the text; stop strings cut the
// text and stop generation; a batch of prompts == one prompt at a time; TextStreamer's context
// decoding (no glued first word) and its stop-string hold-back; validation.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { ByteTokenizer } from "../src/data/byte-tokenizer.js";
import { HfTokenizer, type HfTokenizerJson } from "../src/data/hf-tokenizer.js";
import { generate } from "../src/generate/generate.js";
import { saveModel } from "../src/io/checkpoint.js";
import { DiskHubCache } from "../src/hub/disk-cache.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { pipeline } from "../src/pipeline/pipeline.js";
import { textGenerationPipeline } from "../src/pipeline/text-generation.js";
import { TextStreamer } from "../src/pipeline/text-streamer.js";
import { startFakeHub } from "./helpers/fake-hub.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pipeline-test-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SMALL = { max_seq_len: 32, max_latents: 8, num_channels: 32, num_heads: 2, num_self_attention_layers: 1, cross_attention_dropout: 0, init_scale: 0.5, abs_pos_emb: false };

function modelFolder(name: string, vocab: number, tokenizerJson?: HfTokenizerJson): string {
  const dir = path.join(tmp, name);
  saveModel(new PerceiverAR({ ...SMALL, vocab_size: vocab }, referenceBackend, { seed: 3 }), dir);
  if (tokenizerJson) fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson));
  return dir;
}

/** A tiny SentencePiece-style tokenizer (Unigram, Metaspace "▁"), as xlnet-base-cased's is. */
function sentencePiece(): HfTokenizerJson {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const metaspace = { type: "Metaspace", replacement: "\u2581", add_prefix_space: true, prepend_scheme: "always" };
  const pieces = ["\u2581the", "\u2581cat", "\u2581sat", "\u2581on", "\u2581mat", "\u2581", ..."abcdefghijklmnopqrstuvwxyz"];
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "<unk>"), special(1, "</s>")],
    normalizer: null,
    pre_tokenizer: metaspace,
    post_processor: null,
    decoder: metaspace,
    model: { type: "Unigram", unk_id: 0, vocab: [["<unk>", 0], ["</s>", 0], ...pieces.map((p, i) => [p, i < 5 ? -1 : -3])] },
  } as HfTokenizerJson;
}

describe("pipeline('text-generation')", () => {
  const dir = modelFolder("bytes", 258);
  const bytes = new ByteTokenizer();

  it("byte tokenizer: text == decode(generate(...)); the stream's pieces join to the text", async () => {
    const generator = await pipeline("text-generation", dir, { backend: referenceBackend });
    assert.equal(generator.tokenizer.kind, "byte");
    const r = await generator("Hello", { maxNewTokens: 24, greedy: true });
    const want = await generate(generator.model, bytes.encode("Hello"), { maxNewTokens: 24, greedy: true, eosId: 1 });
    assert.deepEqual(r.tokens, want);
    assert.equal(r.text, bytes.decode(want));
    assert.equal(r.finishReason, want.length === 24 && want.at(-1) !== 1 ? "length" : "eos");
    let streamed = "";
    for await (const piece of generator.stream("Hello", { maxNewTokens: 24, greedy: true })) streamed += piece;
    assert.equal(streamed, r.text);
    // Sampling options and the reset schedule reach generate().
    const o = { maxNewTokens: 30, temperature: 0.9, topK: 30, seed: 4, schedule: "reset" as const, resetFill: 4 };
    const sampled = await generator("Hi", o);
    assert.deepEqual(sampled.tokens, await generate(generator.model, bytes.encode("Hi"), { ...o, eosId: 1 }));
  });

  it("stop strings cut the text before the first occurrence and end generation", async () => {
    const generator = await pipeline("text-generation", dir, { backend: referenceBackend });
    const free = await generator("Hello", { maxNewTokens: 40, greedy: true });
    assert.ok(free.text.length >= 12, `need a long enough continuation, got ${JSON.stringify(free.text)}`);
    const stop = free.text.slice(6, 9);
    const at = free.text.indexOf(stop);
    const r = await generator("Hello", { maxNewTokens: 40, greedy: true, stop: ["\u0000never", stop] });
    assert.equal(r.text, free.text.slice(0, at));
    assert.equal(r.finishReason, "stop");
    assert.equal(bytes.decode(r.tokens), free.text.slice(0, at + stop.length), "generation ended with the token that completed the stop string");
    const pieces: string[] = [];
    for await (const p of generator.stream("Hello", { maxNewTokens: 40, greedy: true, stop })) pieces.push(p);
    assert.equal(pieces.join(""), r.text);
  });

  it("a batch of prompts == one prompt at a time (greedy and per-prompt seeds); streamBatch names rows", async () => {
    const generator = await pipeline("text-generation", dir, { backend: referenceBackend });
    const prompts = ["Hello", "A", "The quick brown fox"];
    const o = { maxNewTokens: 20, temperature: 1.1, seed: [1, 2, 3] };
    const batch = await generator(prompts, o);
    for (let b = 0; b < prompts.length; b++) assert.deepEqual(batch[b], await generator(prompts[b], { ...o, seed: o.seed[b] }), `row ${b}`);
    const joined = ["", "", ""];
    for await (const p of generator.streamBatch(prompts, o)) joined[p.row] += p.text;
    assert.deepEqual(joined, batch.map((r) => r.text));
  });

  it("the folder's tokenizer.json (SentencePiece): continuations keep their first word's space", async () => {
    const json = sentencePiece();
    const generator = await pipeline("text-generation", modelFolder("spm", 34, json), { backend: referenceBackend });
    assert.equal(generator.tokenizer.kind, "hf:Unigram");
    const t = generator.tokenizer;
    const prompt = "the cat";
    const r = await generator(prompt, { maxNewTokens: 12, greedy: true });
    const ids = t.encode(prompt);
    assert.equal(r.text, t.decode([...ids, ...r.tokens]).slice(t.decode(ids).length), "decode(prompt + generated) minus decode(prompt)");
    let streamed = "";
    for await (const piece of generator.stream(prompt, { maxNewTokens: 12, greedy: true })) streamed += piece;
    assert.equal(streamed, r.text);
  });

  it("a hub id (a local fake hub on 127.0.0.1): downloads the folder and its tokenizer.json", async () => {
    const source = new PerceiverAR({ ...SMALL, vocab_size: 34 }, referenceBackend, { seed: 8 });
    const dir = path.join(tmp, "hub-source");
    saveModel(source, dir, { format: "hf" });
    const files = new Map(fs.readdirSync(dir).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]));
    files.set("tokenizer.json", new TextEncoder().encode(JSON.stringify(sentencePiece())));
    const hub = await startFakeHub({ "tester/spm": { commit: "0123456789abcdef0123456789abcdef01234567", files } });
    try {
      const generator = await pipeline("text-generation", "tester/spm", { backend: referenceBackend, endpoint: hub.endpoint, cache: new DiskHubCache(path.join(tmp, "hub-cache")) });
      assert.equal(generator.tokenizer.kind, "hf:Unigram");
      const want = await textGenerationPipeline(source, generator.tokenizer)("the cat", { maxNewTokens: 10, greedy: true });
      assert.deepEqual(await generator("the cat", { maxNewTokens: 10, greedy: true }), want);
    } finally {
      await hub.close();
    }
  });

  it("validation", async () => {
    await assert.rejects(pipeline("summarization" as never, dir), /pipeline task must be one of "text-generation", got "summarization"/);
    await assert.rejects(pipeline("text-generation", modelFolder("small-vocab", 100), { backend: referenceBackend }), /has no tokenizer.json and its vocab_size 100 is smaller than the byte tokenizer's 258 ids: pass options.tokenizer/);
    const generator = await pipeline("text-generation", dir, { backend: referenceBackend });
    await assert.rejects(generator("", {}), /prompt must not be empty/);
    await assert.rejects(generator("Hi", { stop: [""] }), /stop must be a non-empty string or an array of non-empty strings/);
    await assert.rejects(generator("Hi", { maxNewTokens: -1 }), /maxNewTokens must be an integer >= 0/);
    await assert.rejects(generator("Hi", { schedule: "fast" as never }), /schedule must be one of/);
    const big = new PerceiverAR({ ...SMALL, vocab_size: 100 }, referenceBackend);
    assert.throws(() => textGenerationPipeline(big, bytes), /the tokenizer's vocabulary \(258 ids, byte\) does not fit the model's vocab_size 100/);
    assert.deepEqual(await generator("Hi", { maxNewTokens: 0 }), { text: "", tokens: [], finishReason: "length" });
  });
});

describe("TextStreamer", () => {
  it("decodes in the prompt's context: a SentencePiece continuation does not glue onto the prompt", () => {
    const t = new HfTokenizer(sentencePiece());
    const prompt = t.encode("the cat");
    const sat = t.encode("sat")[0];
    assert.equal(t.decode([sat]), "sat", "decoded alone, the word loses its space");
    const s = new TextStreamer(t, prompt);
    assert.equal(s.push(sat), " sat");
    for (const id of t.encode("on the mat")) s.push(id);
    assert.equal(s.text + s.finish(), " sat on the mat");
  });

  it("holds back a possible stop string, releases a false alarm, stops at the first occurrence", () => {
    const b = new ByteTokenizer();
    const feed = (s: TextStreamer, text: string) => b.encode(text).map((id) => s.push(id));
    const a = new TextStreamer(b, b.encode(">"), ["END", "STOP"]);
    assert.deepEqual(feed(a, "xxE"), ["x", "x", ""]);
    assert.deepEqual(feed(a, "Nz"), ["", "ENz"], "false alarm: the held text comes out");
    assert.deepEqual(feed(a, "yySTEND"), ["y", "y", "", "", "ST", "", ""]);
    assert.equal(a.stopped, true);
    assert.equal(a.text, "xxENzyyST");
    assert.equal(a.push(b.encode("q")[0]), "");
    const c = new TextStreamer(b, b.encode(">"), ["END"]);
    feed(c, "abEN");
    assert.equal(c.finish(), "EN", "at the end, held text is released");
    assert.equal(c.text, "abEN");
  });
});
