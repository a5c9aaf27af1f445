// The Backend kernels of a wasm instance: every `KERNELS` row (backend.ts) becomes a call of the
// module's `par_<kernel>` export (csrc/exports.cc), its arguments translated in `KERNELS` order:
// an array becomes its address, a bool 0/1, an AttentionShape its fields (batch, heads, queries,
// keys, headDim, causal, offset, scale), an AdamWStep its fields, `null` for `u8?` address 0, and
// an out-of-int32 ignoreIndex the value no label can have (as the native addon does).
//
// Zero copy: an array that is a view of the module's memory (what the backend's storage hands out)
// is passed as it is. Any other array is copied into a staging block of the module heap before the
// call and, when the kernel writes it, copied back after: correct for any caller, and counted in
// `stats` (a training step on the engine's tensors stages no float arrays; index, label and mask
// arrays — a few bytes per token — are staged). Arrays that start at the same place (the exact
// aliases KERNELS allows, e.g. add's out = a) share one staging block.

import { KERNELS, type AdamWStep, type AttentionShape, type Backend, type KernelName } from "../backend.js";
import { KERNEL_NAMES, parseKernelArgs, type ArgSpec } from "../validate.js";
import type { WasmInstance } from "./instance.js";

/** Bytes copied into (and back out of) the module's memory for arrays that were not in it. */
export interface StagingStats {
  /** Float32Array bytes (tensors): 0 when the engine allocated everything through `storage`. */
  float32Bytes: number;
  /** Int32Array / Int8Array / Uint8Array bytes (indices, labels, padding masks, int8 weights). */
  indexBytes: number;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

type TypedArray = Float32Array | Int32Array | Int8Array | Uint8Array;

/** One staging block per array position of a call, grown as needed, reused across calls. */
class Staging {
  private readonly blocks: { at: number; bytes: number }[] = [];
  constructor(private readonly inst: WasmInstance) {}

  /** Address of a block of at least `bytes` bytes for position `slot`. */
  block(slot: number, bytes: number): number {
    const b = (this.blocks[slot] ??= { at: 0, bytes: 0 });
    if (bytes > b.bytes) {
      if (b.at !== 0) this.inst.free(b.at);
      b.at = 0;
      b.at = this.inst.alloc(Math.max(bytes, 64));
      b.bytes = Math.max(bytes, 64);
    }
    return b.at;
  }
}

interface ArrayArg {
  index: number;
  written: boolean;
  float32: boolean;
}

/** The kernels of `inst` as an (unvalidated) Backend, and the staging counters. */
export function wasmKernels(inst: WasmInstance): { kernels: Omit<Backend, "name" | "storage">; stats: StagingStats } {
  const stats: StagingStats = { float32Bytes: 0, indexBytes: 0 };
  const staging = new Staging(inst);
  const out: Record<string, unknown> = {};
  for (const name of KERNEL_NAMES) out[name] = kernel(inst, name, staging, stats);
  return { kernels: out as unknown as Omit<Backend, "name" | "storage">, stats };
}

function kernel(inst: WasmInstance, name: KernelName, staging: Staging, stats: StagingStats): (...a: unknown[]) => void {
  const spec = KERNELS[name];
  const args: ArgSpec[] = parseKernelArgs(spec.args);
  const fn = (inst.exports as unknown as Record<string, (...a: number[]) => void>)[`par_${name}`];
  const arrays: ArrayArg[] = args.flatMap((a, index) =>
    a.kind === "f32" || a.kind === "i32" || a.kind === "i8" || a.kind === "u8" || a.kind === "u8?" ? [{ index, written: spec.writes.includes(a.name), float32: a.kind === "f32" }] : [],
  );
  const isIgnoreIndex = args.map((a) => a.kind === "int" && a.name === "ignoreIndex");
  const flat: number[] = [];
  const addr = new Array<number>(args.length).fill(0);
  const staged: { arg: ArrayArg; view: TypedArray; at: number }[] = [];

  return (...a: unknown[]) => {
    // Addresses: views of the memory as they are, other arrays staged (exact aliases share).
    staged.length = 0;
    for (let s = 0; s < arrays.length; s++) {
      const x = arrays[s];
      const v = a[x.index] as TypedArray | null;
      if (v === null) {
        addr[x.index] = 0;
        continue;
      }
      if (inst.owns(v)) {
        addr[x.index] = v.byteOffset;
        continue;
      }
      const alias = staged.find((st) => st.view.buffer === v.buffer && st.view.byteOffset === v.byteOffset);
      if (alias !== undefined && alias.view.byteLength >= v.byteLength) {
        addr[x.index] = alias.at;
        staged.push({ arg: x, view: v, at: alias.at });
        continue;
      }
      const at = staging.block(s, v.byteLength);
      new Uint8Array(inst.buffer(), at, v.byteLength).set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      if (x.float32) stats.float32Bytes += v.byteLength;
      else stats.indexBytes += v.byteLength;
      addr[x.index] = at;
      staged.push({ arg: x, view: v, at });
    }
    flat.length = 0;
    for (let i = 0; i < args.length; i++) {
      const kind = args[i].kind;
      const v = a[i];
      switch (kind) {
        case "f32":
        case "i32":
        case "i8":
        case "u8":
        case "u8?":
          flat.push(addr[i]);
          break;
        case "bool":
          flat.push(v ? 1 : 0);
          break;
        case "attn": {
          const s = v as AttentionShape;
          flat.push(s.batch, s.heads, s.queries, s.keys, s.headDim, s.causalOffset === null ? 0 : 1, s.causalOffset ?? 0, s.scale);
          break;
        }
        case "adamw": {
          const o = v as AdamWStep;
          flat.push(o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.t);
          break;
        }
        default: {
          const n = v as number;
          flat.push(isIgnoreIndex[i] && (n < INT32_MIN || n > INT32_MAX) ? INT32_MIN : n);
        }
      }
    }
    inst.call(() => fn(...flat));
    // Written arrays that were staged: copy the results back (the memory may have grown).
    for (const st of staged) {
      if (!st.arg.written) continue;
      const v = st.view;
      new Uint8Array(v.buffer, v.byteOffset, v.byteLength).set(new Uint8Array(inst.buffer(), st.at, v.byteLength));
    }
  };
}
