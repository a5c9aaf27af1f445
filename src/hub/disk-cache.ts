// DiskHubCache: the HubCache of Node, in huggingface_hub's layout (so Python and this package
// share downloads):
//
//   <cache>/models--<org>--<name>/refs/<revision>             the commit hash, one line
//   <cache>/models--<org>--<name>/blobs/<etag>                 file bytes, named by ETag
//   <cache>/models--<org>--<name>/blobs/<etag>.incomplete      an interrupted download (resumed)
//   <cache>/models--<org>--<name>/snapshots/<commit>/<file>    relative symlink to ../../blobs/<etag>
//                                                              (a copy where symlinks are refused)
//   <cache>/models--<org>--<name>/.no_exist/<commit>/<file>    the hub said 404 for this file
//
// <cache> is the `cacheDir` option, else $HF_HUB_CACHE, else $HF_HOME/hub, else
// ~/.cache/huggingface/hub. Blobs are verified (size, sha256 or git sha1) before they are renamed
// into place, so a blob is complete and correct or absent.

import { createHash, type Hash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { verifyBlob, type BlobWriter, type ExpectedFile, type HubCache } from "./hub-cache.js";
import { HubError } from "./model-ref.js";

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return path.join(env.HF_HOME, "hub");
  return path.join(os.homedir(), ".cache", "huggingface", "hub");
}

/** Bytes hashed per read when resuming (re-hashing the partial file). */
const HASH_CHUNK = 1 << 22;

function safeRelative(file: string): string {
  const parts = file.split("/");
  if (file.length === 0 || parts.some((p) => p === "" || p === "." || p === "..") || path.isAbsolute(file) || file.includes("\\")) {
    throw new HubError(`file name ${JSON.stringify(file)} is not a plain relative path`);
  }
  return path.join(...parts);
}

function safeName(s: string, what: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(s) || s === "." || s === "..") throw new HubError(`${what} ${JSON.stringify(s)} is not a plain name`);
  return s;
}

export class DiskHubCache implements HubCache {
  readonly root: string;

  constructor(root: string = defaultCacheDir()) {
    this.root = root;
  }

  repoDir(repo: string): string {
    return path.join(this.root, `models--${repo.split("/").map((p) => safeName(p, "repo part")).join("--")}`);
  }

  async readRef(repo: string, revision: string): Promise<string | null> {
    try {
      const c = fs.readFileSync(path.join(this.repoDir(repo), "refs", safeRelative(revision)), "utf8").trim();
      return /^[0-9a-f]{40}$/.test(c) ? c : null;
    } catch {
      return null;
    }
  }

  async writeRef(repo: string, revision: string, commit: string): Promise<void> {
    const f = path.join(this.repoDir(repo), "refs", safeRelative(revision));
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, commit);
  }

  snapshotDir(repo: string, commit: string): string {
    return path.join(this.repoDir(repo), "snapshots", safeName(commit, "commit"));
  }

  async snapshotFile(repo: string, commit: string, file: string): Promise<string | null> {
    const p = path.join(this.snapshotDir(repo, commit), safeRelative(file));
    return fs.existsSync(p) ? p : null; // existsSync follows the link: a dangling one counts as absent
  }

  async isKnownMissing(repo: string, commit: string, file: string): Promise<boolean> {
    return fs.existsSync(path.join(this.repoDir(repo), ".no_exist", safeName(commit, "commit"), safeRelative(file)));
  }

  async markMissing(repo: string, commit: string, file: string): Promise<void> {
    const p = path.join(this.repoDir(repo), ".no_exist", safeName(commit, "commit"), safeRelative(file));
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, "");
  }

  private blobPath(repo: string, etag: string): string {
    return path.join(this.repoDir(repo), "blobs", safeName(etag, "ETag"));
  }

  async hasBlob(repo: string, etag: string): Promise<boolean> {
    return fs.existsSync(this.blobPath(repo, etag));
  }

  async openBlob(repo: string, etag: string, expected: ExpectedFile, label: string): Promise<BlobWriter> {
    const final = this.blobPath(repo, etag);
    const partial = `${final}.incomplete`;
    fs.mkdirSync(path.dirname(final), { recursive: true });
    let fd = fs.openSync(partial, "a+");
    let sha256: Hash = createHash("sha256");
    let written = 0;
    // Resume: hash the bytes already there.
    const existing = fs.fstatSync(fd).size;
    if (expected.size !== null && existing > expected.size) {
      fs.ftruncateSync(fd, 0);
    } else {
      const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(1, existing)));
      for (let at = 0; at < existing; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, existing - at), at);
        if (n === 0) break;
        sha256.update(buf.subarray(0, n));
        at += n;
      }
      written = existing;
    }
    const gitHeader = () => `blob ${written}\0`;
    const closeFd = () => {
      if (fd >= 0) fs.closeSync(fd);
      fd = -1;
    };
    return {
      existing: written,
      restart: async () => {
        fs.ftruncateSync(fd, 0);
        sha256 = createHash("sha256");
        written = 0;
      },
      append: async (chunk) => {
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        sha256.update(chunk);
        written += chunk.length;
      },
      commit: async () => {
        fs.fsyncSync(fd);
        closeFd();
        await verifyBlob(
          label,
          expected,
          {
            size: written,
            sha256: async () => sha256.digest("hex"),
            // The git blob id hashes "blob <size>\0" + bytes: hash the finished file once more.
            gitSha1: async () => createHash("sha1").update(gitHeader()).update(fs.readFileSync(partial)).digest("hex"),
          },
          async () => fs.rmSync(partial, { force: true }),
        );
        fs.renameSync(partial, final);
      },
      suspend: async () => closeFd(),
    };
  }

  async read(location: string): Promise<Uint8Array> {
    return new Uint8Array(fs.readFileSync(location));
  }

  async linkSnapshot(repo: string, commit: string, file: string, etag: string): Promise<string> {
    const dst = path.join(this.snapshotDir(repo, commit), safeRelative(file));
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    const blob = this.blobPath(repo, etag);
    fs.rmSync(dst, { force: true });
    try {
      fs.symlinkSync(path.relative(path.dirname(dst), blob), dst);
    } catch {
      fs.copyFileSync(blob, dst); // platforms that refuse symlinks (Windows without the privilege)
    }
    return dst;
  }
}
