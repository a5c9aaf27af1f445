// Main-thread responsiveness, observed with PerformanceObserver:
// - "longtask": every main-thread task over 50 ms (the browser's own threshold), whatever ran in it;
// - "long-animation-frame": for frames over 50 ms, each script that ran in them and for how long,
//   so a long task can be told apart as the page's own work (a script of this page ran for most
//   of it) or not (no script: the thread was descheduled, e.g. by a busy machine, or the browser's
//   own work).
// The page (and its tests) use these to show that training and generation never block the page.

export interface LongTask {
  start: number;
  duration: number;
}

export interface ScriptRun {
  start: number;
  duration: number;
  /** What called it: "Worker.onmessage", "FrameRequestCallback", ... */
  invoker: string;
  source: string;
}

export interface MainThreadLog {
  longTasks: LongTask[];
  /** Scripts that ran in long animation frames (with their own durations). */
  scripts: ScriptRun[];
}

interface ScriptTiming extends PerformanceEntry {
  invoker: string;
  sourceURL: string;
}

export function observeMainThread(): MainThreadLog {
  const log: MainThreadLog = { longTasks: [], scripts: [] };
  const types = typeof PerformanceObserver === "undefined" ? [] : PerformanceObserver.supportedEntryTypes ?? [];
  if (types.includes("longtask")) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) log.longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: "longtask", buffered: true });
  }
  if (types.includes("long-animation-frame")) {
    new PerformanceObserver((list) => {
      for (const frame of list.getEntries() as (PerformanceEntry & { scripts: ScriptTiming[] })[]) {
        for (const s of frame.scripts) log.scripts.push({ start: s.startTime, duration: s.duration, invoker: s.invoker, source: s.sourceURL });
      }
    }).observe({ type: "long-animation-frame", buffered: true });
  }
  return log;
}
