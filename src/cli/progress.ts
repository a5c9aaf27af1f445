// Progress of long CLI work (training steps, validation, checkpoint writing, evaluation windows,
// generated tokens, data fetches) on one self-redrawn line of a terminal, or as plain lines when
// the stream is not a terminal.
//
// Contract:
// - On a terminal (`tty`): one line "<bar> <unit> done/total | fields... | <phase> | ETA", redrawn
//   in place at most every REDRAW_MS (and at once on a phase change); `log(line)` clears it,
//   prints the line above and redraws it with the same fields, so no line ever shows placeholders.
//   The ETA is the wall time per unit since this display started (validation and checkpoints
//   included, so it does not jump when they pause the steps) times the units left; it appears
//   after MIN_UNITS_FOR_ETA units.
// - Not on a terminal: `update` prints one line every `lineEvery` units and at the last one;
//   phases print nothing (a log stays line-based and greppable); `log` prints its line.
// - `stop()` ends the line (terminal) and is idempotent.

/** The part of a stream the display writes to. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  /** Units of the whole job (e.g. max steps). */
  total: number;
  /** Units already done before this display started (a resumed run's step). */
  start?: number;
  /** What a unit is called: "step", "window", "token". */
  unit: string;
  stream?: ProgressStream;
  /** Force terminal or line mode (default: the stream's isTTY). */
  tty?: boolean;
  /** Line mode: print every this many units. Default 10. */
  lineEvery?: number;
  /** Clock in ms (tests). Default Date.now. */
  now?: () => number;
}

/** Redraw at most this often: a terminal needs no more than ~10 frames per second. */
const REDRAW_MS = 100;
/** Units timed before an ETA is shown: the first step includes warm-up (buffer pools, caches). */
const MIN_UNITS_FOR_ETA = 3;
/** Characters of the bar. */
const BAR_WIDTH = 24;

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export class ProgressDisplay {
  private total: number;
  private readonly start: number;
  private readonly unit: string;
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly lineEvery: number;
  private readonly now: () => number;
  private readonly t0: number;
  private done: number;
  private fields: Record<string, string> = {};
  private phaseLabel: string | null = null;
  private lastDraw = -Infinity;
  private drawn = false;
  private stopped = false;

  constructor(o: ProgressOptions) {
    this.total = o.total;
    this.start = o.start ?? 0;
    this.done = this.start;
    this.unit = o.unit;
    this.stream = o.stream ?? process.stdout;
    this.tty = o.tty ?? this.stream.isTTY === true;
    this.lineEvery = o.lineEvery ?? 10;
    this.now = o.now ?? Date.now;
    this.t0 = this.now();
  }

  /** `done` units of `total` (new total when given) are done; `fields` (e.g. loss, tok/s) replace the shown ones. */
  update(done: number, fields: Record<string, string> = {}, total?: number): void {
    if (total !== undefined) this.total = total;
    this.done = done;
    this.fields = { ...this.fields, ...fields };
    if (this.tty) this.draw(false);
    else if (done % this.lineEvery === 0 || done === this.total) this.stream.write(this.text() + ` | elapsed ${formatDuration(this.elapsed())}\n`);
  }

  /** Show what is being done between units ("validating 3/16", "writing checkpoint"); null clears it. */
  phase(label: string | null): void {
    this.phaseLabel = label;
    if (this.tty) this.draw(true);
  }

  /** Print a line above the progress line. */
  log(line: string): void {
    if (!this.tty) {
      this.stream.write(line + "\n");
      return;
    }
    this.clear();
    this.stream.write(line + "\n");
    if (!this.stopped) this.draw(true);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.tty && this.drawn) this.clear();
  }

  /** Seconds since the display started. */
  private elapsed(): number {
    return (this.now() - this.t0) / 1000;
  }

  /** Seconds left at the pace since the display started, or null before MIN_UNITS_FOR_ETA units. */
  eta(): number | null {
    const units = this.done - this.start;
    if (units < MIN_UNITS_FOR_ETA) return null;
    return (this.elapsed() / units) * Math.max(0, this.total - this.done);
  }

  /** The progress line (without the bar on non-terminals). */
  text(): string {
    const parts = [`${this.unit} ${this.done}/${this.total}`];
    for (const [k, v] of Object.entries(this.fields)) parts.push(k === "" ? v : `${k} ${v}`);
    if (this.tty) {
      if (this.phaseLabel !== null) parts.push(this.phaseLabel);
      const eta = this.eta();
      parts.push(`ETA ${eta === null ? "-" : formatDuration(eta)}`);
    } else {
      const eta = this.eta();
      if (eta !== null) parts.push(`ETA ${formatDuration(eta)}`);
    }
    return parts.join(" | ");
  }

  private bar(): string {
    const f = this.total > 0 ? Math.min(1, Math.max(0, this.done / this.total)) : 0;
    const n = Math.round(f * BAR_WIDTH);
    return "█".repeat(n) + "░".repeat(BAR_WIDTH - n);
  }

  private clear(): void {
    this.stream.write("\r\x1b[2K");
  }

  private draw(force: boolean): void {
    if (this.stopped) return;
    const t = this.now();
    if (!force && t - this.lastDraw < REDRAW_MS && this.done !== this.total) return;
    this.lastDraw = t;
    this.stream.write(`\r\x1b[2K ${this.bar()} ${this.text()}`);
    this.drawn = true;
  }
}

/** Work of unknown length (a data fetch): "label 12s" redrawn every second on a terminal, log lines above it. */
export class Activity {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly t0 = Date.now();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly label: string,
    o: { stream?: ProgressStream; tty?: boolean } = {},
  ) {
    this.stream = o.stream ?? process.stdout;
    this.tty = o.tty ?? this.stream.isTTY === true;
  }

  log(line: string): void {
    if (this.tty) this.stream.write("\r\x1b[2K");
    this.stream.write(line + "\n");
    if (!this.tty) return;
    this.draw();
    if (this.timer === null) {
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    if (this.timer !== null && this.tty) this.stream.write("\r\x1b[2K");
    this.timer = null;
  }

  private draw(): void {
    this.stream.write(`\r\x1b[2K ${this.label} ${formatDuration((Date.now() - this.t0) / 1000)}`);
  }
}
