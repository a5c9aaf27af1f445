// The before/after frame shared by the addon A/B benchmarks (bench/gemm-ab.ts, bench/gemv-ab.ts):
// this build's native addon against another build of it (--baseline, e.g. one built from an older
// commit) in the same process, so that load from other work falls on both alike.
// - `addonAbSetup`: the two builds and the common options --baseline (required), --isa (default:
//   this build's best), --threads (default: this build's count) and --rounds (default 9). The
//   scripts set the ISA and thread count on the builds themselves.
// - `pairedRounds`: `rounds` rounds alternating old/new (the order flipped every round), each
//   timed by the caller's function; returns both builds' times per round, the old/new ratios of
//   the rounds sorted, their median and their interquartile range as text.

import { createRequire } from "node:module";
import { resolve } from "node:path";
import type { NativeAddon } from "../src/backend/native/index.js";
import { loadNativeAddon } from "../src/backend/native/index.js";
import { median } from "./harness.js";

export type AbBuilds = Record<"old" | "new", NativeAddon>;

export interface AddonAbSetup {
  baselinePath: string;
  builds: AbBuilds;
  isa: string;
  threads: number;
  rounds: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

export function addonAbSetup(): AddonAbSetup {
  const baselinePath = arg("--baseline", "");
  if (!baselinePath) throw new Error("--baseline <perceiver_ar_native.node> is required (the build to compare against)");
  const current = loadNativeAddon();
  if (current === null) throw new Error("this build's native addon is not available (node scripts/build-native.mjs)");
  const baseline = createRequire(import.meta.url)(resolve(baselinePath)) as NativeAddon;
  const rounds = Number(arg("--rounds", "9"));
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be an integer >= 1, got ${arg("--rounds", "")}`);
  return {
    baselinePath: resolve(baselinePath),
    builds: { old: baseline, new: current },
    isa: arg("--isa", current.bestIsa()),
    threads: Number(arg("--threads", String(current.getThreads()))),
    rounds,
  };
}

export interface PairedRounds {
  times: Record<"old" | "new", number[]>;
  /** old/new per round, sorted: above 1 means the new build is faster. */
  ratios: number[];
  median: number;
  /** "[q25-q75]" of the ratios. */
  iqr: string;
}

export function pairedRounds(builds: AbBuilds, rounds: number, time: (addon: NativeAddon) => number): PairedRounds {
  const times = { old: [] as number[], new: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const w of r % 2 ? (["old", "new"] as const) : (["new", "old"] as const)) times[w].push(time(builds[w]));
  }
  const ratios = times.old.map((o, r) => o / times.new[r]!).sort((x, y) => x - y);
  const q = (f: number): string => ratios[Math.floor(f * (ratios.length - 1))]!.toFixed(3);
  return { times, ratios, median: median(ratios), iqr: `[${q(0.25)}-${q(0.75)}]` };
}
