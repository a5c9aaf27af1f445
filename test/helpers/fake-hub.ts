// A local stand-in for the Hugging Face hub on 127.0.0.1, with the hub's URL layout and headers:
// `/<repo>/resolve/<revision>/<file>` answers HEAD and GET; small files with 200, ETag = git blob
// sha1, X-Repo-Commit; LFS files (the weights) with 302 to a CDN on another port (another origin),
// X-Linked-Etag = sha256, X-Linked-Size; missing files 404 with X-Error-Code: EntryNotFound. The
// CDN honours Range (206) and names its bytes by their sha256 (ETag). Both answer with CORS headers
// (any origin, the hub's metadata headers exposed, pre-flights answered) and
// Cross-Origin-Resource-Policy: cross-origin, as huggingface.co does, so that a cross-origin
// isolated page (COEP) can fetch from them. Faults for tests: cut the connection after N bytes of
// a file's first GET(s), or serve corrupt bytes. Every request is recorded (method, path, range,
// authorization).

import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRepo {
  commit: string;
  files: Map<string, Uint8Array>;
  /** Files served as LFS (redirect to the CDN); default: names ending in .safetensors / .bin. */
  lfs?: Set<string>;
}

export interface RecordedRequest {
  server: "hub" | "cdn";
  method: string;
  path: string;
  range?: string;
  authorization?: string;
}

export interface FakeHub {
  endpoint: string;
  requests: RecordedRequest[];
  /** Cut the next `times` GETs of `file` after `bytes` bytes. */
  dropAfter(file: string, bytes: number, times?: number): void;
  /** Serve these bytes for `file` instead of the real ones (the metadata stays the real file's). */
  corrupt(file: string, bytes: Uint8Array): void;
  close(): Promise<void>;
}

/** Between a cut download's last bytes and the broken connection. */
const DROP_DELAY_MS = 100;

/** What a page of another origin needs to read the hub's answers (and what huggingface.co sends). */
const CORS_HEADERS = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Expose-Headers": "ETag, X-Repo-Commit, X-Linked-Etag, X-Linked-Size, X-Error-Code, Content-Range, Accept-Ranges, Content-Length, Location",
  "Cross-Origin-Resource-Policy": "cross-origin",
};

/** Adds the CORS headers; answers a pre-flight (true: the request is done). */
function cors(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
  if (req.method !== "OPTIONS") return false;
  res.writeHead(204, { "Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Allow-Headers": "Authorization, Range, User-Agent, Accept-Encoding", "Access-Control-Max-Age": "600" }).end();
  return true;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const gitSha1 = (b: Uint8Array) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: RecordedRequest[] = [];
  const drops = new Map<string, { bytes: number; times: number }>();
  const corrupted = new Map<string, Uint8Array>();
  const bySha = new Map<string, { file: string; bytes: Uint8Array }>();
  for (const repo of Object.values(repos)) for (const [f, b] of repo.files) bySha.set(sha256(b), { file: f, bytes: b });
  const record = (server: "hub" | "cdn", req: http.IncomingMessage) => {
    const r: RecordedRequest = { server, method: req.method ?? "", path: req.url ?? "" };
    if (req.headers.range !== undefined) r.range = req.headers.range;
    if (req.headers.authorization !== undefined) r.authorization = req.headers.authorization;
    requests.push(r);
  };

  const send = (req: http.IncomingMessage, res: http.ServerResponse, file: string, full: Uint8Array, headers: Record<string, string>) => {
    const body = corrupted.get(file) ?? full;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (m !== null) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { "Content-Range": `bytes */${body.length}` }).end();
        return;
      }
      headers["Content-Range"] = `bytes ${start}-${body.length - 1}/${body.length}`;
    }
    const part = body.subarray(start);
    res.writeHead(m !== null ? 206 : 200, { ...headers, "Content-Length": String(part.length), "Accept-Ranges": "bytes" });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const drop = drops.get(file);
    if (drop !== undefined && drop.times > 0 && drop.bytes < part.length) {
      drop.times--;
      // The connection breaks a moment after the bytes went out (as on a real network, where a
      // browser hands received bytes to the page before it learns of the break).
      res.write(part.subarray(0, drop.bytes), () => setTimeout(() => res.socket?.destroy(), DROP_DELAY_MS));
      return;
    }
    res.end(part);
  };

  const cdn = http.createServer((req, res) => {
    record("cdn", req);
    if (cors(req, res)) return;
    const sha = /^\/repos\/([0-9a-f]{64})$/.exec(req.url ?? "")?.[1];
    const hit = sha !== undefined ? bySha.get(sha) : undefined;
    if (hit === undefined) {
      res.writeHead(404).end();
      return;
    }
    send(req, res, hit.file, hit.bytes, { "Content-Type": "application/octet-stream", ETag: `"${sha}"` });
  });
  await new Promise<void>((r) => cdn.listen(0, "127.0.0.1", r));
  const cdnOrigin = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  const hub = http.createServer((req, res) => {
    record("hub", req);
    if (cors(req, res)) return;
    const url = decodeURIComponent((req.url ?? "").split("?")[0]!);
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const repo = m !== null ? repos[m[1]!] : undefined;
    if (m === null || repo === undefined) {
      res.writeHead(401, { "X-Error-Code": "RepoNotFound" }).end();
      return;
    }
    const [, , rev, file] = m as unknown as [string, string, string, string];
    if (rev !== "main" && rev !== repo.commit) {
      res.writeHead(404, { "X-Error-Code": "RevisionNotFound" }).end();
      return;
    }
    const bytes = repo.files.get(file);
    if (bytes === undefined) {
      res.writeHead(404, { "X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.commit }).end();
      return;
    }
    const lfs = repo.lfs?.has(file) ?? /\.(safetensors|bin)$/.test(file);
    if (lfs) {
      const sha = sha256(bytes);
      res.writeHead(302, {
        Location: `${cdnOrigin}/repos/${sha}`,
        "X-Repo-Commit": repo.commit,
        "X-Linked-Etag": `"${sha}"`,
        "X-Linked-Size": String(bytes.length),
        ETag: `"${sha}"`,
        "Content-Length": "0",
      }).end();
      return;
    }
    send(req, res, file, bytes, { ETag: `"${gitSha1(bytes)}"`, "X-Repo-Commit": repo.commit, "Content-Type": "application/json" });
  });
  await new Promise<void>((r) => hub.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;

  return {
    endpoint,
    requests,
    dropAfter: (file, bytes, times = 1) => drops.set(file, { bytes, times }),
    corrupt: (file, bytes) => corrupted.set(file, bytes),
    close: async () => {
      hub.closeAllConnections();
      cdn.closeAllConnections();
      await Promise.all([new Promise((r) => hub.close(r)), new Promise((r) => cdn.close(r))]);
    },
  };
}
