// A minimal log-log line chart as plain SVG text (no dependencies), for bench results.
//
// Contract: `logLogChart(series, options)` returns a complete <svg> document. x and y must be > 0.
// Each series is drawn as a solid polyline through its measured points (filled markers) and, when
// it has predicted points, a dashed continuation through them (hollow markers). Axes get decade
// (y) and power-of-two (x) ticks.

export interface ChartPoint {
  x: number;
  y: number;
  /** true: a prediction, not a measurement (dashed line, hollow marker). */
  predicted?: boolean;
}

export interface ChartSeries {
  label: string;
  points: ChartPoint[];
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Tick label for an x value (default: the number). */
  xTick?: (x: number) => string;
  /** Optional horizontal reference line (e.g. a time limit), with its label. */
  hLine?: { y: number; label: string };
  width?: number;
  height?: number;
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

export function logLogChart(series: ChartSeries[], o: ChartOptions): string {
  const W = o.width ?? 840;
  const H = o.height ?? 500;
  const m = { left: 72, right: 260, top: 40, bottom: 56 };
  const pts = series.flatMap((s) => s.points);
  if (o.hLine) pts.push({ x: pts[0]?.x ?? 1, y: o.hLine.y });
  if (pts.length === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="30">no data</text></svg>\n`;
  const xs = pts.map((p) => Math.log2(p.x));
  const ys = pts.map((p) => Math.log10(p.y));
  const x0 = Math.floor(Math.min(...xs));
  const x1 = Math.ceil(Math.max(...xs));
  const y0 = Math.floor(Math.min(...ys));
  const y1 = Math.ceil(Math.max(...ys));
  const r1 = (v: number): number => Math.round(v * 10) / 10;
  const px = (x: number): number => r1(m.left + ((Math.log2(x) - x0) / Math.max(1e-9, x1 - x0)) * (W - m.left - m.right));
  const py = (y: number): number => r1(H - m.bottom - ((Math.log10(y) - y0) / Math.max(1e-9, y1 - y0)) * (H - m.top - m.bottom));
  const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2 - m.right / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`);
  // Grid and ticks.
  for (let e = x0; e <= x1; e++) {
    const x = px(2 ** e);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${H - m.bottom}" stroke="#ddd"/>`);
    out.push(`<text x="${x}" y="${H - m.bottom + 16}" text-anchor="middle">${esc(o.xTick ? o.xTick(2 ** e) : String(2 ** e))}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${W - m.right}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${m.left - 6}" y="${y + 4}" text-anchor="end">${e >= 0 ? String(10 ** e) : (10 ** e).toFixed(-e)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${W - m.left - m.right}" height="${H - m.top - m.bottom}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${(m.left + W - m.right) / 2}" y="${H - 14}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.hLine) {
    const y = py(o.hLine.y);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${W - m.right}" y2="${y}" stroke="#999" stroke-dasharray="2 3"/>`);
    out.push(`<text x="${m.left + 4}" y="${y - 4}" fill="#666">${esc(o.hLine.label)}</text>`);
  }
  // Series.
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const measured = s.points.filter((p) => !p.predicted);
    const line = (ps: ChartPoint[], dash: boolean): void => {
      if (ps.length < 2) return;
      const d = ps.map((p) => `${px(p.x)},${py(p.y)}`).join(" ");
      out.push(`<polyline points="${d}" fill="none" stroke="${c}" stroke-width="2"${dash ? ' stroke-dasharray="6 4"' : ""}/>`);
    };
    line(measured, false);
    // Dashed continuation: from the last measured point through the predicted ones.
    const firstPred = s.points.findIndex((p) => p.predicted);
    if (firstPred >= 0) line(s.points.slice(Math.max(0, firstPred - 1)), true);
    for (const p of s.points) {
      out.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3.5" fill="${p.predicted ? "white" : c}" stroke="${c}" stroke-width="1.5"/>`);
    }
    const ly = m.top + 14 + i * 20;
    const lx = W - m.right + 14;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${esc(s.label)}</text>`);
  });
  const ny = m.top + 14 + series.length * 20 + 8;
  out.push(`<text x="${W - m.right + 14}" y="${ny}" fill="#555">filled: measured</text>`);
  out.push(`<text x="${W - m.right + 14}" y="${ny + 16}" fill="#555">hollow, dashed: predicted</text>`);
  out.push(`<text x="${W - m.right + 14}" y="${ny + 32}" fill="#555">(cost model, not run)</text>`);
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}
