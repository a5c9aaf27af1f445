// Model arguments of the CLI: a local model or run folder, or a hub id / URL that is downloaded
// into the hub cache first (with a progress bar on a terminal, one line per file otherwise).
// `resolveModelPath` returns a local path the existing folder logic takes as before.

import cliProgress from "cli-progress";
import * as fs from "node:fs";
import { HubError } from "../hub/model-ref.js";
import { resolveModelFolder } from "../hub/from-pretrained.js";
import type { DownloadProgress } from "../hub/download.js";
import { formatBytes } from "../models/memory.js";
import { UsageError } from "./overrides.js";

/** A progress display for downloads on stderr. */
function downloadProgress(): { update: (p: DownloadProgress) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bars = new cliProgress.MultiBar(
      { format: " {file} {bar} {percentage}% | {loaded} / {size}", hideCursor: true, stream: process.stderr, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    const byFile = new Map<string, cliProgress.SingleBar>();
    return {
      update: (p) => {
        if (p.total === null || p.total === 0) return;
        let bar = byFile.get(p.file);
        if (bar === undefined) {
          bar = bars.create(p.total, 0, { file: p.file.padEnd(24), loaded: "0 B", size: formatBytes(p.total) });
          byFile.set(p.file, bar);
        }
        bar.update(p.done ? p.total : p.loaded, { loaded: formatBytes(p.done ? p.total : p.loaded) });
      },
      stop: () => bars.stop(),
    };
  }
  const started = new Set<string>();
  return {
    update: (p) => {
      if (!p.done && !started.has(p.file)) {
        started.add(p.file);
        process.stderr.write(`downloading ${p.file}${p.total !== null ? ` (${formatBytes(p.total)})` : ""}\n`);
      }
    },
    stop: () => {},
  };
}

/** A local folder for `p`: `p` itself when it exists, else the hub snapshot it names (downloaded as needed). */
export async function resolveModelPath(p: string, o: { configOnly?: boolean } = {}): Promise<string> {
  if (fs.existsSync(p)) return p;
  const bar = downloadProgress();
  try {
    return await resolveModelFolder(p, { ...o, onProgress: bar.update });
  } catch (e) {
    if (e instanceof HubError) throw new UsageError(`${p}: no such folder, and as a hub model: ${e.message}`);
    throw e;
  } finally {
    bar.stop();
  }
}
