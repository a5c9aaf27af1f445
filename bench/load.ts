// Benchmark: loading a big model folder (time and peak RSS), for each weight format.
//
// Each folder is loaded in its own child process (this script with `--child`), so that the peak
// RSS (`process.resourceUsage().maxRSS`) is the load's own: once to warm the page cache, then
// `--repeat` timed runs. Prints, per folder: weight file size, load seconds (best and median),
// peak RSS and peak RSS / file size, and a checksum of the loaded parameters (so that every format
// is seen to load the same numbers). Targets of issue 13: <= 4 s warm, peak RSS <= 1.3x the file.
//
// Make the clm-base-sized folders first (PyTorch, benchmark tool only):
//   /usr/bin/python3 bench/make_clm_base_folder.py --out /tmp/clm-base
//   npx tsc -p . && node dist/bench/load.js /tmp/clm-base/safetensors /tmp/clm-base/bin [--repeat 3]

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { referenceBackend } from "../src/backend/reference/index.js";
import { loadPretrained } from "../src/io/checkpoint.js";

interface ChildResult {
  seconds: number;
  maxRssBytes: number;
  fileBytes: number;
  parameters: number;
  checksum: number;
  files: string[];
}

function child(dir: string): void {
  const t0 = performance.now();
  const loaded = loadPretrained(dir, referenceBackend, { log: () => {} });
  const seconds = (performance.now() - t0) / 1000;
  let checksum = 0;
  for (const v of loaded.model.parameters.values()) {
    const d = v.data;
    for (let i = 0; i < d.length; i += 997) checksum += d[i]!;
  }
  const fileBytes = loaded.weightFiles.reduce((a, f) => a + fs.statSync(f).size, 0);
  const r: ChildResult = { seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024, fileBytes, parameters: loaded.model.numParameters, checksum, files: loaded.weightFiles };
  process.stdout.write(JSON.stringify(r) + "\n");
}

function runChild(dir: string): ChildResult {
  const script = fileURLToPath(import.meta.url);
  const p = spawnSync(process.execPath, [script, "--child", dir], { encoding: "utf8", maxBuffer: 1 << 20 });
  if (p.status !== 0) throw new Error(`child failed for ${dir}:\n${p.stderr}`);
  return JSON.parse(p.stdout.trim().split("\n").pop()!) as ChildResult;
}

function main(): void {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") return child(argv[1]!);
  let repeat = 3;
  const dirs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--repeat") repeat = Number(argv[++i]);
    else dirs.push(argv[i]!);
  }
  if (dirs.length === 0) {
    console.error("usage: node dist/bench/load.js <model folder>... [--repeat 3]   (see the header for making clm-base-sized folders)");
    process.exit(2);
  }
  const gb = (n: number) => (n / 1e9).toFixed(2);
  console.log("| folder | weights | file GB | parameters | load s (best / median) | peak RSS GB | RSS / file | checksum |");
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const dir of dirs) {
    runChild(dir); // warm the page cache
    const runs = Array.from({ length: repeat }, () => runChild(dir));
    const secs = runs.map((r) => r.seconds).sort((a, b) => a - b);
    const rss = Math.max(...runs.map((r) => r.maxRssBytes));
    const r = runs[0]!;
    console.log(
      `| ${dir} | ${r.files.map((f) => f.split("/").pop()).join(", ")} | ${gb(r.fileBytes)} | ${r.parameters.toLocaleString("en-US")} | ${secs[0]!.toFixed(2)} / ${secs[Math.floor(secs.length / 2)]!.toFixed(2)} | ${gb(rss)} | ${(rss / r.fileBytes).toFixed(2)} | ${r.checksum.toFixed(4)} |`,
    );
  }
}

main();
