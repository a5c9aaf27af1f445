// Downloading one file of a hub repo into a HubCache, as huggingface_hub does (platform-neutral:
// the global `fetch` or an injected one).
//
// Contract of `downloadHubFile`:
// - URL layout `<endpoint>/<repo>/resolve/<revision>/<file>`; endpoint from the option, else
//   $HF_ENDPOINT, else https://huggingface.co; token from the option, else $HF_TOKEN, sent as
//   `Authorization: Bearer` only to the endpoint's origin (never to the CDN a file redirects to).
// - A HEAD request (redirects not followed) gives the commit (X-Repo-Commit), the ETag
//   (X-Linked-Etag for LFS files, whose value is their sha256; else ETag, the git blob sha1) and
//   the size (X-Linked-Size, else Content-Length); a 3xx Location is where the bytes are.
//   Same-origin redirects without metadata (a renamed repo) are followed, up to 5.
// - A cached blob is used without downloading. Otherwise the bytes are streamed into the cache,
//   resuming an interrupted download with `Range: bytes=<have>-` (within the call: `retries`
//   attempts; across calls: the partial blob is kept); size and hash are checked before the blob
//   is stored. Progress is reported per chunk.
// - 404 of an optional file returns null (and is remembered for that commit); a 404 of a required
//   file, 401/403, other statuses and network failures are HubErrors that say what to do.
// - Offline ($HF_HUB_OFFLINE=1 or `offline`), or when the hub cannot be reached, the cached
//   snapshot of the revision is used if it has the file.
// - In a browser a redirect cannot be read (`redirect: "manual"` gives an opaque response), so
//   HEAD follows it and the metadata are the final response's (X-Linked-Etag / X-Linked-Size where
//   given, else its ETag and Content-Length; an ETag of 64 hex digits on a redirected response is
//   the LFS file's sha256, as the hub's X-Linked-Etag is; the commit is the pinned revision of
//   model-download.ts). The hub must allow the page's origin (CORS) and expose those headers.
//   The size of a small (non-LFS) file is not checked there: the browser may have decompressed
//   it (its git blob sha1 still is). No User-Agent or Accept-Encoding header is set there
//   (browsers refuse or pre-flight them).

import type { ExpectedFile, HubCache } from "./hub-cache.js";
import { HubError } from "./model-ref.js";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface DownloadProgress {
  file: string;
  /** Bytes of this file received so far (including a resumed part). */
  loaded: number;
  /** Total bytes of the file, when known. */
  total: number | null;
  /** True once the file is complete (or was already cached). */
  done: boolean;
}

export interface HubOptions {
  endpoint?: string;
  token?: string;
  revision?: string;
  cache?: HubCache;
  /** Use only the cache. */
  offline?: boolean;
  /** Attempts of a GET within one call after a connection breaks (default 3). */
  retries?: number;
  /** Milliseconds without any bytes before a request is abandoned (default 60,000). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  onProgress?: (p: DownloadProgress) => void;
  /** Environment to read HF_ENDPOINT / HF_TOKEN / HF_HUB_OFFLINE from (default process.env where it exists). */
  env?: Record<string, string | undefined>;
}

interface FileMetadata {
  commit: string | null;
  etag: string;
  expected: ExpectedFile;
  url: string;
}

const MAX_REDIRECTS = 5;
const COMMIT_RE = /^[0-9a-f]{40}$/;
/** A page or a worker of one (where fetch follows redirects opaquely and decompresses by itself). */
const IN_BROWSER = typeof (globalThis as { document?: unknown }).document !== "undefined" || typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined";

/** Headers of every request: raw bytes and our name (Node only; see the file header). */
function baseHeaders(): Record<string, string> {
  return IN_BROWSER ? {} : { "Accept-Encoding": "identity", "User-Agent": "perceiver-ar" };
}

function environment(o: HubOptions): Record<string, string | undefined> {
  return o.env ?? (typeof process !== "undefined" ? process.env : {});
}

export function hubEndpoint(o: HubOptions): string {
  return (o.endpoint ?? environment(o).HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, "");
}

export function isOffline(o: HubOptions): boolean {
  const v = environment(o).HF_HUB_OFFLINE;
  return o.offline === true || (v !== undefined && ["1", "true", "yes", "on"].includes(v.toLowerCase()));
}

export function fileUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split("/").map(encodeURIComponent).join("/")}`;
}

function cleanEtag(v: string | null): string | null {
  if (v === null) return null;
  const s = v.replace(/^W\//, "").replace(/^"|"$/g, "");
  return s.length > 0 ? s : null;
}

/** Aborts when `ms` pass without `touch()`. */
function idleTimer(ms: number): { signal: AbortSignal; touch: () => void; stop: () => void } {
  const ctl = new AbortController();
  let t: ReturnType<typeof setTimeout> | undefined;
  const touch = () => {
    if (t !== undefined) clearTimeout(t);
    t = setTimeout(() => ctl.abort(new HubError(`no data for ${ms / 1000} s`)), ms);
  };
  touch();
  return { signal: ctl.signal, touch, stop: () => t !== undefined && clearTimeout(t) };
}

async function headMetadata(repo: string, revision: string, file: string, o: HubOptions): Promise<FileMetadata | "missing"> {
  const endpoint = hubEndpoint(o);
  const origin = new URL(endpoint).origin;
  const token = o.token ?? environment(o).HF_TOKEN;
  const doFetch = o.fetch ?? fetch;
  let url = fileUrl(endpoint, repo, revision, file);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = baseHeaders();
    if (token && new URL(url).origin === origin) headers.Authorization = `Bearer ${token}`;
    const timer = idleTimer(o.timeoutMs ?? 60_000);
    let res: Response;
    try {
      res = await doFetch(url, { method: "HEAD", headers, redirect: IN_BROWSER ? "follow" : "manual", signal: timer.signal });
    } finally {
      timer.stop();
    }
    const h = res.headers;
    /** A browser followed a redirect: these are the final response's headers, `res.url` its address. */
    const followed = res.redirected;
    if (res.status === 404) return "missing";
    if (res.status === 401 || res.status === 403) {
      throw new HubError(`${repo}/${file}: the hub answered ${res.status}: the repo does not exist, or it is private or gated (set HF_TOKEN to a token that may read it)`);
    }
    const location = followed ? null : h.get("location");
    const linked = cleanEtag(h.get("x-linked-etag"));
    const etag = linked ?? cleanEtag(h.get("etag"));
    if (res.status >= 300 && res.status < 400 && location !== null && etag === null) {
      const next = new URL(location, url);
      if (next.origin !== origin) throw new HubError(`${repo}/${file}: redirected to another host (${next.origin}) without file metadata`);
      url = next.toString();
      continue;
    }
    if (!(res.status === 200 || (res.status >= 300 && res.status < 400))) throw new HubError(`${repo}/${file}: the hub answered HTTP ${res.status} to HEAD ${url}`);
    if (etag === null) throw new HubError(`${repo}/${file}: the hub sent no ETag; cannot cache or verify the file`);
    const sizeHeader = h.get("x-linked-size") ?? (linked === null && (followed || !IN_BROWSER) ? h.get("content-length") : null);
    const size = sizeHeader !== null && /^\d+$/.test(sizeHeader) ? Number(sizeHeader) : null;
    const commit = h.get("x-repo-commit");
    const sha256 = linked ?? (followed ? etag : null);
    return {
      commit: commit !== null && COMMIT_RE.test(commit) ? commit : null,
      etag,
      expected: {
        size,
        sha256: sha256 !== null && /^[0-9a-f]{64}$/.test(sha256) ? sha256 : null,
        gitSha1: linked === null && !followed && /^[0-9a-f]{40}$/.test(etag) ? etag : null,
      },
      url: followed ? res.url : location !== null && res.status >= 300 ? new URL(location, url).toString() : url,
    };
  }
  throw new HubError(`${repo}/${file}: more than ${MAX_REDIRECTS} redirects`);
}

/** Downloads `file` of `repo` at `revision` into the cache; returns its local location, or null for a missing optional file. */
export async function downloadHubFile(cache: HubCache, repo: string, revision: string, file: string, o: HubOptions & { optional?: boolean } = {}): Promise<string | null> {
  const label = `${repo}/${file}`;
  const fromCache = async (why: string): Promise<string | null> => {
    const commit = COMMIT_RE.test(revision) ? revision : await cache.readRef(repo, revision);
    if (commit !== null) {
      const p = await cache.snapshotFile(repo, commit, file);
      if (p !== null) {
        o.onProgress?.({ file, loaded: 0, total: null, done: true });
        return p;
      }
      if (o.optional && (await cache.isKnownMissing(repo, commit, file))) return null;
    }
    throw new HubError(`${label}: ${why}, and the cache holds no copy for revision ${revision}`);
  };
  if (isOffline(o)) return fromCache("offline (HF_HUB_OFFLINE)");
  let meta: FileMetadata | "missing";
  try {
    meta = await headMetadata(repo, revision, file, o);
  } catch (e) {
    if (e instanceof HubError) throw e;
    return fromCache(`cannot reach ${hubEndpoint(o)} (${(e as Error).message})`);
  }
  if (meta === "missing") {
    if (!o.optional) throw new HubError(`${label}: not found on ${hubEndpoint(o)} (revision ${revision})`);
    const commit = COMMIT_RE.test(revision) ? revision : await cache.readRef(repo, revision);
    if (commit !== null) await cache.markMissing(repo, commit, file);
    return null;
  }
  const commit = meta.commit ?? (COMMIT_RE.test(revision) ? revision : null);
  if (commit === null) throw new HubError(`${label}: the hub sent no X-Repo-Commit; cannot place the file in the cache`);
  if (commit !== revision) await cache.writeRef(repo, revision, commit);
  const cached = await cache.snapshotFile(repo, commit, file);
  if (cached !== null && (await cache.hasBlob(repo, meta.etag))) {
    o.onProgress?.({ file, loaded: meta.expected.size ?? 0, total: meta.expected.size, done: true });
    return cached;
  }
  if (!(await cache.hasBlob(repo, meta.etag))) await fetchBlob(cache, repo, file, meta, o, label);
  const p = await cache.linkSnapshot(repo, commit, file, meta.etag);
  o.onProgress?.({ file, loaded: meta.expected.size ?? 0, total: meta.expected.size, done: true });
  return p;
}

async function fetchBlob(cache: HubCache, repo: string, file: string, meta: FileMetadata, o: HubOptions, label: string): Promise<void> {
  const writer = await cache.openBlob(repo, meta.etag, meta.expected, label);
  const doFetch = o.fetch ?? fetch;
  const origin = new URL(hubEndpoint(o)).origin;
  const token = o.token ?? environment(o).HF_TOKEN;
  const total = meta.expected.size;
  let have = writer.existing;
  const attempts = 1 + (o.retries ?? 3);
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (total !== null && have === total) break;
    const headers = baseHeaders();
    if (token && new URL(meta.url).origin === origin) headers.Authorization = `Bearer ${token}`;
    if (have > 0) headers.Range = `bytes=${have}-`;
    const timer = idleTimer(o.timeoutMs ?? 60_000);
    try {
      const res = await doFetch(meta.url, { headers, redirect: "follow", signal: timer.signal });
      if (res.status === 416 && total !== null && have === total) break;
      if (res.status === 200 && have > 0) {
        await writer.restart(); // the server ignored the Range
        have = 0;
      } else if (!(res.status === 200 || (res.status === 206 && have > 0))) {
        throw new HubError(`${label}: HTTP ${res.status} downloading ${meta.url}`);
      }
      if (res.body === null) throw new HubError(`${label}: empty response body`);
      const reader = res.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        timer.touch();
        await writer.append(value);
        have += value.length;
        if (total !== null && have > total) throw new HubError(`${label}: the server sent more than the ${total} bytes the hub announced`);
        o.onProgress?.({ file, loaded: have, total, done: false });
      }
      lastError = undefined;
      if (total === null || have === total) break;
    } catch (e) {
      if (e instanceof HubError && !/no data for/.test(e.message)) {
        await writer.suspend();
        throw e;
      }
      lastError = e;
    } finally {
      timer.stop();
    }
  }
  if (lastError !== undefined || (total !== null && have !== total)) {
    await writer.suspend();
    const why = lastError instanceof Error ? lastError.message : `${have} of ${total} bytes`;
    throw new HubError(`${label}: download interrupted (${why}); ${have} bytes are kept and the next attempt resumes from there`);
  }
  await writer.commit();
}
