// fromPretrained against a local fake hub (test/helpers/fake-hub.ts) on 127.0.0.1, never the real
// hub: downloads with the hub's URL layout, redirects to a CDN of another origin (the token stays
// with the hub), 404s for optional files, the huggingface_hub cache layout, reuse of the cache,
// offline mode, resume of an interrupted download with Range, refusal of corrupt bytes, URLs as
// model references, and the CLI taking a hub id.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { referenceBackend } from "../src/backend/reference/index.js";
import { saveModel } from "../src/io/checkpoint.js";
import { DiskHubCache } from "../src/hub/disk-cache.js";
import { fromPretrained, resolveModelFolder } from "../src/hub/from-pretrained.js";
import { HubError, parseModelRef } from "../src/hub/model-ref.js";
import type { DownloadProgress } from "../src/hub/download.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { startFakeHub, type FakeHub } from "./helpers/fake-hub.js";
import { CLI } from "./helpers/cli.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const REPO = "tester/tiny-perceiver";
const CONFIG = { vocab_size: 260, max_seq_len: 16, max_latents: 4, num_channels: 16, num_heads: 2, num_self_attention_layers: 1, abs_pos_emb: false, output_norm: true, output_bias: false };
const TOKENIZER = new TextEncoder().encode(JSON.stringify({ version: "1.0", model: { type: "WordLevel", vocab: { a: 0 } } }));
/** The CLI model's own tokenizer: exactly its 260 ids (sample refuses a tokenizer that does not match the vocabulary). */
const CLI_TOKENIZER = new TextEncoder().encode(
  JSON.stringify({
    version: "1.0",
    pre_tokenizer: { type: "Whitespace" },
    model: { type: "WordLevel", unk_token: "[UNK]", vocab: Object.fromEntries(["[UNK]", "ab", ...Array.from({ length: 258 }, (_, i) => `w${i}`)].map((w, i) => [w, i])) },
  }),
);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hub-test-"));
const source = new PerceiverAR(CONFIG, referenceBackend, { seed: 3 });
let hub: FakeHub;
let files: Map<string, Uint8Array>;
const ids = [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]];

function readFolder(dir: string): Map<string, Uint8Array> {
  return new Map(fs.readdirSync(dir).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, f)))]));
}

before(async () => {
  const dir = path.join(tmp, "source");
  saveModel(source, dir, { format: "hf" });
  files = readFolder(dir);
  files.set("tokenizer.json", TOKENIZER);
  hub = await startFakeHub({ [REPO]: { commit: COMMIT, files }, "tester/cli-model": { commit: COMMIT, files: new Map([...readFolder(dir), ["tokenizer.json", CLI_TOKENIZER]]) } });
});
after(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const newCache = (name: string) => new DiskHubCache(path.join(tmp, name));

describe("fromPretrained from a local fake hub", () => {
  it("downloads config, weights and tokenizer into the huggingface_hub layout and loads the model", async () => {
    const cache = newCache("cache-a");
    const progress: DownloadProgress[] = [];
    const loaded = await fromPretrained(REPO, referenceBackend, { endpoint: hub.endpoint, cache, token: "secret", onProgress: (p) => progress.push(p) });
    assert.deepEqual(Array.from(loaded.model.forward(ids).data), Array.from(source.forward(ids).data));
    const repoDir = path.join(cache.root, "models--tester--tiny-perceiver");
    assert.equal(fs.readFileSync(path.join(repoDir, "refs", "main"), "utf8"), COMMIT);
    const weights = path.join(repoDir, "snapshots", COMMIT, "model.safetensors");
    assert.ok(fs.lstatSync(weights).isSymbolicLink());
    assert.match(fs.readlinkSync(weights), /^\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
    assert.equal(loaded.tokenizerFile, path.join(repoDir, "snapshots", COMMIT, "tokenizer.json"));
    assert.ok(fs.existsSync(path.join(repoDir, ".no_exist", COMMIT, "tokenizer_config.json")), "404 of an optional file is remembered");
    assert.ok(progress.some((p) => p.file === "model.safetensors" && p.done && p.total === files.get("model.safetensors")!.length));
    // The token goes to the hub, never to the CDN of another origin.
    const cdn = hub.requests.filter((r) => r.server === "cdn");
    assert.ok(cdn.length > 0 && cdn.every((r) => r.authorization === undefined));
    assert.ok(hub.requests.filter((r) => r.server === "hub").every((r) => r.authorization === "Bearer secret"));
  });

  it("reuses the cache (HEAD only), and works offline without any request", async () => {
    const cache = newCache("cache-b");
    await resolveModelFolder(REPO, { endpoint: hub.endpoint, cache });
    const before = hub.requests.length;
    await resolveModelFolder(REPO, { endpoint: hub.endpoint, cache });
    assert.ok(hub.requests.slice(before).every((r) => r.method === "HEAD"), "a cached file is not downloaded again");
    const n = hub.requests.length;
    const dir = await resolveModelFolder(REPO, { endpoint: hub.endpoint, cache, offline: true });
    assert.equal(hub.requests.length, n);
    assert.ok(fs.existsSync(path.join(dir, "model.safetensors")));
    await assert.rejects(resolveModelFolder(REPO, { endpoint: hub.endpoint, cache: newCache("empty"), offline: true }), /offline .* no copy/);
  });

  it("resumes an interrupted download with an HTTP Range, within a call and across calls", async () => {
    const size = files.get("model.safetensors")!.length;
    hub.dropAfter("model.safetensors", 1000);
    const cache = newCache("cache-c");
    await assert.rejects(resolveModelFolder(REPO, { endpoint: hub.endpoint, cache, retries: 0 }), /download interrupted.*1000 bytes are kept/);
    const blobs = path.join(cache.root, "models--tester--tiny-perceiver", "blobs");
    const partial = fs.readdirSync(blobs).find((f) => f.endsWith(".incomplete"))!;
    assert.equal(fs.statSync(path.join(blobs, partial)).size, 1000);
    const mark = hub.requests.length;
    await resolveModelFolder(REPO, { endpoint: hub.endpoint, cache });
    assert.ok(hub.requests.slice(mark).some((r) => r.server === "cdn" && r.range === "bytes=1000-"));
    assert.equal(fs.statSync(path.join(blobs, partial.replace(".incomplete", ""))).size, size);
    // Within one call: the connection breaks twice, the retries resume.
    hub.dropAfter("model.safetensors", 500, 2);
    const loaded = await fromPretrained(REPO, referenceBackend, { endpoint: hub.endpoint, cache: newCache("cache-d") });
    assert.deepEqual(Array.from(loaded.model.forward(ids).data), Array.from(source.forward(ids).data));
  });

  it("refuses bytes whose sha256 is not the hub's, and keeps nothing", async () => {
    const good = files.get("model.safetensors")!;
    const bad = good.slice();
    bad[bad.length - 1] ^= 1;
    hub.corrupt("model.safetensors", bad);
    const cache = newCache("cache-e");
    try {
      await assert.rejects(resolveModelFolder(REPO, { endpoint: hub.endpoint, cache }), (e: unknown) => e instanceof HubError && /download is corrupt \(sha256 [0-9a-f]{64}, the hub says/.test(e.message));
    } finally {
      hub.corrupt("model.safetensors", good);
    }
    const blobs = path.join(cache.root, "models--tester--tiny-perceiver", "blobs");
    assert.deepEqual(fs.readdirSync(blobs).filter((f) => f.length === 64), [], "no corrupt blob is stored");
  });

  it("takes URLs and ids with a revision; refuses malformed ids and missing repos", async () => {
    const dir = await resolveModelFolder(`${hub.endpoint}/${REPO}/tree/${COMMIT}`, { cache: newCache("cache-f") });
    assert.ok(dir.endsWith(path.join("snapshots", COMMIT)));
    assert.deepEqual(parseModelRef("org/name@v1.0"), { repo: "org/name", revision: "v1.0" });
    assert.throws(() => parseModelRef("../etc/passwd"), HubError);
    assert.throws(() => parseModelRef("a/b/c"), HubError);
    assert.throws(() => parseModelRef("org/name@../x"), HubError);
    await assert.rejects(resolveModelFolder("tester/nope", { endpoint: hub.endpoint, cache: newCache("cache-g") }), /answered 401.*HF_TOKEN/);
    await assert.rejects(resolveModelFolder(`${REPO}@nobranch`, { endpoint: hub.endpoint, cache: newCache("cache-g") }), /config.json: not found/);
  });

  it("the CLI samples from and describes a hub id (HF_ENDPOINT, HF_HUB_CACHE)", async () => {
    const env = { ...process.env, PERCEIVER_AR_BACKEND: "reference", HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: path.join(tmp, "cli-cache") };
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(process.execPath, [CLI, ...args], { env, encoding: "utf8" }, (e, out, err) => resolve({ code: e === null ? 0 : ((e as { code?: number }).code ?? 1), out, err }));
      });
    const s = await run(["sample", "tester/cli-model", "--prompt", "ab", "-n", "3", "--temperature", "0"]);
    assert.equal(s.code, 0, s.err);
    const info = await run(["info", "tester/cli-model"]);
    assert.equal(info.code, 0, info.err);
    assert.match(info.out, new RegExp(`parameters: +${source.numParameters.toLocaleString("en-US")}`));
  });
});
