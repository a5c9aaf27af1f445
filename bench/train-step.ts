// Benchmark: one training step (forward + backward + AdamW) of our PerceiverAR against the same
// model in PyTorch (bench/torch_perceiver_ar.py) at its best thread/BLAS setting, side by side.
//
// Config (the standard benchmark config): context N, M = 512 latents, width 256, 4 heads,
// 1 cross-attention + 5 self-attention layers (rotary in the first), vocab 256, batch 1, no dropout,
// learned absolute positions + rotary on half of each head's channels, tied output with bias.
// N = 4096, 16384 and 65536 by default.
//
// What runs, in order (each in a fresh child process, never two at the same time):
// 1. Validation against the reference backend: the model (seed 0) on the benchmark's backend and on
//    the reference backend, one step on 1,024 tokens with 128 latents: loss, logits and every
//    gradient within the golden tolerances (bench/validate.ts), or nothing is timed.
// 2. Per N: our model's first step (seed 0, tokens seed 1) is written as a golden-layout folder
//    (config, weights, tokens, labels, logits, loss, gradients) to a temporary directory.
// 3. Per N: our timed run: the GEMM roof (bench/harness.ts `measureGemmRoof`, 1024³ by default) in
//    the same process before and after the steps (the better one is reported), then --warmup
//    untimed + --steps timed steps; its first loss must equal step 2's. Peak RSS is the child's;
//    baseline RSS is Node + modules before the model.
// 4. Per N and per PyTorch setting (--torch-settings): the torch script loads the same weights and
//    tokens (`--init-from`), checks its first step against ours (loss, logits, gradients, golden
//    tolerances) and times the same steps. A setting whose check fails is not reported as a speed
//    (and the run exits 1). The settings are bench/harness.ts TORCH_SETTINGS (all with OPENBLAS_*
//    removed: default, OMP_WAIT_POLICY=PASSIVE, OPENBLAS_NUM_THREADS=1, both; `inherit` = the
//    environment as it is, only when asked for). The best (lowest median) setting that passed its
//    check is PyTorch's figure.
// Prints per N: our median step time, PyTorch's best and its setting, the ratio PyTorch/ours
// (> 1 = we are faster), the cost model's FLOPs of the step (bench/cost-model.ts, DESIGN.md §2,
// causal pairs, × 3), our GFLOP/s and its fraction of the roof, peak RSS on both sides and Python's
// baseline RSS; then every PyTorch setting and the raw JSON.
//
//   npx tsc -p . && node dist/bench/train-step.js [--ns 4096,16384,65536] [--steps 5] [--warmup 2]
//     [--threads 2] [--torch-settings default,passive,blas1,passive+blas1] [--python PATH]
//     [--no-torch] [--roof-size 1024] [--backend native|reference] [--quick]

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

import type { Backend } from "../src/backend/backend.js";
import { nativeIsa } from "../src/backend/native/index.js";
import { getBackend, setThreads, type BackendName } from "../src/backend/select.js";
import { saveModel } from "../src/io/checkpoint.js";
import { writeSafetensorsFile, type WritableTensor } from "../src/io/safetensors.js";
import { PerceiverAR, type IntBatch } from "../src/models/perceiver-ar.js";
import { uniformSource } from "../src/util/rng.js";
import { AdamW } from "../src/train/adamw.js";
import { perceiverArForwardFlops, TRAINING_FLOPS_PER_FORWARD, type PerceiverArCost } from "./cost-model.js";
import {
  DEFAULT_TORCH_SETTINGS,
  findTorchPython,
  machineDescription,
  markdownTable,
  measureGemmRoof,
  peakRssMb,
  runJsonChild,
  timeSteps,
  TORCH_SETTINGS,
  torchSettingEnv,
  writeJsonResult,
  type GemmRoof,
  type TorchSetting,
} from "./harness.js";
import { captureStep, checkAgainstReference, describeCheck, maxAbsOrRelError, requireClose, TOLERANCE, ValidationError, type StepCheck } from "./validate.js";

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
/** The reference-backend check: a short input (the reference backend takes ~6 s for this step). */
const CHECK_CONTEXT = 4096;
const CHECK_TOKENS = 1024;
const CHECK_LATENTS = 128;
const ADAMW = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 };
const LR = 1e-4;
/** The issue's minimum for a figure to quote: at least 5 timed steps after 2 warm-ups. */
const QUOTABLE = { steps: 5, warmup: 2 };
/** Below this fraction of our GEMM roof, PyTorch's BLAS is not a tuned one (e.g. netlib's libblas3). */
const SLOW_TORCH_BLAS = 0.25;
const CHILD_TIMEOUT_S = 3600;

const HERE = fileURLToPath(import.meta.url);
const TORCH_SCRIPT = fileURLToPath(new URL("../../bench/torch_perceiver_ar.py", import.meta.url));

interface Options {
  ns: number[];
  steps: number;
  warmup: number;
  threads: number;
  python: string | null;
  torch: boolean;
  torchSettings: TorchSetting[];
  roofSize: number;
  backend: BackendName | null;
  quick: boolean;
  /** Internal: which child job this process runs. */
  child: "reference-check" | "write-check" | "time" | null;
  dir: string | null;
  expectLoss: number | null;
}

/** What our timed child reports. */
interface OursResult {
  n: number;
  parameters: number;
  median_step_s: number;
  min_step_s: number;
  step_times_s: number[];
  losses: number[];
  baseline_rss_mb: number;
  peak_rss_mb: number;
  roof: GemmRoof;
  roof_before_gflops: number;
  roof_after_gflops: number;
  backend: string;
  isa: string | null;
  threads: number;
}

/** What bench/torch_perceiver_ar.py reports. */
interface TorchResult {
  median_step_s: number;
  min_step_s: number;
  step_times_s: number[];
  baseline_rss_mb: number;
  peak_rss_mb: number;
  losses: number[];
  check: { ok: boolean; loss_err: number; logits_max_err: number; grad_max_rel_err: number; grad_worst_param: string } | null;
  gemm_gflops: number;
  torch_version: string;
  threads: number;
  env: Record<string, string>;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    ns: [4096, 16384, 65536],
    steps: QUOTABLE.steps,
    warmup: QUOTABLE.warmup,
    threads: 2,
    python: null,
    torch: true,
    torchSettings: [...DEFAULT_TORCH_SETTINGS],
    roofSize: 1024,
    backend: null,
    quick: false,
    child: null,
    dir: null,
    expectLoss: null,
  };
  let nsGiven = false;
  let stepsGiven = false;
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === "" || !Number.isInteger(n) || n < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${String(v)}`);
    return n;
  };
  const value = (name: string, v: string | undefined): string => {
    if (v === undefined) throw new RangeError(`${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case "--ns":
        o.ns = value(a, argv[++i]).split(",").map((s) => int("--ns", s, LATENTS + 1));
        nsGiven = true;
        break;
      case "--n":
        o.ns = [int(a, argv[++i], LATENTS + 1)];
        break;
      case "--steps":
        o.steps = int(a, argv[++i], 1);
        stepsGiven = true;
        break;
      case "--warmup":
        o.warmup = int(a, argv[++i], 0);
        stepsGiven = true;
        break;
      case "--threads":
        o.threads = int(a, argv[++i], 1);
        break;
      case "--roof-size":
        o.roofSize = int(a, argv[++i], 64);
        break;
      case "--python":
        o.python = value(a, argv[++i]);
        break;
      case "--backend": {
        const b = value(a, argv[++i]);
        if (b !== "native" && b !== "reference" && b !== "auto") throw new RangeError(`--backend must be native, reference or auto, got ${b}`);
        o.backend = b;
        break;
      }
      case "--torch-settings": {
        const list = value(a, argv[++i]).split(",");
        for (const s of list) if (!(s in TORCH_SETTINGS)) throw new RangeError(`--torch-settings: unknown setting ${s}; allowed: ${Object.keys(TORCH_SETTINGS).join(", ")}`);
        o.torchSettings = list as TorchSetting[];
        break;
      }
      case "--no-torch":
        o.torch = false;
        break;
      case "--quick":
        o.quick = true;
        break;
      case "--child": {
        const c = value(a, argv[++i]);
        if (c !== "reference-check" && c !== "write-check" && c !== "time") throw new RangeError(`--child must be reference-check, write-check or time, got ${c}`);
        o.child = c;
        break;
      }
      case "--dir":
        o.dir = value(a, argv[++i]);
        break;
      case "--expect-loss":
        o.expectLoss = Number(value(a, argv[++i]));
        break;
      case "--help":
      case "-h":
        process.stdout.write(
          "usage: node dist/bench/train-step.js [--ns 4096,16384,65536] [--steps 5] [--warmup 2] [--threads 2]\n" +
            "       [--torch-settings default,passive,blas1,passive+blas1] [--python PATH] [--no-torch]\n" +
            "       [--roof-size 1024] [--backend native|reference] [--quick]\n" +
            "  --torch-settings  PyTorch environments to try (also: inherit = the environment as it is)\n" +
            "  --quick           N 4096 only, 1 warm-up + 2 timed steps, PyTorch settings default,passive (not a figure to quote)\n",
        );
        process.exit(0);
      default:
        throw new RangeError(`unknown argument ${a} (see --help)`);
    }
  }
  if (o.quick) {
    if (!nsGiven) o.ns = [4096];
    if (!stepsGiven) {
      o.steps = 2;
      o.warmup = 1;
    }
    o.torchSettings = o.torchSettings.filter((s) => s === "default" || s === "passive");
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// The model, its data and its cost.

function cost(n: number): PerceiverArCost {
  return { N: n, M: LATENTS, d: MODEL.numChannels, L: MODEL.numSelfAttentionLayers, V: MODEL.vocabSize };
}

function buildModel(maxSeqLen: number, backend: Backend): PerceiverAR {
  return new PerceiverAR({ ...MODEL, maxSeqLen }, backend, { seed: 0 });
}

/** n tokens and the next token of each of the last `latents` positions (seed 1). */
function tokens(n: number, latents: number): { ids: IntBatch; labels: IntBatch } {
  const u = uniformSource(1);
  const seq = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) seq[i] = Math.floor(u() * MODEL.vocabSize);
  return { ids: { data: seq.slice(0, n), shape: [1, n] }, labels: { data: seq.slice(n - latents + 1), shape: [1, latents] } }; // (1, N), (1, M)
}

function backendOf(o: Options): { backend: Backend; threads: number } {
  const backend = getBackend(o.backend ?? undefined);
  const threads = backend.name === "native" ? setThreads(o.threads) : 1; // the reference backend is single-threaded
  return { backend, threads };
}

// ---------------------------------------------------------------------------------------------
// Child jobs.

/** Our backend against the reference backend on a short input of the benchmark's model. */
function childReferenceCheck(o: Options): void {
  const { backend } = backendOf(o);
  const { ids, labels } = tokens(CHECK_TOKENS, CHECK_LATENTS);
  const prefixLen = CHECK_TOKENS - CHECK_LATENTS;
  const check = checkAgainstReference(backend, (b) => {
    const model = buildModel(CHECK_CONTEXT, b);
    return {
      parameters: model.parameters,
      step: () => ({ loss: model.lossAndGrad(ids, labels, { prefixLen }).loss, logits: model.forward(ids, { prefixLen }).data }),
    };
  });
  writeJsonResult({ backend: backend.name, tokens: CHECK_TOKENS, latents: CHECK_LATENTS, check });
}

/** Our model's first step at N as a golden-layout folder, for the PyTorch side to load and check. */
function childWriteCheck(o: Options): void {
  const n = o.ns[0];
  const dir = o.dir;
  if (dir === null) throw new RangeError("--child write-check needs --dir");
  const { backend } = backendOf(o);
  const model = buildModel(n, backend);
  const { ids, labels } = tokens(n, LATENTS);
  saveModel(model, dir); // config.json + weights.safetensors (reference names)
  const out = captureStep(model.parameters, () => ({ loss: model.lossAndGrad(ids, labels).loss, logits: model.forward(ids).data }));
  const tensors = new Map<string, WritableTensor>([
    ["input_ids", { shape: [1, n], data: ids.data }],
    ["labels", { shape: [1, LATENTS], data: labels.data }],
    ["logits", { shape: [1, LATENTS, MODEL.vocabSize], data: out.logits! }],
    ["loss", { shape: [1], data: Float32Array.of(out.loss) }],
  ]);
  for (const [name, g] of out.grads) tensors.set(`grad/${name}`, { shape: [...model.parameters.get(name)!.shape], data: g });
  writeSafetensorsFile(path.join(dir, "forward.safetensors"), tensors);
  fs.writeFileSync(path.join(dir, "meta.json"), JSON.stringify({ prefix_len: n - LATENTS, written_by: "bench/train-step.ts" }) + "\n");
  writeJsonResult({ n, loss: out.loss, backend: backend.name });
}

/** The timed run at N: roof, warm-ups, timed steps; the first loss must equal --expect-loss. */
function childTime(o: Options): void {
  const n = o.ns[0];
  const baseline = peakRssMb();
  const { backend, threads } = backendOf(o);
  const roofBefore = measureGemmRoof(backend, o.roofSize);
  const model = buildModel(n, backend);
  const opt = new AdamW(model.parameters, backend, ADAMW);
  const { ids, labels } = tokens(n, LATENTS);
  const losses: number[] = [];
  const times = timeSteps(
    o.warmup,
    o.steps,
    (i) => {
      model.zeroGrads();
      const loss = model.lossAndGrad(ids, labels).loss;
      if (i === 0 && o.expectLoss !== null) requireClose(maxAbsOrRelError([loss], [o.expectLoss]), TOLERANCE.loss, `N ${n}: first-step loss ${loss} vs the validated ${o.expectLoss}`);
      opt.update(LR);
      losses.push(loss);
    },
    (i, s, warm) => process.stderr.write(`  ours N=${n} step ${i + 1}/${o.warmup + o.steps}${warm ? " (warm-up)" : ""}: ${s.toFixed(3)} s, loss ${losses[i].toFixed(4)}\n`),
  );
  const roofAfter = measureGemmRoof(backend, o.roofSize);
  const r: OursResult = {
    n,
    parameters: model.numParameters,
    median_step_s: times.median,
    min_step_s: times.min,
    step_times_s: times.seconds.map((t) => Math.round(t * 1e4) / 1e4),
    losses,
    baseline_rss_mb: baseline,
    peak_rss_mb: peakRssMb(),
    roof: roofAfter.gflops > roofBefore.gflops ? roofAfter : roofBefore,
    roof_before_gflops: roofBefore.gflops,
    roof_after_gflops: roofAfter.gflops,
    backend: backend.name,
    isa: backend.name === "native" ? nativeIsa() : null,
    threads,
  };
  writeJsonResult(r);
}

// ---------------------------------------------------------------------------------------------
// Parent.

interface TorchRun {
  setting: TorchSetting;
  result: TorchResult | null;
  error: string | null;
}

interface Row {
  n: number;
  ours: OursResult | null;
  oursError: string | null;
  torch: TorchRun[];
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The fastest PyTorch setting whose first step matched ours. */
function bestTorch(row: Row): TorchRun | null {
  const ok = row.torch.filter((t) => t.result !== null && t.result.check?.ok === true);
  return ok.reduce<TorchRun | null>((best, t) => (best === null || t.result!.median_step_s < best.result!.median_step_s ? t : best), null);
}

function torchCheckText(r: TorchResult): string {
  if (r.check === null) return "no check";
  const e = (x: number): string => x.toExponential(1);
  return `${r.check.ok ? "ok" : "FAILED"}: loss ${e(r.check.loss_err)}, logits ${e(r.check.logits_max_err)}, gradients ${e(r.check.grad_max_rel_err)}`;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.child === "reference-check") return childReferenceCheck(o);
  if (o.child === "write-check") return childWriteCheck(o);
  if (o.child === "time") return childTime(o);

  const backendName = getBackend(o.backend ?? undefined).name; // loads the addon here; its threads sleep while the children run
  if (backendName === "reference" && o.ns.some((n) => n > 4096)) {
    process.stderr.write("train-step: the reference backend takes ~25 s per step at N 4096; running N 4096 only (pass --ns to choose)\n");
    o.ns = [4096];
  }
  const torch = o.torch ? findTorchPython(o.python) : null;
  if (o.torch && torch === null) process.stderr.write(`train-step: no Python with torch found (tried ${o.python ?? "$PYTHON, python3, /usr/bin/python3"}); our side only\n`);
  const common = ["--threads", String(o.threads), ...(o.backend !== null ? ["--backend", o.backend] : [])];
  const machineBefore = machineDescription();
  let failed = false;

  // 1. Our backend against the reference backend, before anything is timed.
  process.stderr.write(`validating the ${backendName} backend against the reference backend (${CHECK_TOKENS} tokens, ${CHECK_LATENTS} latents)...\n`);
  const ref = await runJsonChild<{ check: StepCheck | null }>(process.execPath, [HERE, "--child", "reference-check", ...common], { timeoutSeconds: CHILD_TIMEOUT_S });
  if (ref.check !== null && !ref.check.ok) {
    process.stdout.write(`train-step: the ${backendName} backend disagrees with the reference backend beyond tolerance: ${describeCheck(ref.check)}; refusing to print a speed\n`);
    process.exit(1);
  }
  const refLine = ref.check === null ? "the reference backend itself (nothing to compare)" : `${backendName} vs reference backend, ${CHECK_TOKENS} tokens / ${CHECK_LATENTS} latents: ${describeCheck(ref.check)}`;

  const rows: Row[] = [];
  for (const n of o.ns) {
    const row: Row = { n, ours: null, oursError: null, torch: [] };
    rows.push(row);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `train-step-${n}-`));
    try {
      process.stderr.write(`N=${n}: writing our first step (weights, tokens, loss, gradients) for the PyTorch check\n`);
      const written = await runJsonChild<{ loss: number }>(process.execPath, [HERE, "--child", "write-check", "--n", String(n), "--dir", dir, ...common], { timeoutSeconds: CHILD_TIMEOUT_S });
      process.stderr.write(`N=${n}: ours (${backendName})\n`);
      try {
        row.ours = await runJsonChild<OursResult>(
          process.execPath,
          [HERE, "--child", "time", "--n", String(n), "--steps", String(o.steps), "--warmup", String(o.warmup), "--roof-size", String(o.roofSize), "--expect-loss", String(written.loss), ...common],
          { timeoutSeconds: CHILD_TIMEOUT_S },
        );
      } catch (e) {
        row.oursError = errorText(e);
        failed = true;
      }
      if (torch !== null) {
        for (const setting of o.torchSettings) {
          process.stderr.write(`N=${n}: PyTorch ${torch.version}, ${setting} (${TORCH_SETTINGS[setting].describe})\n`);
          const args = [TORCH_SCRIPT, "--init-from", dir, "--steps", String(o.steps), "--warmup", String(o.warmup), "--threads", String(o.threads)];
          try {
            const result = await runJsonChild<TorchResult>(torch.python, args, { env: torchSettingEnv(setting), timeoutSeconds: CHILD_TIMEOUT_S });
            if (result.check?.ok !== true) failed = true;
            row.torch.push({ setting, result, error: null });
          } catch (e) {
            row.torch.push({ setting, result: null, error: errorText(e) });
          }
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const loadAfter = os.loadavg()[0];
  process.stdout.write(report(o, rows, backendName, torch, refLine, machineBefore, loadAfter) + "\n");
  if (failed) process.exit(1);
}

function report(o: Options, rows: Row[], backendName: string, torch: { python: string; version: string } | null, refLine: string, machineBefore: string, loadAfter: number): string {
  const ours = rows.map((r) => r.ours).find((x) => x !== null) ?? null;
  const quotable = o.steps >= QUOTABLE.steps && o.warmup >= QUOTABLE.warmup;
  const out: string[] = [];
  out.push(`Training step (forward + backward + AdamW): M ${LATENTS}, width ${MODEL.numChannels}, ${MODEL.numHeads} heads, 1 cross + ${MODEL.numSelfAttentionLayers} self-attention layers, vocab ${MODEL.vocabSize}, batch 1, no dropout`);
  out.push(
    `ours: ${backendName} backend${ours?.isa ? ` (${ours.isa})` : ""}, ${ours?.threads ?? "?"} thread(s); PyTorch: ${torch ? `${torch.version} (${torch.python}), ${o.threads} threads` : "not run"}; ` +
      `median of ${o.steps} step(s) after ${o.warmup} warm-up(s) on each side${quotable ? "" : ` — fewer than ${QUOTABLE.steps} steps after ${QUOTABLE.warmup} warm-ups: not a figure to quote`}`,
  );
  out.push(`machine: ${machineBefore} before the run, ${loadAfter.toFixed(2)} after it (the run itself adds up to ${o.threads}; more than that means other work shared the cores)`);
  out.push(`validated before timing: ${refLine}; per N, every PyTorch setting's first step against ours on identical weights and tokens (column "check" below)`);
  out.push("");
  const fmtS = (s: number): string => s.toFixed(3);
  const speed = rows.map((r) => {
    const t = bestTorch(r);
    const flops = TRAINING_FLOPS_PER_FORWARD * perceiverArForwardFlops(cost(r.n));
    const o1 = r.ours;
    return [
      String(r.n),
      o1 ? (o1.parameters / 1e6).toFixed(1) + " M" : "-",
      o1 ? fmtS(o1.median_step_s) : `failed: ${r.oursError ?? "?"}`,
      t ? `${fmtS(t.result!.median_step_s)} (${t.setting})` : r.torch.length > 0 ? "no valid run" : "-",
      o1 && t ? (t.result!.median_step_s / o1.median_step_s).toFixed(2) : "-",
      (flops / 1e9).toFixed(1),
      o1 ? (flops / o1.median_step_s / 1e9).toFixed(0) : "-",
      o1 ? o1.roof.gflops.toFixed(0) : "-",
      o1 ? ((100 * flops) / o1.median_step_s / 1e9 / o1.roof.gflops).toFixed(0) + "%" : "-",
      o1 ? o1.peak_rss_mb.toFixed(0) : "-",
      t ? `${t.result!.baseline_rss_mb.toFixed(0)} / ${t.result!.peak_rss_mb.toFixed(0)}` : "-",
    ];
  });
  out.push(
    markdownTable(
      ["N", "parameters", "ours s/step", "PyTorch best s/step (setting)", "PyTorch/ours", "GFLOP/step", "ours GFLOP/s", `GEMM roof GFLOP/s (${o.roofSize}³)`, "ours % of roof", "ours peak RSS MB", "PyTorch RSS MB baseline / peak"],
      speed,
    ),
  );
  out.push("");
  out.push(
    `GFLOP/step: bench/cost-model.ts (DESIGN.md §2) × ${TRAINING_FLOPS_PER_FORWARD}, causally visible query-key pairs only; counting every pair instead gives ` +
      rows.map((r) => `${(TRAINING_FLOPS_PER_FORWARD * perceiverArForwardFlops(cost(r.n), "dense") / 1e9).toFixed(1)}`).join(" / ") +
      ` GFLOP. Roof: the best ${o.roofSize}³ GEMM on our backend, timed in the same process before and after the steps. PyTorch RSS baseline: interpreter + torch imported, before the model. Ours baseline: ` +
      rows.map((r) => (r.ours ? r.ours.baseline_rss_mb.toFixed(0) : "-")).join(" / ") +
      " MB.",
  );
  if (rows.some((r) => r.torch.length > 0)) {
    out.push("");
    out.push("Every PyTorch setting (OPENBLAS_* unset in all but `inherit`):");
    out.push("");
    const all = rows.flatMap((r) =>
      r.torch.map((t) => {
        const x = t.result;
        if (x === null) return [String(r.n), t.setting, `failed: ${t.error ?? "?"}`, "-", "-", "-", "-", "-"];
        const valid = x.check?.ok === true;
        return [String(r.n), t.setting, valid ? fmtS(x.median_step_s) : "not valid", valid ? fmtS(x.min_step_s) : "-", torchCheckText(x), x.gemm_gflops.toFixed(0), x.baseline_rss_mb.toFixed(0), x.peak_rss_mb.toFixed(0)];
      }),
    );
    out.push(markdownTable(["N", "setting", "median s/step", "min s/step", "first step vs ours (max error)", `torch.mm 1024³ GFLOP/s`, "baseline RSS MB", "peak RSS MB"], all));
    const slow = rows.flatMap((r) => r.torch).filter((t) => t.result !== null && ours !== null && t.result.gemm_gflops < SLOW_TORCH_BLAS * ours.roof.gflops);
    if (slow.length > 0) {
      out.push("");
      out.push(
        `WARNING: PyTorch's own GEMM ran below ${SLOW_TORCH_BLAS * 100}% of ours in ${slow.length} run(s): its BLAS is probably not a tuned one (Debian: apt-get install libopenblas0-pthread), so these are not PyTorch at its best.`,
      );
    }
  }
  out.push("");
  out.push("raw: " + JSON.stringify(rows));
  return out.join("\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`train-step: ${e instanceof ValidationError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
