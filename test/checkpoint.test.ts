// Model folders: the hub layout written and read back, ambiguity refused (two weight files, a
// name with and without prefix, NaN/Inf), mismatches listed, an edited config refused before
// anything is allocated, .bin -> safetensors conversion and export through the CLI.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { loadModel, loadPretrained, saveModel, stateDict } from "../src/io/checkpoint.js";
import { CheckpointError } from "../src/io/errors.js";
import { readSafetensorsFile, writeSafetensorsFile, type WritableTensor } from "../src/io/safetensors.js";
import { convertFolder } from "../src/cli/convert.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { runCli } from "./helpers/cli.js";
import { loadGolden } from "./helpers/golden.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "checkpoint-test-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const CONFIG = { vocab_size: 40, max_seq_len: 12, max_latents: 4, num_channels: 16, num_heads: 2, num_self_attention_layers: 2 };
const model = new PerceiverAR(CONFIG, referenceBackend, { seed: 5 });
const ids = [[3, 1, 4, 1, 5, 9, 2, 6]];
const logits = (m: PerceiverAR) => Array.from(m.forward(ids).data);
let n = 0;
const fresh = () => path.join(tmp, `m${n++}`);

/** A folder with our config and the given weights file contents. */
function folder(tensors: Map<string, WritableTensor>, file = "weights.safetensors", config: object = CONFIG): string {
  const dir = fresh();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  writeSafetensorsFile(path.join(dir, file), tensors);
  return dir;
}

function loadFails(dir: string, pattern: RegExp): void {
  assert.throws(() => loadModel(dir, referenceBackend, { log: () => {} }), (e: unknown) => e instanceof CheckpointError && pattern.test(e.message), `expected ${pattern}`);
}

describe("model folders", () => {
  it("format hf: hub config.json, backend_model. names, format pt; loads back exactly", () => {
    const dir = fresh();
    saveModel(model, dir, { format: "hf", tokenizerClass: "XLNetTokenizerFast" });
    assert.deepEqual(fs.readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
    assert.equal(cfg.model_type, "perceiver-ar-causal-language-model");
    assert.equal(cfg.tokenizer_class, "XLNetTokenizerFast");
    assert.equal(cfg.model_config.num_channels, 16);
    const { tensors, metadata } = readSafetensorsFile(path.join(dir, "model.safetensors"));
    assert.deepEqual(metadata, { format: "pt" });
    assert.ok([...tensors.keys()].every((k) => k.startsWith("backend_model.")));
    assert.equal(tensors.size, model.parameters.size + 1);
    assert.deepEqual(logits(loadModel(dir, referenceBackend)), logits(model));
    assert.throws(() => saveModel(model, dir), /already holds model\.safetensors; writing weights\.safetensors beside it would make the folder ambiguous/);
  });

  it("two weight files of one kind are ambiguous; safetensors beat .bin with a note", () => {
    const dir = folder(stateDict(model));
    writeSafetensorsFile(path.join(dir, "model.safetensors"), stateDict(model));
    loadFails(dir, /holds model\.safetensors and weights\.safetensors: ambiguous/);
    const g = loadGolden("hf-bin");
    const both = fresh();
    fs.mkdirSync(both);
    for (const f of ["config.json", "pytorch_model.bin"]) fs.copyFileSync(path.join(g.dir, f), path.join(both, f));
    const gm = loadModel(g.dir, referenceBackend);
    writeSafetensorsFile(path.join(both, "model.safetensors"), stateDict(gm, "backend_model."));
    const lines: string[] = [];
    const loaded = loadPretrained(both, referenceBackend, { log: (l) => lines.push(l) });
    assert.deepEqual(loaded.weightFiles.map((f) => path.basename(f)), ["model.safetensors"]);
    assert.match(lines.join("\n"), /pytorch_model\.bin ignored: model\.safetensors holds the same model and is preferred/);
  });

  it("a tensor named both with and without a prefix is ambiguous", () => {
    const sd = stateDict(model);
    const emb = sd.get("input_adapter.txt_embedding.weight")!;
    sd.set("model.input_adapter.txt_embedding.weight", emb);
    loadFails(folder(sd), /ambiguous weights, refusing:\n {2}"input_adapter\.txt_embedding\.weight" and "model\.input_adapter\.txt_embedding\.weight" both name/);
  });

  it("NaN/Inf weights, missing, unknown and mis-shaped tensors are listed by name", () => {
    const sd = stateDict(model);
    const q = "cross_attention.0.module.attention.q_proj.weight";
    const bad = new Float32Array(sd.get(q)!.data as Float32Array);
    bad[7] = NaN;
    sd.set(q, { shape: sd.get(q)!.shape, data: bad });
    const inf = new Float32Array(256 * 16).fill(Infinity);
    sd.set("input_adapter.txt_embedding.weight", { shape: [256, 16], data: inf });
    sd.delete("self_attention.1.1.module.3.weight");
    sd.set("decoder.extra", { shape: [2], data: new Float32Array(2) });
    const dir = folder(sd);
    loadFails(dir, new RegExp(`${q.replace(/\./g, "\\.")}: element 7 is NaN`));
    loadFails(dir, /input_adapter\.txt_embedding\.weight: shape \[256, 16\] in weights\.safetensors, the config needs \[40, 16\]/);
    loadFails(dir, /self_attention\.1\.1\.module\.3\.weight: missing/);
    loadFails(dir, /decoder\.extra: not a parameter of this config/);
    const sd2 = stateDict(model);
    sd2.set("input_adapter.txt_embedding.weight", { shape: [40, 16], data: new Float32Array(40 * 16).fill(-Infinity) });
    loadFails(folder(sd2), /input_adapter\.txt_embedding\.weight: element 0 is -Infinity/);
  });

  it("an edited config is refused before the model is built (no allocation beyond the file)", () => {
    const sd = stateDict(model);
    for (const edit of [{ num_channels: 4096, num_heads: 8 }, { num_self_attention_layers: 1000 }, { vocab_size: 10_000_000 }]) {
      const dir = folder(sd, "weights.safetensors", { ...CONFIG, ...edit });
      const before = process.memoryUsage().arrayBuffers;
      const t0 = performance.now();
      loadFails(dir, /config\.json describes [\d,]+ parameters but the weights hold only [\d,]+ values: the config does not belong to these weights/);
      assert.ok(performance.now() - t0 < 1000, "refused at once");
      assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 24, "nothing big was allocated");
    }
    assert.throws(() => loadModel(folder(sd, "weights.safetensors", { ...CONFIG, num_self_attention_layers: 1_000_000 }), referenceBackend), /must be an integer in \[0, 1024\]/);
    // A config that fits no machine is refused with the estimate, before the weights are opened.
    const huge = folder(sd, "weights.safetensors", { ...CONFIG, num_channels: 32768, num_heads: 8, num_self_attention_layers: 1024 });
    assert.throws(() => loadModel(huge, referenceBackend), /model config does not fit: .* more than this machine's memory/);
  });

  it("hub keys nobody uses are ignored with one line naming them", () => {
    const dir = fresh();
    saveModel(model, dir, { format: "hf" });
    const cfgFile = path.join(dir, "config.json");
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, "utf8")), use_cache: true, _name_or_path: "x" }));
    const lines: string[] = [];
    loadPretrained(dir, referenceBackend, { log: (l) => lines.push(l) });
    // A key given twice (JSON.parse would keep the last) is ambiguous.
    const dupDir = fresh();
    saveModel(model, dupDir, { format: "hf" });
    const text = fs.readFileSync(path.join(dupDir, "config.json"), "utf8");
    fs.writeFileSync(path.join(dupDir, "config.json"), text.replace('"num_channels": 16', '"num_channels": 16, "num_channels": 32'));
    loadFails(dupDir, /duplicate key "num_channels" \(at "model_config"\)/);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /ignoring hub keys not used here: use_cache, _name_or_path/);
  });

  it("convert writes model.safetensors next to pytorch_model.bin; it loads to the same logits", () => {
    const g = loadGolden("hf-bin");
    const dir = fresh();
    fs.mkdirSync(dir);
    for (const f of ["config.json", "pytorch_model.bin"]) fs.copyFileSync(path.join(g.dir, f), path.join(dir, f));
    const lines: string[] = [];
    const out = convertFolder(dir, (l) => lines.push(l));
    assert.match(lines[0]!, /wrote .*model\.safetensors \(37 tensors/);
    const { tensors, metadata } = readSafetensorsFile(out);
    assert.deepEqual(metadata, { format: "pt" });
    assert.ok(tensors.has("backend_model.out_norm.weight"));
    const fromBin = loadModel(g.dir, referenceBackend);
    const fromSt = loadPretrained(dir, referenceBackend, { log: () => {} });
    assert.deepEqual(fromSt.weightFiles.map((f) => path.basename(f)), ["model.safetensors"]);
    assert.deepEqual(logits(fromSt.model), logits(fromBin));
    assert.throws(() => convertFolder(dir), /exists already/);
  });

  it("export --format hf through the CLI keeps the hub metadata and copies the tokenizer", () => {
    const src = fresh();
    saveModel(model, src, { format: "hf", tokenizerClass: "XLNetTokenizerFast" });
    fs.writeFileSync(path.join(src, "tokenizer.json"), "{}");
    const out = fresh();
    const r = runCli(["export", src, "--out", out]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(fs.readdirSync(out).sort(), ["config.json", "model.safetensors", "tokenizer.json"]);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8")).tokenizer_class, "XLNetTokenizerFast");
    assert.deepEqual(logits(loadModel(out, referenceBackend)), logits(model));
    const bad = runCli(["export", src, "--out", fresh(), "--format", "onnx"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--format must be hf or ours/);
  });
});
