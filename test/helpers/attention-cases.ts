// Fused attention edge cases and their check against the reference backend, shared by the tests of
// every kernel table (native ISAs in native-attention.test.ts, wasm32 SIMD128 through the wasm
// backend in wasm-attention.test.ts). The groups cover the kernel's tiles (csrc/attention_tiles.h): register
// tiles of MR <= 12 rows and NR <= 32 lanes, 96-key tiles, 96-query forward blocks in chunks,
// 48-query backward blocks, backward key-range splits; the head dims the kernel specialises
// (32, 64, 128) and the generic path; causal offsets that cut tiles; rows whose every visible key
// is padded (the reference's uniform rows); Tq > Tk.


import type { AttentionShape, Backend } from "../../src/backend/backend.js";
import { referenceBackend } from "../../src/backend/reference/index.js";
import { Rng } from "../../src/util/rng.js";
import { assertCloseToReference } from "./close.js";

/** The two attention kernels of a Backend. */
export interface AttentionKernels {
  forward: Backend["attentionForward"];
  backward: Backend["attentionBackward"];
}

/**
 * Key padding of a case: none; random (30% of keys); left (batch 0's first 60% of keys: its early
 * queries see only padding); all (batch 0 entirely padded); tile (keys [96, 192), one whole key
 * tile, and key 0).
 */
export type PadKind = "none" | "random" | "left" | "all" | "tile";

export interface AttentionSpec {
  s: AttentionShape;
  pad: PadKind;
}

export interface AttentionGroup {
  name: string;
  specs: AttentionSpec[];
}

function shape(B: number, H: number, Tq: number, Tk: number, D: number, causalOffset: number | null): AttentionShape {
  return { batch: B, heads: H, queries: Tq, keys: Tk, headDim: D, causalOffset, scale: 1 / Math.sqrt(D) };
}

/** Head dims the kernel specialises, then generic ones (below, between and above them, odd). */
export const SPECIALISED_DIMS = [32, 64, 128];
export const GENERIC_DIMS = [1, 3, 8, 24, 33, 40, 72];

export function attentionCaseGroups(): AttentionGroup[] {
  const dims: AttentionSpec[] = [];
  for (const D of [...SPECIALISED_DIMS, ...GENERIC_DIMS]) {
    dims.push({ s: shape(1, 2, 50, 130, D, 80), pad: "none" }); // cross-attention: the diagonal cuts key tile 1
    dims.push({ s: shape(2, 1, 37, 37, D, 0), pad: "random" }); // causal self-attention
    dims.push({ s: shape(1, 1, 20, 101, D, null), pad: D % 2 === 0 ? "tile" : "none" }); // no causal mask
  }
  // Tq around MR (4, 6, 12), NR (8, 16, 32), the backward block (48) and the forward block (96);
  // each with a rotating set of Tk around the same sizes and the 96-key tile.
  const tq = [1, 5, 6, 7, 11, 12, 13, 16, 17, 31, 32, 33, 47, 48, 49, 95, 96, 97, 145];
  const tk = [1, 7, 8, 12, 15, 16, 17, 24, 31, 32, 33, 47, 48, 49, 95, 96, 97, 191, 192, 193];
  const tails: AttentionSpec[] = [];
  tq.forEach((Tq, i) => {
    for (let r = 0; r < 4; r++) {
      const Tk = tk[(i * 5 + r * 7) % tk.length];
      const D = r % 2 === 0 ? 32 : 8; // a specialised and a generic path
      const offsets = [Tk - Tq, Tk - Tq - 1, 0, null];
      tails.push({ s: shape(1, 1, Tq, Tk, D, offsets[r]), pad: r === 3 ? "random" : "none" });
    }
  });
  // The diagonal at, before and after tile edges (keys 47/48, 95/96, 191/192 for query 0), rows that
  // see no key (offset < 0: uniform rows), and offsets at or past every key.
  const offsets: AttentionSpec[] = [-100, -99, -3, 0, 1, 5, 47, 48, 95, 96, 97, 143, 190, 191, 199, 200, 201, 250, 299, 310].map((off, i) => ({
    s: shape(1, 2, 100, 300, i % 3 === 0 ? 64 : 16, off),
    pad: i % 4 === 1 ? "random" : "none",
  }));
  const masked: AttentionSpec[] = [];
  for (const pad of ["left", "all", "tile", "random"] as const) {
    masked.push({ s: shape(2, 2, 60, 250, 32, 190), pad });
    masked.push({ s: shape(2, 1, 40, 200, 24, null), pad });
    masked.push({ s: shape(2, 2, 100, 100, 64, 0), pad });
  }
  const tallQ: AttentionSpec[] = [0, -50, -129, 5, null].map((off) => ({ s: shape(1, 2, 130, 20, 32, off), pad: "none" }));
  tallQ.push({ s: shape(2, 1, 200, 1, 8, 0), pad: "none" }, { s: shape(1, 1, 97, 3, 33, -2), pad: "left" });
  // One head: the forward cuts the queries into several chunks and the backward splits the key
  // tiles into ranges (partials added in split order); 16 heads: one chunk of three blocks and one
  // split per head.
  const items: AttentionSpec[] = [
    { s: shape(1, 1, 300, 400, 64, 100), pad: "none" },
    { s: shape(1, 1, 301, 500, 8, 250), pad: "random" },
    { s: shape(1, 3, 200, 700, 32, 500), pad: "left" },
    { s: shape(4, 4, 200, 230, 16, 30), pad: "none" },
  ];
  return [
    { name: "head dims 32, 64, 128 (specialised) and 1, 3, 8, 24, 33, 40, 72 (generic): cross-, self- and non-causal attention", specs: dims },
    { name: "tails of every tile dimension: Tq around 4, 6, 12, 16, 32, 48, 96; Tk around the same and the 96-key tile", specs: tails },
    { name: "causal offsets that cut tiles, rows that see no key, offsets past every key", specs: offsets },
    { name: "rows whose every visible key is padded (uniform rows), a padded batch, a padded key tile", specs: masked },
    { name: "Tq > Tk: rows past the last key, rows before the first", specs: tallQ },
    { name: "forward chunks and blocks, backward key-range splits (1, 3 and 16 heads)", specs: items },
  ];
}

export interface PreparedAttention {
  spec: AttentionSpec;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  keyPad: Uint8Array | null;
  dout: Float32Array;
  /** Gradients the backward accumulates into. */
  dq0: Float32Array;
  dk0: Float32Array;
  dv0: Float32Array;
  /** The reference backend's results. */
  want: { out: Float32Array; lse: Float32Array; dq: Float32Array; dk: Float32Array; dv: Float32Array };
}

function uniform(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
}

function keyPadding(kind: PadKind, B: number, Tk: number, rng: Rng): Uint8Array | null {
  if (kind === "none") return null;
  const pad = new Uint8Array(B * Tk);
  if (kind === "random") for (let i = 0; i < pad.length; i++) pad[i] = rng.nextFloat() < 0.3 ? 1 : 0;
  if (kind === "left") pad.fill(1, 0, Math.ceil(Tk * 0.6));
  if (kind === "all") pad.fill(1, 0, Tk);
  if (kind === "tile") for (let b = 0; b < B; b++) pad.fill(1, b * Tk + Math.min(96, Tk), b * Tk + Math.min(192, Tk)), (pad[b * Tk] = 1);
  return pad;
}

/** Random inputs of a case and the reference backend's outputs. */
export function prepareAttention(spec: AttentionSpec, rng: Rng): PreparedAttention {
  const { s } = spec;
  const nq = s.batch * s.queries * s.heads * s.headDim;
  const nk = s.batch * s.keys * s.heads * s.headDim;
  const q = uniform(rng, nq, 2), k = uniform(rng, nk, 2), v = uniform(rng, nk, 1), dout = uniform(rng, nq, 1);
  const keyPad = keyPadding(spec.pad, s.batch, s.keys, rng);
  const dq0 = uniform(rng, nq, 1), dk0 = uniform(rng, nk, 1), dv0 = uniform(rng, nk, 1);
  const out = new Float32Array(nq), lse = new Float32Array(s.batch * s.heads * s.queries);
  referenceBackend.attentionForward(s, q, k, v, keyPad, out, lse);
  const dq = dq0.slice(), dk = dk0.slice(), dv = dv0.slice();
  referenceBackend.attentionBackward(s, q, k, v, keyPad, out, dout, lse, dq, dk, dv);
  return { spec, q, k, v, keyPad, dout, dq0, dk0, dv0, want: { out, lse, dq, dk, dv } };
}

/** Largest error accepted, relative to the largest reference magnitude of each output. */
export const ATTENTION_TOLERANCE = 1e-4;
const close = (what: string, got: Float32Array, want: Float32Array): void => assertCloseToReference(what, got, want, ATTENTION_TOLERANCE);


export function caseTag(spec: AttentionSpec): string {
  const { s } = spec;
  return `B=${s.batch} H=${s.heads} Tq=${s.queries} Tk=${s.keys} D=${s.headDim} off=${s.causalOffset} pad=${spec.pad}`;
}

export interface AttentionOutputs {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** Runs both kernels on a prepared case (outputs start as NaN, gradients at dq0/dk0/dv0). */
export function runAttention(kernels: AttentionKernels, p: PreparedAttention): AttentionOutputs {
  const { s } = p.spec;
  const out = new Float32Array(p.want.out.length).fill(NaN), lse = new Float32Array(p.want.lse.length).fill(NaN);
  kernels.forward(s, p.q, p.k, p.v, p.keyPad, out, lse);
  const dq = p.dq0.slice(), dk = p.dk0.slice(), dv = p.dv0.slice();
  // The backward from the reference's forward outputs, so that each kernel is checked on its own.
  kernels.backward(s, p.q, p.k, p.v, p.keyPad, p.want.out, p.dout, p.want.lse, dq, dk, dv);
  return { out, lse, dq, dk, dv };
}

/** Every output of both kernels against the reference. */
export function checkAttention(what: string, kernels: AttentionKernels, p: PreparedAttention): AttentionOutputs {
  const got = runAttention(kernels, p);
  const tag = `${what} ${caseTag(p.spec)}`;
  close(`${tag} out`, got.out, p.want.out);
  close(`${tag} lse`, got.lse, p.want.lse);
  close(`${tag} dq`, got.dq, p.want.dq);
  close(`${tag} dk`, got.dk, p.want.dk);
  close(`${tag} dv`, got.dv, p.want.dv);
  return got;
}
