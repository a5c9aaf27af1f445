// The package bundles for the browser as a user's project would import it: a tiny entry doing
// `import { ... } from "perceiver-ar"` (resolved through package.json's exports, "browser"
// condition) is bundled with esbuild's JS API and with vite's build API; each must report zero
// errors and zero warnings, need no polyfills, and leave no `node:` (or bare Node built-in)
// import in the bundle. The same import in Node still resolves to the Node entry.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { PACKAGE_ROOT } from "../src/web/server.js";

/**
 * What the tiny app uses: a backend, a model, generation, safetensors, tokenizers, Blobs, the
 * training loop (TrainingLoop, TrainingSession), the tasks over data in memory (text, music,
 * images) and fromPretrained over the Cache API.
 */
const ENTRY = `import { getBackend, loadBestBackend, PerceiverAR, getPreset, generate, ByteTokenizer, HfTokenizer, saveModelToBlobs, loadModelFromFiles, parseSafetensors, TrainingSession, TrainingLoop, eventsToMidi, TextTaskCore, MusicTaskCore, ImageTaskCore, corpusFromText, fromPretrained, BrowserHubCache } from "perceiver-ar";
const backend = await loadBestBackend();
const model = new PerceiverAR(getPreset("tiny").model, getBackend());
const tok = new ByteTokenizer();
const ids = await generate(model, tok.encode("hi"), { maxNewTokens: 4 });
const files = saveModelToBlobs(model);
const text = new TextTaskCore({ task: "text" }, tok, corpusFromText("pasted", "some text ".repeat(100)));
const music = new MusicTaskCore({ task: "music" }, []);
const images = new ImageTaskCore({ task: "image", data: "drawn" }, undefined, { width: 4, height: 4, channels: 1 });
console.log(backend.name, tok.decode(ids), files.size, typeof loadModelFromFiles, typeof parseSafetensors, typeof HfTokenizer, typeof TrainingSession, typeof TrainingLoop, typeof eventsToMidi, text.metricName, music.metricName, images.tokensPerImage(), typeof fromPretrained, typeof BrowserHubCache);
`;

/** What the package's own browser bundle (dist/browser/perceiver-ar.js, the page's library) must export. */
const BROWSER_EXPORTS = ["TrainingLoop", "TrainingSession", "TextTaskCore", "MusicTaskCore", "ImageTaskCore", "imageShapeOfModel", "fromPretrained", "BrowserHubCache", "loadModelFromUrl", "loadBestBackend"];

const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith("_")));

/** Import specifiers left in a bundle that Node provides and browsers do not. */
function nodeImports(code: string): string[] {
  const specs = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g)].map((m) => m[1]!);
  return specs.filter((s) => s.startsWith("node:") || NODE_BUILTINS.has(s.split("/")[0]!));
}

describe("the package bundles for the browser", () => {
  let app: string;
  before(() => {
    // A user's project: package.json, the entry, and node_modules/perceiver-ar -> this package.
    app = fs.mkdtempSync(path.join(os.tmpdir(), "perceiver-ar-bundle-"));
    fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    fs.writeFileSync(path.join(app, "main.js"), ENTRY);
    fs.writeFileSync(path.join(app, "index.html"), `<!doctype html><script type="module" src="./main.js"></script>`);
    fs.mkdirSync(path.join(app, "node_modules"));
    fs.symlinkSync(PACKAGE_ROOT, path.join(app, "node_modules", "perceiver-ar"), "dir");
  });
  after(() => fs.rmSync(app, { recursive: true, force: true }));

  it("esbuild (JS API, platform browser): no errors, no warnings, no node: imports", async () => {
    const esbuild = await import("esbuild");
    const r = await esbuild.build({ absWorkingDir: app, entryPoints: ["main.js"], bundle: true, platform: "browser", format: "esm", target: "es2022", write: false, logLevel: "silent", metafile: true });
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    const inputs = Object.keys(r.metafile.inputs);
    assert.ok(inputs.some((f) => f.includes("index.browser.js")), `the browser entry was not used: ${inputs.filter((f) => f.includes("perceiver-ar")).slice(0, 5).join(", ")}`);
    assert.deepEqual(nodeImports(r.outputFiles[0]!.text), []);
  });

  it("vite (build API): no errors, no warnings, no node: imports", async () => {
    const vite = await import("vite");
    const warnings: string[] = [];
    const logger = vite.createLogger("warn", { allowClearScreen: false });
    const customLogger = { ...logger, warn: (msg: string) => void warnings.push(msg), warnOnce: (msg: string) => void warnings.push(msg), error: (msg: string) => void warnings.push(`error: ${msg}`), info: () => {} };
    const out = path.join(app, "dist");
    await vite.build({
      root: app,
      configFile: false,
      logLevel: "warn",
      customLogger,
      build: { outDir: out, emptyOutDir: true, target: "es2022", rolldownOptions: { onwarn: (w: { message: string }) => void warnings.push(w.message) } } as Record<string, unknown>,
    });
    assert.deepEqual(warnings, []);
    const js = fs.readdirSync(path.join(out, "assets")).filter((f) => f.endsWith(".js"));
    assert.ok(js.length > 0, "vite wrote no JavaScript");
    for (const f of js) assert.deepEqual(nodeImports(fs.readFileSync(path.join(out, "assets", f), "utf8")), [], f);
  });

  it("the package's browser bundle exports the training loop, the tasks and fromPretrained, and imports nothing of Node", async () => {
    const file = path.join(PACKAGE_ROOT, "dist", "browser", "perceiver-ar.js");
    assert.deepEqual(nodeImports(fs.readFileSync(file, "utf8")), []);
    const lib = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    assert.deepEqual(BROWSER_EXPORTS.filter((name) => typeof lib[name] !== "function"), [], "missing from the browser bundle");
  });

  it("in Node the same import resolves to the Node entry (native backend, files on disk)", () => {
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", `import * as p from "perceiver-ar"; console.log(typeof p.loadModel, typeof p.Trainer, typeof p.setThreads, typeof p.loadModelFromFiles);`], { cwd: app, encoding: "utf8" });
    assert.equal(out.trim(), "function function function undefined");
  });
});
