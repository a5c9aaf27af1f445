// Images in the worker, through the same image task as `perceiver-ar sample`
// (src/tasks/image-task-core.ts `generateImage`): an image model ([BOS, pixel channel tokens in
// raster order], vocabulary 259) samples an image from BOS or completes the given top rows; pixels
// stream to the page's canvas as they are generated. The image shape comes from the model
// (`imageShapeOfModel`: MNIST's 28x28 grey for the image-mnist preset).

import { IMAGE_VOCAB_SIZE, ImageTaskCore, imageShapeOfModel } from "../../index.browser.js";
import type { SamplingSettings } from "../protocol.js";
import { emit, type WorkerContext } from "./context.js";
import { samplingOptions } from "./generate-job.js";

/** Pixels sent to the page per event (one canvas update a row of MNIST). */
const PIXELS_PER_EVENT = 28;

/** `given`: pixel tokens of the top rows to complete (without BOS), or null to sample from BOS. */
export async function sampleImage(ctx: WorkerContext, given: number[] | null, s: SamplingSettings) {
  const slot = ctx.models.image;
  if (slot === undefined) throw new Error("no image model: load one (e.g. an image-mnist run's folder) or take an untrained one");
  if (slot.model.config.vocabSize !== IMAGE_VOCAB_SIZE) throw new RangeError(`the image model must have the ${IMAGE_VOCAB_SIZE}-token pixel vocabulary, this one has ${slot.model.config.vocabSize}`);
  const shape = imageShapeOfModel(slot.model.config);
  const task = new ImageTaskCore({ task: "image", data: slot.info.source }, undefined, shape);
  const prompt = (given ?? []).slice(0, task.tokensPerImage() - 1);
  let pending: number[] = [];
  let done = prompt.length;
  emit({ kind: "pixels", tokens: prompt, done: 0 });
  ctx.stopGeneration = false;
  const t0 = performance.now();
  const { maxNewTokens: _fillsTheImage, ...generation } = samplingOptions(slot.model, s);
  const r = await task.generateImage(slot.model, prompt, {
    generation,
    onToken: (t) => {
      pending.push(t);
      if (pending.length >= PIXELS_PER_EVENT) {
        emit({ kind: "pixels", tokens: pending, done });
        done += pending.length;
        pending = [];
      }
    },
    shouldStop: () => ctx.stopGeneration,
  });
  if (pending.length > 0) emit({ kind: "pixels", tokens: pending, done });
  return { ...shape, generated: r.generated, ms: performance.now() - t0 };
}
