// The sampling settings of a tab (temperature, top-k, top-p, latents slider, tokens, seed) as
// form controls, read into protocol.ts's SamplingSettings.

import type { ModelInfo, SamplingSettings } from "../protocol.js";
import { byId, formatCount } from "./dom.js";

export interface SamplingControls {
  read(): SamplingSettings;
  /** Sets the latents slider's range to the model's max_latents. */
  setModel(info: ModelInfo): void;
}

export function samplingControls(containerId: string, defaults: { maxNewTokens: number }): SamplingControls {
  const box = byId(containerId);
  const input = (label: string, attrs: Record<string, string>) => {
    const l = document.createElement("label");
    l.textContent = label + " ";
    const i = document.createElement("input");
    for (const [k, v] of Object.entries(attrs)) i.setAttribute(k, v);
    l.append(i);
    box.append(l);
    return i;
  };
  const tokens = input("tokens", { type: "number", value: String(defaults.maxNewTokens), min: "1" });
  const temperature = input("temperature", { type: "number", value: "0.8", min: "0.05", step: "0.05" });
  const topK = input("top-k (0 = off)", { type: "number", value: "0", min: "0" });
  const topP = input("top-p", { type: "number", value: "0.95", min: "0.01", max: "1", step: "0.01" });
  const latents = input("latents", { type: "range", min: "1", max: "1", value: "1" });
  const latentsShown = document.createElement("span");
  box.append(latentsShown);
  const seed = input("seed", { type: "number", value: "0" });
  const show = () => (latentsShown.textContent = `${latents.value} of ${latents.max}`);
  latents.addEventListener("input", show);
  show();
  return {
    read: () => ({
      maxNewTokens: Number(tokens.value),
      temperature: Number(temperature.value),
      topK: Number(topK.value),
      topP: Number(topP.value),
      maxLatents: Number(latents.value),
      seed: Number(seed.value),
    }),
    setModel: (info) => {
      latents.max = String(info.maxLatents);
      latents.value = String(info.maxLatents);
      show();
    },
  };
}

export function describeInfo(info: ModelInfo): string {
  return `${info.source}: ${formatCount(info.parameters)} parameters, context ${info.maxSeqLen}, ${info.maxLatents} latents, vocabulary ${info.vocabSize}, tokenizer ${info.tokenizer}`;
}
