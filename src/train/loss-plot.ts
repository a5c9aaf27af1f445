// Loss curve as a standalone SVG (no dependency): train loss and validation loss vs step.
//
// Contract:
// - `lossPlotSvg(records)` takes metrics.jsonl records ({type:"train",step,loss} and
//   {type:"eval",step,valLoss}) and returns a complete SVG 1.1 document (starts with `<svg`):
//   a frame, x axis "step" and y axis "loss (nats/token)" with "nice" (1-2-5) tick values and
//   labels, the train curve as a `<path>`, validation points as a `<path>` with circle markers,
//   and a legend. Non-finite values are skipped. More than `maxPoints` train records are averaged
//   into maxPoints buckets (consecutive steps) so the file stays small for long runs.
//   With no finite data it still returns a valid SVG saying "no data".
// - `writeLossPlot(metricsFile, svgFile)` reads the log and writes the SVG atomically;
//   `writeLossPlotFromRun(runDir)` does it for runDir/metrics.jsonl -> runDir/loss.svg.

import * as path from "node:path";
import { writeFileAtomic } from "../io/atomic-write.js";
import { LOSS_PLOT_FILE, METRICS_FILE, readMetrics, type MetricRecord } from "./run-folder.js";
import { assertIntegerInRange } from "../util/integer-range.js";

/** Options of `lossPlotSvg`. */
export interface LossPlotOptions {
  /** Pixels, integer >= 200. Default 800. */
  width?: number;
  /** Pixels, integer >= 150. Default 480. */
  height?: number;
  title?: string;
  /** Most train points drawn, integer >= 2. Default 2000. */
  maxPoints?: number;
}

interface Point {
  x: number;
  y: number;
}

/** Tick values at a 1-2-5 spacing covering [lo, hi] with about `target` ticks. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const first = Math.floor(lo / step) * step;
  const out: number[] = [];
  for (let v = first; v <= hi + step * 0.5 && out.length < 50; v += step) out.push(roundTo(v, step));
  if (out[out.length - 1] < hi) out.push(roundTo(out[out.length - 1] + step, step));
  return out;
}

function roundTo(v: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(20, digits)));
}

function fmt(v: number): string {
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(6)));
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function bucket(points: Point[], maxPoints: number): Point[] {
  if (points.length <= maxPoints) return points;
  const out: Point[] = [];
  for (let i = 0; i < maxPoints; i++) {
    const a = Math.floor((i * points.length) / maxPoints);
    const b = Math.floor(((i + 1) * points.length) / maxPoints);
    let sx = 0;
    let sy = 0;
    for (let j = a; j < b; j++) {
      sx += points[j].x;
      sy += points[j].y;
    }
    out.push({ x: sx / (b - a), y: sy / (b - a) });
  }
  return out;
}

/** The loss curve of `records` as SVG text. */
export function lossPlotSvg(records: readonly MetricRecord[], options: LossPlotOptions = {}): string {
  const W = options.width ?? 800;
  const H = options.height ?? 480;
  const maxPoints = options.maxPoints ?? 2000;
  assertIntegerInRange("width", W, 200);
  assertIntegerInRange("height", H, 150);
  assertIntegerInRange("maxPoints", maxPoints, 2);
  const title = options.title ?? "Loss";

  const train: Point[] = [];
  const val: Point[] = [];
  for (const r of records) {
    if (r.type === "train" && Number.isFinite(r.step) && Number.isFinite(r.loss)) train.push({ x: r.step, y: r.loss });
    if (r.type === "eval" && Number.isFinite(r.step) && Number.isFinite(r.valLoss)) val.push({ x: r.step, y: r.valLoss });
  }
  train.sort((a, b) => a.x - b.x);
  val.sort((a, b) => a.x - b.x);
  const trainDrawn = bucket(train, maxPoints);

  const left = 72;
  const right = 20;
  const top = 40;
  const bottom = 56;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(title)}</text>`);

  const all = [...trainDrawn, ...val];
  if (all.length === 0) {
    parts.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
    parts.push(`<text x="${left + pw / 2}" y="${top + ph / 2}" text-anchor="middle" fill="#666">no data</text>`);
    parts.push(`<path d="M ${left} ${top + ph} L ${left + pw} ${top + ph}" stroke="#333" fill="none"/>`);
    parts.push("</svg>");
    return parts.join("\n") + "\n";
  }
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  const xTicks = niceTicks(Math.min(0, ...xs), Math.max(...xs));
  const yTicks = niceTicks(Math.min(...ys), Math.max(...ys));
  const x0 = xTicks[0];
  const x1 = xTicks[xTicks.length - 1];
  const y0 = yTicks[0];
  const y1 = yTicks[yTicks.length - 1];
  const sx = (x: number): number => left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => top + ph - ((y - y0) / (y1 - y0)) * ph;
  const n = (v: number): string => v.toFixed(2);

  // Grid, ticks and labels.
  parts.push(`<g stroke="#e5e5e5">`);
  for (const t of yTicks) parts.push(`<line x1="${left}" y1="${n(sy(t))}" x2="${left + pw}" y2="${n(sy(t))}"/>`);
  for (const t of xTicks) parts.push(`<line x1="${n(sx(t))}" y1="${top}" x2="${n(sx(t))}" y2="${top + ph}"/>`);
  parts.push(`</g>`);
  parts.push(`<g stroke="#333">`);
  parts.push(`<line x1="${left}" y1="${top + ph}" x2="${left + pw}" y2="${top + ph}"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + ph}"/>`);
  for (const t of xTicks) parts.push(`<line x1="${n(sx(t))}" y1="${top + ph}" x2="${n(sx(t))}" y2="${top + ph + 5}"/>`);
  for (const t of yTicks) parts.push(`<line x1="${left - 5}" y1="${n(sy(t))}" x2="${left}" y2="${n(sy(t))}"/>`);
  parts.push(`</g>`);
  parts.push(`<g fill="#333">`);
  for (const t of xTicks) parts.push(`<text x="${n(sx(t))}" y="${top + ph + 19}" text-anchor="middle">${fmt(t)}</text>`);
  for (const t of yTicks) parts.push(`<text x="${left - 8}" y="${n(sy(t) + 4)}" text-anchor="end">${fmt(t)}</text>`);
  parts.push(`</g>`);
  parts.push(`<text x="${left + pw / 2}" y="${H - 14}" text-anchor="middle">step</text>`);
  parts.push(`<text x="16" y="${top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + ph / 2})">loss (nats/token)</text>`);

  // Curves.
  const pathOf = (pts: Point[]): string => pts.map((p, i) => `${i === 0 ? "M" : "L"} ${n(sx(p.x))} ${n(sy(p.y))}`).join(" ");
  if (trainDrawn.length > 0) parts.push(`<path class="train" d="${pathOf(trainDrawn)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`);
  if (val.length > 0) {
    parts.push(`<path class="val" d="${pathOf(val)}" fill="none" stroke="#d62728" stroke-width="1.5"/>`);
    parts.push(`<g fill="#d62728">`);
    for (const p of val) parts.push(`<circle cx="${n(sx(p.x))}" cy="${n(sy(p.y))}" r="3"/>`);
    parts.push(`</g>`);
  }

  // Legend.
  const lx = left + pw - 130;
  const ly = top + 10;
  parts.push(`<rect x="${lx}" y="${ly}" width="122" height="44" fill="white" stroke="#ccc"/>`);
  parts.push(`<line x1="${lx + 8}" y1="${ly + 14}" x2="${lx + 30}" y2="${ly + 14}" stroke="#1f77b4" stroke-width="2"/>`);
  parts.push(`<text x="${lx + 36}" y="${ly + 18}">train loss</text>`);
  parts.push(`<line x1="${lx + 8}" y1="${ly + 32}" x2="${lx + 30}" y2="${ly + 32}" stroke="#d62728" stroke-width="2"/>`);
  parts.push(`<text x="${lx + 36}" y="${ly + 36}">val loss</text>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** Read `metricsFile` (metrics.jsonl) and atomically write its loss curve to `svgFile`. */
export function writeLossPlot(metricsFile: string, svgFile: string, options: LossPlotOptions = {}): void {
  writeFileAtomic(svgFile, lossPlotSvg(readMetrics(metricsFile), options));
}

/** runDir/metrics.jsonl -> runDir/loss.svg. */
export function writeLossPlotFromRun(runDir: string, options: LossPlotOptions = {}): string {
  const svg = path.join(runDir, LOSS_PLOT_FILE);
  writeLossPlot(path.join(runDir, METRICS_FILE), svg, options);
  return svg;
}
