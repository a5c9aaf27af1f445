// Run the compiled `perceiver-ar` command as a user would (reference backend), capturing its output.
// `env` adds variables (e.g. PERCEIVER_AR_CACHE for a test's own data cache); `cwd` runs it from
// another working directory (portability of run folders).

import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { REPO_ROOT } from "./golden.js";

export const CLI = path.join(REPO_ROOT, "dist", "src", "cli", "main.js");

export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd, env: { ...process.env, PERCEIVER_AR_BACKEND: "reference", ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
