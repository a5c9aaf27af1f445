// The one argument validation of the Backend boundary: `validated(backend)` returns a Backend
// whose every kernel checks its arguments against `KERNELS` (backend.ts) before calling the
// wrapped kernel, and throws a TypeError (wrong kind of value) or RangeError (size, length,
// range, overlap) naming the kernel and the argument. Nothing is checked twice: ops check only
// what their Vars mean (shapes), and the native addon keeps only the bounds checks that make its
// memory accesses safe even when called raw.
//
// Which backends are validated: every backend that `getBackend()` hands out (select.ts), the
// exported `referenceBackend`, and the backend `loadNativeBackend()` returns. `validated()` is
// idempotent (a validated backend is returned as is) and memoised (the same raw backend always
// gives the same wrapper), so wrapping at several entry points costs nothing and keeps identity.
// The raw kernel objects (`referenceKernels`, the addon) are internal: tests of the wrapper and of
// the addon's own checks use them.

import { KERNELS, type Backend, type KernelName } from "./backend.js";
import { checkFinite, checkIndices, checkInteger, checkLabels, checkRotDim, checkSize, sizeProduct } from "./checks.js";

type ArrayKind = "f32" | "i32" | "u8" | "u8?";
type ScalarKind = "size" | "int" | "num" | "bool" | "attn" | "adamw";

/** One parsed argument of a `KERNELS` row. */
export interface ArgSpec {
  readonly kind: ArrayKind | ScalarKind;
  readonly name: string;
  /** Factors of the minimum length (size names or integer literals); null: any length. */
  readonly length: readonly (string | number)[] | null;
}

const ARG = /^(f32|i32|u8\??|size|int|num|bool|attn|adamw)(?:\[([^\]]*)\])? ([A-Za-z_]\w*)$/;
const ATTN_SIZES = ["batch", "heads", "queries", "keys", "headDim"] as const;
const ADAMW_FIELDS = ["lr", "beta1", "beta2", "eps", "weightDecay", "t"] as const;

/** Parses a `KERNELS[...].args` string; throws on a malformed row (a programming error). */
export function parseKernelArgs(args: string): ArgSpec[] {
  const out: ArgSpec[] = [];
  const sizes = new Set<string>();
  for (const part of args.split(",")) {
    const m = ARG.exec(part.trim());
    if (m === null) throw new Error(`kernel argument ${JSON.stringify(part.trim())} is not "kind[length] name"`);
    const kind = m[1] as ArgSpec["kind"];
    const isArray = kind === "f32" || kind === "i32" || kind === "u8" || kind === "u8?";
    if (m[2] !== undefined && !isArray) throw new Error(`kernel argument ${m[3]}: only arrays have a length`);
    const length = m[2] === undefined ? null : m[2].split("*").map((f) => (/^\d+$/.test(f) ? Number(f) : f));
    out.push({ kind, name: m[3], length });
    if (kind === "size") sizes.add(m[3]);
    if (kind === "attn") for (const f of ATTN_SIZES) sizes.add(f);
  }
  for (const a of out) {
    for (const f of a.length ?? []) {
      if (typeof f === "string" && !sizes.has(f)) throw new Error(`kernel argument ${a.name}: length names ${f}, which is not a size argument`);
    }
  }
  return out;
}

type TypedArrayCtor = Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;
const CTOR: Record<ArrayKind, TypedArrayCtor> = { f32: Float32Array, i32: Int32Array, u8: Uint8Array, "u8?": Uint8Array };

type Args = readonly unknown[];

/** Checks that a length cannot express, by kernel (run after the generic checks passed). */
const VALUE_CHECKS: { readonly [N in KernelName]?: (a: Args) => void } = {
  gatherRows: ([src, index, , count, cols]) => {
    if ((cols as number) > 0) checkIndices("gatherRows: index", index as Int32Array, count as number, Math.floor((src as Float32Array).length / (cols as number)));
  },
  scatterAddRows: ([, index, dsrc, count, cols]) => {
    if ((cols as number) > 0) checkIndices("scatterAddRows: index", index as Int32Array, count as number, Math.floor((dsrc as Float32Array).length / (cols as number)));
  },
  rotaryForward: (a) => checkRotDim("rotaryForward: rotDim", a[7] as number, a[6] as number),
  rotaryBackward: (a) => checkRotDim("rotaryBackward: rotDim", a[7] as number, a[6] as number),
  crossEntropyForward: ([, labels, , , rows, vocab, ignoreIndex]) =>
    checkLabels("crossEntropyForward: labels", labels as Int32Array, rows as number, vocab as number, ignoreIndex as number),
  crossEntropyBackward: ([, labels, , , rows, vocab, ignoreIndex]) =>
    checkLabels("crossEntropyBackward: labels", labels as Int32Array, rows as number, vocab as number, ignoreIndex as number),
};

/** The checker of one kernel: generic checks from its `KERNELS` row, then its value checks. */
function compileChecker(kernel: KernelName): (a: Args) => void {
  const spec = KERNELS[kernel];
  const args = parseKernelArgs(spec.args);
  const arrays = args.map((a, i) => ({ ...a, index: i })).filter((a) => a.kind in CTOR);
  const writes = spec.writes.map((w) => {
    const i = args.findIndex((a) => a.name === w);
    if (i < 0) throw new Error(`KERNELS.${kernel}: writes ${w}, which is not an argument`);
    return i;
  });
  const valueCheck = VALUE_CHECKS[kernel];
  const where = (name: string) => `${kernel}: ${name}`;

  return (a) => {
    if (a.length !== args.length) throw new TypeError(`${kernel}: expected ${args.length} arguments (${spec.args}), got ${a.length}`);
    const sizes: Record<string, number> = {};
    for (let i = 0; i < args.length; i++) {
      const { kind, name } = args[i];
      const v = a[i];
      switch (kind) {
        case "size":
          checkSize(where(name), v as number);
          sizes[name] = v as number;
          break;
        case "int":
          checkInteger(where(name), v as number);
          break;
        case "num":
          checkFinite(where(name), v as number);
          break;
        case "bool":
          if (typeof v !== "boolean") throw new TypeError(`${where(name)} must be a boolean, got ${typeof v}`);
          break;
        case "attn": {
          if (v === null || typeof v !== "object") throw new TypeError(`${where(name)} must be an AttentionShape object`);
          const s = v as Record<string, number | null>;
          for (const f of ATTN_SIZES) {
            checkSize(where(`${name}.${f}`), s[f] as number);
            sizes[f] = s[f] as number;
          }
          if (s.causalOffset !== null) checkInteger(where(`${name}.causalOffset`), s.causalOffset as number);
          checkFinite(where(`${name}.scale`), s.scale as number);
          break;
        }
        case "adamw": {
          if (v === null || typeof v !== "object") throw new TypeError(`${where(name)} must be an AdamWStep object`);
          for (const f of ADAMW_FIELDS) checkFinite(where(`${name}.${f}`), (v as Record<string, number>)[f]);
          break;
        }
      }
    }
    const need: number[] = new Array(args.length).fill(0);
    for (const { kind, name, length, index } of arrays) {
      const v = a[index];
      if (kind === "u8?" && v === null) continue;
      const ctor = CTOR[kind as ArrayKind];
      if (!(v instanceof ctor)) {
        throw new TypeError(`${where(name)} must be a ${ctor.name}${kind === "u8?" ? " or null" : ""}, got ${describe(v)}`);
      }
      let n = v.length;
      if (length !== null) {
        n = sizeProduct(where(name), ...length.map((f) => (typeof f === "number" ? f : sizes[f])));
        if (v.length < n) {
          throw new RangeError(`${where(name)} has ${v.length} elements, needs at least ${n} (${length.map((f) => (typeof f === "number" ? f : `${f} ${sizes[f]}`)).join(" x ")})`);
        }
      }
      need[index] = n;
    }
    for (const w of writes) {
      const out = a[w] as ArrayLike<number> & ArrayBufferView;
      const allowed = spec.mayAlias?.[args[w].name] ?? [];
      for (const { name, index } of arrays) {
        const x = a[index] as (ArrayLike<number> & ArrayBufferView) | null;
        if (index === w || x === null || x.buffer !== out.buffer) continue;
        const exact = x.byteOffset === out.byteOffset && allowed.includes(name);
        if (!exact && overlaps(out, need[w], x, need[index])) {
          const may = allowed.length > 0 ? ` (it may only be exactly ${allowed.join(" or ")})` : "";
          throw new RangeError(`${kernel}: ${args[w].name}, which the kernel writes, overlaps ${name}${may}`);
        }
      }
    }
    valueCheck?.(a);
  };
}

function overlaps(a: ArrayBufferView & ArrayLike<number>, na: number, b: ArrayBufferView & ArrayLike<number>, nb: number): boolean {
  const aBytes = na * (a.byteLength / Math.max(1, a.length));
  const bBytes = nb * (b.byteLength / Math.max(1, b.length));
  if (aBytes === 0 || bBytes === 0) return false;
  return a.byteOffset < b.byteOffset + bBytes && b.byteOffset < a.byteOffset + aBytes;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/** Every kernel name, in `KERNELS` order. */
export const KERNEL_NAMES = Object.keys(KERNELS) as KernelName[];

let checkers: Record<KernelName, (a: Args) => void> | null = null;
const wrappers = new WeakMap<Backend, Backend>();
const wrapped = new WeakSet<Backend>();

/** `backend` with every kernel validated against `KERNELS` (idempotent, memoised). */
export function validated(backend: Backend): Backend {
  if (wrapped.has(backend)) return backend;
  const known = wrappers.get(backend);
  if (known !== undefined) return known;
  checkers ??= Object.fromEntries(KERNEL_NAMES.map((k) => [k, compileChecker(k)])) as Record<KernelName, (a: Args) => void>;
  const out: Record<string, unknown> = { name: backend.name };
  for (const k of KERNEL_NAMES) {
    const kernel = backend[k] as unknown;
    if (typeof kernel !== "function") throw new TypeError(`backend ${JSON.stringify(backend.name)} has no kernel ${k}`);
    const check = checkers[k];
    out[k] = (...a: unknown[]) => {
      check(a);
      return Reflect.apply(kernel, backend, a);
    };
  }
  const v = out as unknown as Backend;
  wrappers.set(backend, v);
  wrapped.add(v);
  return v;
}
