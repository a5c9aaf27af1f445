// What the page has shown, kept for people and tests (window.perceiverArPage): the losses, the
// generated text, and the main thread's long tasks.

import type { MainThreadLog } from "./long-tasks.js";

export interface PageLog {
  backend: string;
  train: { step: number; loss: number }[];
  validation: { step: number; loss: number }[];
  /** Text pieces as they streamed in, with the time each arrived (performance.now()). */
  text: { piece: string; at: number }[];
  mainThread: MainThreadLog;
}
