// The browser side of bench/wasm-gemm.ts: in one page (cross-origin isolated), GEMM GFLOP/s of
// this package's wasm backend and of @tensorflow/tfjs-backend-wasm (XNNPACK), both on the page's
// main thread with the same thread count, alternating call by call so that both see the same
// machine load. Every result is first checked against float64 dot products (sampled entries);
// a wrong result has no speed. Publishes `window.__benchResult` (or `window.__benchError`).
//
// The page loads tfjs-core and tfjs-backend-wasm as the scripts of their npm packages (globals
// `tf`, `tf.wasm`) and their .wasm files from the package's dist folder.

import type { Backend } from "../src/backend/backend.js";
import { initWasmBackend, wasmBackendControls } from "../src/backend/wasm/web.js";
import { checkProduct, gemmInput } from "./gemm-check.js";

interface TfTensor {
  dataSync(): Float32Array;
  dispose(): void;
}
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  getBackend(): string;
  tensor2d(values: Float32Array, shape: [number, number]): TfTensor;
  matMul(a: TfTensor, b: TfTensor): TfTensor;
  env(): { getBool(flag: string): boolean };
  wasm: { setWasmPaths(prefix: string): void; setThreadsCount(n: number): void; getThreadsCount(): number };
}
declare const tf: Tf;

export interface PageRow {
  size: number;
  ours: { best: number; median: number; maxRelError: number };
  tfjs: { best: number; median: number; maxRelError: number };
}
export interface PageResult {
  threads: number;
  crossOriginIsolated: boolean;
  ours: { flavour: string; threads: number; helpersStarted: number };
  tfjs: { backend: string; simd: boolean; multithread: boolean; threads: number };
  rows: PageRow[];
  userAgent: string;
}

const gflops = (n: number, ms: number) => (2 * n * n * n) / (ms * 1e6);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

async function run(): Promise<PageResult> {
  const params = new URLSearchParams(location.search);
  const threads = Number(params.get("threads") ?? navigator.hardwareConcurrency);
  const sizes = (params.get("sizes") ?? "256,512,1024").split(",").map(Number);
  const seconds = Number(params.get("seconds") ?? "2");

  const ours = (await initWasmBackend({ baseUrl: new URL("../src/backend/wasm/", import.meta.url), threads })) as Backend;
  if (ours === null) throw new Error("the wasm backend did not initialise");
  const info = wasmBackendControls()!.info();

  tf.wasm.setWasmPaths(new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href);
  tf.wasm.setThreadsCount(threads);
  // tfjs-backend-wasm 4.22 caps its thread pool at half the logical cores (measured here: 1
  // thread on 2 cores whatever setThreadsCount asks, 2 once the page reports 4 cores). So that it
  // runs the threads asked for, the page reports 2·threads cores while tfjs initialises.
  Object.defineProperty(navigator, "hardwareConcurrency", { configurable: true, get: () => 2 * threads });
  try {
    if (!(await tf.setBackend("wasm"))) throw new Error("tfjs-backend-wasm did not initialise");
    await tf.ready();
  } finally {
    delete (navigator as unknown as Record<string, unknown>).hardwareConcurrency;
  }
  if (tf.wasm.getThreadsCount() !== threads) throw new Error(`tfjs-backend-wasm runs ${tf.wasm.getThreadsCount()} threads, ${threads} were asked for`);

  const rows: PageRow[] = [];
  for (const n of sizes) {
    const A = gemmInput(n * n, 1), B = gemmInput(n * n, 2);
    const storage = ours.storage!;
    const a = storage.allocFloat32(n * n), b = storage.allocFloat32(n * n), c = storage.allocFloat32(n * n);
    a.set(A);
    b.set(B);
    const gemm = () => ours.matmul(a, b, c, n, n, n, false, false, false);
    gemm();
    const oursErr = checkProduct("the wasm backend", A, B, c, n);
    const ta = tf.tensor2d(A, [n, n]), tb = tf.tensor2d(B, [n, n]);
    const first = tf.matMul(ta, tb);
    const tfErr = checkProduct("tfjs-backend-wasm", A, B, first.dataSync(), n);
    first.dispose();
    // The wasm backend of tfjs runs a kernel synchronously inside matMul (no readback needed).
    const tfGemm = () => tf.matMul(ta, tb).dispose();
    const times = { ours: [] as number[], tfjs: [] as number[] };
    for (let w = 0; w < 2; w++) (gemm(), tfGemm()); // warm-up: both tiers of both engines
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until || times.ours.length < 5) {
      let t = performance.now();
      gemm();
      times.ours.push(performance.now() - t);
      t = performance.now();
      tfGemm();
      times.tfjs.push(performance.now() - t);
    }
    rows.push({
      size: n,
      ours: { best: gflops(n, Math.min(...times.ours)), median: gflops(n, median(times.ours)), maxRelError: oursErr },
      tfjs: { best: gflops(n, Math.min(...times.tfjs)), median: gflops(n, median(times.tfjs)), maxRelError: tfErr },
    });
    ta.dispose();
    tb.dispose();
    for (const x of [a, b, c]) storage.free(x);
  }
  return {
    threads,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    ours: { flavour: info.flavour, threads: info.threads, helpersStarted: wasmBackendControls()!.info().helpersStarted },
    tfjs: { backend: tf.getBackend(), simd: tf.env().getBool("WASM_HAS_SIMD_SUPPORT"), multithread: tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT"), threads: tf.wasm.getThreadsCount() },
    rows,
    userAgent: navigator.userAgent,
  };
}

const w = globalThis as unknown as { __benchResult?: PageResult; __benchError?: string };
run().then(
  (r) => (w.__benchResult = r),
  (e: unknown) => (w.__benchError = e instanceof Error ? `${e.message}\n${e.stack}` : String(e)),
);
