// Main-thread responsiveness: a PerformanceObserver of long tasks (tasks over 50 ms, the browser's
// own threshold) records each one, so the page (and its tests) can show that training and
// generation never block the main thread.

export interface LongTask {
  start: number;
  duration: number;
}

export function observeLongTasks(): LongTask[] {
  const seen: LongTask[] = [];
  if (typeof PerformanceObserver === "undefined" || !PerformanceObserver.supportedEntryTypes?.includes("longtask")) return seen;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) seen.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: "longtask", buffered: true });
  return seen;
}
