// pytorch_model.bin without Python: our reader against what torch.load returns for the fixtures
// of test/fixtures-src/make_torch_fixtures.py (zip, legacy stream, deflated zip: every storage
// dtype, a Parameter, non-contiguous and offset views, shared storages), and the refusals of the
// restricted pickle machine and the zip reader on hand-built hostile files; zip64 with data placed
// beyond 4 GiB in a sparse file; big-endian storages.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { bytesReader } from "../src/io/byte-reader.js";
import { CheckpointError } from "../src/io/errors.js";
import { openFileReader } from "../src/io/file-reader.js";
import { nodeInflateRaw } from "../src/io/node-inflate.js";
import { readTorchIndex, readTorchTensor, type TorchCheckpoint } from "../src/io/torch-bin.js";
import { REPO_ROOT } from "./helpers/golden.js";
import { buildZip, PickleBuilder, torchZip } from "./helpers/zip-writer.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures/torch");
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, "expected.json"), "utf8")) as {
  files: Record<string, Record<string, { dtype: string; shape: number[]; values: (number | string)[] }>>;
};
const TORCH_DTYPES: Record<string, string> = { float32: "F32", float16: "F16", bfloat16: "BF16", float64: "F64", int64: "I64", int32: "I32", uint8: "U8", bool: "BOOL" };

function open(bytes: Uint8Array): TorchCheckpoint {
  return readTorchIndex(bytesReader(bytes, "test.bin"), { inflateRaw: nodeInflateRaw });
}

function zipBytes(z: { gap: number; body: Uint8Array }): Uint8Array {
  assert.equal(z.gap, 0);
  return z.body;
}

function f32(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** A state dict {w: tensor over storage "0"} as a torch zip. */
function oneTensor(shape: number[], stride: number[], offset = 0, storage = f32([1, 2, 3, 4, 5, 6]), numel = storage.length / 4): Uint8Array {
  const p = new PickleBuilder().op(0x7d).mark().str("w").tensor("FloatStorage", "0", numel, offset, shape, stride).op(0x75).stop();
  return zipBytes(torchZip(p, { "0": storage }));
}

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(() => open(bytes), (e: unknown) => e instanceof CheckpointError && pattern.test(e.message), `expected ${pattern}`);
}

for (const file of ["dtypes.bin", "legacy.bin", "deflated.bin"]) {
  test(`fixture ${file}: every tensor equals what torch.load returns`, () => {
    const r = openFileReader(path.join(FIXTURES, file));
    try {
      const ckpt = readTorchIndex(r, { inflateRaw: nodeInflateRaw });
      assert.equal(ckpt.format, file === "legacy.bin" ? "legacy" : "zip");
      const want = expected.files[file]!;
      assert.deepEqual([...ckpt.tensors.keys()], Object.keys(want));
      for (const [name, e] of Object.entries(want)) {
        const entry = ckpt.tensors.get(name)!;
        assert.equal(entry.dtype, TORCH_DTYPES[e.dtype], name);
        const t = readTorchTensor(ckpt, entry);
        assert.deepEqual(t.shape, e.shape, name);
        const got = Array.from(t.data as ArrayLike<number | bigint>, (x) => (typeof x === "bigint" ? String(x) : x));
        if (!e.dtype.startsWith("float") && e.dtype !== "bfloat16") assert.deepEqual(got, e.values, name);
        else assert.deepEqual(got, e.values.map((v) => Math.fround(v as number)), name);
      }
      // Shared storage: the views and their base read the same numbers.
      const base = readTorchTensor(ckpt, ckpt.tensors.get("shared_a")!).data as Float32Array;
      const tr = readTorchTensor(ckpt, ckpt.tensors.get("transposed")!).data as Float32Array;
      assert.equal(tr[1 * 4 + 2], base[2 * 6 + 1]);
    } finally {
      r.close();
    }
  });
}

test("hand-built archive: contiguous, transposed and offset views read right", () => {
  const read = (bytes: Uint8Array) => Array.from(readTorchTensor(open(bytes), open(bytes).tensors.get("w")!).data as Float32Array);
  assert.deepEqual(read(oneTensor([2, 3], [3, 1])), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(read(oneTensor([3, 2], [1, 3])), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(read(oneTensor([2], [1], 4)), [5, 6]);
  assert.deepEqual(read(oneTensor([], [], 2)), [3]);
});

test("refuses every global outside the allowlist, and code-running opcodes", () => {
  const evil = (module: string, name: string) =>
    zipBytes(torchZip(new PickleBuilder().global(module, name).mark().str("echo pwned").tuple().op(0x52).stop(), {}));
  refuses(evil("os", "system"), /refusing global os\.system/);
  refuses(evil("builtins", "eval"), /refusing global builtins\.eval/);
  refuses(evil("posix", "system"), /refusing global posix\.system/);
  refuses(evil("torch", "load"), /refusing global torch\.load/);
  refuses(evil("subprocess", "Popen"), /refusing global subprocess\.Popen/);
  // STACK_GLOBAL takes the same allowlist.
  refuses(zipBytes(torchZip(new PickleBuilder().str("os").str("system").op(0x93).stop(), {})), /refusing global os\.system/);
  for (const [code, name] of [[0x81, "NEWOBJ"], [0x69, "INST"], [0x6f, "OBJ"], [0x92, "NEWOBJ_EX"], [0x82, "EXT1"], [0x8f, "EMPTY_SET"], [0x97, "NEXT_BUFFER"], [0x49, "INT"]] as const) {
    refuses(zipBytes(torchZip(new PickleBuilder().op(0x7d).op(code).stop(), {})), new RegExp(`refusing opcode ${name}`));
  }
  // An allowed storage type is not callable.
  refuses(zipBytes(torchZip(new PickleBuilder().global("torch", "FloatStorage").op(0x29).op(0x52).stop(), {})), /refusing to call torch\.FloatStorage/);
});

test("refuses views outside their storage, expanded views, and storages of the wrong size", () => {
  refuses(oneTensor([2, 3], [3, 1], 1), /reach element 6 of a 6-element storage/);
  refuses(oneTensor([7], [1]), /reach element 6/);
  refuses(oneTensor([1000000, 6], [0, 1]), /expanded view/);
  refuses(oneTensor([2, 3], [3, 1], 0, f32([1, 2, 3, 4, 5, 6]), 7), /7 FloatStorage|7 F32 elements need 28 bytes, the file holds 24/);
  // Many full views of one storage: more than twice the file in all.
  const p = new PickleBuilder().op(0x7d).mark();
  for (let i = 0; i < 400; i++) p.str(`w${i}`).tensor("FloatStorage", "0", 256, 0, [256], [1]);
  refuses(zipBytes(torchZip(p.op(0x75).stop(), { "0": new Uint8Array(1024) })), /views hold more than 2x the file/);
});

test("refuses malformed structure: missing storage, duplicate keys, non-dict, truncation, huge lengths", () => {
  const missing = new PickleBuilder().op(0x7d).mark().str("w").tensor("FloatStorage", "9", 1, 0, [1], [1]).op(0x75).stop();
  refuses(zipBytes(torchZip(missing, {})), /storage "9" named by the pickle is missing/);
  const dup = new PickleBuilder().op(0x7d).mark().str("w").tensor("FloatStorage", "0", 1, 0, [1], [1]).str("w").tensor("FloatStorage", "0", 1, 0, [1], [1]).op(0x75).stop();
  refuses(zipBytes(torchZip(dup, { "0": f32([1]) })), /duplicate dict key "w"/);
  refuses(zipBytes(torchZip(new PickleBuilder().op(0x5d).stop(), {})), /not a state dict/);
  const good = new PickleBuilder().op(0x7d).mark().str("w").tensor("FloatStorage", "0", 1, 0, [1], [1]).op(0x75).stop();
  refuses(zipBytes(torchZip(good.subarray(0, good.length - 5), { "0": f32([1]) })), /truncated/);
  refuses(zipBytes(torchZip(Uint8Array.from([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x2e]), {})), /truncated: needs 2147483647 more bytes/);
  refuses(zipBytes(torchZip(Uint8Array.from([0x80, 2, 0x8b, 0, 0, 0, 1, 0x2e]), {})), /integer of 16777216 bytes is too large/);
  refuses(zipBytes(torchZip(Uint8Array.from([0x80, 2, 0x68, 7, 0x2e]), {})), /memo key 7 is not defined/);
  refuses(zipBytes(torchZip(Uint8Array.from([0x80, 2, 0x30, 0x2e]), {})), /stack underflow/);
  refuses(zipBytes(buildZip([{ name: "a/data.pkl", data: good }, { name: "a/data.pkl", data: good }])), /appears twice/);
  refuses(zipBytes(buildZip([{ name: "x.txt", data: good }])), /no <name>\/data\.pkl/);
  refuses(new Uint8Array(600).fill(0x41), /not a torch\.save file/);
  const tar = new Uint8Array(1024);
  tar.set(new TextEncoder().encode("ustar"), 257);
  tar[0] = 0x80;
  refuses(tar, /tar-based torch\.save format of PyTorch < 0\.4, which is not supported: load it with torch and save it again/);
});

test("zip reader: CRC mismatch, bombs and bad inflation are refused", () => {
  const good = new PickleBuilder().op(0x7d).stop();
  const z = zipBytes(torchZip(good, {}));
  const flipped = z.slice();
  flipped[30 + "archive/data.pkl".length + 2] ^= 0xff; // a byte of the stored pickle
  refuses(flipped, /CRC-32 mismatch/);
  // A deflated entry that claims to inflate to far more than the archive allows.
  const big = new Uint8Array(1 << 20);
  const bomb = buildZip([{ name: "archive/data.pkl", data: big, deflate: true }]).body;
  refuses(bomb, /inflates to 1048576 bytes, more than this archive's size allows/);
});

test("zip64: a storage placed beyond 4 GiB in a sparse file reads right", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zip64-"));
  try {
    const p = new PickleBuilder().op(0x7d).mark().str("w").tensor("FloatStorage", "0", 3, 0, [3], [1]).op(0x75).stop();
    const gap = 2 ** 32 + 4096;
    const z = torchZip(p, { "0": f32([1.5, -2, 3.25]) }, { zip64: true, gap });
    const file = path.join(dir, "big.bin");
    const fd = fs.openSync(file, "w");
    fs.writeSync(fd, new Uint8Array([0x50, 0x4b, 0x03, 0x04]), 0, 4, 0); // the file starts like a zip
    fs.writeSync(fd, z.body, 0, z.body.length, gap);
    fs.closeSync(fd);
    if (fs.statSync(file).blocks * 512 > 1 << 24) t.diagnostic("the file system does not keep sparse files sparse");
    const r = openFileReader(file);
    try {
      const ckpt = readTorchIndex(r);
      assert.deepEqual(Array.from(readTorchTensor(ckpt, ckpt.tensors.get("w")!).data as Float32Array), [1.5, -2, 3.25]);
    } finally {
      r.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("byteorder 'big': storages are swapped on read", () => {
  const be = new Uint8Array(8);
  new DataView(be.buffer).setFloat32(0, 1.25, false);
  new DataView(be.buffer).setFloat32(4, -7, false);
  const p = new PickleBuilder().op(0x7d).mark().str("w").tensor("FloatStorage", "0", 2, 0, [2], [1]).op(0x75).stop();
  const ckpt = open(zipBytes(torchZip(p, { "0": be }, { byteorder: "big" })));
  assert.deepEqual(Array.from(readTorchTensor(ckpt, ckpt.tensors.get("w")!).data as Float32Array), [1.25, -7]);
  refuses(zipBytes(torchZip(p, { "0": be }, { byteorder: "middle" })), /byteorder record says "middle"/);
});
