// The Images tab: an image model samples an image from BOS, or completes the top half of what was
// drawn on the canvas; pixels appear on the canvas as they are generated.

import type { WorkerEvent } from "../protocol.js";
import { byId, showError, showText } from "./dom.js";
import { modelSource } from "./model-source.js";
import { samplingControls } from "./sampling-controls.js";
import type { WorkerClient } from "./worker-client.js";

/** Channel value v is token v + 3 (image-tokens.ts: PAD, EOS, BOS come first). */
const TOKEN_OFFSET = 3;

export function imagesTab(worker: WorkerClient): void {
  const settings = samplingControls("image-settings", { maxNewTokens: 784 });
  const canvas = byId<HTMLCanvasElement>("image-canvas");
  const c = canvas.getContext("2d", { willReadFrequently: true })!;
  let shape = { width: 28, height: 28, channels: 1 as 1 | 3 };
  const grid = () => ({ sx: canvas.width / shape.width, sy: canvas.height / shape.height });
  const paint = (index: number, values: number[]) => {
    const { sx, sy } = grid();
    const ch = shape.channels;
    for (let k = 0; k + ch <= values.length; k += ch) {
      const p = (index + k) / ch;
      const [r, g, b] = ch === 1 ? [values[k]!, values[k]!, values[k]!] : [values[k]!, values[k + 1]!, values[k + 2]!];
      c.fillStyle = `rgb(${r},${g},${b})`;
      c.fillRect((p % shape.width) * sx, Math.floor(p / shape.width) * sy, sx, sy);
    }
  };
  const clear = () => {
    c.fillStyle = "#000";
    c.fillRect(0, 0, canvas.width, canvas.height);
  };
  clear();
  modelSource(worker, "image", { drop: "image-drop", url: "image-url", loadUrl: "image-load-url", shown: "image-model", button: "image-random", buttonRequest: { kind: "random-model", slot: "image", preset: "image-mnist", seed: 0 } }, (info) => settings.setModel(info));
  worker.on((e: WorkerEvent) => {
    if (e.kind === "pixels") paint(e.done, e.tokens.map((t) => Math.min(255, Math.max(0, t - TOKEN_OFFSET))));
  });
  // Drawing: white strokes on black, as MNIST.
  let drawing = false;
  canvas.onpointerdown = () => (drawing = true);
  window.addEventListener("pointerup", () => (drawing = false));
  canvas.onpointermove = (e) => {
    if (!drawing) return;
    const { sx, sy } = grid();
    c.fillStyle = "#fff";
    c.fillRect(Math.floor(e.offsetX / sx) * sx, Math.floor(e.offsetY / sy) * sy, sx * 2, sy * 2);
  };
  const topHalf = (): number[] => {
    const { sx, sy } = grid();
    const out: number[] = [];
    for (let y = 0; y < Math.floor(shape.height / 2); y++) {
      for (let x = 0; x < shape.width; x++) {
        const d = c.getImageData(Math.floor((x + 0.5) * sx), Math.floor((y + 0.5) * sy), 1, 1).data;
        if (shape.channels === 1) out.push(TOKEN_OFFSET + Math.round(0.299 * d[0]! + 0.587 * d[1]! + 0.114 * d[2]!));
        else out.push(TOKEN_OFFSET + d[0]!, TOKEN_OFFSET + d[1]!, TOKEN_OFFSET + d[2]!);
      }
    }
    return out;
  };
  const run = async (complete: number[] | null) => {
    showText("image-stats", "generating…");
    if (complete === null) clear();
    try {
      const r = await worker.call<{ width: number; height: number; channels: 1 | 3; generated: number; ms: number }>({ kind: "image", complete, ...settings.read() });
      shape = { width: r.width, height: r.height, channels: r.channels };
      showText("image-stats", `${r.generated} pixels in ${(r.ms / 1000).toFixed(1)} s`);
    } catch (err) {
      showError("image-stats", err);
    }
  };
  byId("image-sample").onclick = () => void run(null);
  byId("image-complete").onclick = () => void run(topHalf());
  byId("image-clear").onclick = clear;
}
