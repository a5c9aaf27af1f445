// Seeded malformed checkpoints for the fuzz test (test/fuzz-checkpoints.test.ts) and the fuzz
// benchmark (bench/fuzz-checkpoints.ts): safetensors files, torch .bin files and model folders,
// mutated at the byte level (truncations, flips, extreme integers, spliced bytes) and at the
// structure level (header JSON edits, pickle opcode edits with the zip rebuilt so its CRCs pass,
// config.json edits, second weight files, prefixed duplicates, NaN weights, hostile globals).
//
// Each case says whether it must be refused (`mustRefuse`: ambiguous or unsafe inputs, where
// acceptance is a failure), and `runCase` opens it the way a user would, fully: every tensor of
// a file is read; a folder is loaded into a model.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { referenceBackend } from "../../src/backend/reference/index.js";
import { bytesReader } from "../../src/io/byte-reader.js";
import { loadPretrained, saveModel, stateDict } from "../../src/io/checkpoint.js";
import { CheckpointError } from "../../src/io/errors.js";
import { nodeInflateRaw } from "../../src/io/node-inflate.js";
import { readSafetensorsIndex, readSafetensorsTensor, SafetensorsError, serializeSafetensors } from "../../src/io/safetensors.js";
import { readTorchIndex, readTorchTensor } from "../../src/io/torch-bin.js";
import { readZipDirectory, readZipEntry } from "../../src/io/zip.js";
import { ConfigError } from "../../src/models/config.js";
import { PerceiverAR } from "../../src/models/perceiver-ar.js";
import { uniformSource as rng } from "../../src/util/rng.js";
import { buildZip } from "./zip-writer.js";
import { GOLDEN_ROOT, REPO_ROOT } from "./golden.js";

export type CaseKind = "safetensors" | "bin" | "folder";

export interface FuzzCase {
  kind: CaseKind;
  /** What was done to the base (for reports). */
  label: string;
  /** Ambiguous or unsafe: only a refusal is correct. */
  mustRefuse: boolean;
  /** The file (kind safetensors/bin: one entry) or the folder's files. */
  files: Map<string, Uint8Array>;
}

interface Bases {
  safetensors: Uint8Array[];
  bins: Uint8Array[];
  folders: Map<string, Uint8Array>[];
}

let cached: Bases | undefined;

/** The valid files every case starts from. */
export function fuzzBases(): Bases {
  if (cached !== undefined) return cached;
  const model = new PerceiverAR({ vocab_size: 20, max_seq_len: 8, max_latents: 4, num_channels: 8, num_heads: 2, num_self_attention_layers: 1 }, referenceBackend, { seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-base-"));
  const read = (d: string) => new Map(fs.readdirSync(d).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(d, f)))]));
  try {
    saveModel(model, path.join(dir, "ours"));
    saveModel(model, path.join(dir, "hf"), { format: "hf" });
    const ours = read(path.join(dir, "ours"));
    const hf = read(path.join(dir, "hf"));
    const half = serializeSafetensors(new Map([...stateDict(model)].map(([k, v]) => [k, { ...v, dtype: "F16" as const }])));
    const golden = path.join(GOLDEN_ROOT, "hf-bin");
    const goldenFolder = new Map([["config.json", new Uint8Array(fs.readFileSync(path.join(golden, "config.json")))], ["pytorch_model.bin", new Uint8Array(fs.readFileSync(path.join(golden, "pytorch_model.bin")))]]);
    const fixtures = path.join(REPO_ROOT, "test/fixtures/torch");
    cached = {
      safetensors: [ours.get("weights.safetensors")!, hf.get("model.safetensors")!, half],
      bins: ["dtypes.bin", "legacy.bin", "deflated.bin"].map((f) => new Uint8Array(fs.readFileSync(path.join(fixtures, f)))).concat([goldenFolder.get("pytorch_model.bin")!]),
      folders: [ours, hf, goldenFolder, new Map([["config.json", ours.get("config.json")!], ["weights.safetensors", half]])],
    };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const EXTREME_U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65535, 1 << 24];

type Rand = () => number;

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const pick = <T>(r: Rand, a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
const int = (r: Rand, n: number) => Math.floor(r() * n);

/** Byte-level mutations. */
function mutateBytes(r: Rand, b: Uint8Array, region?: [number, number]): { bytes: Uint8Array; label: string } {
  const [lo, hi] = region ?? [0, b.length];
  const at = () => lo + int(r, Math.max(1, hi - lo));
  switch (int(r, 6)) {
    case 0: {
      const n = int(r, b.length + 1);
      return { bytes: b.slice(0, n), label: `truncate to ${n}` };
    }
    case 1: {
      const out = b.slice();
      const k = 1 + int(r, 4);
      for (let i = 0; i < k; i++) {
        const p = Math.min(at(), out.length - 1);
        out[p] ^= 1 + int(r, 255);
      }
      return { bytes: out, label: `flip ${k} bytes` };
    }
    case 2: {
      const out = b.slice();
      const p = Math.min(at(), Math.max(0, out.length - 4));
      new DataView(out.buffer).setUint32(p, pick(r, EXTREME_U32), true);
      return { bytes: out, label: `extreme u32 at ${p}` };
    }
    case 3: {
      const out = b.slice();
      const p = Math.min(at(), Math.max(0, out.length - 8));
      new DataView(out.buffer).setBigUint64(p, pick(r, [0n, 2n ** 63n, 2n ** 64n - 1n, BigInt(b.length), BigInt(b.length) + 1n]), true);
      return { bytes: out, label: `extreme u64 at ${p}` };
    }
    case 4: {
      const p = at();
      const extra = new Uint8Array(1 + int(r, 64)).map(() => int(r, 256));
      return { bytes: concat(b.subarray(0, p), extra, b.subarray(p)), label: `insert ${extra.length} bytes at ${p}` };
    }
    default: {
      const p = at();
      const q = at();
      const n = 1 + int(r, 256);
      return { bytes: concat(b.subarray(0, p), b.subarray(q, q + n), b.subarray(p)), label: `splice ${n} bytes from ${q} to ${p}` };
    }
  }
}

function headerOf(st: Uint8Array): { json: Record<string, unknown>; data: Uint8Array } {
  const n = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
  return { json: JSON.parse(dec.decode(st.subarray(8, 8 + n))), data: st.subarray(8 + n) };
}

function withHeader(text: string, data: Uint8Array): Uint8Array {
  const h = enc.encode(text);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const WEIRD_VALUES: unknown[] = [-1, 0, 3.7, 2 ** 53, 1e308, "7", null, true, [], {}, [1e20], [-4, 2], [0, 2 ** 60], "F32", "I16", "toString"];

/** Structural edits of a safetensors header; returns [bytes, label, mustRefuse]. */
function mutateSafetensors(r: Rand, st: Uint8Array): [Uint8Array, string, boolean] {
  const { json, data } = headerOf(st);
  const names = Object.keys(json).filter((k) => k !== "__metadata__");
  const name = pick(r, names);
  const text = JSON.stringify(json);
  switch (int(r, 7)) {
    case 0: {
      // A second entry with the same name: JSON.parse would keep the last.
      const entry = JSON.stringify((json as Record<string, unknown>)[pick(r, names)]);
      return [withHeader(text.replace(/}$/, `,${JSON.stringify(name)}:${entry}}`), data), `duplicate tensor name ${name}`, true];
    }
    case 1: {
      const field = pick(r, ["dtype", "shape", "data_offsets"]);
      const v = pick(r, WEIRD_VALUES);
      (json[name] as Record<string, unknown>)[field] = v;
      return [withHeader(JSON.stringify(json), data), `${name}.${field} = ${JSON.stringify(v)}`, false];
    }
    case 2: {
      const depth = int(r, 8) === 0 ? 200_000 : pick(r, [4, 100, 10_000]); // the huge variants are rare: they cost ~0.1-0.3 s each
      return [withHeader(text.replace(/}$/, `,"deep":${"[".repeat(depth)}${"]".repeat(depth)}}`), data), `nesting ${depth}`, false];
    }
    case 3: {
      const n = int(r, 8) === 0 ? 70_000 : pick(r, [10, 5000]);
      const meta = Array.from({ length: n }, (_, i) => `"k${i}":"v"`).join(",");
      return [withHeader(text.replace(/^{/, `{"__metadata__":{${meta}},`).replace(/"__metadata__":\{"format":"pt"\},/, ""), data), `${n} metadata entries`, false];
    }
    case 4: {
      const n = int(r, 8) === 0 ? 70_000 : pick(r, [100, 2000]);
      const extra = Array.from({ length: n }, (_, i) => `"e${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`).join(",");
      return [withHeader(text.replace(/}$/, `,${extra}}`), data), `${n} empty tensors`, false];
    }
    case 5: {
      // NaN/Inf in a float tensor's data: valid as a file, refused when loaded as weights.
      const e = json[name] as { dtype: string; data_offsets: [number, number] };
      const out = st.slice();
      const off = st.length - data.length + e.data_offsets[0];
      const nonEmpty = e.data_offsets[1] > e.data_offsets[0];
      if (e.dtype === "F32" && nonEmpty) new DataView(out.buffer).setFloat32(off, pick(r, [NaN, Infinity, -Infinity]), true);
      else if (e.dtype === "F16" && nonEmpty) new DataView(out.buffer).setUint16(off, pick(r, [0x7c00, 0xfc00, 0x7e00]), true);
      else return [out, `unchanged (${name} holds no float)`, false];
      return [out, `non-finite value in ${name}`, false];
    }
    default: {
      const m = mutateBytes(r, st, [8, st.length - data.length]);
      return [m.bytes, `header bytes: ${m.label}`, false];
    }
  }
}

/** Pickle-level edits of a torch zip, rebuilt with valid CRCs; [bytes, label, mustRefuse]. */
function mutateBin(r: Rand, bin: Uint8Array): [Uint8Array, string, boolean] {
  if (bin[0] !== 0x50 || int(r, 4) === 0) {
    const m = mutateBytes(r, bin);
    return [m.bytes, m.label, false];
  }
  const reader = bytesReader(bin);
  const { entries } = readZipDirectory(reader);
  const list = [...entries.values()].map((e) => ({ name: e.name, data: readZipEntry(reader, e, { inflateRaw: nodeInflateRaw }) }));
  const pkl = list.find((e) => e.name.endsWith("/data.pkl"))!;
  let label: string;
  let mustRefuse = false;
  const p = pkl.data;
  switch (int(r, 5)) {
    case 0: {
      const i = 2 + int(r, p.length - 3);
      const out = p.slice();
      out[i] = int(r, 256);
      pkl.data = out;
      label = `pickle byte ${i} = ${out[i]}`;
      break;
    }
    case 1: {
      const evil = pick(r, ["os\nsystem\n", "builtins\neval\n", "subprocess\nPopen\n", "torch\nload\n", "__builtin__\nexec\n", "torch._utils\n_rebuild_qtensor\n"]);
      const call = Uint8Array.from([0x63, ...enc.encode(evil), 0x58, 4, 0, 0, 0, ...enc.encode("ls /"), 0x85, 0x52, 0x30]);
      pkl.data = concat(p.subarray(0, 2), call, p.subarray(2));
      label = `hostile global ${evil.trim().replace("\n", ".")}`;
      mustRefuse = true;
      break;
    }
    case 2: {
      // Re-declare a state dict key: a second SETITEM with an existing name.
      const s = dec.decode(p);
      const m = /X(....)(backend_model\.[^\x00-\x1f]*?|[a-z_0-9]+)q/.exec(s);
      const idx = p.lastIndexOf(0x2e);
      if (m === null) {
        pkl.data = p.slice(0, p.length - 1 - int(r, 10));
        label = "truncated pickle";
      } else {
        // Before STOP: BINGET 0 (the dict), key, None, SETITEM, POP → the dict gets a duplicate key.
        const key = enc.encode(m[2]!);
        const dup = [0x68, 0, 0x58, key.length, 0, 0, 0, ...key, 0x4e, 0x73, 0x30];
        pkl.data = concat(p.subarray(0, idx), Uint8Array.from([...dup, 0x2e]));
        label = `duplicate state dict key ${m[2]}`;
        mustRefuse = true;
      }
      break;
    }
    case 3: {
      const i = 2 + int(r, p.length - 6);
      const out = p.slice();
      new DataView(out.buffer).setUint32(i, pick(r, EXTREME_U32), true);
      pkl.data = out;
      label = `pickle u32 at ${i}`;
      break;
    }
    default: {
      const storage = pick(r, list.filter((e) => e.name.includes("/data/")));
      storage.data = storage.data.slice(0, int(r, storage.data.length));
      label = `storage ${storage.name} truncated to ${storage.data.length}`;
    }
  }
  if (int(r, 8) === 0) {
    list.push({ name: pkl.name, data: pkl.data });
    label += " + duplicate entry";
    mustRefuse = true;
  }
  return [buildZip(list).body, label, mustRefuse];
}

/** Edits of a model folder: config.json fields, extra weight files, prefixed duplicates, NaN. */
function mutateFolder(r: Rand, base: Map<string, Uint8Array>): [Map<string, Uint8Array>, string, boolean] {
  const files = new Map(base);
  const weightName = [...files.keys()].find((f) => f !== "config.json")!;
  const cfg = JSON.parse(dec.decode(files.get("config.json")!)) as Record<string, unknown>;
  const fields = (cfg.model_config ?? cfg) as Record<string, unknown>;
  switch (int(r, 8)) {
    case 0: {
      const key = pick(r, Object.keys(fields));
      const v = pick(r, [...WEIRD_VALUES, 65536, 1_000_000, 4096, 1e12, -2, 0.5]);
      fields[key] = v;
      files.set("config.json", enc.encode(JSON.stringify(cfg)));
      return [files, `config ${key} = ${JSON.stringify(v)}`, false];
    }
    case 1: {
      const key = pick(r, ["constructor", "__proto__", "toString", "hasOwnProperty", "isPrototypeOf"]);
      const text = dec.decode(files.get("config.json")!).replace(cfg.model_config ? /"model_config":\s*{/ : /^{/, (m) => `${m}"${key}":5,`);
      files.set("config.json", enc.encode(text));
      return [files, `config key ${key}`, true];
    }
    case 2: {
      const key = pick(r, Object.keys(fields));
      const text = dec.decode(files.get("config.json")!).replace(new RegExp(`"${key}":`), `"${key}": 3, "${key}":`);
      files.set("config.json", enc.encode(text));
      return [files, `config key ${key} twice`, true];
    }
    case 3: {
      const other = pick(r, ["weights.safetensors", "model.safetensors", "model.safetensors.index.json"].filter((f) => f !== weightName && !(weightName.endsWith(".bin") && f.includes("index"))));
      files.set(other, files.get(weightName)!);
      if (weightName.endsWith(".bin")) return [files, `${other} beside ${weightName} (preferred)`, false];
      return [files, `second weight file ${other}`, true];
    }
    case 4: {
      if (!weightName.endsWith(".safetensors")) return mutateFolder(r, base);
      const { json, data } = headerOf(files.get(weightName)!);
      const names = Object.keys(json).filter((k) => k !== "__metadata__");
      const name = pick(r, names);
      const bare = name.startsWith("backend_model.") ? name.slice("backend_model.".length) : `model.${name}`;
      // Rename one tensor so that the state dict holds it both with and without a prefix.
      const other = pick(r, names.filter((n) => n !== name));
      const text = JSON.stringify(json).replace(`"${other}":`, `"${bare}":`);
      if (!text.includes(`"${bare}":`) || bare === other) return mutateFolder(r, base);
      files.set(weightName, withHeader(text, data));
      return [files, `${name} and ${bare} both present`, true];
    }
    case 5: {
      if (!weightName.endsWith(".safetensors")) return mutateFolder(r, base);
      const [bytes, label] = mutateSafetensors(r, files.get(weightName)!);
      files.set(weightName, bytes);
      return [files, `weights: ${label}`, /^(duplicate tensor name|non-finite value)/.test(label)];
    }
    case 6: {
      const text = dec.decode(files.get("config.json")!);
      const m = mutateBytes(r, enc.encode(text));
      files.set("config.json", m.bytes);
      return [files, `config.json bytes: ${m.label}`, false];
    }
    default: {
      if (weightName.endsWith(".bin")) {
        const [bytes, label, must] = mutateBin(r, files.get(weightName)!);
        files.set(weightName, bytes);
        return [files, `weights: ${label}`, must];
      }
      const m = mutateBytes(r, files.get(weightName)!);
      files.set(weightName, m.bytes);
      return [files, `weights bytes: ${m.label}`, false];
    }
  }
}

/** The `i`-th case of the stream for `seed` (independent of other cases). */
export function fuzzCase(seed: number, i: number): FuzzCase {
  const r = rng(seed * 1_000_003 + i);
  const b = fuzzBases();
  const kind = pick(r, ["safetensors", "bin", "folder"] as const);
  if (kind === "safetensors") {
    const base = pick(r, b.safetensors);
    const [bytes, label, mustRefuse] = int(r, 2) === 0 ? mutateSafetensors(r, base) : [...Object.values(mutateBytes(r, base)), false] as [Uint8Array, string, boolean];
    return { kind, label, mustRefuse, files: new Map([["file.safetensors", bytes]]) };
  }
  if (kind === "bin") {
    const [bytes, label, mustRefuse] = mutateBin(r, pick(r, b.bins));
    return { kind, label, mustRefuse, files: new Map([["pytorch_model.bin", bytes]]) };
  }
  const [files, label, mustRefuse] = mutateFolder(r, pick(r, b.folders));
  return { kind, label, mustRefuse, files };
}

/**
 * Opens a case fully; returns the bytes of the tensors it produced (held by `keep` until the
 * caller drops it) when accepted, throws what the code threw otherwise.
 */
export function runCase(c: FuzzCase, scratch: string, keep: unknown[] = []): number {
  let out = 0;
  const hold = (a: ArrayBufferView) => {
    keep.push(a);
    out += a.byteLength;
  };
  if (c.kind === "safetensors") {
    const reader = bytesReader(c.files.get("file.safetensors")!);
    const index = readSafetensorsIndex(reader);
    for (const e of index.entries.values()) hold(readSafetensorsTensor(reader, e).data);
    return out;
  }
  if (c.kind === "bin") {
    const ckpt = readTorchIndex(bytesReader(c.files.get("pytorch_model.bin")!), { inflateRaw: nodeInflateRaw });
    for (const t of ckpt.tensors.values()) hold(readTorchTensor(ckpt, t).data);
    return out;
  }
  const dir = fs.mkdtempSync(path.join(scratch, "case-"));
  try {
    for (const [f, bytes] of c.files) fs.writeFileSync(path.join(dir, f), bytes);
    const m = loadPretrained(dir, referenceBackend, { log: () => {}, memoryBudget: 1 << 30 }).model;
    for (const v of m.parameters.values()) hold(v.data);
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A refusal with one of the package's own error types (the message names what is wrong). */
export function isCleanError(e: unknown): boolean {
  return e instanceof SafetensorsError || e instanceof CheckpointError || e instanceof ConfigError;
}

export function caseBytes(c: FuzzCase): number {
  let n = 0;
  for (const b of c.files.values()) n += b.length;
  return n;
}
