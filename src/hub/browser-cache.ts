// BrowserHubCache: the HubCache of browsers, over the Cache API (one named cache, default
// "perceiver-ar-hub"), with huggingface_hub's layout as the keys of its entries:
//
//   <KEY_ROOT>models--<org>--<name>/refs/<revision>                     the commit hash
//   <KEY_ROOT>models--<org>--<name>/blobs/<etag>                        file bytes, named by ETag
//   <KEY_ROOT>models--<org>--<name>/blobs/<etag>.incomplete/<offset>    parts of an interrupted download
//   <KEY_ROOT>models--<org>--<name>/snapshots/<commit>/<file>           the ETag of the file's blob
//   <KEY_ROOT>models--<org>--<name>/.no_exist/<commit>/<file>           the hub said 404 for this file
//
// KEY_ROOT is a URL that is never fetched (the Cache API keys entries by http(s) URL). A location
// (`snapshotFile`, `linkSnapshot`) is the key of a snapshot entry; `read` follows it to the blob.
//
// Contract:
// - Resumable: a download's bytes are stored as parts of PART_BYTES while they arrive (and the rest
//   when it is suspended), so a broken connection, a closed tab or a reload keep all but the last
//   unflushed part; `openBlob` resumes after the contiguous parts found (any other parts are
//   dropped).
// - A blob is verified before it is stored (verifyBlob: size, then sha256 or the git blob sha1
//   through SubtleCrypto, which digests a whole buffer: the finished file is in memory once, as the
//   model that loads from it is anyway); a mismatch deletes the parts. So a blob entry is complete
//   and correct or absent.
// - Names (ETags, commits, file paths) that are not plain are refused (HubError), as on disk.

import { verifyBlob, type BlobWriter, type ExpectedFile, type HubCache } from "./hub-cache.js";
import { HubError } from "./model-ref.js";

export const DEFAULT_HUB_CACHE_NAME = "perceiver-ar-hub";
/** Root of every entry's key: a URL of the reserved .invalid domain, never fetched. */
export const KEY_ROOT = "https://hub-cache.perceiver-ar.invalid/";
/** A download's bytes are stored in parts of this size as they arrive: 8 MiB bounds what a broken download loses and what it holds in memory. */
export const PART_BYTES = 8 << 20;

/** Header of a part entry: its byte count (known without reading the body). */
const PART_SIZE_HEADER = "X-Part-Bytes";

function plainName(s: string, what: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(s) || s === "." || s === "..") throw new HubError(`${what} ${JSON.stringify(s)} is not a plain name`);
  return s;
}

function relativePath(file: string): string {
  const parts = file.split("/");
  if (file.length === 0 || file.includes("\\") || parts.some((p) => p === "" || p === "." || p === "..")) throw new HubError(`file name ${JSON.stringify(file)} is not a plain relative path`);
  return parts.map(encodeURIComponent).join("/");
}

async function digestHex(algorithm: "SHA-256" | "SHA-1", data: BufferSource): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest(algorithm, data));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class BrowserHubCache implements HubCache {
  readonly cacheName: string;
  private readonly storage: CacheStorage;
  private opened: Promise<Cache> | undefined;

  /** `storage` defaults to the page's or worker's `caches` (secure contexts only: https or localhost). */
  constructor(cacheName: string = DEFAULT_HUB_CACHE_NAME, storage?: CacheStorage) {
    const s = storage ?? (globalThis as { caches?: CacheStorage }).caches;
    if (s === undefined) throw new HubError("the Cache API (caches) is not available here: it needs a secure context (https, or http on localhost / 127.0.0.1)");
    this.cacheName = cacheName;
    this.storage = s;
  }

  private cache(): Promise<Cache> {
    this.opened ??= this.storage.open(this.cacheName);
    return this.opened;
  }

  private repoKey(repo: string): string {
    return `${KEY_ROOT}models--${repo.split("/").map((p) => plainName(p, "repo part")).join("--")}/`;
  }

  private async text(key: string): Promise<string | null> {
    const r = await (await this.cache()).match(key);
    return r === undefined ? null : (await r.text()).trim();
  }

  private async put(key: string, body: BodyInit, headers: Record<string, string> = {}): Promise<void> {
    await (await this.cache()).put(key, new Response(body, { headers }));
  }

  async readRef(repo: string, revision: string): Promise<string | null> {
    const c = await this.text(`${this.repoKey(repo)}refs/${relativePath(revision)}`);
    return c !== null && /^[0-9a-f]{40}$/.test(c) ? c : null;
  }

  async writeRef(repo: string, revision: string, commit: string): Promise<void> {
    await this.put(`${this.repoKey(repo)}refs/${relativePath(revision)}`, commit);
  }

  snapshotDir(repo: string, commit: string): string {
    return `${this.repoKey(repo)}snapshots/${plainName(commit, "commit")}/`;
  }

  async snapshotFile(repo: string, commit: string, file: string): Promise<string | null> {
    const key = this.snapshotDir(repo, commit) + relativePath(file);
    const etag = await this.text(key);
    return etag !== null && (await this.hasBlob(repo, etag)) ? key : null;
  }

  private missingKey(repo: string, commit: string, file: string): string {
    return `${this.repoKey(repo)}.no_exist/${plainName(commit, "commit")}/${relativePath(file)}`;
  }

  async isKnownMissing(repo: string, commit: string, file: string): Promise<boolean> {
    return (await (await this.cache()).match(this.missingKey(repo, commit, file))) !== undefined;
  }

  async markMissing(repo: string, commit: string, file: string): Promise<void> {
    await this.put(this.missingKey(repo, commit, file), "");
  }

  private blobKey(repo: string, etag: string): string {
    return `${this.repoKey(repo)}blobs/${plainName(etag, "ETag")}`;
  }

  async hasBlob(repo: string, etag: string): Promise<boolean> {
    return (await (await this.cache()).match(this.blobKey(repo, etag))) !== undefined;
  }

  async linkSnapshot(repo: string, commit: string, file: string, etag: string): Promise<string> {
    const key = this.snapshotDir(repo, commit) + relativePath(file);
    await this.put(key, plainName(etag, "ETag"));
    return key;
  }

  async read(location: string): Promise<Uint8Array> {
    const cache = await this.cache();
    const pointer = await cache.match(location);
    const etag = pointer === undefined ? null : (await pointer.text()).trim();
    const m = /^(.*\/)snapshots\/[0-9a-f]{40}\//.exec(location);
    const blob = etag !== null && m !== null ? await cache.match(`${m[1]}blobs/${plainName(etag, "ETag")}`) : undefined;
    if (blob === undefined) throw new HubError(`${location} is not in the browser's hub cache "${this.cacheName}" (was the cache cleared?)`);
    return new Uint8Array(await blob.arrayBuffer());
  }

  async openBlob(repo: string, etag: string, expected: ExpectedFile, label: string): Promise<BlobWriter> {
    const cache = await this.cache();
    const final = this.blobKey(repo, etag);
    const partPrefix = `${final}.incomplete/`;
    // The parts already stored, by offset; keep the contiguous run from 0 (within the expected size), drop the rest.
    const found: string[] = [];
    const byOffset = new Map<number, { key: string; bytes: number }>();
    for (const req of await cache.keys()) {
      if (!req.url.startsWith(partPrefix)) continue;
      found.push(req.url);
      const offset = Number(req.url.slice(partPrefix.length));
      const bytes = Number((await cache.match(req))?.headers.get(PART_SIZE_HEADER) ?? NaN);
      if (Number.isSafeInteger(offset) && Number.isSafeInteger(bytes) && bytes > 0) byOffset.set(offset, { key: req.url, bytes });
    }
    const parts: { key: string; bytes: number }[] = [];
    let flushed = 0;
    for (let p = byOffset.get(0); p !== undefined && (expected.size === null || flushed + p.bytes <= expected.size); p = byOffset.get(flushed)) {
      parts.push(p);
      flushed += p.bytes;
    }
    for (const key of found) if (!parts.some((p) => p.key === key)) await cache.delete(key);
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const key = `${partPrefix}${flushed}`;
      await cache.put(key, new Response(new Blob(pending as BlobPart[]), { headers: { [PART_SIZE_HEADER]: String(pendingBytes) } }));
      parts.push({ key, bytes: pendingBytes });
      flushed += pendingBytes;
      pending = [];
      pendingBytes = 0;
    };
    const dropParts = async () => {
      for (const p of parts) await cache.delete(p.key);
      parts.length = 0;
      flushed = 0;
      pending = [];
      pendingBytes = 0;
    };
    return {
      existing: flushed,
      restart: dropParts,
      append: async (chunk) => {
        pending.push(chunk.slice()); // the reader may reuse its buffer
        pendingBytes += chunk.length;
        if (pendingBytes >= PART_BYTES) await flush();
      },
      commit: async () => {
        const stored = await Promise.all(parts.map(async (p) => (await cache.match(p.key))!.blob()));
        const whole = new Blob([...stored, ...(pending as BlobPart[])]);
        const bytes = new Uint8Array(await whole.arrayBuffer());
        await verifyBlob(
          label,
          expected,
          {
            size: bytes.length,
            sha256: () => digestHex("SHA-256", bytes),
            gitSha1: () => digestHex("SHA-1", concatBytes(new TextEncoder().encode(`blob ${bytes.length}\0`), bytes)),
          },
          dropParts,
        );
        await cache.put(final, new Response(whole));
        await dropParts();
      },
      suspend: flush,
    };
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
