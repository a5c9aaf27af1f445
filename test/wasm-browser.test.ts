// The wasm backend in a real browser (Chromium) through the package's browser bundle
// (dist/browser/perceiver-ar.js, its .wasm files beside it): `loadBestBackend()` on a cross-origin
// isolated page gives the threaded build with its helpers running and says nothing; on a page
// without the COOP/COEP headers (no SharedArrayBuffer) it gives the single-threaded build and
// says so exactly once, however often it is called. On both, a model's logits equal the reference
// backend's in the same page (1e-5) and the model's tensors live in the backend's memory.
// (The golden cases on the page's wasm backend are browser-golden.test.ts's.)

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";

import { PACKAGE_ROOT } from "../src/web/server.js";
import { browserSkip, CHROMIUM } from "./helpers/browser.js";
import { startIsolatedServer, type IsolatedServer } from "./helpers/isolated-server.js";

const skip = browserSkip();

interface PageReport {
  backend: string;
  crossOriginIsolated: boolean;
  info: { flavour: string; threads: number; helpersStarted: number; staging: { float32Bytes: number } } | null;
  warnings: string[];
  logitsError: number;
  parametersInStorage: boolean;
}

/** The page: load the best backend twice, compare a small model's logits with the reference backend. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>wasm backend</title>
<script type="module">
const warnings = [];
const warn = console.warn;
console.warn = (...a) => { warnings.push(a.join(" ")); warn(...a); };
try {
  const lib = await import("/dist/browser/perceiver-ar.js");
  const backend = await lib.loadBestBackend();
  await lib.loadBestBackend();
  const config = { vocab_size: 50, max_seq_len: 40, max_latents: 8, num_channels: 32, num_heads: 4, num_self_attention_layers: 2 };
  const ids = { data: Int32Array.from({ length: 2 * 40 }, (_, i) => (i * 7) % 50), shape: [2, 40] };
  const model = new lib.PerceiverAR(config, backend, { seed: 3 });
  const got = model.forward(ids).data;
  const want = new lib.PerceiverAR(config, lib.referenceBackend, { seed: 3 }).forward(ids).data;
  let logitsError = 0;
  for (let i = 0; i < want.length; i++) logitsError = Math.max(logitsError, Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  const parametersInStorage = [...model.parameters.values()].every((p) => backend.storage !== undefined && backend.storage.owns(p.data));
  if (lib.wasmBackendInfo()?.flavour === "threads") {
    const until = performance.now() + 10000;
    while (lib.wasmBackendInfo().helpersStarted < lib.wasmBackendInfo().threads - 1 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  }
  window.__report = { backend: backend.name, crossOriginIsolated, info: lib.wasmBackendInfo(), warnings, logitsError, parametersInStorage };
} catch (e) {
  window.__error = String(e && e.stack ? e.stack : e);
}
</script>`;

describe("the wasm backend in Chromium, threaded and single-threaded", { skip }, () => {
  let browser: Browser;
  const servers: IsolatedServer[] = [];
  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
  });
  after(async () => {
    await browser?.close();
    for (const s of servers) await s.close();
  });

  async function report(isolated: boolean): Promise<PageReport> {
    const server = await startIsolatedServer(PACKAGE_ROOT, ["dist/browser"], { "/": PAGE }, isolated);
    servers.push(server);
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => "__report" in window || "__error" in window, undefined, { timeout: 60_000 });
    const error = await page.evaluate(() => (window as unknown as { __error?: string }).__error);
    assert.equal(error, undefined, `the page failed: ${error}`);
    const r = await page.evaluate(() => (window as unknown as { __report: PageReport }).__report);
    await page.close();
    return r;
  }

  it("cross-origin isolated: the threaded build, every helper running, no notice; logits = reference (1e-5)", async () => {
    const r = await report(true);
    assert.equal(r.crossOriginIsolated, true);
    assert.equal(r.backend, "wasm");
    assert.equal(r.info?.flavour, "threads");
    assert.ok(r.info!.threads >= 2, `threads ${r.info!.threads}`);
    assert.equal(r.info!.helpersStarted, r.info!.threads - 1);
    assert.deepEqual(r.warnings, []);
    assert.ok(r.logitsError < 1e-5, `logits error ${r.logitsError}`);
    assert.ok(r.parametersInStorage, "the model's parameters are in the wasm memory");
    assert.equal(r.info!.staging.float32Bytes, 0, "the forward pass copied no tensor into the module");
  });

  it("not isolated (no SharedArrayBuffer): the single-threaded build, said once; logits = reference (1e-5)", async () => {
    const r = await report(false);
    assert.equal(r.crossOriginIsolated, false);
    assert.equal(r.backend, "wasm");
    assert.equal(r.info?.flavour, "single");
    assert.equal(r.info!.threads, 1);
    assert.equal(r.warnings.length, 1, `notices: ${JSON.stringify(r.warnings)}`);
    assert.match(r.warnings[0], /wasm backend runs single-threaded: SharedArrayBuffer is unavailable: the page is not cross-origin isolated/);
    assert.ok(r.logitsError < 1e-5, `logits error ${r.logitsError}`);
    assert.ok(r.parametersInStorage);
  });
});
