// Benchmark: the model of `npm start` (the text-small preset) in Chromium, inside the page's
// worker on the backend the browser gives (loadBestBackend: the wasm backend where WebAssembly
// SIMD runs), next to Node on the native backend measured right after:
//   - training-step time (batch 8, random byte windows, one warm-up step, then --steps steps);
//   - generation tokens/s and time to first token (a 512-byte prompt, 64 new tokens);
//   - GEMM GFLOP/s of the wasm backend vs tfjs-backend-wasm in one page (bench/wasm-gemm.ts).
// Validated before any speed is printed: a fresh model's logits in the page equal the reference
// backend's in Node (1e-5), and the page's training losses equal Node's native losses for the same
// model, data and seed (1e-4).
// Writes bench/results/browser.md.
//
// Usage: node dist/bench/browser.js [--steps 3] [--batch-size 8] [--tokens 64]
// Needs Chromium (/usr/bin/chromium or PERCEIVER_AR_CHROMIUM) and `npm run build`.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { referenceBackend } from "../src/backend/reference/index.js";
import { getBackend } from "../src/backend/select.js";
import { generate } from "../src/generate/generate.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { getPreset } from "../src/models/presets.js";
import { Rng } from "../src/util/rng.js";
import { timeTrainingSteps } from "../src/web/worker/compute-services.js";
import { browserSkip, openPage } from "../test/helpers/browser.js";
import { machineDescription, markdownTable, median } from "./harness.js";
import { measureWasmGemm } from "./wasm-gemm.js";
import { maxAbsOrRelError, requireClose, TOLERANCE, ValidationError } from "./validate.js";

const { values } = parseArgs({ options: { steps: { type: "string", default: "3" }, "batch-size": { type: "string", default: "8" }, tokens: { type: "string", default: "64" } } });
const STEPS = Number(values.steps);
const BATCH = Number(values["batch-size"]);
const NEW_TOKENS = Number(values.tokens);
const PRESET = "text-small";
const SEED = 0;
const PROMPT_BYTES = 512;
/** In-page vs Node reference logits of the same model: the same code on the same numbers. */
const PARITY_TOLERANCE = 1e-5;

const PROMPT = "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife. ".repeat(8).slice(0, PROMPT_BYTES);

async function main(): Promise<void> {
  const skip = browserSkip();
  if (skip !== false) throw new Error(`cannot run: ${skip}`);
  const b = await openPage();
  try {
    const hello = await b.call<{ backend: string; crossOriginIsolated: boolean; wasm: { flavour: string; threads: number } | null }>({ kind: "hello" });
    console.log(`page backend: ${hello.backend}${hello.wasm ? ` (${hello.wasm.flavour} build, ${hello.wasm.threads} threads)` : ""}, crossOriginIsolated ${hello.crossOriginIsolated}; ${machineDescription()}`);

    // 1. Validate: the same model in the page and in Node (reference backend).
    const config = getPreset(PRESET).model as Record<string, unknown>;
    const rng = new Rng(5);
    const N = (config.maxSeqLen as number);
    const ids = Array.from({ length: N }, () => 2 + rng.nextInt(256));
    const page = await b.call<{ logits: number[] }>({ kind: "init-logits", config, seed: SEED, ids, shape: [1, N] });
    const node = new PerceiverAR(config, referenceBackend, { seed: SEED }).forward({ data: Int32Array.from(ids), shape: [1, N] });
    requireClose(maxAbsOrRelError(page.logits, node.data), PARITY_TOLERANCE, `${PRESET} logits in the page (${hello.backend}) vs the reference backend in Node`);

    // 2. Training steps: page, then Node native right after.
    const pageSteps = await b.call<{ seconds: number[]; losses: number[] }>({ kind: "time-steps", preset: PRESET, batchSize: BATCH, steps: STEPS, seed: SEED });
    const native = timeTrainingSteps(new PerceiverAR(getPreset(PRESET).model, getBackend("native"), { seed: SEED }), { batchSize: BATCH, steps: STEPS, seed: SEED });
    requireClose(maxAbsOrRelError(pageSteps.losses, native.losses), TOLERANCE.loss, `training losses in the page (${hello.backend}) vs Node native`);

    // 3. Generation: tokens/s and time to first token in the page; Node native for reference.
    await b.call({ kind: "random-model", slot: "text", preset: PRESET, seed: SEED });
    const gen = await b.call<{ tokens: number; ms: number; firstTokenMs: number; tokensPerSec: number }>({ kind: "generate", prompt: PROMPT, maxNewTokens: NEW_TOKENS, temperature: 1, topK: 0, topP: 1, maxLatents: 0, seed: SEED });
    const nodeModel = new PerceiverAR(config, getBackend("native"), { seed: SEED });
    const promptIds = Array.from(new TextEncoder().encode(PROMPT), (x) => x + 2);
    let nodeFirst = 0;
    const t0 = performance.now();
    const nodeTokens = await generate(nodeModel, promptIds, { maxNewTokens: NEW_TOKENS, seed: SEED, onToken: (_t, i) => void (i === 0 && (nodeFirst = performance.now() - t0)) });
    const nodeMs = performance.now() - t0;

    // 4. GEMM GFLOP/s of the wasm backend next to @tensorflow/tfjs-backend-wasm (SIMD + threads) in
    //    one page (bench/wasm-gemm.ts: its own isolated page, since tfjs is not in the package's
    //    bundle), and the native backend in Node right after, at the page's thread count.
    const gemm = await measureWasmGemm({ sizes: [256, 512, 1024], threadCounts: [hello.wasm?.threads ?? 2], seconds: 2 });
    const gemmRows: string[][] = gemm.rows.map((r) => [`GEMM ${r[0]}, ${r[1]} threads, GFLOP/s best (median): wasm / tfjs-wasm in one page`, `${r[2]} / ${r[3]}`, r[5], `${r[4]} tfjs, ${r[6]} native`]);

    const pageStep = median(pageSteps.seconds);
    const nativeStep = median(native.seconds);
    const rows = [
      [`training step, ${PRESET}, batch ${BATCH} (median of ${STEPS}, s)`, pageStep.toFixed(3), nativeStep.toFixed(3), `${(nativeStep / pageStep).toFixed(3)}× native`],
      [`generation, ${NEW_TOKENS} tokens after ${PROMPT_BYTES} (tokens/s)`, gen.tokensPerSec.toFixed(1), ((nodeTokens.length * 1000) / nodeMs).toFixed(1), `${(gen.tokensPerSec / ((nodeTokens.length * 1000) / nodeMs)).toFixed(3)}× native`],
      ["time to first token (ms)", gen.firstTokenMs.toFixed(0), nodeFirst.toFixed(0), ""],
      ...gemmRows,
    ];
    const table = markdownTable(["measure", `page (${hello.backend})`, "Node (native)", "page / Node"], rows);
    const report = [
      "# perceiver-ar in the browser",
      "",
      `Chromium (headless, Debian's), the page served by \`perceiver-ar web\`'s server, compute in its worker on \`loadBestBackend()\` = **${hello.backend}**, crossOriginIsolated ${hello.crossOriginIsolated}; Node on the native backend measured right after in the same run. ${machineDescription()} (shared machine: compare within this table only).`,
      "",
      `Validated first: ${PRESET} logits in the page = the reference backend in Node (≤ ${PARITY_TOLERANCE}); the page's training losses = Node native's for the same model, data and seed (≤ ${TOLERANCE.loss}).`,
      "",
      table,
      "",
      "Command: `npm run build && node dist/bench/browser.js" + (process.argv.length > 2 ? " " + process.argv.slice(2).join(" ") : "") + "`",
      "",
    ].join("\n");
    console.log(table);
    const out = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "..", "bench", "results", "browser.md");
    fs.writeFileSync(out, report);
    console.log(`wrote ${path.resolve(out)}`);
  } finally {
    await b.close();
  }
}

main().catch((e) => {
  console.error(e instanceof ValidationError ? `bench/browser: ${e.message}` : e);
  process.exit(1);
});
