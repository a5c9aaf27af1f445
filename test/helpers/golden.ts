// Access to the reference's golden vectors in ../shared/golden (see its README.md), and the
// comparison helpers every golden test uses.

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensorsFile, type StoredTensor } from "../../src/io/safetensors.js";

/** Repository root: tests run compiled from dist/test/helpers/. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const GOLDEN_ROOT = process.env.PERCEIVER_AR_GOLDEN ?? path.resolve(REPO_ROOT, "../shared/golden");

export interface GoldenCase {
  dir: string;
  config: Record<string, unknown>;
  meta: { prefix_len: number; seq_len: number; batch: number };
  forward: Map<string, StoredTensor>;
}

export function loadGolden(name: string): GoldenCase {
  const dir = path.join(GOLDEN_ROOT, name);
  return {
    dir,
    config: JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")),
    meta: JSON.parse(fs.readFileSync(path.join(dir, "meta.json"), "utf8")),
    forward: readSafetensorsFile(path.join(dir, "forward.safetensors")).tensors,
  };
}

/** max |a - b| / max(1, |b|) elementwise: "absolute or relative, whichever is larger" tolerance. */
export function maxMixedError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

/** max |a - b| / max |b|: error relative to the tensor's largest magnitude. */
export function maxScaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    err = Math.max(err, Math.abs(a[i] - b[i]));
  }
  return scale === 0 ? err : err / scale;
}

/** Every golden folder with a state dict and a forward record with gradients: the golden cases. */
export function goldenCaseNames(): string[] {
  return fs
    .readdirSync(GOLDEN_ROOT)
    .filter((d) => ["config.json", "weights.safetensors", "forward.safetensors", "meta.json"].every((f) => fs.existsSync(path.join(GOLDEN_ROOT, d, f))))
    .sort();
}

/** A golden case's model inputs: the token batch (B, N), the latent labels (B, M) and the forward options. */
export function goldenInputs(golden: GoldenCase): {
  batch: { data: Int32Array; shape: readonly [number, number] };
  labels: { data: Int32Array; shape: readonly [number, number] };
  opts: { prefixLen: number; padMask: Uint8Array };
} {
  const f = golden.forward;
  const ids = f.get("input_ids")!;
  const [B, N] = ids.shape;
  return {
    batch: { data: ids.data as Int32Array, shape: [B, N] },
    labels: { data: f.get("labels")!.data as Int32Array, shape: [B, N - golden.meta.prefix_len] },
    opts: { prefixLen: golden.meta.prefix_len, padMask: f.get("pad_mask")!.data as Uint8Array },
  };
}
