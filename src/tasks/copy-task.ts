// The copy task (the paper's `random_mirrored`): C/2 random symbols, then the same symbols
// reversed, then EOS. Only the mirrored half is scored, where every prediction needs a token up to
// a whole context length back. Metric: next-token accuracy on the scored latent positions.

import { CopyTaskDataset, COPY_EOS_ID, COPY_PAD_ID, COPY_VOCAB_SIZE } from "../data/copy-examples.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { samplerBatchSource, type BatchSource } from "../train/batch-source.js";
import { windowsPerPass } from "../train/evaluate.js";
import type { ValidationSet } from "../train/trainer.js";
import type { Task, TaskSpec } from "./task.js";

/** Seed offset so validation examples never coincide with a training stream's. */
const VALIDATION_SEED = 0x5eed;
/** Seed of `copyAccuracy`'s examples: held out from the validation windows that early stopping looks at. */
const TEST_SEED = 0x7e57;

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
 * Next-token accuracy on the mirrored half, over the latent positions of `examples` held-out test
 * examples (seed `seed`, default: a stream distinct from the validation windows) of the model's
 * context length, using `numLatents` latents (default max_latents) and the full context.
 */
export function copyAccuracy(model: PerceiverAR, o: { examples: number; numLatents?: number; seed?: number; batchSize?: number }): CopyAccuracy {
  const N = model.config.maxSeqLen;
  const M = o.numLatents ?? model.config.maxLatents;
  const P = N - M;
  const ds = new CopyTaskDataset({ contextLength: N, seed: o.seed ?? TEST_SEED });
  let right = 0;
  let scored = 0;
  let nats = 0;
  const B = o.batchSize ?? windowsPerPass(N, 4);
  for (let start = 0; start < o.examples; start += B) {
    const b = Math.min(B, o.examples - start);
    const batch = ds.sample(b); // inputs, labels (b, N); unscored labels are -100
    const labels = new Int32Array(b * M); // (b, M): the latent positions' labels
    for (let r = 0; r < b; r++) labels.set(batch.labels.subarray(r * N + P, (r + 1) * N), r * M);
    const res = model.loss({ data: batch.inputs, shape: [b, N] }, { data: labels, shape: [b, M] }, { prefixLen: P });
    nats += res.loss * res.count;
    right += res.correct ?? 0;
    scored += res.count;
  }
  return { accuracy: scored ? right / scored : 0, loss: scored ? nats / scored : 0, scored, examples: o.examples };
}
