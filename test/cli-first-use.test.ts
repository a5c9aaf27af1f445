// The first things a new user does, through the command as they would type it (issue 11 items 1,
// 4, 5, 6): train on one text file, a .jsonl file, a Latin-1 file or a folder; move or copy a run
// folder and evaluate it from elsewhere; sample from a model folder with its own tokenizer; and get
// one clear line with exit code 2 for every mistake, before anything is written or printed.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { HfTokenizer } from "../src/data/hf-tokenizer.js";
import { generate } from "../src/generate/generate.js";
import { loadModel, saveModel } from "../src/io/checkpoint.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { readMetrics } from "../src/train/run-folder.js";
import { runCli } from "./helpers/cli.js";
import { prose, sentencePieceTokenizer, SP_PIECES, writeProse } from "./helpers/text-fixtures.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "pa-first-use-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** A tiny, quick run: context 64, 16 latents. */
const TINY_RUN = ["--preset", "tiny", "--max-steps", "2", "--batch-size", "2", "--eval-every", "0", "--sample-tokens", "0"];

function weights(m: PerceiverAR): number[] {
  return [...m.parameters.values()].flatMap((p) => [...p.data]);
}

describe("train on a user's own text", () => {
  it("one .txt file is split inside the document, and the run says so", () => {
    const file = writeProse(path.join(root, "book.txt"), 12_000);
    const run = path.join(root, "book-run");
    const t = runCli(["train", "--data", file, "--run-dir", run, "--eval-windows", "4", ...TINY_RUN]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /book\.txt: 1 document, too few to hold out whole documents, so split inside them: the first [\d,]+ tokens for training, the last 260 \(2\.2%\) for validation/);
    assert.match(t.out, /validation: 4 windows .* at the end/);
    assert.match(t.out, /validation: bits\/byte \d+\.\d+/);
    const task = JSON.parse(fs.readFileSync(path.join(run, "task.json"), "utf8"));
    assert.deepEqual(task.split, { by: "tail", validationTokens: 260 });
  });

  it("a Latin-1 file is read as Latin-1 (not U+FFFD), with a note", () => {
    const file = path.join(root, "latin1.txt");
    fs.writeFileSync(file, Buffer.concat([Buffer.from(prose(6000, 2)), Buffer.from([0x20, 0x63, 0x61, 0x66, 0xe9, 0x20])])); // " café " in Latin-1
    const t = runCli(["train", "--data", file, "--run-dir", path.join(root, "latin1-run"), "--eval-windows", "2", ...TINY_RUN]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /latin1\.txt is not valid UTF-8; read as Latin-1 \(windows-1252\)/);
  });

  it("a .jsonl file holds one document per line (its text field); a folder mixes .txt and .jsonl", () => {
    const jsonl = path.join(root, "docs.jsonl");
    fs.writeFileSync(jsonl, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: i, text: prose(700, 10 + i) })).join("\n") + "\n\n");
    const t = runCli(["train", "--data", jsonl, "--run-dir", path.join(root, "jsonl-run"), "--eval-windows", "4", ...TINY_RUN]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /docs\.jsonl: split by document: 38 for training \([\d,]+ tokens\), 2 for validation/);

    const folder = path.join(root, "folder");
    fs.mkdirSync(folder);
    fs.copyFileSync(jsonl, path.join(folder, "a.jsonl"));
    writeProse(path.join(folder, "b.txt"), 3000, 3);
    const f = runCli(["train", "--data", folder, "--run-dir", path.join(root, "folder-run"), "--eval-windows", "4", ...TINY_RUN]);
    assert.equal(f.code, 0, f.err);
    assert.match(f.out, /folder: split by document: 39 for training/);

    const bad = path.join(root, "bad.jsonl");
    fs.writeFileSync(bad, '{"text": "fine"}\n{"title": "no text"}\n');
    const b = runCli(["train", "--data", bad, "--run-dir", path.join(root, "bad-run"), ...TINY_RUN]);
    assert.equal(b.code, 2);
    assert.match(b.err, /^perceiver-ar: bad\.jsonl:2: the line has no string "text" field/);
    assert.ok(!fs.existsSync(path.join(root, "bad-run")), "nothing is left behind");
  });

  it("--eval-windows 0 trains on everything without validation", () => {
    const run = path.join(root, "noval-run");
    const t = runCli(["train", "--data", path.join(root, "book.txt"), "--run-dir", run, "--eval-windows", "0", ...TINY_RUN]);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /book\.txt: 1 document, [\d,]+ tokens, all for training \(no validation\)/);
    assert.match(t.out, /no validation \(--eval-windows 0\)/);
    assert.deepEqual(readMetrics(path.join(run, "metrics.jsonl")).filter((r) => r.type === "eval"), []);
  });

  it("a corpus too small for one window says how many bytes it has and how many it needs", () => {
    const file = writeProse(path.join(root, "tiny.txt"), 100);
    const run = path.join(root, "tiny-run");
    const t = runCli(["train", "--data", file, "--run-dir", run, ...TINY_RUN]);
    assert.equal(t.code, 2);
    assert.match(t.err, /corpus "tiny\.txt" is too small: it has 100 bytes \(101 tokens\), but one training and one validation window \(context 64 \+ 1 each\) needs 130 tokens \(about 129 bytes\)/);
    assert.ok(!fs.existsSync(run), "no run folder is left behind");
  });
});

describe("run folders are portable", () => {
  it("a moved run folder evaluates from another directory, finds its data, and honours --data", () => {
    const home = path.join(root, "home");
    fs.mkdirSync(path.join(home, "data"), { recursive: true });
    writeProse(path.join(home, "data", "book.txt"), 12_000, 4);
    const t = runCli(["train", "--data", "data/book.txt", "--run-dir", "runs/a", "--eval-windows", "4", ...TINY_RUN], {}, home);
    assert.equal(t.code, 0, t.err);
    const before = runCli(["eval", "runs/a", "--json"], {}, home);
    assert.equal(before.code, 0, before.err);
    const expected = JSON.parse(before.out)["bits/byte"];

    // Move the whole folder (run and data together) elsewhere and evaluate from yet another directory.
    const moved = path.join(root, "moved");
    fs.renameSync(home, moved);
    const e = runCli(["eval", path.join(moved, "runs", "a"), "--json"], {}, os.tmpdir());
    assert.equal(e.code, 0, e.err);
    assert.equal(JSON.parse(e.out)["bits/byte"], expected, "the same held-out text");

    // Without its data: a clear error naming the file and --data; with --data it works again.
    const data = path.join(root, "elsewhere.txt");
    fs.renameSync(path.join(moved, "data", "book.txt"), data);
    const missing = runCli(["eval", path.join(moved, "runs", "a")], {}, os.tmpdir());
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^perceiver-ar: the run's data .*book\.txt is not there any more .*task\.json records it\); pass --data <path>/);
    const over = runCli(["eval", path.join(moved, "runs", "a"), "--data", data, "--json"], {}, os.tmpdir());
    assert.equal(over.code, 0, over.err);
    assert.equal(JSON.parse(over.out)["bits/byte"], expected);

    // The library loads a run folder as the CLI does (its best/ model); info describes it.
    const m = loadModel(path.join(moved, "runs", "a"), referenceBackend);
    assert.deepEqual(weights(m), weights(loadModel(path.join(moved, "runs", "a", "best"), referenceBackend)));
    const info = runCli(["info", path.join(moved, "runs", "a")]);
    assert.equal(info.code, 0, info.err);
    assert.match(info.out, /maxSeqLen +64/);
  });
});

describe("the model's own tokenizer", () => {
  const tokJson = sentencePieceTokenizer();
  const vocab = SP_PIECES.length;
  const folder = path.join(root, "sp-model");
  const model = new PerceiverAR({ vocabSize: vocab, maxSeqLen: 16, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1 }, referenceBackend, { seed: 3 });
  model.parameters.get("output_adapter.bias")!.data[5] = 50; // "▁shall" always wins: the first generated piece starts a word
  saveModel(model, folder);
  fs.writeFileSync(path.join(folder, "tokenizer.json"), JSON.stringify(tokJson));

  it("a tokenizer.json beside the model is used, and the first generated word is not glued to the prompt", async () => {
    const s = runCli(["sample", folder, "--prompt", "The Congress", "-n", "3", "--temperature", "0"]);
    assert.equal(s.code, 0, s.err);
    const tok = HfTokenizer.fromObjects(tokJson);
    const prompt = tok.encode("The Congress");
    const ids = await generate(model, prompt, { maxNewTokens: 3, greedy: true });
    assert.deepEqual(ids, [5, 5, 5]);
    assert.equal(s.out, tok.decode([...prompt, ...ids]) + "\n");
    assert.equal(s.out, "The Congress shall shall shall\n", "(it printed 'The Congressshall ...' before)");
  });

  it("a vocabulary that does not match the tokenizer is an error, before any output; --tokenizer overrides", () => {
    const big = path.join(root, "big-model");
    saveModel(new PerceiverAR({ vocabSize: 1000, maxSeqLen: 16, maxLatents: 4, numChannels: 16, numHeads: 2, numSelfAttentionLayers: 1 }, referenceBackend, { seed: 1 }), big);
    const s = runCli(["sample", big, "--prompt", "Hi"]);
    assert.equal(s.code, 2);
    assert.equal(s.out, "");
    assert.match(s.err, /the model has 1000 token ids \(vocab_size\) and no tokenizer\.json beside it; the byte tokenizer has 258: pass --tokenizer/);
    const wrong = runCli(["sample", big, "--prompt", "Hi", "--tokenizer", path.join(folder, "tokenizer.json")]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.err, /tokenizer .*tokenizer\.json has 24 token ids, but the model's vocab_size is 1000/);
    const e = runCli(["eval", folder, "--tokenizer", path.join(root, "missing.json")]);
    assert.equal(e.code, 2);
    assert.match(e.err, /--tokenizer .*missing\.json does not exist/);
  });
});

describe("flags", () => {
  it("a mistyped option gets a suggestion; every usage error exits with 2", () => {
    const a = runCli(["train", "--max-step", "5"]);
    assert.equal(a.code, 2);
    assert.match(a.err, /unknown option --max-step \(did you mean --max-steps\?\)/);
    assert.match(runCli(["train", "--num-chanels", "64"]).err, /did you mean --num-channels\?/);
    const b = runCli(["trian"]);
    assert.equal(b.code, 2);
    assert.match(b.err, /unknown command 'trian'/);
    assert.equal(runCli(["eval"]).code, 2, "missing argument");
    assert.equal(runCli(["--help"]).code, 0);
  });

  it("a numeric flag outside its range is refused before anything is written, naming the flag and its range", () => {
    const run = path.join(root, "never");
    const cases: [string[], RegExp][] = [
      [["--max-steps", "1e12"], /--max-steps must be an integer in \[1, 1000000000\], got "1e12"/],
      [["--max-steps", "-1"], /--max-steps must be an integer in \[1, 1000000000\], got "-1"/],
      [["--max-steps", "2.5"], /--max-steps must be an integer/],
      [["--grad-accumulation", "1e12"], /--grad-accumulation must be an integer in \[1, 65536\], got "1e12"/],
      [["--weight-decay", "1e12"], /--weight-decay must be a number in \[0, 1\], got "1e12"/],
      [["--lr", "fast"], /--lr must be a number in \(0, 1\], got "fast"/],
      [["--eval-every", "-2"], /--eval-every must be an integer in \[0, 1000000000\]/],
      [["--warmup-steps", "50", "--max-steps", "10"], /--warmup-steps must be an integer in \[0, --max-steps = 10\], got 50/],
      [["--seed", "0.5"], /--seed must be an integer/],
    ];
    for (const [flags, message] of cases) {
      const r = runCli(["train", "--data", path.join(root, "book.txt"), "--preset", "tiny", "--run-dir", run, ...flags]);
      assert.equal(r.code, 2, flags.join(" "));
      assert.match(r.err, message);
      assert.ok(!fs.existsSync(run), `${flags.join(" ")}: nothing written`);
    }
    const i = runCli(["info", "--preset", "tiny", "--batch-size", "-1"]);
    assert.equal(i.code, 2);
    assert.match(i.err, /--batch-size must be an integer in \[1, 65536\], got "-1"/);
    assert.doesNotMatch(i.out, /NaN/);
  });

  it("sample checks every option before it prints anything; --count gives several text samples; eval says when it caps", () => {
    const run = path.join(root, "book-run");
    for (const bad of [["--top-k", "-5"], ["--top-p", "2"], ["--num-latents", "999"], ["--temperature", "-1"], ["--count", "0"]]) {
      const s = runCli(["sample", run, "--prompt", "The ", "-n", "4", ...bad]);
      assert.equal(s.code, 2, bad.join(" "));
      assert.equal(s.out, "", `${bad.join(" ")}: nothing printed before the error`);
    }
    const two = runCli(["sample", run, "--prompt", "The ", "-n", "5", "--count", "2", "--seed", "4"]);
    assert.equal(two.code, 0, two.err);
    assert.match(two.out, /^--- sample 1\/2 \(seed 4\) ---\nThe [\s\S]*\n\n--- sample 2\/2 \(seed 5\) ---\nThe [\s\S]*\n$/);
    assert.match(two.err, /^10 tokens in /m, "5 tokens per sample (bytes of a tiny model need not form whole characters)");
    const e = runCli(["eval", run, "--windows", "100000", "--json"]);
    assert.equal(e.code, 0, e.err);
    assert.match(e.err, /note: 100000 windows asked, but the validation data holds 4; scored all 4/);
    assert.equal(JSON.parse(e.out).windows, 4);
  });
});
