#!/usr/bin/env node
// Builds the native backend (src/backend/native, node-gyp) — run by npm's "install" script.
// Never fails the install: on any error it prints
//   "perceiver-ar: native backend unavailable, falling back to reference: <reason>"
// and exits 0, and the package then runs on the reference backend — except with
// PERCEIVER_AR_REQUIRE_NATIVE=1 (CI, see .ci/run), where a failed build exits 1.
// Skip with PERCEIVER_AR_SKIP_NATIVE=1. Headers: uses npm's configured nodedir, else the headers
// installed next to the running node binary (<prefix>/include/node), else lets node-gyp fetch them.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nativeDir = join(root, "src", "backend", "native");

function fallback(reason) {
  if (process.env.PERCEIVER_AR_REQUIRE_NATIVE === "1") {
    process.stderr.write(`perceiver-ar: native backend build FAILED and PERCEIVER_AR_REQUIRE_NATIVE=1: ${reason}\n`);
    process.exit(1);
  }
  process.stderr.write(`perceiver-ar: native backend unavailable, falling back to reference: ${reason}\n`);
  process.exit(0);
}

if (process.env.PERCEIVER_AR_SKIP_NATIVE === "1") {
  fallback("build skipped (PERCEIVER_AR_SKIP_NATIVE=1)");
}
if (!existsSync(join(nativeDir, "binding.gyp"))) fallback(`missing ${join(nativeDir, "binding.gyp")}`);

// Locate node-gyp: npm exports its path to lifecycle scripts; otherwise the copy bundled with npm.
function findNodeGyp() {
  const cands = [];
  if (process.env.npm_config_node_gyp) cands.push(process.env.npm_config_node_gyp);
  const prefix = resolve(dirname(process.execPath), "..");
  cands.push(join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  cands.push(join(dirname(process.execPath), "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  if (process.env.npm_execpath) {
    cands.push(join(dirname(process.env.npm_execpath), "..", "node_modules", "node-gyp", "bin", "node-gyp.js"));
  }
  for (const c of cands) if (existsSync(c)) return c;
  return null;
}

function findNodeDir() {
  const cfg = process.env.npm_config_nodedir;
  if (cfg && existsSync(join(cfg, "include", "node", "node_api.h"))) return cfg;
  const prefix = resolve(dirname(process.execPath), "..");
  if (existsSync(join(prefix, "include", "node", "node_api.h"))) return prefix;
  return cfg || null;
}

const gyp = findNodeGyp();
const nodedir = findNodeDir();
const args = ["rebuild"];
if (nodedir) args.push(`--nodedir=${nodedir}`);
if (process.env.PERCEIVER_AR_NATIVE_JOBS !== undefined) args.push(`--jobs=${process.env.PERCEIVER_AR_NATIVE_JOBS}`);
else args.push("--jobs=max");

const cmd = gyp ? process.execPath : process.platform === "win32" ? "npx.cmd" : "npx";
const cmdArgs = gyp ? [gyp, ...args] : ["--no-install", "node-gyp", ...args];
process.stderr.write(`perceiver-ar: building native backend (${[cmd, ...cmdArgs].join(" ")})\n`);
const r = spawnSync(cmd, cmdArgs, { cwd: nativeDir, stdio: ["ignore", "inherit", "inherit"], env: process.env });
if (r.error) fallback(`could not run node-gyp: ${r.error.message}`);
if (r.status !== 0) fallback(`node-gyp exited with status ${r.status} (see the compiler output above)`);
const built = join(nativeDir, "build", "Release", "perceiver_ar_native.node");
if (!existsSync(built)) fallback(`build finished but ${built} is missing`);
process.stderr.write(`perceiver-ar: native backend built: ${built}\n`);
