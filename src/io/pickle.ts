// A restricted pickle machine: it reads the pickles torch.save writes for a state dict and
// builds only plain data, never executing anything.
//
// Contract:
// - Opcodes: the binary ones of protocols 2-5 that build data (ints, floats, strings, bytes,
//   None/True/False, tuples, lists, dicts, memo get/put, marks, frames), plus GLOBAL /
//   STACK_GLOBAL, REDUCE, BUILD and BINPERSID restricted as below. Every other opcode (object
//   creation: OBJ, INST, NEWOBJ; extensions; sets; out-of-band buffers; text protocol 0) is
//   refused, naming the opcode and its position.
// - GLOBAL resolves only names in `ALLOWED_GLOBALS` (OrderedDict, the tensor/parameter rebuild
//   functions, storage type markers); any other global is refused by name. REDUCE calls only the
//   allowed callables, which build `PyTensor` descriptions (storage, offset, shape, strides) or
//   dicts; BUILD is accepted only on dicts and tensors (their state is validated and dropped).
// - BINPERSID hands the persistent id to the caller's `persistentLoad`, which returns a storage.
// - Costs are linear in the input: each opcode consumes at least one byte and pushes at most one
//   value; lengths are checked against the remaining bytes before anything is allocated; ints
//   are bounded (LONG1/LONG4 at most 16 bytes). There is no recursion.
// - Every failure is a CheckpointError prefixed with `where` (the file and pickle name).

import { CheckpointError } from "./errors.js";

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyTuple | PyList | PyDict | PyGlobal | PyTensor | PyStorage;

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyList {
  constructor(readonly items: PyValue[]) {}
}
/** A dict or OrderedDict; keys are primitives, insertion order kept. */
export class PyDict {
  readonly map = new Map<string | number | bigint | boolean | null, PyValue>();
}
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
/** A storage returned by `persistentLoad`: its key, element type and length. */
export interface PyStorage {
  kind: "storage";
  key: string;
  dtype: TorchDType;
  numel: number;
}
/** A tensor: a strided view of a storage. */
export class PyTensor {
  constructor(
    readonly storage: PyStorage,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

export type TorchDType = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** torch's storage classes (as pickled in persistent ids) and their element types. */
export const STORAGE_TYPES: Record<string, TorchDType> = {
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  DoubleStorage: "F64",
  LongStorage: "I64",
  IntStorage: "I32",
  ShortStorage: "I16",
  CharStorage: "I8",
  ByteStorage: "U8",
  BoolStorage: "BOOL",
};

export const TORCH_DTYPE_SIZE: Record<TorchDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

const REBUILD_TENSOR_V2 = "torch._utils._rebuild_tensor_v2";
const REBUILD_TENSOR = "torch._utils._rebuild_tensor";
const REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
const REBUILD_PARAMETER_WITH_STATE = "torch._utils._rebuild_parameter_with_state";
const ORDERED_DICT = "collections.OrderedDict";

/** The only globals a state-dict pickle may name. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  ORDERED_DICT,
  REBUILD_TENSOR_V2,
  REBUILD_TENSOR,
  REBUILD_PARAMETER,
  REBUILD_PARAMETER_WITH_STATE,
  ...Object.keys(STORAGE_TYPES).map((s) => `torch.${s}`),
]);

/** Largest tensor rank accepted (PyTorch's own limit). */
const MAX_RANK = 64;
/** Longest LONG1/LONG4 integer accepted, in bytes (torch's legacy magic number takes 10). */
const MAX_LONG_BYTES = 16;

export interface UnpickleOptions {
  /** "file: pickle" for messages. */
  where: string;
  /** Resolves a persistent id (a PyTuple) to a storage; throws CheckpointError when it is invalid. */
  persistentLoad: (pid: PyValue) => PyStorage;
}

const MARK = Symbol("mark");
type StackItem = PyValue | typeof MARK;

const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT", 0x4a: "BININT", 0x4b: "BININT1",
  0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID", 0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
  0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6a: "LONG_BINGET", 0x6c: "LIST", 0x5d: "EMPTY_LIST",
  0x6f: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS",
  0x47: "BINFLOAT", 0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
  0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE",
  0x8d: "BINUNICODE8", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL",
  0x94: "MEMOIZE", 0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
};

/**
 * Runs the machine over `data` from `start` until STOP. Returns the value and the position just
 * after STOP (the next pickle of a stream starts there).
 */
export function unpickle(data: Uint8Array, options: UnpickleOptions, start = 0): { value: PyValue; end: number } {
  const where = options.where;
  let pos = start;
  let opAt = start;
  const fail = (m: string): never => {
    throw new CheckpointError(`${where}: ${m} (pickle byte ${opAt})`);
  };
  const need = (n: number): void => {
    if (!(n >= 0 && pos + n <= data.length)) fail(`truncated: needs ${n} more bytes, ${data.length - pos} left`);
  };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const text = (n: number): string => {
    need(n);
    let s: string;
    try {
      s = utf8.decode(data.subarray(pos, pos + n));
    } catch {
      return fail(`string is not valid UTF-8`);
    }
    pos += n;
    return s;
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = data.slice(pos, pos + n);
    pos += n;
    return b;
  };
  const u32len = (): number => {
    need(4);
    const n = view.getUint32(pos, true);
    pos += 4;
    return n;
  };
  const u64len = (): number => {
    need(8);
    const n = view.getBigUint64(pos, true);
    pos += 8;
    if (n > BigInt(data.length)) fail(`length ${n} exceeds the pickle`);
    return Number(n);
  };
  const line = (): string => {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0 || nl - pos > 256) fail(`GLOBAL name is not a short newline-terminated line`);
    const s = text(nl - pos);
    pos++;
    return s;
  };

  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  const pop = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail(`stack underflow`);
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail(`stack underflow`);
    return stack[stack.length - 1] as PyValue;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) return fail(`no MARK on the stack`);
    return stack.splice(m) as PyValue[];
  };
  const push = (v: PyValue): void => {
    stack.push(v);
  };
  const global = (module: string, name: string): PyGlobal => {
    const q = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(q)) fail(`refusing global ${q}: a state-dict pickle only names tensor rebuild functions, storages and OrderedDict`);
    return new PyGlobal(module, name);
  };
  const setItem = (d: PyValue, k: PyValue, v: PyValue): void => {
    if (!(d instanceof PyDict)) return fail(`SETITEM(S) on a ${typeName(d)}, not a dict`);
    if (!(k === null || typeof k === "string" || typeof k === "number" || typeof k === "bigint" || typeof k === "boolean")) fail(`dict key of type ${typeName(k)} is not supported`);
    const key = k as string | number | bigint | boolean | null;
    if (d.map.has(key)) fail(`duplicate dict key ${JSON.stringify(String(key)).slice(0, 80)}: ambiguous, refusing`);
    d.map.set(key, v);
  };

  for (;;) {
    opAt = pos;
    need(1);
    const op = data[pos++]!;
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (data[pos]! > 5) fail(`pickle protocol ${data[pos]} is not supported (2-5)`);
        pos++;
        break;
      case 0x95: // FRAME: framing is advisory; skip its length
        need(8);
        pos += 8;
        break;
      case 0x2e: // STOP
        if (marks.length > 0 || stack.length !== 1) fail(`STOP with ${stack.length} values and ${marks.length} marks on the stack`);
        return { value: stack[0] as PyValue, end: pos };
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        push(new PyList([]));
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        need(4);
        push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        need(1);
        push(data[pos++]!);
        break;
      case 0x4d: // BININT2
        need(2);
        push(view.getUint16(pos, true));
        pos += 2;
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        let n: number;
        if (op === 0x8a) {
          need(1);
          n = data[pos++]!;
        } else n = u32len();
        if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes is too large`);
        need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[pos + i]!);
        if (n > 0 && (data[pos + n - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * n);
        pos += n;
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        push(text(u32len()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        need(1);
        push(text(data[pos++]!));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64len()));
        break;
      case 0x43: // SHORT_BINBYTES
        need(1);
        push(bytes(data[pos++]!));
        break;
      case 0x42: // BINBYTES
        push(bytes(u32len()));
        break;
      case 0x8e: // BINBYTES8
        push(bytes(u64len()));
        break;
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      }
      case 0x6c: // LIST
        push(new PyList(popMark()));
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        if (items.length % 2 !== 0) fail(`DICT with an odd number of items`);
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i]!, items[i + 1]!);
        push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const l = top();
        if (!(l instanceof PyList)) fail(`APPEND to a ${typeName(l)}, not a list`);
        (l as PyList).items.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const l = top();
        if (!(l instanceof PyList)) fail(`APPENDS to a ${typeName(l)}, not a list`);
        for (const v of items) (l as PyList).items.push(v);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail(`SETITEMS with an odd number of items`);
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i]!, items[i + 1]!);
        break;
      }
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x71: // BINPUT
        need(1);
        memo.set(data[pos++]!, top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32len(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        let k: number;
        if (op === 0x68) {
          need(1);
          k = data[pos++]!;
        } else k = u32len();
        if (!memo.has(k)) fail(`memo key ${k} is not defined`);
        push(memo.get(k)!);
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail(`STACK_GLOBAL needs two strings`);
        push(global(module as string, name as string));
        break;
      }
      case 0x51: // BINPERSID
        push(options.persistentLoad(pop()));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!(fn instanceof PyGlobal)) fail(`REDUCE of a ${typeName(fn)}, not a callable`);
        if (!(args instanceof PyTuple)) fail(`REDUCE arguments must be a tuple`);
        push(call(fn as PyGlobal, (args as PyTuple).items, fail));
        break;
      }
      case 0x62: {
        // BUILD: the state of an OrderedDict (its _metadata) or of a parameter; validated, dropped.
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict || obj instanceof PyTensor)) fail(`BUILD on a ${typeName(obj)} is not supported`);
        if (!(state === null || state instanceof PyDict || state instanceof PyTuple)) fail(`BUILD state must be a dict, got a ${typeName(state)}`);
        break;
      }
      default:
        fail(`refusing opcode ${OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, "0")}`}: not needed for a state dict`);
    }
  }
}

function typeName(v: PyValue | typeof MARK): string {
  if (v === null) return "None";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyList) return "list";
  if (v instanceof PyDict) return "dict";
  if (v instanceof PyGlobal) return `global ${v.qualified}`;
  if (v instanceof PyTensor) return "tensor";
  if (v instanceof Uint8Array) return "bytes";
  if (typeof v === "object" && v !== null && (v as PyStorage).kind === "storage") return "storage";
  return typeof v;
}

function isNonNegInt(v: PyValue): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function intTuple(v: PyValue, what: string, fail: (m: string) => never): number[] {
  if (!(v instanceof PyTuple)) return fail(`${what} must be a tuple of integers`);
  if (v.items.length > MAX_RANK) fail(`${what} has ${v.items.length} dimensions, more than ${MAX_RANK}`);
  for (const x of v.items) if (!isNonNegInt(x)) fail(`${what} must hold non-negative integers, got ${typeName(x)} ${String(x).slice(0, 30)}`);
  return v.items as number[];
}

function isStorage(v: PyValue): v is PyStorage {
  return typeof v === "object" && v !== null && (v as PyStorage).kind === "storage";
}

/** The allowed callables. */
function call(fn: PyGlobal, args: PyValue[], fail: (m: string) => never): PyValue {
  switch (fn.qualified) {
    case ORDERED_DICT: {
      const d = new PyDict();
      if (args.length === 0) return d;
      return fail(`OrderedDict(...) with arguments is not supported`);
    }
    case REBUILD_TENSOR:
    case REBUILD_TENSOR_V2: {
      // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
      const min = fn.qualified === REBUILD_TENSOR ? 4 : 6;
      if (args.length < min || args.length > 7) fail(`${fn.qualified} takes ${min}-7 arguments, got ${args.length}`);
      const [storage, offset, size, stride] = args;
      if (!isStorage(storage!)) fail(`${fn.qualified}: first argument must be a storage, got a ${typeName(storage!)}`);
      if (!isNonNegInt(offset!)) fail(`${fn.qualified}: storage offset must be a non-negative integer`);
      const shape = intTuple(size!, "tensor size", fail);
      const strides = intTuple(stride!, "tensor stride", fail);
      if (shape.length !== strides.length) fail(`tensor size has ${shape.length} dimensions but stride has ${strides.length}`);
      if (args.length >= 6) {
        const hooks = args[5]!;
        if (!(hooks instanceof PyDict) || hooks.map.size !== 0) fail(`tensors with backward hooks are not supported`);
      }
      return new PyTensor(storage as PyStorage, offset as number, shape, strides);
    }
    case REBUILD_PARAMETER:
    case REBUILD_PARAMETER_WITH_STATE: {
      const n = fn.qualified === REBUILD_PARAMETER ? 3 : 4;
      if (args.length !== n) fail(`${fn.qualified} takes ${n} arguments, got ${args.length}`);
      if (!(args[0] instanceof PyTensor)) fail(`${fn.qualified}: first argument must be a tensor`);
      const hooks = args[2]!;
      if (!(hooks instanceof PyDict) || hooks.map.size !== 0) fail(`parameters with backward hooks are not supported`);
      return args[0] as PyTensor;
    }
    default:
      return fail(`refusing to call ${fn.qualified}`);
  }
}
