/**
 * PNG files for the image codec (Node: pngjs): image-tokens.ts's codec, re-exported, plus reading
 * and writing PNGs.
 *
 * Contract: `readPng` alpha-composites onto an opaque background (white by default) and converts to
 * grey with ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B, rounded once) or to RGB (composite
 * rounded per channel); `encodePng` writes 8-bit grey or RGB without alpha.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { PNG } from "pngjs";
import { checkChannels, createImage, validateImage, type Channels, type Image } from "./image-tokens.js";

export * from "./image-tokens.js";

/** Options for {@link readPng}. */
export interface ReadPngOptions {
  /** Output channels: 1 = grey (BT.601 luma), 3 = RGB. Default 3. */
  channels?: Channels;
  /** Opaque RGB background that transparent pixels are composited onto, each 0..255. Default white. */
  background?: readonly [number, number, number];
}

/**
 * Read a PNG (any colour type/bit depth pngjs supports) from a path or buffer, composite its alpha onto
 * `background` and convert to grey or RGB.
 */
export function readPng(source: string | Uint8Array, options: ReadPngOptions = {}): Image {
  const channels = options.channels ?? 3;
  checkChannels(channels);
  const bg = options.background ?? [255, 255, 255];
  if (bg.length !== 3 || bg.some((v) => !Number.isFinite(v) || v < 0 || v > 255)) {
    throw new RangeError(`background must be three numbers in 0..255, got [${bg.join(", ")}]`);
  }
  const buf = typeof source === "string" ? readFileSync(source) : Buffer.from(source.buffer, source.byteOffset, source.byteLength);
  let png: PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    const where = typeof source === "string" ? source : "buffer";
    throw new Error(`readPng: cannot decode PNG from ${where}: ${(e as Error).message}`);
  }
  const { width, height, data } = png;
  const img = createImage(width, height, channels);
  const [br, bgG, bb] = bg;
  for (let p = 0, n = width * height; p < n; p++) {
    const a = data[4 * p + 3]! / 255;
    const r = data[4 * p]! * a + br * (1 - a);
    const g = data[4 * p + 1]! * a + bgG * (1 - a);
    const b = data[4 * p + 2]! * a + bb * (1 - a);
    if (channels === 1) {
      img.data[p] = clampByte(Math.round(0.299 * r + 0.587 * g + 0.114 * b));
    } else {
      img.data[3 * p] = clampByte(Math.round(r));
      img.data[3 * p + 1] = clampByte(Math.round(g));
      img.data[3 * p + 2] = clampByte(Math.round(b));
    }
  }
  return img;
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Encode an image as an 8-bit PNG (greyscale or RGB colour type, no alpha). */
export function encodePng(img: Image): Buffer {
  validateImage(img);
  const png = new PNG({ width: img.width, height: img.height });
  const n = img.width * img.height;
  for (let p = 0; p < n; p++) {
    if (img.channels === 1) {
      const v = img.data[p]!;
      png.data[4 * p] = v;
      png.data[4 * p + 1] = v;
      png.data[4 * p + 2] = v;
    } else {
      png.data[4 * p] = img.data[3 * p]!;
      png.data[4 * p + 1] = img.data[3 * p + 1]!;
      png.data[4 * p + 2] = img.data[3 * p + 2]!;
    }
    png.data[4 * p + 3] = 255;
  }
  return PNG.sync.write(png, { colorType: img.channels === 1 ? 0 : 2, inputHasAlpha: true });
}

/** Write an image to `path` as a PNG. */
export function writePng(path: string, img: Image): void {
  writeFileSync(path, encodePng(img));
}

