// A minimal static file server for test and benchmark pages: 127.0.0.1 on a free port, files from a
// whitelist of folders under a root, and the COOP/COEP headers that make the page cross-origin
// isolated (SharedArrayBuffer, hence threaded WebAssembly). Pages given as strings are served at
// their paths; isolation can be turned off (a page without SharedArrayBuffer). For tests and
// benchmarks (the package's own `perceiver-ar web` server is the page's).

import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/** Headers that make a page cross-origin isolated (crossOriginIsolated === true). */
export const ISOLATION_HEADERS = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" } as const;

export interface IsolatedServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `root`'s files under the `allowed` folders (relative, "/"-separated) and the `pages`
 * (path -> HTML), with isolation headers unless `isolated` is false.
 */
export async function startIsolatedServer(root: string, allowed: readonly string[], pages: Readonly<Record<string, string>>, isolated = true): Promise<IsolatedServer> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    const headers: Record<string, string> = isolated ? { ...ISOLATION_HEADERS } : {};
    if (path in pages) {
      res.writeHead(200, { ...headers, "Content-Type": TYPES[".html"] });
      res.end(pages[path]);
      return;
    }
    const rel = normalize(path).replace(/^[/\\]+/, "");
    const file = join(root, rel);
    const ok = allowed.some((a) => rel === a || rel.startsWith(a.split("/").join(sep) + sep)) && !rel.split(sep).includes("..");
    if (!ok || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, headers);
      res.end("not found");
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) };
}
