// Images in the worker: an image model ([BOS, pixel channel tokens in raster order], vocabulary
// 259) samples an image from BOS or completes the given top rows; pixels stream to the page's
// canvas as they are generated. Image size: a square of grey pixels (MNIST's 28x28 for the
// image-mnist preset) when max_seq_len - 1 is a square, else RGB.

import { IMAGE_BOS, IMAGE_VOCAB_SIZE } from "../../index.browser.js";
import type { SamplingSettings } from "../protocol.js";
import { emit, type WorkerContext } from "./context.js";
import { streamTokens } from "./generate-job.js";

/** Pixels sent to the page per event (one canvas update a row of MNIST). */
const PIXELS_PER_EVENT = 28;

export function imageShape(maxSeqLen: number): { width: number; height: number; channels: 1 | 3 } {
  const L = maxSeqLen - 1;
  const grey = Math.round(Math.sqrt(L));
  if (grey * grey === L) return { width: grey, height: grey, channels: 1 };
  const rgb = Math.round(Math.sqrt(L / 3));
  if (rgb * rgb * 3 === L) return { width: rgb, height: rgb, channels: 3 };
  throw new RangeError(`max_seq_len - 1 = ${L} is neither w*w grey nor w*w*3 RGB pixels: not an image model`);
}

/** `given`: pixel tokens of the top rows to complete (without BOS), or null to sample from BOS. */
export async function sampleImage(ctx: WorkerContext, given: number[] | null, s: SamplingSettings) {
  const slot = ctx.models.image;
  if (slot === undefined) throw new Error("no image model: load one (e.g. an image-mnist run's folder) or take an untrained one");
  if (slot.model.config.vocabSize !== IMAGE_VOCAB_SIZE) throw new RangeError(`the image model must have the ${IMAGE_VOCAB_SIZE}-token pixel vocabulary, this one has ${slot.model.config.vocabSize}`);
  const shape = imageShape(slot.model.config.maxSeqLen);
  const total = shape.width * shape.height * shape.channels;
  const prompt = [IMAGE_BOS, ...(given ?? []).slice(0, total - 1)];
  let pending: number[] = [];
  let done = prompt.length - 1;
  emit({ kind: "pixels", tokens: prompt.slice(1), done: 0 });
  const r = await streamTokens(ctx, slot.model, prompt, { ...s, maxNewTokens: total - (prompt.length - 1) }, (t) => {
    pending.push(t);
    if (pending.length >= PIXELS_PER_EVENT) {
      emit({ kind: "pixels", tokens: pending, done });
      done += pending.length;
      pending = [];
    }
  });
  if (pending.length > 0) emit({ kind: "pixels", tokens: pending, done });
  return { ...shape, generated: r.tokens.length, ms: r.ms };
}
