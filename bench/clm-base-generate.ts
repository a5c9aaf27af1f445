// Benchmark: a clm-base-sized hub folder (bench/make_clm_base_folder.py: krasserm/perceiver-ar-clm-
// base's published config, random weights, 455M parameters) here and in PyTorch on the same weights.
//
//   node dist/bench/clm-base-generate.js <folder with model.safetensors> [--prompt 512] [--tokens 64]
//        [--python /usr/bin/python3] [--torch-settings default,passive] [--no-int8]
//
// 1. Logits: the folder loaded here vs bench/torch_clm_generate.py (PyTorch, the reference's
//    computation written out) on one full window (max_seq_len tokens, max_latents latents): the
//    largest absolute difference over all M × V logits (and the golden measure, absolute or
//    relative, which must be within 1e-4 before anything is timed).
// 2. Greedy tokens/s for --tokens new tokens after a --prompt-token prompt (num_latents 1, the
//    reference's default), from the prompt's arrival to the last token (prefill included):
//    PyTorch's cached loop (in each --torch-settings environment, the best counts), ours with the
//    exact and the reset schedule (with this prompt and count the latents never fill, so both
//    schedules ask for the same windows; the reset's figure is then the same work), and ours with
//    int8 weights. Our float32 tokens must equal PyTorch's token for token (validated, else no
//    speed is printed); the int8 run's tokens are reported as the count that agree.
// Each side runs in its own process (PyTorch in a child, one setting at a time); the machine may be
// shared: compare figures of the same run.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { getBackend } from "../src/backend/select.js";
import { generate } from "../src/generate/generate.js";
import { loadModel } from "../src/io/checkpoint.js";
import { Rng } from "../src/util/rng.js";
import { DEFAULT_TORCH_SETTINGS, findTorchPython, machineDescription, markdownTable, runJsonChild, torchSettingEnv, TORCH_SETTINGS, type TorchSetting } from "./harness.js";
import { maxAbsDiff, maxAbsOrRelError, requireClose, TOLERANCE, ValidationError } from "./validate.js";

interface TorchResult {
  tokens: number[];
  prefill_s: number;
  total_s: number;
  tokens_per_s: number;
  step_ms: number | null;
  torch_version: string;
  threads: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { prompt: { type: "string" }, tokens: { type: "string" }, python: { type: "string" }, "torch-settings": { type: "string" }, "no-int8": { type: "boolean" } },
});

async function main(): Promise<void> {
  if (positionals.length !== 1) throw new RangeError("usage: node dist/bench/clm-base-generate.js <folder with config.json + model.safetensors> [--prompt 512] [--tokens 64]");
  const folder = positionals[0];
  const promptLength = Number(values.prompt ?? 512);
  const newTokens = Number(values.tokens ?? 64);
  const settings = (values["torch-settings"]?.split(",") ?? DEFAULT_TORCH_SETTINGS.slice(0, 2)) as TorchSetting[];
  for (const s of settings) if (!(s in TORCH_SETTINGS)) throw new RangeError(`--torch-settings: unknown setting ${s}`);
  const py = findTorchPython(values.python ?? null);
  if (py === null) throw new Error("no Python with torch found (try --python /usr/bin/python3)");
  const backend = getBackend();
  process.stderr.write(`loading ${folder}...\n`);
  const model = loadModel(folder, backend, { log: () => {} });
  const c = model.config;
  const rng = new Rng(11);
  const window = Array.from({ length: c.maxSeqLen }, () => rng.nextInt(c.vocabSize));
  const prompt = window.slice(0, promptLength);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clm-base-generate-"));
  try {
    fs.writeFileSync(path.join(tmp, "window.json"), JSON.stringify(window));
    fs.writeFileSync(path.join(tmp, "prompt.json"), JSON.stringify(prompt));
    const script = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "..", "bench", "torch_clm_generate.py");
    const prefixLen = c.maxSeqLen - c.maxLatents;

    // 1. Logits of one full window, both sides.
    process.stderr.write("PyTorch: full-window logits...\n");
    const logitsFile = path.join(tmp, "logits.f32");
    await runJsonChild<unknown>(py.python, [script, "--folder", folder, "--prompt-file", path.join(tmp, "window.json"), "--logits-out", logitsFile, "--logits-prefix", String(prefixLen)], {
      env: torchSettingEnv(settings[0]),
    });
    const buf = fs.readFileSync(logitsFile);
    const theirs = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    process.stderr.write("ours: full-window logits...\n");
    const ours = model.forward([window], { prefixLen }).data; // (1, M, V)
    const absDiff = maxAbsDiff(ours, theirs);
    const golden = maxAbsOrRelError(ours, theirs);
    requireClose(golden, TOLERANCE.logits, "full-window logits vs PyTorch");

    // 2. Greedy generation: PyTorch's cached loop in each setting, then ours.
    const torchRuns: Array<[TorchSetting, TorchResult]> = [];
    for (const s of settings) {
      process.stderr.write(`PyTorch (${TORCH_SETTINGS[s].describe}): ${newTokens} greedy tokens after ${promptLength}...\n`);
      torchRuns.push([s, await runJsonChild<TorchResult>(py.python, [script, "--folder", folder, "--prompt-file", path.join(tmp, "prompt.json"), "--new-tokens", String(newTokens)], { env: torchSettingEnv(s) })]);
    }
    const [bestSetting, best] = torchRuns.reduce((a, b) => (b[1].tokens_per_s > a[1].tokens_per_s ? b : a));
    await generate(model, prompt.slice(0, 8), { maxNewTokens: 2, greedy: true }); // warm-up
    const tq = performance.now();
    if (!values["no-int8"]) await generate(model, prompt.slice(0, 8), { maxNewTokens: 2, greedy: true, weights: "int8" }); // quantises every matrix, untimed
    const quantiseSeconds = (performance.now() - tq) / 1000;
    const ourRuns: Array<[string, number, number[]]> = [];
    for (const [label, o] of [
      ["ours, exact schedule", {}],
      ["ours, reset schedule", { schedule: "reset" as const }],
      ...(values["no-int8"] ? [] : [["ours, reset schedule, int8 weights", { schedule: "reset" as const, weights: "int8" as const }]]),
    ] as Array<[string, object]>) {
      process.stderr.write(`${label}...\n`);
      const t0 = performance.now();
      const tokens = await generate(model, prompt, { maxNewTokens: newTokens, greedy: true, ...o });
      ourRuns.push([label, (performance.now() - t0) / 1000, tokens]);
    }
    for (const [label, , tokens] of ourRuns.slice(0, 2)) {
      if (JSON.stringify(tokens) !== JSON.stringify(best.tokens)) throw new ValidationError(`${label}: greedy tokens differ from PyTorch's (${tokens.slice(0, 8).join(",")}... vs ${best.tokens.slice(0, 8).join(",")}...); refusing to print a speed`);
    }
    console.log(`${folder}: ${(model.numParameters / 1e6).toFixed(1)}M parameters; backend ${backend.name}; PyTorch ${best.torch_version} (${py.python}), ${best.threads} threads; ${machineDescription()}`);
    console.log(`logits of one full window (${c.maxSeqLen} tokens, ${c.maxLatents} latents, ${c.maxLatents} x ${c.vocabSize} values) vs PyTorch: max abs diff ${absDiff.toExponential(2)} (golden measure ${golden.toExponential(2)})`);
    console.log(`validated: our float32 greedy tokens == PyTorch's, all ${newTokens}`);
    const rows: string[][] = torchRuns.map(([s, r]) => [`PyTorch cached loop (${TORCH_SETTINGS[s].describe})`, r.total_s.toFixed(2), r.tokens_per_s.toFixed(2), `${(r.prefill_s * 1000).toFixed(0)} ms`, r.step_ms === null ? "-" : `${r.step_ms.toFixed(0)} ms`, s === bestSetting ? "1.00x (best)" : `${(r.tokens_per_s / best.tokens_per_s).toFixed(2)}x`, "-"]);
    for (const [label, seconds, tokens] of ourRuns) {
      const agree = tokens.filter((t, i) => t === best.tokens[i]).length;
      rows.push([label, seconds.toFixed(2), (newTokens / seconds).toFixed(2), "", "", `${(newTokens / seconds / best.tokens_per_s).toFixed(2)}x`, `${agree}/${newTokens}`]);
    }
    console.log(`\ngreedy, ${newTokens} new tokens after a ${promptLength}-token prompt (num_latents 1), prefill included${values["no-int8"] ? "" : `; int8: quantising the weights (once, before timing) took ${quantiseSeconds.toFixed(1)} s`}:`);
    console.log(markdownTable(["run", "seconds", "tokens/s", "prefill", "step (median)", "vs PyTorch best", "tokens == PyTorch"], rows));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof ValidationError || e instanceof RangeError ? (e as Error).message : (e as Error).stack}\n`);
  process.exit(1);
});
