// The browser entry's model folders, run in Node (Blob, File and fetch are the same web APIs):
// saveModelToBlobs -> loadModelFromFiles gives identical weights; a golden folder served on
// 127.0.0.1 loads with loadModelFromUrl and gives the golden logits; the folder rules of
// model-folder.ts (ambiguity, missing weights) hold for dropped files too.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { loadModelFromFiles, loadModelFromUrl, saveModelToBlobs } from "../src/browser/model-io.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { getPreset } from "../src/models/presets.js";
import { startWebServer, type WebServer } from "../src/web/server.js";
import { GOLDEN_ROOT, loadGolden, maxMixedError } from "./helpers/golden.js";

describe("browser model folders", () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer({ port: 0, roots: [GOLDEN_ROOT], mounts: { "/golden/": GOLDEN_ROOT } });
  });
  after(async () => server?.close());

  it("saveModelToBlobs -> loadModelFromFiles (Blobs, Files, ArrayBuffers) keeps every weight", async () => {
    const model = new PerceiverAR(getPreset("tiny").model, referenceBackend, { seed: 4 });
    const blobs = saveModelToBlobs(model);
    assert.deepEqual([...blobs.keys()], ["config.json", "weights.safetensors"]);
    const files = [...blobs].map(([name, blob]) => new File([blob], `my-run/${name}`));
    const buffers = new Map(await Promise.all([...blobs].map(async ([n, b]) => [n, await b.arrayBuffer()] as [string, ArrayBuffer])));
    for (const input of [blobs, files, buffers]) {
      const { model: back } = await loadModelFromFiles(input, referenceBackend);
      for (const [name, v] of model.parameters) assert.deepEqual(back.parameters.get(name)!.data, v.data, name);
    }
    const hub = saveModelToBlobs(model, { format: "hf" });
    assert.deepEqual([...hub.keys()], ["config.json", "model.safetensors"]);
    const { model: fromHub } = await loadModelFromFiles(hub, referenceBackend);
    for (const [name, v] of model.parameters) assert.deepEqual(fromHub.parameters.get(name)!.data, v.data, name);
  });

  it("loadModelFromUrl loads a golden folder from a local server and gives its logits", async () => {
    const golden = loadGolden("rot");
    const { model, weightFiles } = await loadModelFromUrl(new URL("/golden/rot", server.url).href, referenceBackend);
    assert.deepEqual(weightFiles.map((f) => path.basename(f)), ["weights.safetensors"]);
    const f = golden.forward;
    const ids = f.get("input_ids")!;
    const logits = model.forward({ data: ids.data as Int32Array, shape: [ids.shape[0]!, ids.shape[1]!] }, { prefixLen: golden.meta.prefix_len, padMask: f.get("pad_mask")!.data as Uint8Array });
    assert.ok(maxMixedError(logits.data, f.get("logits")!.data as Float32Array) < 1e-4);
  });

  it("loadModelFromUrl reads a pytorch_model.bin hub folder and names a missing folder's URL and status", async () => {
    if (fs.existsSync(path.join(GOLDEN_ROOT, "hf-bin", "pytorch_model.bin"))) {
      const { weightFiles } = await loadModelFromUrl(new URL("/golden/hf-bin/", server.url).href, referenceBackend, { log: () => {} });
      assert.deepEqual(weightFiles.map((w) => path.basename(w)), ["pytorch_model.bin"]);
    }
    await assert.rejects(loadModelFromUrl(new URL("/golden/nothing-here/", server.url).href, referenceBackend), /nothing-here\/config\.json: HTTP 404/);
  });

  it("dropped files follow the folder rules: two weight files are ambiguous, none is an error", async () => {
    const blobs = saveModelToBlobs(new PerceiverAR(getPreset("tiny").model, referenceBackend, { seed: 1 }));
    const both = new Map([...blobs, ["model.safetensors", blobs.get("weights.safetensors")!]]);
    await assert.rejects(loadModelFromFiles(both, referenceBackend), /ambiguous/);
    await assert.rejects(loadModelFromFiles(new Map([["config.json", blobs.get("config.json")!]]), referenceBackend), /no weights in dropped files/);
    await assert.rejects(loadModelFromFiles([new File(["{}"], "a/config.json"), new File(["{}"], "b/config.json")], referenceBackend), /two files are named config\.json/);
  });
});
