// Benchmark: one training step (forward + backward + AdamW) of PerceiverAR vs PyTorch, side by side.
//
// The issue's standard config: context N, M = 512 latents, width 256, 4 heads, 1 cross-attention +
// 5 self-attention layers (rotary in the first), vocab 256, batch 1, no dropout, learned absolute
// positions (+ rotary on half of each head's channels), tied output with bias. N = 4096, 16384 and
// 65536 by default.
//
// Each configuration runs in its own child process (this script with `--child`) so that its peak
// RSS (`process.resourceUsage().maxRSS`) is its own; then, when a Python with torch is found, the
// PyTorch model of bench/torch_perceiver_ar.py runs the same config, never concurrently with ours.
// Prints a table: N, ours s/step, torch s/step, ratio torch/ours (> 1 = we are faster), peak RSS.
//
// Backend: `getBackend()` of src/backend/select.ts (native when its addon loads) when that module
// exists, else the reference backend — which is very slow, so it defaults to --quick.
//
//   npx tsc -p . && node dist/bench/train-step.js [--quick] [--ns 4096,16384] [--steps 3]
//     [--warmup 1] [--threads 2] [--python /usr/bin/python3] [--no-torch] [--torch-env-compare]
//     [--backend native|reference]

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type { Backend } from "../src/backend/backend.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { PerceiverAR, seededUniform } from "../src/models/perceiver-ar.js";

const LATENTS = 512;
const MODEL = {
  vocabSize: 256,
  maxLatents: LATENTS,
  numChannels: 256,
  numHeads: 4,
  numSelfAttentionLayers: 5,
  numSelfAttentionRotaryLayers: 1,
  crossAttentionDropout: 0,
  absPosEmb: true,
  outputNorm: false,
  outputBias: true,
};
const HERE = fileURLToPath(import.meta.url);
const TORCH_SCRIPT = fileURLToPath(new URL("../../bench/torch_perceiver_ar.py", import.meta.url));

interface Options {
  ns: number[];
  steps: number;
  warmup: number;
  threads: number;
  python: string | null;
  torch: boolean;
  torchEnvCompare: boolean;
  backend: string | null;
  quick: boolean;
  child: boolean;
}

/** What one measurement (ours or torch) reports. */
interface Result {
  median_step_s: number;
  min_step_s: number;
  peak_rss_mb: number;
  step_times_s?: number[];
  backend?: string;
  threads?: number;
  loss?: number;
  torch_version?: string;
  attention?: string;
  isa?: string | null;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { ns: [4096, 16384, 65536], steps: 3, warmup: 1, threads: 2, python: null, torch: true, torchEnvCompare: false, backend: null, quick: false, child: false };
  let nsGiven = false;
  let stepsGiven = false;
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case "--ns":
        o.ns = (argv[++i] ?? "").split(",").map((s) => int("--ns", s, LATENTS));
        nsGiven = true;
        break;
      case "--steps":
        o.steps = int("--steps", argv[++i], 1);
        stepsGiven = true;
        break;
      case "--warmup":
        o.warmup = int("--warmup", argv[++i], 0);
        stepsGiven = true;
        break;
      case "--threads":
        o.threads = int("--threads", argv[++i], 1);
        break;
      case "--python":
        o.python = argv[++i] ?? null;
        break;
      case "--backend":
        o.backend = argv[++i] ?? null;
        break;
      case "--no-torch":
        o.torch = false;
        break;
      case "--torch-env-compare":
        o.torchEnvCompare = true;
        break;
      case "--quick":
        o.quick = true;
        break;
      case "--child":
        o.child = true;
        break;
      case "--help":
      case "-h":
        process.stdout.write(
          "usage: node dist/bench/train-step.js [--quick] [--ns 4096,16384,65536] [--steps 3] [--warmup 1] [--threads 2]\n" +
            "       [--python PATH] [--no-torch] [--torch-env-compare] [--backend native|reference]\n" +
            "  --quick              N 4096 only, 1 step, no warmup\n" +
            "  --torch-env-compare  also run torch with OPENBLAS_* unset (extra column)\n",
        );
        process.exit(0);
      default:
        throw new RangeError(`unknown argument ${a} (see --help)`);
    }
  }
  if (o.quick) {
    if (!nsGiven) o.ns = [4096];
    if (!stepsGiven) {
      o.steps = 1;
      o.warmup = 0;
    }
  }
  return o;
}

/** The backend of src/backend/select.ts when it exists (native if it loads), else reference. */
async function pickBackend(o: Options): Promise<{ backend: Backend; setThreads: ((n: number) => number) | null }> {
  const selectUrl = new URL("../src/backend/select.js", import.meta.url);
  if (!existsSync(fileURLToPath(selectUrl))) {
    if (o.backend !== null && o.backend !== "reference") throw new Error(`--backend ${o.backend}: src/backend/select.ts does not exist`);
    return { backend: referenceBackend, setThreads: null };
  }
  const mod = (await import(selectUrl.href)) as {
    getBackend: (name?: string) => Backend;
    setThreads?: (n: number) => number;
  };
  const backend = mod.getBackend(o.backend ?? undefined);
  return { backend, setThreads: mod.setThreads ?? null };
}

/** SIMD instruction set of the native backend (src/backend/native/index.ts `nativeIsa`), if any. */
async function nativeIsa(backend: Backend): Promise<string | null> {
  const url = new URL("../src/backend/native/index.js", import.meta.url);
  if (backend.name !== "native" || !existsSync(fileURLToPath(url))) return null;
  const mod = (await import(url.href)) as { nativeIsa?: () => string | null };
  return mod.nativeIsa ? mod.nativeIsa() : null;
}

/** AdamW of src/train/adamw.ts when it exists, else the backend's kernel per parameter. */
async function makeOptimizer(model: PerceiverAR, backend: Backend): Promise<(lr: number) => void> {
  const url = new URL("../src/train/adamw.js", import.meta.url);
  if (existsSync(fileURLToPath(url))) {
    const mod = (await import(url.href)) as {
      AdamW: new (params: PerceiverAR["parameters"], backend: Backend, options?: object) => { update(lr: number): void };
    };
    const opt = new mod.AdamW(model.parameters, backend, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 });
    return (lr) => opt.update(lr);
  }
  const state = [...model.parameters.values()].map((p) => ({ p, m: new Float32Array(p.value.size), v: new Float32Array(p.value.size) }));
  let t = 0;
  return (lr) => {
    t++;
    for (const { p, m, v } of state) backend.adamw(p.data, p.grad, m, v, p.value.size, { lr, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01, t });
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Child process: time `warmup + steps` training steps at context n and print one JSON line. */
async function runChild(o: Options): Promise<void> {
  const n = o.ns[0];
  const { backend, setThreads } = await pickBackend(o);
  const threads = backend.name === "native" && setThreads ? setThreads(o.threads) : 1; // reference: single-threaded
  const model = new PerceiverAR({ ...MODEL, maxSeqLen: n }, backend, { seed: 0 });
  const step = await makeOptimizer(model, backend);
  const u = seededUniform(1);
  const seq = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) seq[i] = Math.floor(u() * MODEL.vocabSize);
  const ids = { data: seq.slice(0, n), shape: [1, n] as const };
  const labels = { data: seq.slice(n - LATENTS + 1), shape: [1, LATENTS] as const }; // next token per latent
  const times: number[] = [];
  let loss = NaN;
  for (let s = 0; s < o.warmup + o.steps; s++) {
    const t0 = performance.now();
    model.zeroGrads();
    loss = model.lossAndGrad(ids, labels).loss;
    step(1e-4);
    const dt = (performance.now() - t0) / 1000;
    if (s >= o.warmup) times.push(dt);
    process.stderr.write(`  ours N=${n} step ${s + 1}/${o.warmup + o.steps}${s < o.warmup ? " (warmup)" : ""}: ${dt.toFixed(3)} s, loss ${loss.toFixed(4)}\n`);
  }
  const r: Result = {
    median_step_s: median(times),
    min_step_s: Math.min(...times),
    step_times_s: times.map((t) => Math.round(t * 1e4) / 1e4),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    backend: backend.name,
    isa: await nativeIsa(backend),
    threads,
    loss,
  };
  process.stdout.write(JSON.stringify(r) + "\n");
}

/** Last line of stdout parsed as JSON, or an error string. */
function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutS: number): Result | string {
  const p = spawnSync(cmd, args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: timeoutS * 1000, maxBuffer: 1 << 24 });
  if (p.error) return `${cmd}: ${p.error.message}`;
  if (p.status !== 0) return `${cmd} exited with ${p.status ?? p.signal}`;
  const lines = p.stdout.trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]) as Result;
  } catch {
    return `unparsable output: ${lines[lines.length - 1]}`;
  }
}

/** The first Python that imports torch: --python, $PYTHON, python3 on PATH, /usr/bin/python3. */
function findTorchPython(o: Options): { python: string; version: string } | null {
  const candidates = o.python !== null ? [o.python] : [process.env.PYTHON, "python3", "/usr/bin/python3"].filter((x): x is string => !!x);
  for (const py of candidates) {
    const p = spawnSync(py, ["-c", "import sys, torch; print(sys.executable, torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
    if (p.status === 0) {
      const [exe, version] = p.stdout.trim().split(" ");
      return { python: exe || py, version };
    }
  }
  return null;
}

function withoutOpenblasEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith("OPENBLAS_")) delete env[k];
  return env;
}

function fmt(r: Result | string | undefined, f: (r: Result) => string): string {
  if (r === undefined) return "-";
  if (typeof r === "string") return "failed";
  return f(r);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child) return runChild(o);

  const { backend } = await pickBackend(o);
  const slow = backend.name === "reference";
  if (slow && !o.quick && !o.ns.every((n) => n <= 4096)) {
    process.stderr.write(`train-step: the reference backend is very slow; running --quick (N 4096, 1 step). Pass --ns to override.\n`);
    o.ns = [4096];
    o.steps = 1;
    o.warmup = 0;
  }
  const torch = o.torch ? findTorchPython(o) : null;
  if (o.torch && torch === null) process.stderr.write(`train-step: no Python with torch found (tried ${o.python ?? "$PYTHON, python3, /usr/bin/python3"}); skipping the PyTorch column\n`);
  const blasEnv = Object.entries(process.env).filter(([k]) => k.startsWith("OPENBLAS_")).map(([k, v]) => `${k}=${v}`);

  const rows: Array<{ n: number; ours: Result | string; torch?: Result | string; torchNoEnv?: Result | string }> = [];
  for (const n of o.ns) {
    process.stderr.write(`N=${n}: ours (${backend.name})\n`);
    const childArgs = [HERE, "--child", "--ns", String(n), "--steps", String(o.steps), "--warmup", String(o.warmup), "--threads", String(o.threads)];
    if (o.backend !== null) childArgs.push("--backend", o.backend);
    const ours = runJson(process.execPath, childArgs, process.env, 3600);
    const row: (typeof rows)[number] = { n, ours };
    if (torch !== null) {
      const args = [TORCH_SCRIPT, "--seq-len", String(n), "--latents", String(LATENTS), "--channels", "256", "--heads", "4", "--layers", "5", "--vocab", "256", "--batch", "1", "--steps", String(o.steps), "--warmup", String(o.warmup), "--threads", String(o.threads)];
      process.stderr.write(`N=${n}: torch ${torch.version}\n`);
      row.torch = runJson(torch.python, args, process.env, 3600);
      if (o.torchEnvCompare) {
        process.stderr.write(`N=${n}: torch with OPENBLAS_* unset\n`);
        row.torchNoEnv = runJson(torch.python, args, withoutOpenblasEnv(), 3600);
      }
    }
    for (const [what, r] of [["ours", row.ours], ["torch", row.torch], ["torch (no OPENBLAS_*)", row.torchNoEnv]] as const) {
      if (typeof r === "string") process.stderr.write(`N=${n}: ${what} failed: ${r}\n`);
    }
    rows.push(row);
  }

  const okOurs = rows.map((r) => r.ours).filter((r): r is Result => typeof r !== "string");
  const oursThreads = okOurs.find((r) => r.threads !== undefined)?.threads;
  const isa = okOurs.find((r) => r.isa)?.isa;
  let header = `Training step (forward + backward + AdamW), M ${LATENTS}, width 256, 4 heads, 1 cross + 5 self-attention layers, vocab 256, batch 1, no dropout`;
  header += `\nours: ${backend.name} backend${isa ? ` (${isa})` : ""}${slow ? ` (slow plain TypeScript${o.backend === "reference" || process.env.PERCEIVER_AR_BACKEND === "reference" ? ", forced" : ": the native addon is not available"})` : ""}, ${oursThreads ?? "?"} thread(s)`;
  header += `; torch: ${torch ? `${torch.version} (${torch.python}), ${o.threads} threads` : "not available"}`;
  header += `; ${blasEnv.length > 0 ? blasEnv.join(" ") : "no OPENBLAS_* set"}; median of ${o.steps} step(s) after ${o.warmup} warmup`;
  const cols = ["N", "ours s/step", "torch s/step", "torch/ours", "ours peak RSS MB", "torch peak RSS MB"];
  if (o.torchEnvCompare) cols.push("torch no-OPENBLAS_* s/step", "its torch/ours");
  const table = rows.map((r) => {
    const ratio = (t: Result | string | undefined) =>
      typeof r.ours === "string" || t === undefined || typeof t === "string" ? "-" : (t.median_step_s / r.ours.median_step_s).toFixed(2);
    const cells = [
      String(r.n),
      fmt(r.ours, (x) => x.median_step_s.toFixed(3)),
      fmt(r.torch, (x) => x.median_step_s.toFixed(3)),
      ratio(r.torch),
      fmt(r.ours, (x) => x.peak_rss_mb.toFixed(0)),
      fmt(r.torch, (x) => x.peak_rss_mb.toFixed(0)),
    ];
    if (o.torchEnvCompare) cells.push(fmt(r.torchNoEnv, (x) => x.median_step_s.toFixed(3)), ratio(r.torchNoEnv));
    return cells;
  });
  const widths = cols.map((c, i) => Math.max(c.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ") + " |";
  const out = [header, "", line(cols), "|" + widths.map((w, i) => (i === 0 ? ":" : "-") + "-".repeat(w) + (i === 0 ? "-" : ":")).join("|") + "|", ...table.map(line)];
  process.stdout.write(out.join("\n") + "\n");
  process.stdout.write("\nraw: " + JSON.stringify(rows) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`train-step: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
