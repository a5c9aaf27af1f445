// The one argument validation of the Backend boundary: `validated(backend)` returns a Backend
// whose every kernel checks its arguments against `KERNELS` (backend.ts) before calling the
// wrapped kernel, and throws a TypeError (wrong kind of value) or RangeError (size, length,
// range, overlap) naming the kernel and the argument. Nothing is checked twice: ops check only
// that their inputs' shapes agree with each other (exact shapes, which the at-least lengths here
// cannot know), never value ranges; and the native addon keeps only the bounds checks that make
// its memory accesses safe even when called raw.
//
// Which backends are validated: every backend that `getBackend()` hands out (select.ts), the
// exported `referenceBackend`, and the backend `loadNativeBackend()` returns. `validated()` is
// idempotent (a validated backend is returned as is) and memoised (the same raw backend always
// gives the same wrapper), so wrapping at several entry points costs nothing and keeps identity.
// The raw kernel objects (`referenceKernels`, the addon) are internal: tests of the wrapper and of
// the addon's own checks use them.

import { KERNELS, type Backend, type KernelName } from "./backend.js";
import { checkFinite, checkIndices, checkInteger, checkLabels, checkRotDim, checkSize } from "./checks.js";

type ArrayKind = "f32" | "i32" | "i8" | "u8" | "u8?";
type ScalarKind = "size" | "int" | "num" | "bool" | "attn" | "adamw";

/** One parsed argument of a `KERNELS` row. */
export interface ArgSpec {
  readonly kind: ArrayKind | ScalarKind;
  readonly name: string;
  /** Factors of the minimum length (size names or integer literals); null: any length. */
  readonly length: readonly (string | number)[] | null;
}

const ARG = /^(f32|i32|i8|u8\??|size|int|num|bool|attn|adamw)(?:\[([^\]]*)\])? ([A-Za-z_]\w*)$/;
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
    const isArray = kind === "f32" || kind === "i32" || kind === "i8" || kind === "u8" || kind === "u8?";
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

type TypedArrayCtor = Float32ArrayConstructor | Int32ArrayConstructor | Int8ArrayConstructor | Uint8ArrayConstructor;
const CTOR: Record<ArrayKind, TypedArrayCtor> = { f32: Float32Array, i32: Int32Array, i8: Int8Array, u8: Uint8Array, "u8?": Uint8Array };

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
  const label = (name: string) => `${kernel}: ${name}`;
  // Sizes (size arguments and attn fields) live in numbered slots that lengths refer to.
  const slotOf = new Map<string, number>();
  for (const x of args) {
    if (x.kind === "size") slotOf.set(x.name, slotOf.size);
    if (x.kind === "attn") for (const f of ATTN_SIZES) slotOf.set(f, slotOf.size);
  }
  const scalars = args
    .map((x, index) => ({ kind: x.kind, index, name: x.name, label: label(x.name), slot: slotOf.get(x.name) ?? -1 }))
    .filter((x) => !(x.kind in CTOR));
  const attnLabels = (name: string) => ({
    sizes: ATTN_SIZES.map((f) => ({ field: f, label: label(`${name}.${f}`), slot: slotOf.get(f) as number })),
    causalOffset: label(`${name}.causalOffset`),
    scale: label(`${name}.scale`),
  });
  const attn = scalars.filter((x) => x.kind === "attn").map((x) => attnLabels(x.name))[0];
  const adamwLabels = (name: string) => ADAMW_FIELDS.map((f) => ({ field: f, label: label(`${name}.${f}`) }));
  const adamw = scalars.filter((x) => x.kind === "adamw").map((x) => adamwLabels(x.name))[0];
  const arrays = args
    .map((x, index) => ({ ...x, index }))
    .filter((x) => x.kind in CTOR)
    .map((x) => ({
      index: x.index,
      name: x.name,
      label: label(x.name),
      ctor: CTOR[x.kind as ArrayKind],
      nullable: x.kind === "u8?",
      length: x.length,
      slots: (x.length ?? []).filter((f): f is string => typeof f === "string").map((f) => slotOf.get(f) as number),
      literal: (x.length ?? []).reduce<number>((p, f) => (typeof f === "number" ? p * f : p), 1),
    }));
  const writes = spec.writes.map((w) => {
    const i = arrays.findIndex((x) => x.name === w);
    if (i < 0) throw new Error(`KERNELS.${kernel}: writes ${w}, which is not an array argument`);
    return { at: i, allowed: spec.mayAlias?.[w] ?? [] };
  });
  const valueCheck = VALUE_CHECKS[kernel];
  const slots = new Float64Array(slotOf.size);
  const need = new Float64Array(arrays.length);
  const signature = `${kernel}: expected ${args.length} arguments (${spec.args})`;

  return (a) => {
    if (a.length !== args.length) throw new TypeError(`${signature}, got ${a.length}`);
    for (const x of scalars) {
      const v = a[x.index];
      switch (x.kind) {
        case "size":
          checkSize(x.label, v as number);
          slots[x.slot] = v as number;
          break;
        case "int":
          checkInteger(x.label, v as number);
          break;
        case "num":
          checkFinite(x.label, v as number);
          break;
        case "bool":
          if (typeof v !== "boolean") throw new TypeError(`${x.label} must be a boolean, got ${typeof v}`);
          break;
        case "attn": {
          if (v === null || typeof v !== "object") throw new TypeError(`${x.label} must be an AttentionShape object`);
          const s = v as Record<string, number | null>;
          for (const f of attn.sizes) {
            checkSize(f.label, s[f.field] as number);
            slots[f.slot] = s[f.field] as number;
          }
          if (s.causalOffset !== null) checkInteger(attn.causalOffset, s.causalOffset as number);
          checkFinite(attn.scale, s.scale as number);
          break;
        }
        case "adamw":
          if (v === null || typeof v !== "object") throw new TypeError(`${x.label} must be an AdamWStep object`);
          for (const f of adamw) checkFinite(f.label, (v as Record<string, number>)[f.field]);
          break;
      }
    }
    for (let i = 0; i < arrays.length; i++) {
      const x = arrays[i];
      const v = a[x.index];
      if (x.nullable && v === null) {
        need[i] = 0;
        continue;
      }
      if (!(v instanceof x.ctor)) throw new TypeError(`${x.label} must be a ${x.ctor.name}${x.nullable ? " or null" : ""}, got ${describe(v)}`);
      if (x.length === null) {
        need[i] = v.length;
        continue;
      }
      let n = x.literal;
      for (const s of x.slots) n *= slots[s];
      if (!Number.isSafeInteger(n)) throw new RangeError(`${x.label}: size ${n} is too large`);
      if (v.length < n) throw new RangeError(`${x.label} has ${v.length} elements, needs at least ${n} (${lengthText(x.length, slotOf, slots)})`);
      need[i] = n;
    }
    for (const w of writes) {
      const out = a[arrays[w.at].index] as ArrayBufferView;
      const buffer = out.buffer;
      for (let i = 0; i < arrays.length; i++) {
        if (i === w.at || need[i] === 0) continue;
        const x = a[arrays[i].index] as ArrayBufferView;
        if (x.buffer !== buffer) continue;
        const exact = x.byteOffset === out.byteOffset && w.allowed.includes(arrays[i].name);
        if (!exact && overlaps(out, need[w.at], x, need[i])) {
          const may = w.allowed.length > 0 ? ` (it may only be exactly ${w.allowed.join(" or ")})` : "";
          throw new RangeError(`${kernel}: ${arrays[w.at].name}, which the kernel writes, overlaps ${arrays[i].name}${may}`);
        }
      }
    }
    valueCheck?.(a);
  };
}

/** "m 2 x k 3" for an error message. */
function lengthText(length: readonly (string | number)[], slotOf: Map<string, number>, slots: Float64Array): string {
  return length.map((f) => (typeof f === "number" ? String(f) : `${f} ${slots[slotOf.get(f) as number]}`)).join(" x ");
}

/** Whether the first na elements of a and the first nb of b (views of one buffer) share a byte. */
function overlaps(a: ArrayBufferView, na: number, b: ArrayBufferView, nb: number): boolean {
  const aBytes = na * (a as Float32Array).BYTES_PER_ELEMENT;
  const bBytes = nb * (b as Float32Array).BYTES_PER_ELEMENT;
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
  if (backend.storage !== undefined) out.storage = backend.storage;
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
