// The image task, pure (no files; browsers run it as it is): each image is one sequence [BOS, pixel
// channel tokens in raster order..., EOS] (src/data/image-tokens.ts), so the token index is the
// raster position and the model's learned position embedding tells rows, columns and channels
// apart. max_seq_len = tokens per image + 1. The images are given in memory, or loaded by a
// subclass (Node's ImageTask reads MNIST or the emoji from the data-set cache and writes PNGs).
//
// Training (as in the paper, so that every position gets trained as a latent): a random image and
// a random chunk of M consecutive targets (c - M, c], c uniform in [1, N + M - 1] (N = L + 1
// targets: L pixels and EOS), so that every target is in exactly M of the N + M - 1 chunks and is
// trained equally often. The window ends at e = clamp(c, M, N): inputs = seq[0:e], labels =
// seq[1:e+1] for the chunk's targets only (the others -100), left-padded to N (padding shifts
// positions, so a pixel keeps its raster position). Drawing the end uniformly from [M, N] instead
// trains target t < M only t/M as often as the others: the first rows, which unconditional
// sampling generates first from almost no context, were trained ~1/M as often (pixel 1: once per
// M of the others), and samples began with a white streak along the top rows.
// Metric: bits per dimension over every pixel channel of whole images, scored in chunks of K
// latents by `evaluate` (span "all"), in training validation and in `eval` alike.
// Samples (`generateImage`) are images generated from BOS or completing given top rows (Node's
// `sample` completes the top half of validation images and writes one PNG grid; the page draws
// them on a canvas).

import { DataError } from "../data/data-error.js";
import { IMAGE_BOS, IMAGE_EOS, IMAGE_PAD, IMAGE_VOCAB_SIZE, imageGrid, imageToTokens, scaleImage, tokensToImage, type Channels, type Image } from "../data/image-tokens.js";
import { generateStream, type GenerateOptions } from "../generate/generate.js";
import type { PerceiverARConfig } from "../models/config.js";
import type { PerceiverAR } from "../models/perceiver-ar.js";
import type { BatchSource, ValidationSet } from "../train/batch-source.js";
import { evaluate, type EvalResult } from "../train/evaluate.js";
import { IGNORE_INDEX } from "../util/ignore-index.js";
import { assertIntegerInRange } from "../util/integer-range.js";
import { Rng } from "../util/rng.js";
import type { SampleRequest, SampleResult, Task, TaskEvalOptions, TaskEvaluation, TaskSpec } from "./task.js";

/** Whole validation images a run validates on, and `eval` scores, when not told. */
const DEFAULT_VALIDATION_IMAGES = 16;
/** Images `perceiver-ar sample` draws when not told. */
const DEFAULT_SAMPLE_IMAGES = 4;
/** Largest enlargement of the sample grid (a 64x64 grid of 4 images at 16x is ~2k pixels wide). */
const MAX_SCALE = 16;

export const IMAGE_DATASETS = ["mnist", "emoji64"] as const;
export type ImageDataset = (typeof IMAGE_DATASETS)[number];
/** The shape of the images of a data set. */
export interface ImageShape {
  width: number;
  height: number;
  channels: Channels;
}
/** Images of the built-in data sets. */
const DATASET_SHAPES: Record<ImageDataset, ImageShape> = { mnist: { width: 28, height: 28, channels: 1 }, emoji64: { width: 64, height: 64, channels: 3 } };

/** Images of the training and the validation split. */
export interface ImageSplits {
  train: Image[];
  validation: Image[];
}

/** Options of `generateImage`. */
export interface ImageGeneration {
  /** Sampling settings (temperature, top-k/p, seed, latents, cache). */
  generation: Omit<GenerateOptions, "maxNewTokens" | "eosId" | "onToken">;
  /** Pixel tokens to generate; default: the rest of the image. */
  maxNewTokens?: number;
  /** Receives each generated pixel token and its 0-based index. */
  onToken?: (token: number, index: number) => void;
  /** Checked after every token: true stops the image where it is (the rest stays black). */
  shouldStop?: () => boolean;
}

/**
 * The image shape of a model of max_seq_len `maxSeqLen` = pixel channels + 1, for a model without
 * its data set: a square of grey pixels when maxSeqLen - 1 is a square (MNIST's 28x28 for
 * image-mnist), else a square of RGB pixels.
 */
export function imageShapeOfModel(config: Pick<PerceiverARConfig, "maxSeqLen">): ImageShape {
  const L = config.maxSeqLen - 1;
  const grey = Math.round(Math.sqrt(L));
  if (grey * grey === L) return { width: grey, height: grey, channels: 1 };
  const rgb = Math.round(Math.sqrt(L / 3));
  if (rgb * rgb * 3 === L) return { width: rgb, height: rgb, channels: 3 };
  throw new RangeError(`max_seq_len - 1 = ${L} is neither w*w grey nor w*w*3 RGB pixels: not an image model`);
}

export class ImageTaskCore implements Task {
  readonly spec: TaskSpec;
  readonly vocabSize = IMAGE_VOCAB_SIZE;
  readonly padId = IMAGE_PAD;
  readonly eosId = IMAGE_EOS;
  /** Bits per pixel channel over whole images, in training validation and `eval` alike. */
  readonly metricName = "bits/dim";
  protected splits: ImageSplits | null = null;
  private readonly shape: ImageShape | undefined;

  /**
   * `images` supplies the data directly (library use, tests, a page) instead of a data set that a
   * subclass loads; `shape` alone makes a task that only generates (a model without its data).
   */
  constructor(spec: TaskSpec, images?: ImageSplits, shape?: ImageShape) {
    const data = spec.data ?? "mnist";
    if (images === undefined && shape === undefined && !(IMAGE_DATASETS as readonly string[]).includes(data)) throw new RangeError(`image data must be one of ${IMAGE_DATASETS.join(", ")}, got "${data}"`);
    this.spec = { task: "image", data, seed: spec.seed ?? 0 };
    this.shape = shape;
    if (images !== undefined) {
      if (images.train.length === 0) throw new RangeError("image task: no training images");
      this.splits = images;
    }
  }

  /** The images of `spec.data` when none were given (Node's ImageTask reads the data-set cache). */
  protected loadImages(): ImageSplits {
    throw new DataError(`image task: no images given for ${JSON.stringify(this.spec.data)}; pass them to the constructor (reading data sets from the cache is Node's ImageTask)`);
  }

  images(): ImageSplits {
    this.splits ??= this.loadImages();
    return this.splits;
  }

  /** Shape of the task's images. */
  imageShape(): ImageShape {
    if (this.splits !== null) {
      const { width, height, channels } = this.splits.train[0];
      return { width, height, channels };
    }
    return this.shape ?? DATASET_SHAPES[this.spec.data as ImageDataset];
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
    const M = Math.min(numLatents, seqLen);
    return {
      next: () => {
        const inputs = new Int32Array(batchSize * seqLen).fill(IMAGE_PAD);
        const labels = new Int32Array(batchSize * seqLen).fill(IGNORE_INDEX);
        const padMask = new Uint8Array(batchSize * seqLen);
        for (let b = 0; b < batchSize; b++) {
          const seq = imageSequence(train[rng.nextInt(train.length)]); // (L + 2)
          const c = 1 + rng.nextInt(seqLen + M - 1); // the chunk of targets (c - M, c], c in [1, N + M - 1]
          const e = Math.min(Math.max(c, M), seqLen); // the window seq[0:e] holds the chunk in its last M positions
          const pad = seqLen - e;
          padMask.fill(1, b * seqLen, b * seqLen + pad);
          inputs.set(seq.subarray(0, e), b * seqLen + pad);
          const first = Math.max(1, c - M + 1);
          const last = Math.min(c, seqLen);
          for (let t = first; t <= last; t++) labels[b * seqLen + pad + t - 1] = seq[t]; // target t sits at window index t - 1
        }
        return { inputs, labels, padMask, seqLen };
      },
      getState: () => rng.getState(),
      setState: (s) => rng.setState(s as never),
    };
  }

  /** The first `count` validation images as [BOS, pixels] windows, scored whole (span "all"), as `evaluate` scores them. */
  validation(seqLen: number, count: number): ValidationSet {
    const v = this.images().validation;
    return { windows: v.slice(0, count).map((img) => imageWindow(img).subarray(0, seqLen)), span: "all" };
  }

  /** Images a run validates on when not told: 16 whole images (12,544 MNIST pixels), as `eval` scores by default. */
  defaultValidationCount(): number {
    return DEFAULT_VALIDATION_IMAGES;
  }

  metric(e: EvalResult): number {
    return e.bitsPerToken;
  }

  /** Bits per dimension over every pixel channel of the first `count` validation images (`imageBitsPerDim`). */
  evaluate(model: PerceiverAR, o: TaskEvalOptions): TaskEvaluation {
    assertIntegerInRange("count", o.count, 1);
    const images = this.images().validation.slice(0, o.count);
    const result = imageBitsPerDim(model, images, o.numLatents, o.batchSize, o.onProgress);
    return { result, metrics: { bitsPerDim: result.bitsPerToken, dims: result.tokens, images: images.length } };
  }

  /** Pixel tokens of the top half of `img` (what `sample` with `complete` continues). */
  topHalf(img: Image): Int32Array {
    const { width, height, channels } = this.imageShape();
    return imageToTokens(img).subarray(0, Math.floor(height / 2) * width * channels);
  }

  /**
   * One image from `model`: generated from BOS, or continuing `given` (pixel tokens of its top
   * rows, without BOS). Returns the image (given and generated pixels; pixels not generated stay 0)
   * and the number of tokens generated.
   */
  async generateImage(model: PerceiverAR, given: ArrayLike<number> | null, o: ImageGeneration): Promise<{ image: Image; generated: number }> {
    const { width, height, channels } = this.imageShape();
    const L = width * height * channels;
    const pixels = Array.from(given ?? []).slice(0, L - 1);
    const n = o.maxNewTokens ?? L - pixels.length;
    let generated = 0;
    for await (const t of generateStream(model, [IMAGE_BOS, ...pixels], { ...o.generation, maxNewTokens: n, onToken: o.onToken })) {
      pixels.push(t);
      generated++;
      if (o.shouldStop?.()) break;
    }
    return { image: tokensToImage(pixels.slice(0, L), width, height, channels), generated };
  }

  /**
   * `count` images generated from BOS, or (`complete`) the top half of validation images completed,
   * delivered as one PNG grid (`out`, default samples.png) through `writeImage`.
   */
  async sample(model: PerceiverAR, r: SampleRequest): Promise<SampleResult> {
    const count = r.count ?? DEFAULT_SAMPLE_IMAGES;
    assertIntegerInRange("count (--count)", count, 1);
    const scale = r.scale ?? 1;
    assertIntegerInRange("scale (--scale)", scale, 1, MAX_SCALE);
    const L = this.tokensPerImage();
    const val = r.complete ? this.images().validation : [];
    const images: Image[] = [];
    let tokens = 0;
    for (let i = 0; i < count; i++) {
      const given = r.complete ? this.topHalf(val[i % val.length]) : null;
      const n = r.maxNewTokens ?? L - (given?.length ?? 0);
      const seed = (r.generation.seed ?? 0) + i;
      const out = await this.generateImage(model, given, { generation: { ...r.generation, seed }, maxNewTokens: n, onToken: (_, k) => r.tick?.(i * n + k + 1, count * n) });
      tokens += out.generated;
      images.push(out.image);
      r.progress?.(`image ${i + 1}/${count} done`);
    }
    const file = r.out ?? "samples.png";
    this.writeImage(file, scaleImage(imageGrid(images, Math.ceil(Math.sqrt(count))), scale));
    r.log(`wrote ${file} (${count} ${r.complete ? "completions of the top half of validation images" : "unconditional samples"})`);
    return { tokens };
  }

  /** Writes `img` as a PNG file (Node's ImageTask; there is no file system here). */
  protected writeImage(file: string, _img: Image): void {
    throw new DataError(`image task: cannot write ${file} here (writing PNG files is Node's ImageTask); use generateImage for the images themselves`);
  }

  async trainingReport(): Promise<string[]> {
    return [];
  }

  describeTokens(tokens: ArrayLike<number>): string {
    return `${tokens.length} image tokens`;
  }
}

/** [BOS, pixel tokens...] of one image: the window that scores every pixel channel once (L + 1 tokens). */
function imageWindow(img: Image): Int32Array {
  return imageSequence(img).subarray(0, -1);
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
 * `numLatents` latents (default max_latents), by `evaluate` with span "all" over [BOS, pixels...]
 * windows. Without a cap the whole image is in context for every chunk (max_seq_len = L + 1); with
 * a cap K the context is the capped view's (max_seq_len - max_latents) + K tokens, as in generation
 * with the same cap.
 */
export function imageBitsPerDim(
  model: PerceiverAR,
  images: readonly Image[],
  numLatents?: number,
  batchSize?: number,
  onProgress?: (done: number, total: number) => void,
): EvalResult & { bitsPerDim: number; dims: number } {
  if (images.length === 0) throw new RangeError("imageBitsPerDim: images must contain at least 1 image, got 0");
  const windows = images.map(imageWindow); // (L + 1): BOS + pixels, without EOS
  const L = windows[0].length - 1;
  const N = model.config.maxSeqLen;
  if (L + 1 > N) throw new RangeError(`images of ${L} tokens need max_seq_len >= ${L + 1}, model has ${N}`);
  const r = evaluate(model, windows, { numLatents, span: "all", batchSize, onProgress });
  return { ...r, bitsPerDim: r.bitsPerToken, dims: r.tokens };
}
