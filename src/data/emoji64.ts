// The 64x64 Noto emoji from the dataset cache (src/data/dataset-cache.ts) as RGB images composited
// on white, split deterministically: a file is in validation iff FNV-1a-32(filename) % 20 == 0 (~5%).

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { readManifestSync } from "./dataset-cache.js";
import { type Image, readPng } from "./image-codec.js";

/** One emoji split: images and their file names (sorted). */
export interface EmojiSplit {
  images: Image[];
  names: string[];
}

/** FNV-1a 32-bit hash of a string's UTF-8 bytes. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** True if an emoji file belongs to the validation split (FNV-1a-32(name) % 20 == 0, ~5%). */
export function isEmojiValidation(fileName: string): boolean {
  return fnv1a32(fileName) % 20 === 0;
}

/**
 * Load the 64×64 emoji as RGB images composited on white, split deterministically into train/validation.
 * Throws if an image is not 64×64.
 */
export function loadEmoji64(cacheDir?: string): { train: EmojiSplit; validation: EmojiSplit } {
  const { dir } = readManifestSync("emoji64", cacheDir);
  const names = readdirSync(dir)
    .filter((f) => f.endsWith(".png"))
    .sort();
  const train: EmojiSplit = { images: [], names: [] };
  const validation: EmojiSplit = { images: [], names: [] };
  for (const name of names) {
    const img = readPng(join(dir, name), { channels: 3 });
    if (img.width !== 64 || img.height !== 64) {
      throw new Error(`emoji64: ${name} is ${img.width}×${img.height}, expected 64×64`);
    }
    const s = isEmojiValidation(name) ? validation : train;
    s.images.push(img);
    s.names.push(name);
  }
  return { train, validation };
}
