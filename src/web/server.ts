// The page's web server (Node): static files on 127.0.0.1 with the headers that make the page
// cross-origin isolated (COOP same-origin + COEP require-corp: SharedArrayBuffer, hence a
// multi-threaded WebAssembly backend, needs them). It serves the built page (dist/web) and the
// package's browser bundle (dist/browser: perceiver-ar.js and whatever the backends load beside
// it) at "/", plus optional extra folders under their own prefixes (the tests mount the golden
// cases). Only GET and HEAD; paths cannot leave their folder; nothing is cached.

import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
  ".mid": "audio/midi",
};

const ISOLATION_HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};

/** The package's root (this file is dist/src/web/server.js). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export interface WebServerOptions {
  /** Port on 127.0.0.1; 0 picks a free one. Default 8080. */
  port?: number;
  /** Folders served at "/", searched in order. Default: dist/web, then dist/browser. */
  roots?: string[];
  /** Extra folders by URL prefix, e.g. {"/golden/": "../shared/golden"}. */
  mounts?: Record<string, string>;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/** Throws when the page has not been built (npm run build). */
export function checkBuilt(roots: string[]): void {
  for (const [root, file] of [[roots[0]!, "index.html"], [roots[1] ?? roots[0]!, "perceiver-ar.js"]] as const) {
    if (!fs.existsSync(path.join(root, file))) throw new Error(`${path.join(root, file)} is missing: build the page with \`npm run build\``);
  }
}

function resolveFile(root: string, urlPath: string): string | null {
  const file = path.resolve(root, "." + urlPath);
  if (file !== root && !file.startsWith(root + path.sep)) return null;
  try {
    const st = fs.statSync(file);
    if (st.isFile()) return file;
    if (st.isDirectory() && fs.existsSync(path.join(file, "index.html"))) return path.join(file, "index.html");
  } catch {
    // missing
  }
  return null;
}

export function startWebServer(options: WebServerOptions = {}): Promise<WebServer> {
  const roots = (options.roots ?? [path.join(PACKAGE_ROOT, "dist", "web"), path.join(PACKAGE_ROOT, "dist", "browser")]).map((r) => path.resolve(r));
  const mounts = Object.entries(options.mounts ?? {}).map(([prefix, dir]) => [prefix, path.resolve(dir)] as const);
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", ...ISOLATION_HEADERS }).end();
      return;
    }
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
    } catch {
      res.writeHead(400, ISOLATION_HEADERS).end();
      return;
    }
    let file: string | null = null;
    const mount = mounts.find(([prefix]) => urlPath.startsWith(prefix));
    if (mount !== undefined) file = resolveFile(mount[1], "/" + urlPath.slice(mount[0].length));
    else for (const root of roots) if ((file = resolveFile(root, urlPath)) !== null) break;
    if (file === null) {
      res.writeHead(404, { "Content-Type": "text/plain", ...ISOLATION_HEADERS }).end(`not found: ${urlPath}\n`);
      return;
    }
    const size = fs.statSync(file).size;
    res.writeHead(200, { "Content-Type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream", "Content-Length": size, ...ISOLATION_HEADERS });
    if (req.method === "HEAD") res.end();
    else fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, "127.0.0.1", () => {
      const addr = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${addr.port}/`,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
