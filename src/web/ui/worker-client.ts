// The page's handle on its compute worker: `call(request)` resolves to the worker's reply (or
// rejects with its error message); `on(kind, fn)` receives the worker's events.

import type { FromWorker, Request, WorkerEvent } from "../protocol.js";

type Handler = (e: WorkerEvent) => void;

export class WorkerClient {
  private readonly worker: Worker;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly handlers: Handler[] = [];

  constructor(url: string) {
    this.worker = new Worker(url, { type: "module" });
    this.worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.kind === "event") {
        for (const h of this.handlers) h(m.event);
        return;
      }
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.kind === "reply") p.resolve(m.value);
      else p.reject(new Error(m.message));
    };
    this.worker.onerror = (e) => {
      for (const p of this.pending.values()) p.reject(new Error(`worker failed: ${e.message}`));
      this.pending.clear();
    };
  }

  call<T = unknown>(request: Request, transfer: Transferable[] = []): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, request }, transfer);
    });
  }

  on(fn: Handler): void {
    this.handlers.push(fn);
  }
}
