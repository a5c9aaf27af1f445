// MNIST from the dataset cache (src/data/dataset-cache.ts): 28x28 grey images and labels 0..9,
// parsed from the IDX files (src/data/idx.ts) with every header field checked.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { mnistRoles, readManifestSync } from "./dataset-cache.js";
import { hex, parseIdx } from "./idx.js";
import type { Image } from "./image-codec.js";

/** MNIST split: 28×28 grey images and their labels 0..9. */
export interface MnistSplit {
  images: Image[];
  labels: Uint8Array;
}

/** Load an MNIST split from the cache (fetch it first with `fetchDataset("mnist")`). */
export function loadMnist(cacheDir: string | undefined, split: "train" | "test"): MnistSplit {
  if (split !== "train" && split !== "test") throw new RangeError(`split must be "train" or "test", got "${split}"`);
  const { dir, manifest } = readManifestSync("mnist", cacheDir);
  const roles = manifest.mnist ?? mnistRoles(manifest.files.map((f) => f.path), "manifest");
  const imgPath = join(dir, split === "train" ? roles.trainImages : roles.testImages);
  const lblPath = join(dir, split === "train" ? roles.trainLabels : roles.testLabels);
  return mnistFromIdx(readFileSync(imgPath), readFileSync(lblPath), imgPath, lblPath);
}

/** Build an MNIST split from IDX image (ubyte, N×28×28) and label (ubyte, N, values 0..9) buffers. */
export function mnistFromIdx(imageIdx: Uint8Array, labelIdx: Uint8Array, imgWhat = "images", lblWhat = "labels"): MnistSplit {
  const im = parseIdx(imageIdx, imgWhat);
  const lb = parseIdx(labelIdx, lblWhat);
  if (im.typeCode !== 0x08 || im.dims.length !== 3) {
    throw new Error(`${imgWhat}: expected ubyte IDX with 3 dims (magic 0x00000803), got type 0x${hex(im.typeCode)} with ${im.dims.length} dims`);
  }
  if (lb.typeCode !== 0x08 || lb.dims.length !== 1) {
    throw new Error(`${lblWhat}: expected ubyte IDX with 1 dim (magic 0x00000801), got type 0x${hex(lb.typeCode)} with ${lb.dims.length} dims`);
  }
  const [n, h, w] = im.dims as [number, number, number];
  if (h !== 28 || w !== 28) throw new Error(`${imgWhat}: image size must be 28×28, got ${h}×${w}`);
  if (lb.dims[0] !== n) throw new Error(`${lblWhat}: ${lb.dims[0]} labels for ${n} images`);
  const labels = lb.data as Uint8Array;
  const bad = labels.findIndex((v) => v > 9);
  if (bad >= 0) throw new Error(`${lblWhat}: label ${bad} is ${labels[bad]}, allowed 0..9`);
  const pixels = im.data as Uint8Array;
  const images: Image[] = [];
  for (let i = 0; i < n; i++) {
    images.push({ width: w, height: h, channels: 1, data: pixels.subarray(i * h * w, (i + 1) * h * w) });
  }
  return { images, labels };
}
