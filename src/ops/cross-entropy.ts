// crossEntropy: mean softmax cross-entropy over rows whose label is not `ignoreIndex` (-100).
// logits (..., V), labels (rows) -> scalar loss. With no counted rows the loss is 0.
// Label ranges are checked once, at the backend boundary (src/backend/validate.ts).

import type { Graph, Var } from "../autograd.js";
import { IGNORE_INDEX } from "../util/ignore-index.js";

export { IGNORE_INDEX }; // the models import it from here

export function crossEntropy(g: Graph, logits: Var, labels: Int32Array, ignoreIndex = IGNORE_INDEX): { loss: Var; count: number } {
  const V = logits.shape[logits.shape.length - 1];
  const rows = logits.value.size / V;
  if (labels.length !== rows) throw new RangeError(`crossEntropy: ${labels.length} labels for ${rows} rows of logits`);
  let count = 0;
  for (let i = 0; i < rows; i++) if (labels[i] !== ignoreIndex) count++;
  const be = g.backend;
  const lse = g.alloc(rows);
  const losses = g.alloc(rows);
  be.crossEntropyForward(logits.data, labels, lse, losses, rows, V, ignoreIndex);
  let sum = 0;
  for (let i = 0; i < rows; i++) sum += losses[i];
  const loss = g.output([1], logits);
  loss.data[0] = count > 0 ? sum / count : 0;
  if (loss.requiresGrad && count > 0) {
    g.record(() => be.crossEntropyBackward(logits.data, labels, lse, logits.grad, rows, V, ignoreIndex, loss.grad[0] / count));
  }
  return { loss, count };
}

/** Rows (labels not `ignoreIndex`) of logits (rows, V) whose argmax is the label; ties go to the lowest id. */
export function argmaxHits(logits: Float32Array, labels: Int32Array, V: number, ignoreIndex = IGNORE_INDEX): number {
  let hits = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === ignoreIndex) continue;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits[i * V + v] > logits[i * V + best]) best = v;
    if (best === labels[i]) hits++;
  }
  return hits;
}
