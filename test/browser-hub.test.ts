// fromPretrained in a real browser (Chromium), against a local fake hub on 127.0.0.1
// (test/helpers/fake-hub.ts: the hub's URL layout and headers, LFS files redirected to a CDN of
// another origin, CORS) from the page, which is cross-origin isolated (COEP): the Generate tab's hub
// box downloads a model into the Cache API with progress and gives the logits Node gives; a second
// load is a cache hit (HEAD requests only; offline, none at all); an interrupted download resumes
// with an HTTP Range from the bytes kept in the cache; bytes whose sha256 is not the hub's are
// refused and nothing of them is kept.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { saveModel } from "../src/io/checkpoint.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { browserSkip, openPage, type BrowserPage } from "./helpers/browser.js";
import { startFakeHub, type FakeHub } from "./helpers/fake-hub.js";

const skip = browserSkip();
const COMMIT = "89abcdef0123456789abcdef0123456789abcdef";
const REPO = "tester/browser-tiny";
const CONFIG = { vocab_size: 262, max_seq_len: 16, max_latents: 4, num_channels: 16, num_heads: 2, num_self_attention_layers: 1, abs_pos_emb: false, output_norm: true, output_bias: false };
/** A tokenizer of exactly the model's 262 ids, so the page has a text model it can generate with. */
const TOKENIZER = JSON.stringify({
  version: "1.0",
  pre_tokenizer: { type: "Whitespace" },
  model: { type: "WordLevel", unk_token: "[UNK]", vocab: Object.fromEntries(["[UNK]", ...Array.from({ length: 261 }, (_, i) => `w${i}`)].map((w, i) => [w, i])) },
});
const IDS = [5, 9, 1, 200, 33, 7, 7, 12, 40, 2];
/** Logits of the page (whatever backend it has) against the reference backend in Node. */
const LOGITS_TOLERANCE = 1e-5;

describe("fromPretrained in the browser from a local fake hub", { skip }, () => {
  let b: BrowserPage;
  let hub: FakeHub;
  let source: PerceiverAR;
  let weights: Uint8Array;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "browser-hub-"));
  const ref = () => `${hub.endpoint}/${REPO}`;
  const load = (cacheName: string, extra: Record<string, unknown> = {}) => b.call<{ parameters: number }>({ kind: "load-hub", slot: "text", ref: ref(), cacheName, ...extra });
  const keys = (cacheName: string) => b.call<string[]>({ kind: "cache-keys", cacheName });
  const assertLogits = async () => {
    const r = await b.call<{ logits: number[] }>({ kind: "slot-logits", slot: "text", ids: IDS });
    const want = source.forward([IDS]).data;
    assert.equal(r.logits.length, want.length);
    const err = Math.max(...r.logits.map((x, i) => Math.abs(x - want[i]!)));
    assert.ok(err <= LOGITS_TOLERANCE, `logits differ by ${err}`);
  };

  before(async () => {
    source = new PerceiverAR(CONFIG, referenceBackend, { seed: 8 });
    const dir = path.join(tmp, "model");
    saveModel(source, dir, { format: "hf" });
    const files = new Map(fs.readdirSync(dir).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]));
    files.set("tokenizer.json", new TextEncoder().encode(TOKENIZER));
    weights = files.get("model.safetensors")!;
    hub = await startFakeHub({ [REPO]: { commit: COMMIT, files } });
    b = await openPage();
  });
  after(async () => {
    await b?.close();
    await hub?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("the Generate tab's hub box downloads into the Cache API with progress and gives Node's logits", async () => {
    await b.page.click("nav button[data-tab=generate]");
    await b.page.fill("#gen-hub", ref());
    await b.page.click("#gen-load-hub");
    await b.page.waitForFunction(() => !["no model", "downloading…"].includes(document.querySelector("#gen-model")?.textContent ?? ""), null, { timeout: 30_000 });
    const shown = (await b.page.textContent("#gen-model")) ?? "";
    assert.match(shown, new RegExp(`${source.numParameters.toLocaleString("en-US")} parameters.*tokenizer hf`), shown);
    await b.page.waitForFunction(() => (document.querySelector("#gen-hub-progress")?.textContent ?? "").includes("model.safetensors ✓"), null, { timeout: 5_000 });
    await assertLogits();
    // The hub's tokenizer.json came along: the tab generates text with it.
    await b.page.fill("#gen-prompt", "w5 w9 w1");
    await b.page.fill("#gen-settings input[type=number]", "5");
    await b.page.click("#gen-start");
    await b.page.waitForFunction(() => (window as unknown as { perceiverArPage: { log: { text: unknown[] } } }).perceiverArPage.log.text.length >= 5, null, { timeout: 30_000 });
    const cached = await keys("perceiver-ar-hub");
    const repoKey = "models--tester--browser-tiny";
    assert.ok(cached.some((k) => k.endsWith(`${repoKey}/refs/main`)), cached.join("\n"));
    assert.ok(cached.some((k) => k.endsWith(`${repoKey}/snapshots/${COMMIT}/model.safetensors`)));
    assert.ok(cached.some((k) => /\/blobs\/[0-9a-f]{64}$/.test(k)), "the weights' blob is named by its sha256");
    assert.ok(cached.some((k) => k.endsWith(`.no_exist/${COMMIT}/tokenizer_config.json`)), "a 404 of an optional file is remembered");
    // Files after config.json come from its commit; LFS files from the CDN of another origin.
    assert.ok(hub.requests.some((r) => r.server === "hub" && r.path === `/${REPO}/resolve/${COMMIT}/model.safetensors`));
    assert.ok(hub.requests.some((r) => r.server === "cdn" && r.method === "GET"));
  });

  it("a second load is a cache hit: HEAD requests only, and offline no request at all", async () => {
    const mark = hub.requests.length;
    await load("perceiver-ar-hub");
    const since = hub.requests.slice(mark);
    assert.ok(since.length > 0 && since.every((r) => r.method === "HEAD"), JSON.stringify(since));
    const n = hub.requests.length;
    await load("perceiver-ar-hub", { offline: true });
    assert.equal(hub.requests.length, n, "offline: no request");
    await assertLogits();
    await assert.rejects(load("empty-cache", { offline: true }), /offline .* no copy/);
  });

  it("resumes an interrupted download with an HTTP Range from the bytes kept in the cache", async () => {
    hub.dropAfter("model.safetensors", 1000);
    const err = await load("resume", { retries: 0 }).then(() => null, (e: Error) => e.message);
    const kept = Number(/download interrupted.*; (\d+) bytes are kept/.exec(err ?? "")?.[1]);
    assert.ok(kept > 0 && kept <= 1000, `error: ${err}`);
    assert.ok((await keys("resume")).some((k) => k.endsWith(".incomplete/0")), "the part that arrived is in the cache");
    const mark = hub.requests.length;
    await load("resume");
    assert.ok(hub.requests.slice(mark).some((r) => r.server === "cdn" && r.range === `bytes=${kept}-`), JSON.stringify(hub.requests.slice(mark)));
    await assertLogits();
    assert.deepEqual((await keys("resume")).filter((k) => k.includes(".incomplete")), [], "the parts are gone once the blob is whole");
  });

  it("refuses bytes whose sha256 is not the hub's, and keeps nothing of them", async () => {
    const bad = weights.slice();
    bad[bad.length - 1] ^= 1;
    hub.corrupt("model.safetensors", bad);
    try {
      await assert.rejects(load("corrupt"), /model\.safetensors: download is corrupt \(sha256 [0-9a-f]{64}, the hub says [0-9a-f]{64}\)/);
    } finally {
      hub.corrupt("model.safetensors", weights);
    }
    const left = await keys("corrupt");
    assert.deepEqual(left.filter((k) => /\/blobs\/[0-9a-f]{64}/.test(k)), [], left.join("\n"));
  });
});
