// The golden hub folder ../shared/golden/hf-bin (config.json as transformers' save_pretrained
// writes it, weights only in pytorch_model.bin, names prefixed backend_model.) loads as it is and
// computes the reference's logits on every backend; the same model sharded into two .bin files
// (test/fixtures/torch/sharded, made by test/fixtures-src/make_torch_fixtures.py) loads the same.

import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import type { Backend } from "../src/backend/backend.js";
import { loadNativeBackend } from "../src/backend/native/index.js";
import { loadPretrained } from "../src/io/checkpoint.js";
import { loadGolden, maxMixedError, REPO_ROOT } from "./helpers/golden.js";

const native = loadNativeBackend();
const backends: Backend[] = native === null ? [referenceBackend] : [referenceBackend, native];
const golden = loadGolden("hf-bin");
const f = golden.forward;
const ids = f.get("input_ids")!;
const [B, N] = ids.shape as [number, number];
const batch = { data: ids.data as Int32Array, shape: [B, N] as const };
const opts = { prefixLen: golden.meta.prefix_len, padMask: f.get("pad_mask")!.data as Uint8Array };
const want = f.get("logits")!;

for (const backend of backends) {
  describe(`golden hf-bin on ${backend.name}`, () => {
    it("the hub folder loads from pytorch_model.bin and its logits match within 1e-4", () => {
      const lines: string[] = [];
      const loaded = loadPretrained(golden.dir, backend, { log: (l) => lines.push(l) });
      assert.deepEqual(loaded.weightFiles.map((p) => path.basename(p)), ["pytorch_model.bin"]);
      assert.equal(loaded.configJson.hub?.modelType, "perceiver-ar-causal-language-model");
      assert.equal(loaded.configJson.hub?.tokenizerClass, "XLNetTokenizerFast");
      assert.equal(loaded.model.config.numSelfAttentionRotaryLayers, 1);
      assert.deepEqual(lines, [], "no hub key of this config.json is unknown");
      const logits = loaded.model.forward(batch, opts);
      assert.deepEqual(logits.shape, want.shape);
      const err = maxMixedError(logits.data, want.data as Float32Array);
      console.log(`# golden hf-bin ${backend.name}: max logits error ${err.toExponential(2)}`);
      assert.ok(err <= 1e-4, `logits error ${err}`);
    });

    it("the same model in two .bin shards with an index loads and matches", () => {
      const dir = path.join(REPO_ROOT, "test/fixtures/torch/sharded");
      const loaded = loadPretrained(dir, backend);
      assert.equal(loaded.weightFiles.length, 2);
      const err = maxMixedError(loaded.model.forward(batch, opts).data, want.data as Float32Array);
      assert.ok(err <= 1e-4, `logits error ${err}`);
    });
  });
}
