// The copy task (the paper's `random_mirrored`): C/2 random symbols, then the same symbols
// reversed, then EOS. Only the mirrored half is scored, where every prediction needs a token up to
// a whole context length back. Metric: next-token accuracy on the scored latent positions.

import { CopyTaskDataset, COPY_EOS_ID, COPY_PAD_ID, COPY_VOCAB_SIZE } from "../data/copy-task.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { samplerBatchSource, type BatchSource } from "../train/batch-source.js";
import type { ValidationSet } from "../train/trainer.js";
import type { Task, TaskSpec } from "./task.js";

/** Seed offset so validation examples never coincide with a training stream's. */
const VALIDATION_SEED = 0x5eed;

export class CopyTask implements Task {
  readonly spec: TaskSpec;
  readonly vocabSize = COPY_VOCAB_SIZE;
  readonly padId = COPY_PAD_ID;
  readonly eosId = COPY_EOS_ID;
  readonly metricName = "nats/token on the mirrored half";

  constructor(spec: TaskSpec) {
    this.spec = { task: "copy", seed: spec.seed ?? 0 };
  }

  trainSource(seqLen: number, batchSize: number, seed: number): BatchSource {
    return samplerBatchSource(new CopyTaskDataset({ contextLength: seqLen, seed: seed + (this.spec.seed ?? 0) }), batchSize);
  }

  /** Windows whose final target (EOS, not part of the mirrored half) is ignored (-100). */
  validation(seqLen: number, count: number): ValidationSet {
    const ds = new CopyTaskDataset({ contextLength: seqLen, seed: VALIDATION_SEED });
    return {
      windows: Array.from({ length: count }, () => {
        const w = ds.next().tokens.slice();
        w[seqLen] = -100;
        return w;
      }),
    };
  }

  /** Loss on the scored latent positions (accuracy: `copyAccuracy`). */
  metric(e: { loss: number }): number {
    return e.loss;
  }

  describeTokens(tokens: ArrayLike<number>): string {
    return `${tokens.length} copy-task tokens`;
  }
}

export interface CopyAccuracy {
  /** Fraction of scored latent positions whose argmax prediction is right. */
  accuracy: number;
  /** Mean cross-entropy (nats) over the scored positions. */
  loss: number;
  scored: number;
  examples: number;
}

/**
 * Next-token accuracy on the mirrored half, over the latent positions of `examples` validation
 * examples of the model's context length, using `numLatents` latents (default max_latents).
 */
export function copyAccuracy(model: PerceiverAR, o: { examples: number; numLatents?: number; seed?: number; batchSize?: number }): CopyAccuracy {
  const c = model.config;
  const N = c.maxSeqLen;
  const M = o.numLatents ?? c.maxLatents;
  const P = N - M;
  const ds = new CopyTaskDataset({ contextLength: N, seed: o.seed ?? VALIDATION_SEED });
  let right = 0;
  let scored = 0;
  let nats = 0;
  const B = o.batchSize ?? 4;
  for (let start = 0; start < o.examples; start += B) {
    const b = Math.min(B, o.examples - start);
    const batch = ds.sample(b); // (b, N)
    const logits = model.forward({ data: batch.inputs, shape: [b, N] }, { prefixLen: P }); // (b, M, V)
    const V = c.vocabSize;
    for (let r = 0; r < b; r++) {
      for (let i = 0; i < M; i++) {
        const label = batch.labels[r * N + P + i];
        if (label < 0) continue;
        const off = (r * M + i) * V;
        let best = 0;
        let max = -Infinity;
        for (let v = 0; v < V; v++) if (logits.data[off + v] > max) [max, best] = [logits.data[off + v], v];
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits.data[off + v] - max);
        nats += max + Math.log(sum) - logits.data[off + label];
        if (best === label) right++;
        scored++;
      }
    }
  }
  return { accuracy: scored ? right / scored : 0, loss: scored ? nats / scored : 0, scored, examples: o.examples };
}
