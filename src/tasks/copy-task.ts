// The copy task (the paper's `random_mirrored`, examples from src/data/copy-examples.ts): C/2
// random symbols, then the same symbols reversed, then EOS. Only the mirrored half is scored, where
// every prediction needs a token up to a whole context length back. Metric: nats/token and
// next-token accuracy on the mirrored half, over the latent positions (the last K targets of each
// example; with a latent cap K < max_latents the context shrinks with it, see src/train/evaluate.ts).
// A sample is the model's mirror of the first half of a held-out example.

import { CopyTaskDataset, COPY_EOS_ID, COPY_PAD_ID, COPY_VOCAB_SIZE, type CopyExample } from "../data/copy-examples.js";
import { generate } from "../generate/generate.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import { samplerBatchSource, type BatchSource, type ValidationSet } from "../train/batch-source.js";
import { evaluate, type EvalResult } from "../train/evaluate.js";
import { IGNORE_INDEX } from "../util/ignore-index.js";
import { assertIntegerInRange } from "../util/integer-range.js";
import type { SampleRequest, SampleResult, Task, TaskEvalOptions, TaskEvaluation, TaskSpec } from "./task.js";

/** Seed offset so validation examples never coincide with a training stream's. */
const VALIDATION_SEED = 0x5eed;
/** Seed of the held-out examples of `evaluate` and `sample`: distinct from the validation windows that early stopping looks at. */
const TEST_SEED = 0x7e57;
/** Examples a run validates on when not told: at context 1,024 each takes ~10 ms to score, and long-context runs pass fewer. */
const DEFAULT_VALIDATION_EXAMPLES = 16;
/** Held-out examples scored in the summary at the end of training. */
const TRAINING_REPORT_EXAMPLES = 8;

/** `count` examples of `contextLength` as windows (all C + 1 tokens) and their mirrored-half targets. */
function copyWindows(contextLength: number, seed: number, count: number): ValidationSet & { examples: CopyExample[] } {
  const ds = new CopyTaskDataset({ contextLength, seed });
  const examples = Array.from({ length: count }, () => ds.next());
  return {
    examples,
    windows: examples.map((ex) => ex.tokens),
    targets: examples.map((ex) => ex.labels.map((label, j) => (ex.scoredMask[j] ? label : IGNORE_INDEX))),
  };
}

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

  /** Fixed examples; only their mirrored half is scored (not the random half, not the EOS target). */
  validation(seqLen: number, count: number): ValidationSet {
    const { windows, targets } = copyWindows(seqLen, VALIDATION_SEED, count);
    return { windows, targets };
  }

  /** Held-out examples a run validates on when not told (each scores its last max_latents mirrored targets). */
  defaultValidationCount(): number {
    return DEFAULT_VALIDATION_EXAMPLES;
  }

  metric(e: EvalResult): number {
    return e.loss;
  }

  /** Accuracy and loss on the mirrored half of `count` held-out examples of the model's context length. */
  evaluate(model: PerceiverAR, o: TaskEvalOptions): TaskEvaluation {
    assertIntegerInRange("count", o.count, 1);
    const { windows, targets } = copyWindows(model.config.maxSeqLen, TEST_SEED, o.count);
    const result = evaluate(model, windows, { targets, numLatents: o.numLatents, batchSize: o.batchSize, onProgress: o.onProgress });
    return { result, metrics: { accuracy: result.accuracy, loss: result.loss, scored: result.tokens } };
  }

  /** Mirrors the first half of `count` held-out examples; logs how many mirrored symbols came out right. */
  async sample(model: PerceiverAR, r: SampleRequest): Promise<SampleResult> {
    const count = r.count ?? 1;
    assertIntegerInRange("count (--count)", count, 1);
    const { examples } = copyWindows(model.config.maxSeqLen, TEST_SEED, count);
    let tokens = 0;
    for (let i = 0; i < count; i++) {
      const ex = examples[i];
      const expected = ex.tokens.subarray(ex.mirrorStart); // mirrored half, then EOS
      const out = await generate(model, ex.tokens.subarray(0, ex.mirrorStart), { ...r.generation, maxNewTokens: r.maxNewTokens ?? expected.length, eosId: this.eosId });
      tokens += out.length;
      let right = 0;
      for (let j = 0; j < Math.min(out.length, ex.halfLength); j++) if (out[j] === expected[j]) right++;
      const eos = out.length > ex.halfLength && out[ex.halfLength] === COPY_EOS_ID;
      r.log(`example ${i + 1}: ${right}/${ex.halfLength} mirrored symbols right${eos ? ", then EOS" : ""} (${out.length} tokens generated)`);
    }
    return { tokens };
  }

  async trainingReport(model: PerceiverAR): Promise<string[]> {
    const e = this.evaluate(model, { count: TRAINING_REPORT_EXAMPLES });
    return [`copy task: next-token accuracy on the mirrored half ${(e.result.accuracy * 100).toFixed(2)}% over ${e.result.tokens} predictions`];
  }

  describeTokens(tokens: ArrayLike<number>): string {
    return `${tokens.length} copy-task tokens`;
  }
}
