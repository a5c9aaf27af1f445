// GEMM GFLOP/s of the wasm backend in Chromium next to @tensorflow/tfjs-backend-wasm (XNNPACK,
// SIMD + threads) in the same page, then the native backend (and the wasm backend) in Node right
// after, at the same sizes and thread counts. Writes bench/results/wasm-gemm.md.
//
//   npx tsc -p . && node scripts/build-wasm.mjs && node dist/bench/wasm-gemm.js [--sizes 256,512,1024] [--threads 2,1] [--seconds 2] [--no-write]
//
// The page (bench/wasm-gemm-page.ts) is served cross-origin isolated on 127.0.0.1 by
// bench/isolated-server.ts and driven headless by playwright-core with Debian's Chromium
// (/usr/bin/chromium, or env CHROMIUM). Both engines run on the page's main thread, alternating
// call by call. Every result is checked against float64 before it is timed; figures are the best
// call (and the median) over `--seconds` per size. The machine line gives the load average.

import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import type { Backend } from "../src/backend/backend.js";
import { loadNativeBackend, nativeBackendError, setNativeThreads } from "../src/backend/native/index.js";
import { loadWasmBackend, wasmBackendControls, wasmBackendError } from "../src/backend/wasm/node.js";
import { machineDescription, markdownTable, median } from "./harness.js";
import { CHECKED_ENTRIES, checkProduct, GEMM_TOLERANCE, gemmInput } from "./gemm-check.js";
import { startIsolatedServer } from "../test/helpers/isolated-server.js";
import type { PageResult } from "./wasm-gemm-page.js";

/** What to measure: N³ sizes, thread counts (one page load each), seconds per size. */
export interface GemmBenchOptions {
  sizes: number[];
  threadCounts: number[];
  seconds: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
/** Flags for headless Chromium as root on a closed network (see the machine notes). */
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Best and median GFLOP/s of an N³ GEMM on a Node backend, after checking it against float64. */
function nodeGemm(backend: Backend, n: number, seconds: number, alloc: (k: number) => Float32Array): { best: number; median: number } {
  const a = alloc(n * n), b = alloc(n * n), c = alloc(n * n);
  const A = gemmInput(n * n, 1), B = gemmInput(n * n, 2);
  a.set(A);
  b.set(B);
  const gemm = () => backend.matmul(a, b, c, n, n, n, false, false, false);
  gemm();
  checkProduct(`the ${backend.name} backend`, A, B, c, n);
  gemm();
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until || times.length < 5) {
    const t = performance.now();
    gemm();
    times.push(performance.now() - t);
  }
  const g = (ms: number) => (2 * n * n * n) / (ms * 1e6);
  return { best: g(Math.min(...times)), median: g(median(times)) };
}

async function browserRuns({ sizes, threadCounts, seconds }: GemmBenchOptions): Promise<PageResult[]> {
  const { chromium } = await import("playwright-core");
  const page = `<!doctype html><meta charset="utf-8"><title>wasm GEMM</title>
<script src="/node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js"></script>
<script src="/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js"></script>
<script type="module" src="/dist/bench/wasm-gemm-page.js"></script>`;
  const server = await startIsolatedServer(root, ["dist", "node_modules/@tensorflow"], { "/bench/wasm-gemm.html": page });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const out: PageResult[] = [];
    for (const threads of threadCounts) {
      const tab = await browser.newPage();
      tab.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
      await tab.goto(`${server.url}/bench/wasm-gemm.html?threads=${threads}&sizes=${sizes.join(",")}&seconds=${seconds}`);
      await tab.waitForFunction(() => "__benchResult" in globalThis || "__benchError" in globalThis, undefined, { timeout: 600_000, polling: 200 });
      const error = await tab.evaluate(() => (globalThis as { __benchError?: string }).__benchError);
      if (error !== undefined) throw new Error(`the page failed: ${error}`);
      out.push(await tab.evaluate(() => (globalThis as unknown as { __benchResult: PageResult }).__benchResult));
      await tab.close();
    }
    return out;
  } finally {
    await browser.close();
    await server.close();
  }
}

const fmt = (x: number) => x.toFixed(1);

/** The table's columns, and a row per (threads, size): the page's figures, then Node's. */
export const GEMM_COLUMNS = ["size", "threads", "wasm (Chromium)", "tfjs-wasm (Chromium)", "wasm / tfjs", "native (Node)", "wasm / native", "wasm (Node)"];

export interface GemmBenchResult {
  pages: PageResult[];
  rows: string[][];
  machineStart: string;
  machineEnd: string;
}

/** Runs the page once per thread count, then Node's native and wasm backends at the same sizes. */
export async function measureWasmGemm(o: GemmBenchOptions): Promise<GemmBenchResult> {
  const { sizes, threadCounts, seconds } = o;
  const machineStart = machineDescription();
  const pages = await browserRuns(o);
  const native = loadNativeBackend();
  if (!native) throw new Error(`native backend unavailable: ${nativeBackendError}`);
  const wasm = loadWasmBackend();
  if (!wasm) throw new Error(`wasm backend unavailable: ${wasmBackendError()}`);
  const controls = wasmBackendControls()!;
  await controls.helpersReady();
  const nodeRows = new Map<string, { best: number; median: number }>();
  for (const threads of threadCounts) {
    setNativeThreads(threads);
    controls.setThreads(threads);
    for (const n of sizes) {
      nodeRows.set(`native ${threads} ${n}`, nodeGemm(native, n, seconds, (k) => new Float32Array(k)));
      nodeRows.set(`wasm ${threads} ${n}`, nodeGemm(wasm, n, seconds, (k) => (wasm.storage as NonNullable<Backend["storage"]>).allocFloat32(k)));
    }
  }
  const machineEnd = machineDescription();
  const rows: string[][] = [];
  for (const p of pages) {
    for (const r of p.rows) {
      const nat = nodeRows.get(`native ${p.threads} ${r.size}`)!;
      const wn = nodeRows.get(`wasm ${p.threads} ${r.size}`)!;
      rows.push([
        `${r.size}³`,
        String(p.threads),
        `${fmt(r.ours.best)} (${fmt(r.ours.median)})`,
        `${fmt(r.tfjs.best)} (${fmt(r.tfjs.median)})`,
        `${(r.ours.best / r.tfjs.best).toFixed(2)}×`,
        `${fmt(nat.best)} (${fmt(nat.median)})`,
        `${(r.ours.best / nat.best).toFixed(2)}×`,
        `${fmt(wn.best)} (${fmt(wn.median)})`,
      ]);
    }
  }
  return { pages, rows, machineStart, machineEnd };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const sizes = arg("--sizes", "256,512,1024").split(",").map(Number);
  const threadCounts = arg("--threads", "2,1").split(",").map(Number);
  const seconds = Number(arg("--seconds", "2"));
  const { pages, rows, machineStart, machineEnd } = await measureWasmGemm({ sizes, threadCounts, seconds });
  const table = markdownTable(GEMM_COLUMNS, rows);
  const p0 = pages[0];
  const text = [
    "# wasm GEMM: Chromium (wasm backend vs tfjs-backend-wasm) and Node (native)",
    "",
    `\`node dist/bench/wasm-gemm.js --sizes ${sizes.join(",")} --threads ${threadCounts.join(",")} --seconds ${seconds}\``,
    "",
    "GFLOP/s of C (N, N) = A (N, N) · B (N, N), best call (median in parentheses) over the timed calls; every result was",
    `checked against float64 dot products first (${CHECKED_ENTRIES} entries, error relative to Σ|a·b| <= ${GEMM_TOLERANCE}). In Chromium both engines ran on`,
    "the page's main thread in one cross-origin isolated page, alternating call by call; then Node, right after, in this process.",
    "",
    table,
    "",
    `- Chromium: ${p0.userAgent}; crossOriginIsolated ${p0.crossOriginIsolated}; ours: ${pages.map((p) => `${p.ours.flavour} build, ${p.ours.threads} thread(s), ${p.ours.helpersStarted} helper(s) running`).join(" / ")};`,
    `  tfjs-backend-wasm 4.22.0: backend ${p0.tfjs.backend}, SIMD ${p0.tfjs.simd}, multithread ${p0.tfjs.multithread}, threads ${pages.map((p) => p.tfjs.threads).join(" / ")}.`,
    `- Machine at the start: ${machineStart}.`,
    `- Machine at the end: ${machineEnd}.`,
    "- The machine is shared with other engineers' jobs: compare within a row (same run), not with other runs.",
    "",
  ].join("\n");
  process.stdout.write(text);
  if (!argv.includes("--no-write")) writeFileSync(join(root, "bench", "results", "wasm-gemm.md"), text);
}

if (resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
