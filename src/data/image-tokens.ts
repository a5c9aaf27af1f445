/**
 * Image ↔ token-sequence codec, platform-neutral (PNG files: image-codec.ts, Node).
 *
 * Contract
 * - An {@link Image} is 8-bit, row-major, channel-interleaved: `data[(row * width + col) * channels + ch]`,
 *   with `channels` 1 (grey) or 3 (RGB).
 * - Tokens follow raster order (row by row, left to right), each pixel's channels as consecutive tokens
 *   (R, G, B for colour; one token for grey). A sequence for a W×H×C image has exactly W·H·C tokens;
 *   `imageToTokens` adds no BOS/EOS — callers prepend/append {@link IMAGE_BOS}/{@link IMAGE_EOS} themselves.
 * - Token layout (vocabulary {@link IMAGE_VOCAB_SIZE} = 259):
 *     0 = PAD, 1 = EOS, 2 = BOS, 3..258 = channel value v (0..255) as token v + {@link IMAGE_TOKEN_OFFSET}.
 * - `tokensToImage` never throws on model output of the right shape arguments: special tokens and missing
 *   tokens decode to 0, tokens above the value range clamp to 255.
 */
import { assertIntegerInRange } from "../util/integer-range.js";

/** Padding token. */
export const IMAGE_PAD = 0;
/** End-of-sequence token. */
export const IMAGE_EOS = 1;
/** Beginning-of-sequence token. */
export const IMAGE_BOS = 2;
/** Number of special tokens; channel value v is token `v + IMAGE_TOKEN_OFFSET`. */
export const IMAGE_TOKEN_OFFSET = 3;
/** Vocabulary size: 256 channel values + 3 specials. */
export const IMAGE_VOCAB_SIZE = 256 + IMAGE_TOKEN_OFFSET;

/** Number of channels an {@link Image} can have: 1 = grey, 3 = RGB. */
export type Channels = 1 | 3;

/** An 8-bit, row-major, channel-interleaved image. */
export interface Image {
  width: number;
  height: number;
  channels: Channels;
  /** Length `width * height * channels`. */
  data: Uint8Array;
}

/** Per-token coordinates returned by {@link imagePositions}. */
export interface ImagePositions {
  row: Int32Array;
  col: Int32Array;
  channel: Int32Array;
}

function checkDim(name: string, v: number, max = 1 << 16): void {
  assertIntegerInRange(name, v, 1, max);
}

/** Throws a RangeError unless `c` is 1 or 3. */
export function checkChannels(c: number): asserts c is Channels {
  if (c !== 1 && c !== 3) throw new RangeError(`channels must be 1 or 3, got ${c}`);
}

/** Validate an image's shape and data length; throws a RangeError naming the bad field. */
export function validateImage(img: Image): void {
  checkDim("width", img.width);
  checkDim("height", img.height);
  checkChannels(img.channels);
  const n = img.width * img.height * img.channels;
  if (!(img.data instanceof Uint8Array) || img.data.length !== n) {
    throw new RangeError(
      `data must be a Uint8Array of length width*height*channels = ${n}, got length ${img.data?.length}`,
    );
  }
}

/** Create a zero-filled (black) image. */
export function createImage(width: number, height: number, channels: Channels, fill = 0): Image {
  checkDim("width", width);
  checkDim("height", height);
  checkChannels(channels);
  const data = new Uint8Array(width * height * channels);
  if (fill !== 0) data.fill(fill);
  return { width, height, channels, data };
}

/** Encode an image as tokens: value v → v + IMAGE_TOKEN_OFFSET, raster order, channels consecutive. */
export function imageToTokens(img: Image): Int32Array {
  validateImage(img);
  const out = new Int32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i]! + IMAGE_TOKEN_OFFSET;
  return out;
}

/**
 * Decode tokens into an image. Never throws for bad token values: tokens below the offset (specials) or
 * missing (sequence too short) become 0, tokens above 255 + offset clamp to 255, non-integers are truncated.
 * Extra tokens beyond width·height·channels are ignored. Throws only for invalid width/height/channels.
 */
export function tokensToImage(
  tokens: ArrayLike<number>,
  width: number,
  height: number,
  channels: Channels,
): Image {
  const img = createImage(width, height, channels);
  const n = Math.min(img.data.length, tokens.length);
  for (let i = 0; i < n; i++) {
    const v = Math.trunc(tokens[i]!) - IMAGE_TOKEN_OFFSET;
    img.data[i] = v > 255 ? 255 : v > 0 ? v : 0; // NaN → 0
  }
  return img;
}

/** For each token index of a width×height×channels image, its (row, col, channel). */
export function imagePositions(width: number, height: number, channels: Channels): ImagePositions {
  checkDim("width", width);
  checkDim("height", height);
  checkChannels(channels);
  const n = width * height * channels;
  const row = new Int32Array(n);
  const col = new Int32Array(n);
  const channel = new Int32Array(n);
  let i = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      for (let ch = 0; ch < channels; ch++, i++) {
        row[i] = r;
        col[i] = c;
        channel[i] = ch;
      }
    }
  }
  return { row, col, channel };
}

/**
 * Tile images into one sheet, row-major with `columns` per row. Cells are as large as the largest image
 * (smaller ones sit top-left); `padding` pixels of `fill` separate cells and surround the sheet.
 * Grey images are promoted to RGB if any image is RGB.
 */
export function imageGrid(images: readonly Image[], columns: number, padding = 2, fill = 0): Image {
  if (images.length === 0) throw new RangeError("images must contain at least one image, got 0");
  assertIntegerInRange("columns", columns, 1);
  assertIntegerInRange("padding", padding, 0);
  assertIntegerInRange("fill", fill, 0, 255);
  images.forEach((im, i) => {
    try {
      validateImage(im);
    } catch (e) {
      throw new RangeError(`images[${i}]: ${(e as Error).message}`);
    }
  });
  const channels: Channels = images.some((im) => im.channels === 3) ? 3 : 1;
  const cw = Math.max(...images.map((im) => im.width));
  const ch = Math.max(...images.map((im) => im.height));
  const cols = Math.min(columns, images.length);
  const rows = Math.ceil(images.length / cols);
  const W = cols * cw + (cols + 1) * padding;
  const H = rows * ch + (rows + 1) * padding;
  const out = createImage(W, H, channels, fill);
  images.forEach((im, k) => {
    const x0 = padding + (k % cols) * (cw + padding);
    const y0 = padding + Math.floor(k / cols) * (ch + padding);
    for (let y = 0; y < im.height; y++) {
      for (let x = 0; x < im.width; x++) {
        const src = (y * im.width + x) * im.channels;
        const dst = ((y0 + y) * W + x0 + x) * channels;
        for (let c = 0; c < channels; c++) {
          out.data[dst + c] = im.data[src + (im.channels === 1 ? 0 : c)]!;
        }
      }
    }
  });
  return out;
}

/** Nearest-neighbour upscaling by an integer factor (for viewing small samples). */
export function scaleImage(img: Image, factor: number): Image {
  validateImage(img);
  assertIntegerInRange("factor", factor, 1, 64);
  const { width, height, channels } = img;
  const out = createImage(width * factor, height * factor, channels);
  for (let y = 0; y < out.height; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < out.width; x++) {
      const s = (sy * width + Math.floor(x / factor)) * channels;
      const d = (y * out.width + x) * channels;
      for (let c = 0; c < channels; c++) out.data[d + c] = img.data[s + c];
    }
  }
  return out;
}
