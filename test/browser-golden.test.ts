// In a real browser (Chromium), inside the page's worker, on the backend the browser gives
// (loadBestBackend): the golden cases' logits within 1e-4 and every gradient within 1e-3 of the
// reference PyTorch numbers, and a freshly initialised model's logits equal to the reference
// backend's in Node within 1e-5. The page computes; the comparisons are made here.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { getPreset } from "../src/models/presets.js";
import { Rng } from "../src/util/rng.js";
import { browserSkip, openPage, type BrowserPage } from "./helpers/browser.js";
import { GOLDEN_ROOT, loadGolden, maxMixedError, maxScaledError } from "./helpers/golden.js";
import { REQUIRE_WASM_ENV } from "./helpers/wasm.js";

const skip = browserSkip();
/** In CI (PERCEIVER_AR_REQUIRE_WASM=1) the page must compute on wasm, not fall back to the reference backend. */
const requireWasm = process.env[REQUIRE_WASM_ENV] === "1";
const assertPageBackend = (backend: string): void => {
  if (requireWasm) assert.equal(backend, "wasm", `${REQUIRE_WASM_ENV}=1 but the page computed on ${backend}`);
};
const cases = fs
  .readdirSync(GOLDEN_ROOT)
  .filter((d) => ["config.json", "weights.safetensors", "forward.safetensors", "meta.json"].every((f) => fs.existsSync(path.join(GOLDEN_ROOT, d, f))))
  .sort();

interface ForwardBackward {
  backend: string;
  logits: number[];
  logitsShape: number[];
  loss: number;
  grads: Record<string, number[]>;
}

describe("golden cases in the browser", { skip }, () => {
  let b: BrowserPage;
  before(async () => {
    b = await openPage();
  });
  after(async () => b?.close());

  it("the browser bundle's getBackend() works where there is no process object", async () => {
    const r = await b.page.evaluate(async () => {
      const lib = (await import(new URL("/perceiver-ar.js", location.href).href)) as { getBackend(): { name: string } };
      return { hasProcess: typeof (globalThis as { process?: unknown }).process !== "undefined", backend: lib.getBackend().name };
    });
    assert.equal(r.hasProcess, false);
    assert.ok(["reference", "wasm"].includes(r.backend), `getBackend() in the page gave ${r.backend}`);
  });

  it("finds the golden cases", () => assert.ok(cases.length >= 3, `golden cases in ${GOLDEN_ROOT}: ${cases.join(", ")}`));

  for (const name of cases) {
    it(`${name}: logits within 1e-4, loss and every gradient within 1e-3`, async () => {
      const golden = loadGolden(name);
      const f = golden.forward;
      const ids = f.get("input_ids")!;
      const r = await b.call<ForwardBackward>({
        kind: "forward-backward",
        url: `/golden/${name}/`,
        ids: Array.from(ids.data as Int32Array),
        shape: ids.shape,
        labels: Array.from(f.get("labels")!.data as Int32Array),
        padMask: Array.from(f.get("pad_mask")!.data as Uint8Array),
        prefixLen: golden.meta.prefix_len,
      });
      assertPageBackend(r.backend);
      const want = f.get("logits")!;
      assert.deepEqual(r.logitsShape, want.shape);
      const err = maxMixedError(r.logits, want.data as Float32Array);
      assert.ok(err < 1e-4, `logits error ${err}`);
      const wantLoss = (f.get("loss")!.data as Float32Array)[0]!;
      assert.ok(Math.abs(r.loss - wantLoss) / Math.max(1, Math.abs(wantLoss)) < 1e-4, `loss ${r.loss} vs ${wantLoss}`);
      const gradNames = [...f.keys()].filter((k) => k.startsWith("grad/"));
      assert.equal(Object.keys(r.grads).length, gradNames.length);
      let worst = 0;
      for (const g of gradNames) {
        const got = r.grads[g.slice("grad/".length)];
        assert.ok(got, `the page returned no gradient for ${g}`);
        const e = maxScaledError(got, f.get(g)!.data as Float32Array);
        assert.ok(e < 1e-3, `${g}: gradient error ${e}`);
        worst = Math.max(worst, e);
      }
      console.log(`# browser golden ${name} on ${r.backend}: logits error ${err.toExponential(2)}, worst gradient error ${worst.toExponential(2)}`);
    });
  }

  it("a model of the same config and seed gives the reference backend's logits in Node (1e-5)", async () => {
    const config = { ...getPreset("tiny").model };
    const rng = new Rng(7);
    const [B, N] = [2, 48];
    const ids = Array.from({ length: B * N }, () => rng.nextInt(config.vocabSize!));
    const r = await b.call<{ backend: string; logits: number[]; shape: number[] }>({ kind: "init-logits", config, seed: 11, ids, shape: [B, N] });
    const node = new PerceiverAR(config, referenceBackend, { seed: 11 }).forward({ data: Int32Array.from(ids), shape: [B, N] });
    assertPageBackend(r.backend);
    assert.deepEqual(r.shape, node.shape);
    const err = maxMixedError(r.logits, node.data);
    console.log(`# browser (${r.backend}) vs Node reference: max logits error ${err.toExponential(2)}`);
    assert.ok(err <= 1e-5, `logits differ by ${err}`);
  });
});
