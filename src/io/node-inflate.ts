// Raw-deflate inflation for zip entries in Node (node:zlib), bounded by the declared size.

import { inflateRawSync } from "node:zlib";
import type { InflateRaw } from "./zip.js";

export const nodeInflateRaw: InflateRaw = (compressed, size) => {
  // maxOutputLength makes zlib stop (and throw) instead of inflating past the declared size.
  const out = inflateRawSync(compressed, { maxOutputLength: Math.max(1, size) });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};
