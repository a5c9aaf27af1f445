// Shared pieces of the benchmark scripts (bench/*.ts), so that each script says only what it
// measures:
// - `runJsonChild`: run a command (usually this Node with a script and `--child ...`, or a Python
//   script) in a fresh process, echo its stderr live, and resolve to the JSON value of the LAST
//   non-empty line of its stdout (`writeJsonResult` writes that line). A fresh process per
//   measurement makes each peak RSS its own.
// - `peakRssMb`: this process's peak resident set size (`process.resourceUsage().maxRSS`), MB.
// - `median`, `timeSteps`: seconds per step of `warmup` untimed + `steps` timed calls.
// - `measureGemmRoof`: GFLOP/s of a large GEMM on a backend, timed in the calling process, after
//   checking sampled entries of its result against a float64 dot product (the roof that a
//   benchmark's achieved GFLOP/s is compared with, measured in the same run); `prepareGemmProbe`
//   is that checked GEMM as a call, for benchmarks that time the roof interleaved with their own
//   calls.
// - `markdownTable`: a padded markdown table (first column left-aligned, the others right).
// - `machineDescription`: CPU, cores, RAM and the 1-minute load average, to print next to figures
//   measured on a (possibly shared) machine.
// - The PyTorch side of a comparison: `findTorchPython` (the first Python that imports torch) and
//   `TORCH_SETTINGS` / `torchSettingEnv`, the environments in which PyTorch is tried so that it is
//   compared at its best: OPENBLAS_* removed (they pin OpenBLAS to kernels slower than its own CPU
//   detection picks), and with OMP_WAIT_POLICY=PASSIVE and/or OPENBLAS_NUM_THREADS=1 (on few cores,
//   OpenBLAS's thread pool and torch's spinning OpenMP threads otherwise fight over the cores).

import { spawn, spawnSync } from "node:child_process";
import * as os from "node:os";

import type { Backend } from "../src/backend/backend.js";

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of an empty list");
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** This process's peak resident set size so far, in MB (2^20 bytes). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
}

export interface StepTimes {
  /** Wall-clock seconds of each timed step (warm-ups excluded), in order. */
  seconds: number[];
  median: number;
  min: number;
}

/**
 * Calls `step(i)` for i = 0 .. warmup + steps - 1 and times each call; the first `warmup` calls
 * are not counted. `onStep` sees every call's seconds (for progress lines).
 */
export function timeSteps(warmup: number, steps: number, step: (i: number) => void, onStep?: (i: number, seconds: number, warm: boolean) => void): StepTimes {
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`warmup must be an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be an integer >= 1, got ${steps}`);
  const seconds: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    step(i);
    const dt = (performance.now() - t0) / 1000;
    if (i >= warmup) seconds.push(dt);
    onStep?.(i, dt, i < warmup);
  }
  return { seconds, median: median(seconds), min: Math.min(...seconds) };
}

/** Writes `value` as one JSON line on stdout: the result `runJsonChild` reads. */
export function writeJsonResult(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

export interface ChildOptions {
  /** The child's environment; default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGTERM) after this many seconds; default no limit. */
  timeoutSeconds?: number;
  /** Copy the child's stderr to ours as it arrives (progress lines); default true. */
  echoStderr?: boolean;
}

/** How many trailing stderr lines a failed child's error message quotes. */
const STDERR_TAIL_LINES = 5;

/**
 * Runs `cmd args` and resolves to the JSON value of the last non-empty stdout line. Rejects when the
 * child cannot start, exits non-zero, is killed by the timeout, or prints no JSON last line; the
 * message quotes the tail of its stderr.
 */
export function runJsonChild<T>(cmd: string, args: readonly string[], options: ChildOptions = {}): Promise<T> {
  const echo = options.echoStderr ?? true;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = options.timeoutSeconds === undefined ? null : setTimeout(() => ((timedOut = true), child.kill("SIGTERM")), options.timeoutSeconds * 1000);
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
      if (echo) process.stderr.write(s);
    });
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`${cmd}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const tail = stderr.trim().split("\n").slice(-STDERR_TAIL_LINES).join(" | ");
      if (code !== 0) {
        const why = timedOut ? `timed out after ${options.timeoutSeconds} s` : signal ? `killed by ${signal}` : `exit code ${code}`;
        return reject(new Error(`${why}${tail ? `: ${tail}` : ""}`));
      }
      const last = stdout.trim().split("\n").at(-1) ?? "";
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`no JSON result on the last stdout line (got ${JSON.stringify(last.slice(0, 200))})${tail ? `; stderr: ${tail}` : ""}`));
      }
    });
  });
}

export interface GemmRoof {
  /** Best GFLOP/s of C (m, n) = A (m, k) · B (k, n) over the timed calls. */
  gflops: number;
  m: number;
  n: number;
  k: number;
  calls: number;
  /** Largest |C - exact| / (sum_k |a_ik·b_kj|) over the sampled entries. */
  maxRelError: number;
}

/** Entries of C checked against a float64 dot product before a roof is reported. */
const ROOF_CHECKED_ENTRIES = 64;
/** fp32 GEMM accumulation error allowed relative to sum |a·b| (k = 1024 sums: ~1e-6 expected). */
const ROOF_TOLERANCE = 1e-4;
/** At least this many timed calls even when `minSeconds` has passed. */
const ROOF_MIN_CALLS = 5;

/** A size³ GEMM on a backend whose result was checked against float64: call it to time it. */
export interface GemmProbe {
  /** One C (size, size) = A · B call (no allocation). */
  call(): void;
  /** Floating-point operations of one call: 2·size³. */
  flops: number;
  size: number;
  /** Largest |C - exact| / (sum_k |a_ik·b_kj|) over the sampled entries. */
  maxRelError: number;
}

/**
 * A size³ non-transposed GEMM on `backend`, run once and checked on sampled entries against float64
 * dot products; throws when they disagree (a wrong kernel has no speed). Benchmarks that time
 * the roof interleaved with their own calls use it directly; `measureGemmRoof` times it alone.
 */
export function prepareGemmProbe(backend: Backend, size = 1024): GemmProbe {
  const m = size;
  const n = size;
  const k = size;
  let seed = 12345;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0), seed / 2 ** 32 - 0.5);
  const a = Float32Array.from({ length: m * k }, rnd); // (m, k)
  const b = Float32Array.from({ length: k * n }, rnd); // (k, n)
  const c = new Float32Array(m * n); // (m, n)
  const call = (): void => backend.matmul(a, b, c, m, n, k, false, false, false);
  call();
  let maxRelError = 0;
  for (let s = 0; s < ROOF_CHECKED_ENTRIES; s++) {
    const i = (s * 7919) % m;
    const j = (s * 104729) % n;
    let exact = 0;
    let magnitude = 0;
    for (let p = 0; p < k; p++) {
      exact += a[i * k + p] * b[p * n + j];
      magnitude += Math.abs(a[i * k + p] * b[p * n + j]);
    }
    maxRelError = Math.max(maxRelError, Math.abs(c[i * n + j] - exact) / magnitude);
  }
  if (!(maxRelError <= ROOF_TOLERANCE)) {
    throw new Error(`GEMM roof ${size}³ on the ${backend.name} backend: result differs from float64 by ${maxRelError} (> ${ROOF_TOLERANCE}); refusing to report a speed`);
  }
  return { call, flops: 2 * m * n * k, size, maxRelError };
}

/**
 * The GEMM roof: the best GFLOP/s of a size³ (default 1024³) non-transposed GEMM on `backend`,
 * over calls made for at least `minSeconds` after one warm-up call. Throws when sampled entries of
 * the result disagree with float64 dot products (a wrong kernel has no speed).
 */
export function measureGemmRoof(backend: Backend, size = 1024, minSeconds = 0.5): GemmRoof {
  const probe = prepareGemmProbe(backend, size);
  let best = Infinity;
  let calls = 0;
  const start = performance.now();
  while (calls < ROOF_MIN_CALLS || performance.now() - start < minSeconds * 1000) {
    const t0 = performance.now();
    probe.call();
    best = Math.min(best, (performance.now() - t0) / 1000);
    calls++;
  }
  return { gflops: probe.flops / best / 1e9, m: size, n: size, k: size, calls, maxRelError: probe.maxRelError };
}

/** A markdown table padded to column widths: the first column left-aligned, the others right. */
export function markdownTable(columns: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => "| " + widths.map((w, i) => (i === 0 ? (cells[i] ?? "").padEnd(w) : (cells[i] ?? "").padStart(w))).join(" | ") + " |";
  const rule = "|" + widths.map((w, i) => (i === 0 ? ":" + "-".repeat(w + 1) : "-".repeat(w + 1) + ":")).join("|") + "|";
  return [line(columns), rule, ...rows.map(line)].join("\n");
}

/** "AMD EPYC, 2 cores, 24 GiB RAM, 1-minute load average 0.12": where and how shared a run was. */
export function machineDescription(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, 1-minute load average ${os.loadavg()[0].toFixed(2)}`;
}

/** PyTorch environments: extra variables over this environment without OPENBLAS_* and OMP_WAIT_POLICY; `inherit` = unchanged. */
export const TORCH_SETTINGS = {
  default: { env: {}, describe: "OPENBLAS_* unset" },
  passive: { env: { OMP_WAIT_POLICY: "PASSIVE" }, describe: "OPENBLAS_* unset, OMP_WAIT_POLICY=PASSIVE" },
  blas1: { env: { OPENBLAS_NUM_THREADS: "1" }, describe: "OPENBLAS_* unset, OPENBLAS_NUM_THREADS=1" },
  "passive+blas1": { env: { OMP_WAIT_POLICY: "PASSIVE", OPENBLAS_NUM_THREADS: "1" }, describe: "OPENBLAS_* unset, OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS=1" },
  inherit: { env: null, describe: "the environment as it is" },
} as const;
export type TorchSetting = keyof typeof TORCH_SETTINGS;
/** The settings a comparison tries unless told otherwise (`inherit` only on request). */
export const DEFAULT_TORCH_SETTINGS: TorchSetting[] = ["default", "passive", "blas1", "passive+blas1"];

/** The environment of a PyTorch process in `setting`. */
export function torchSettingEnv(setting: TorchSetting): NodeJS.ProcessEnv {
  const extra = TORCH_SETTINGS[setting].env;
  if (extra === null) return process.env;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OPENBLAS_") && k !== "OMP_WAIT_POLICY") env[k] = v;
  return { ...env, ...extra };
}

/** The first Python that imports torch: `preferred` only when given, else $PYTHON, python3 on PATH, /usr/bin/python3. */
export function findTorchPython(preferred: string | null = null): { python: string; version: string } | null {
  const candidates = preferred !== null ? [preferred] : [process.env.PYTHON, "python3", "/usr/bin/python3"].filter((x): x is string => !!x);
  for (const py of candidates) {
    const p = spawnSync(py, ["-c", "import sys, torch; print(sys.executable, torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
    if (p.status === 0) {
      const [exe, version] = p.stdout.trim().split(" ");
      return { python: exe || py, version };
    }
  }
  return null;
}
