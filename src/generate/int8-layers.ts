// The int8 weight-only view of a model's layers, for generation (GenerateOptions.weights "int8").
//
// Contract: `int8Layers(model)` returns the model's bound layers (PerceiverARLayers) with every 2-D
// parameter replaced by its Int8Weight twin (ops/linear-int8.ts): linear layers then read int8 rows
// with per-row scales (a quarter of the bytes), the embedding lookup still reads float32 rows, the
// tied output head reads the int8 embedding. Norms, biases and the rotary table are shared as they
// are. A parameter shared by several layers (the tied embedding) gets one twin. The twins quantise
// on first use and keep the result: build the view after training, and a new one if the weights
// change. One view per model is kept (weakly) so that generation calls share its quantisation.

import { Var } from "../autograd.js";
import type { PerceiverAR, PerceiverARLayers } from "../models/perceiver-ar.js";
import { Int8Weight } from "../ops/linear-int8.js";

/** The weight formats generation can read. */
export type WeightFormat = "f32" | "int8";
export const WEIGHT_FORMATS: readonly WeightFormat[] = ["f32", "int8"];

const views = new WeakMap<PerceiverAR, PerceiverARLayers>();

export function int8Layers(model: PerceiverAR): PerceiverARLayers {
  let view = views.get(model);
  if (view === undefined) {
    view = twin(model.layers, new Map()) as PerceiverARLayers;
    views.set(model, view);
  }
  return view;
}

/** The layers to generate with for a weight format (validated). */
export function layersFor(model: PerceiverAR, format: unknown = "f32"): PerceiverARLayers {
  if (!WEIGHT_FORMATS.includes(format as WeightFormat)) throw new RangeError(`weights must be one of ${WEIGHT_FORMATS.map((f) => JSON.stringify(f)).join(", ")}, got ${JSON.stringify(format)}`);
  return format === "int8" ? int8Layers(model) : model.layers;
}

/** A copy of a bound-parameter tree with 2-D Vars replaced by their (shared) Int8Weight twins. */
function twin(node: unknown, seen: Map<Var, Int8Weight>): unknown {
  if (node instanceof Var) {
    if (node.shape.length !== 2) return node;
    let t = seen.get(node);
    if (t === undefined) seen.set(node, (t = new Int8Weight(node)));
    return t;
  }
  if (Array.isArray(node)) return node.map((x) => twin(x, seen));
  if (node !== null && typeof node === "object" && Object.getPrototypeOf(node) === Object.prototype) {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, twin(v, seen)]));
  }
  return node; // typed arrays (the rotary table), numbers, null
}
