// Benchmark: KV-cached vs uncached generation, tokens/s per schedule phase.
//
// Model: max_seq_len 4096, 256 latents, width 256, 4 heads, 5 self-attention layers, vocab 262,
// rotary only (abs_pos_emb false, the published CLM layout), random weights. The prompt is chosen
// so that a short run covers every phase: prefill, latents growing, prefix growing, window sliding.
// Both decoders run in lock-step on the same tokens (greedy on the cached logits); the table shows
// tokens/s per phase and the largest logits difference between them.
//
// Validation before timing (bench/validate.ts): the first step's uncached logits must equal the same
// model's on the reference backend, and at every step the cached logits must equal the uncached
// ones, within 1e-4 (the cache tests' tolerance); otherwise the script stops without a table.
//
// Usage: node dist/bench/generate.js [latentSteps] [prefixSteps] [slideSteps]
// (defaults 16 16 16 on the native backend, 4 3 3 on the reference backend: ~8 s per uncached step)
// Backend: getBackend() from src/backend/select.ts (env PERCEIVER_AR_BACKEND=native|reference).

import { getBackend } from "../src/backend/select.js";
import { CachedDecoder } from "../src/generate/cached-decoder.js";
import { lastPositionLogits } from "../src/generate/generate.js";
import { argmax } from "../src/generate/sampling.js";
import { generationSchedule, type StepKind } from "../src/generate/schedule.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";
import { referenceBackend } from "../src/backend/reference/index.js";
import { machineDescription, markdownTable } from "./harness.js";
import { maxAbsDiff, maxAbsOrRelError, requireClose, TOLERANCE } from "./validate.js";


const config = {
  vocab_size: 262,
  max_seq_len: 4096,
  max_latents: 256,
  num_channels: 256,
  num_heads: 4,
  num_self_attention_layers: 5,
  num_self_attention_rotary_layers: -1,
  abs_pos_emb: false,
  output_norm: true,
  output_bias: false,
  cross_attention_dropout: 0,
};

const backend = getBackend();
const defaults = backend.name === "reference" ? [4, 3, 3] : [16, 16, 16];
const [latentSteps, prefixSteps, slideSteps] = [2, 3, 4].map((i, j) => Number(process.argv[i] ?? defaults[j]));
const model = new PerceiverAR(config, backend, { seed: 1 });
const maxPrefix = config.max_seq_len - config.max_latents;
const numLatents = config.max_latents - latentSteps;
const promptLength = maxPrefix - prefixSteps + numLatents;
const steps = 1 + latentSteps + prefixSteps + slideSteps;
const prompt = Array.from({ length: promptLength }, (_, i) => (i * 7919) % config.vocab_size);
console.log(
  `backend ${backend.name}; model ${model.numParameters.toLocaleString()} parameters; prompt ${promptLength} tokens, ` +
    `${numLatents} initial latents, ${steps} steps; ${machineDescription()}`,
);

lastPositionLogits(model, prompt.slice(0, 1024), 1024 - 256); // warm-up (JIT, thread pool)

const schedule = [...generationSchedule(model.config, promptLength, numLatents, steps)];
if (backend.name !== referenceBackend.name) {
  process.stderr.write("validating the first step's uncached logits against the reference backend...\n");
  const first = schedule[0];
  const window = prompt.slice(first.windowStart);
  const want = lastPositionLogits(new PerceiverAR(config, referenceBackend, { seed: 1 }), window, first.prefixLen);
  const err = maxAbsOrRelError(lastPositionLogits(model, window, first.prefixLen), want);
  requireClose(err, TOLERANCE.logits, `first step's logits on the ${backend.name} backend vs the reference backend`);
  console.log(`validated: first step's logits vs the reference backend, max error ${err.toExponential(1)}; cached vs uncached at every step below (tolerance ${TOLERANCE.cache})`);
}

const decoder = new CachedDecoder(model);
decoder.push(prompt);
const stream = [...prompt];
const rows = new Map<StepKind, { steps: number; cached: number; full: number; diff: number }>();
for (const st of schedule) {
  let t = performance.now();
  const cached = decoder.logits(st.prefixLen);
  const cachedMs = performance.now() - t;
  t = performance.now();
  const full = lastPositionLogits(model, stream.slice(st.windowStart), st.prefixLen);
  const fullMs = performance.now() - t;
  const diff = maxAbsDiff(cached, full);
  requireClose(diff, TOLERANCE.cache, `step ${st.step} (${st.kind}): cached vs uncached logits`);
  const r = rows.get(st.kind) ?? { steps: 0, cached: 0, full: 0, diff: 0 };
  rows.set(st.kind, { steps: r.steps + 1, cached: r.cached + cachedMs, full: r.full + fullMs, diff: Math.max(r.diff, diff) });
  const token = argmax(cached);
  stream.push(token);
  decoder.push([token]);
  process.stderr.write(`step ${st.step} ${st.kind} window ${st.window} prefix ${st.prefixLen}: cached ${cachedMs.toFixed(0)} ms, full ${fullMs.toFixed(0)} ms\n`);
}

const fmt = (x: number) => (x >= 10 ? x.toFixed(1) : x.toPrecision(3));
const table = [...rows].map(([kind, r]) => {
  const full = (1000 * r.steps) / r.full;
  const cached = (1000 * r.steps) / r.cached;
  return [kind, String(r.steps), fmt(full), fmt(cached), `${(cached / full).toFixed(2)}x`, r.diff.toExponential(1)];
});
console.log("\n" + markdownTable(["phase", "steps", "uncached tok/s", "cached tok/s", "speed-up", "max abs logits diff"], table));
