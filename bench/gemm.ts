// GEMM benchmark: native backend vs numpy (BLAS, via a python3 subprocess timing the same shapes)
// vs the reference backend (small sizes only). Prints GFLOP/s tables; run with
//   npx tsc -p . && node dist/bench/gemm.js [--threads N] [--isa avx2|avx512|avx512-emulated|scalar] [--quick]
// numpy runs with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from its environment (they may be
// set on the dev machine and pin OpenBLAS to slower kernels); pass --numpy-env=inherit to keep them.
// Every result is validated before it is timed (llm.c's validate_result before benchmark_kernel):
// sampled whole rows and columns of C against exact float64 dot products, here for ours and the
// reference backend, in gemm_numpy.py for numpy; a wrong result stops the run.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import type { Backend } from "../src/backend/backend.js";
import { getNativeThreads, loadNativeBackend, nativeBackendError, nativeIsa, setNativeIsa, setNativeThreads } from "../src/backend/native/index.js";
import { referenceBackend } from "../src/backend/reference/index.js";

interface Shape {
  label: string;
  m: number;
  n: number;
  k: number;
  tA: boolean;
  tB: boolean;
  reference?: boolean;
}

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.findIndex((a) => a === name || a.startsWith(name + "="));
  if (i < 0) return undefined;
  return argv[i].includes("=") ? argv[i].split("=")[1] : argv[i + 1];
};
const quick = argv.includes("--quick");
const minTime = quick ? 0.1 : 0.3;

const shapes: Shape[] = [
  { label: "256³", m: 256, n: 256, k: 256, tA: false, tB: false, reference: true },
  { label: "512³", m: 512, n: 512, k: 512, tA: false, tB: false },
  { label: "1024³", m: 1024, n: 1024, k: 1024, tA: false, tB: false },
  { label: "2048³", m: 2048, n: 2048, k: 2048, tA: false, tB: false },
  { label: "1024³ A·Bᵀ", m: 1024, n: 1024, k: 1024, tA: false, tB: true },
  { label: "1024³ Aᵀ·B", m: 1024, n: 1024, k: 1024, tA: true, tB: false },
  { label: "1024³ Aᵀ·Bᵀ", m: 1024, n: 1024, k: 1024, tA: true, tB: true },
  { label: "fwd (4096×256)·(256×256)ᵀ", m: 4096, n: 256, k: 256, tA: false, tB: true },
  { label: "mlp (512×256)·(1024×256)ᵀ", m: 512, n: 1024, k: 256, tA: false, tB: true },
  { label: "dX (4096×256)·(256×256)", m: 4096, n: 256, k: 256, tA: false, tB: false },
  { label: "dW (4096×256)ᵀ·(4096×256)", m: 256, n: 256, k: 4096, tA: true, tB: false },
  { label: "dW (512×1024)ᵀ·(512×256)", m: 1024, n: 256, k: 512, tA: true, tB: false },
  { label: "logits (512×256)·(8192×256)ᵀ", m: 512, n: 8192, k: 256, tA: false, tB: true },
];

function rnd(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

/** Best-of-5 seconds per call after calibrating the repetition count to >= minTime. */
function timeIt(fn: () => void, min: number): number {
  fn();
  let reps = 1;
  let dt = 0;
  for (;;) {
    const t = performance.now();
    for (let r = 0; r < reps; r++) fn();
    dt = (performance.now() - t) / 1e3;
    if (dt >= min) break;
    reps *= 2;
  }
  let best = dt / reps;
  for (let i = 0; i < 4; i++) {
    const t = performance.now();
    for (let r = 0; r < reps; r++) fn();
    best = Math.min(best, (performance.now() - t) / 1e3 / reps);
  }
  return best;
}

/** Whole rows and columns of C checked by validate: the first, the last and this many others. */
const VALIDATED_LINES = 6;

/**
 * Throws unless C = op(A)·op(B) on the first, last and VALIDATED_LINES random rows and columns
 * (they cross every tile and block boundary): each entry within (k + 2)·2^-24·Σ_p |a_ip·b_pj| of
 * the exact dot product (float64), the error bound of a float32 sum of k + 1 terms in any order.
 */
function validate(who: string, s: Shape, a: Float32Array, b: Float32Array, c: Float32Array): void {
  const pick = (count: number) => [0, count - 1, ...Array.from({ length: VALIDATED_LINES }, () => Math.floor(Math.random() * count))];
  const entries = [
    ...pick(s.m).flatMap((i) => Array.from({ length: s.n }, (_, j) => [i, j])),
    ...pick(s.n).flatMap((j) => Array.from({ length: s.m }, (_, i) => [i, j])),
  ];
  for (const [i, j] of entries) {
    let exact = 0, magnitude = 0;
    for (let p = 0; p < s.k; p++) {
      const x = (s.tA ? a[p * s.m + i] : a[i * s.k + p]) * (s.tB ? b[j * s.k + p] : b[p * s.n + j]);
      exact += x;
      magnitude += Math.abs(x);
    }
    const err = Math.abs(c[i * s.n + j] - exact);
    if (!(err <= (s.k + 2) * 2 ** -24 * magnitude)) {
      throw new Error(`${who} ${s.label}: C(${i}, ${j}) = ${c[i * s.n + j]}, exact ${exact} (error ${err.toExponential(2)}): not timing a wrong result`);
    }
  }
}

function gflops(who: string, backend: Backend, s: Shape, min: number): number {
  const a = rnd(s.m * s.k), b = rnd(s.k * s.n), c = new Float32Array(s.m * s.n).fill(NaN);
  backend.matmul(a, b, c, s.m, s.n, s.k, s.tA, s.tB, false);
  validate(who, s, a, b, c);
  const t = timeIt(() => backend.matmul(a, b, c, s.m, s.n, s.k, s.tA, s.tB, false), min);
  return (2 * s.m * s.n * s.k) / t / 1e9;
}

function numpy(list: Shape[]): { results: { gflops: number }[]; info: string } | { error: string } {
  const py = process.env.PYTHON ?? "python3";
  const probe = spawnSync(py, ["-c", "import numpy"], { encoding: "utf8" });
  if (probe.status !== 0) return { error: `${py} with numpy not available` };
  const env = { ...process.env };
  const inherit = arg("--numpy-env") === "inherit";
  const removed: string[] = [];
  // Same thread count on both sides.
  env.OPENBLAS_NUM_THREADS = String(getNativeThreads());
  if (!inherit) {
    for (const key of ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]) {
      if (env[key] !== undefined) removed.push(`${key}=${env[key]}`);
      delete env[key];
    }
  }
  const script = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bench", "gemm_numpy.py");
  const r = spawnSync(py, [script, JSON.stringify(list), String(minTime)], { encoding: "utf8", env, maxBuffer: 1 << 24 });
  if (r.status !== 0) return { error: `numpy benchmark failed: ${r.stderr}` };
  const j = JSON.parse(r.stdout) as { results: { gflops: number }[]; numpy: string; blas: string; blas_version: string; env: Record<string, string> };
  const envDesc = Object.keys(j.env).length ? Object.entries(j.env).map(([k, v]) => `${k}=${v}`).join(" ") : "no OPENBLAS_* overrides";
  const info = `numpy ${j.numpy}, ${j.blas} ${j.blas_version}, ${envDesc}${removed.length ? ` (removed from env: ${removed.join(", ")})` : ""}`;
  return { results: j.results, info };
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function main(): void {
  const native = loadNativeBackend();
  if (!native) {
    console.log(`native backend unavailable: ${nativeBackendError}`);
    process.exit(1);
  }
  const th = arg("--threads");
  if (th) setNativeThreads(Number(th));
  const isa = arg("--isa");
  if (isa && !setNativeIsa(isa as "avx2")) throw new Error(`ISA ${isa} unavailable`);
  console.log(`native: isa=${nativeIsa()} threads=${getNativeThreads()}; every result validated before timing`);
  const nat = shapes.map((s) => gflops("native", native, s, minTime));
  const np = numpy(shapes);
  const ref = shapes.map((s) => (s.reference ? gflops("reference", referenceBackend, s, 0.2) : NaN));
  if ("error" in np) console.log(`numpy: ${np.error}`);
  else console.log(np.info);
  console.log("");
  const head = `${pad("shape (m,n,k)", 34)} ${pad("native", 9, true)} ${pad("numpy", 9, true)} ${pad("nat/np", 7, true)} ${pad("reference", 10, true)}`;
  console.log(head + "   (GFLOP/s)");
  console.log("-".repeat(head.length));
  shapes.forEach((s, i) => {
    const n = nat[i];
    const p = "error" in np ? NaN : np.results[i].gflops;
    const r = ref[i];
    console.log(
      `${pad(s.label, 34)} ${pad(n.toFixed(1), 9, true)} ${pad(Number.isNaN(p) ? "-" : p.toFixed(1), 9, true)} ${pad(Number.isNaN(p) ? "-" : (n / p).toFixed(2), 7, true)} ${pad(Number.isNaN(r) ? "-" : r.toFixed(2), 10, true)}`,
    );
  });
}

main();
