// The page's server (src/web/server.ts) and `perceiver-ar web`: cross-origin isolation headers on
// every response, the page and the browser bundle served from one origin, HEAD, 404s, no path out
// of the served folders, and the CLI printing the URL it serves on 127.0.0.1.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as http from "node:http";
import { after, before, describe, it } from "node:test";
import { startWebServer, type WebServer } from "../src/web/server.js";
import { REPO_ROOT } from "./helpers/golden.js";

/** Content of a file beside the served folders, which no request may read. */
const SECRET = "TOP-SECRET-CONTENT";

/** GET with the path sent exactly as given (fetch would normalise "/../"). */
function rawGet(base: string, rawPath: string): Promise<{ status: number; body: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    http
      .get({ host: u.hostname, port: u.port, path: rawPath }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describe("the page's server", () => {
  let server: WebServer;
  let root: string;
  before(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "perceiver-ar-server-"));
    fs.mkdirSync(path.join(root, "web"));
    fs.mkdirSync(path.join(root, "browser"));
    fs.mkdirSync(path.join(root, "extra"));
    fs.writeFileSync(path.join(root, "web", "index.html"), "<!doctype html>page");
    fs.writeFileSync(path.join(root, "browser", "perceiver-ar.js"), "export {};");
    fs.writeFileSync(path.join(root, "extra", "a.json"), "{}");
    fs.writeFileSync(path.join(root, "secret.txt"), SECRET);
    server = await startWebServer({ port: 0, roots: [path.join(root, "web"), path.join(root, "browser")], mounts: { "/extra/": path.join(root, "extra") } });
  });
  after(async () => {
    await server?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("listens on 127.0.0.1 and serves the page and the bundle with isolation headers", async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    for (const [p, type, body] of [["/", "text/html", "<!doctype html>page"], ["/perceiver-ar.js", "text/javascript", "export {};"], ["/extra/a.json", "application/json", "{}"]] as const) {
      const r = await fetch(new URL(p, server.url));
      assert.equal(r.status, 200, p);
      assert.equal(r.headers.get("cross-origin-opener-policy"), "same-origin");
      assert.equal(r.headers.get("cross-origin-embedder-policy"), "require-corp");
      assert.ok(r.headers.get("content-type")?.startsWith(type), `${p}: ${r.headers.get("content-type")}`);
      assert.equal(await r.text(), body);
    }
    const head = await fetch(new URL("/perceiver-ar.js", server.url), { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), "10");
  });

  it("answers 404 for missing files and for paths outside its folders, 405 for other methods", async () => {
    assert.equal((await fetch(new URL("/missing.js", server.url))).status, 404);
    for (const p of ["/../secret.txt", "/%2e%2e/secret.txt", "/extra/../../secret.txt", "/extra/..%2f..%2fsecret.txt", "/..%5csecret.txt"]) {
      const r = await rawGet(server.url, p);
      assert.ok(r.status === 404 || r.status === 400, `${p}: status ${r.status}`);
      assert.ok(!r.body.includes(SECRET), p);
    }
    assert.equal((await fetch(server.url, { method: "POST" })).status, 405);
  });
});

it("perceiver-ar web --port 0 prints the URL of the page it serves", { skip: fs.existsSync(path.join(REPO_ROOT, "dist", "web", "index.html")) ? false : "the page is not built (npm run build)" }, async () => {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "dist", "src", "cli", "main.js"), "web", "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", (code) => reject(new Error(`exited with ${code}: ${out}`)));
    });
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /perceiver-ar/);
    assert.equal((await fetch(new URL("worker.js", url))).status, 200);
    assert.equal((await fetch(new URL("perceiver-ar.js", url))).status, 200);
  } finally {
    child.kill("SIGTERM");
  }
});
