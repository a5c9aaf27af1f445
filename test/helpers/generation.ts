// Small random models for the generation tests, in one place: the cache/schedule/batch model
// (perturbed norms, so that a key in the wrong LayerNorm form shows), its logits distance, and a
// byte-level text run folder for the CLI tests.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { referenceBackend } from "../../src/backend/reference/index.js";
import { saveModel } from "../../src/io/checkpoint.js";
import { PerceiverAR } from "../../src/models/perceiver-ar.js";
import { Rng } from "../../src/util/rng.js";

/** max_seq_len 24 and 6 latents: prefix limit 18; every schedule phase within a few dozen steps. */
export const SMALL_GENERATION_CONFIG = { vocab_size: 50, max_seq_len: 24, max_latents: 6, num_channels: 32, num_heads: 2, num_self_attention_layers: 2, cross_attention_dropout: 0, init_scale: 0.3 };

/** A random model whose LayerNorm parameters and biases are perturbed too (so LN_q != LN_kv). */
export function smallGenerationModel(over: Record<string, unknown>, seed = 1): PerceiverAR {
  const model = new PerceiverAR({ ...SMALL_GENERATION_CONFIG, ...over }, referenceBackend, { seed });
  const rng = new Rng(seed + 1000);
  for (const [name, v] of model.parameters) {
    if (!name.includes("norm") && !name.endsWith("bias")) continue;
    for (let i = 0; i < v.data.length; i++) v.data[i] += (rng.nextFloat() - 0.5) * 0.6;
  }
  return model;
}

/** max |a_i - b_i| (asserts equal lengths). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A temporary text run folder (task.json + model/) with a small random byte-level model; `cleanup` removes it. */
export function byteModelRunFolder(prefix: string): { dir: string; modelDir: string; model: PerceiverAR; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const modelDir = path.join(dir, "model");
  const model = new PerceiverAR(
    { vocab_size: 258, max_seq_len: 32, max_latents: 8, num_channels: 32, num_heads: 2, num_self_attention_layers: 1, abs_pos_emb: false, init_scale: 0.5 },
    referenceBackend,
    { seed: 4 },
  );
  saveModel(model, modelDir);
  fs.writeFileSync(path.join(dir, "task.json"), JSON.stringify({ task: "text", data: "sotu", seed: 0 }));
  return { dir, modelDir, model, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
