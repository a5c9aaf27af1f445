// Raw-deflate inflation for zip entries in Node (node:zlib), bounded by the declared size.

import { inflateRawSync } from "node:zlib";
import type { InflateRaw } from "./zip.js";

export const nodeInflateRaw: InflateRaw = (compressed, size) => {
  // maxOutputLength makes zlib stop (and throw) instead of inflating past the declared size.
  // chunkSize near the declared size: zlib then allocates about the output, not 16 KB chunks.
  const out = inflateRawSync(compressed, { maxOutputLength: Math.max(1, size), chunkSize: Math.max(64, Math.min(size + 1, 1 << 16)) });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};
