// Text generation in the worker: the prompt through the model's tokenizer, tokens sampled with the
// page's settings and streamed to the page as text pieces (a streaming decoder keeps multi-byte
// characters whole), with tokens/s and the time to the first token.

import { createStreamingDecoder, generateStream, type PerceiverAR, type Tokenizer } from "../../index.browser.js";
import type { SamplingSettings } from "../protocol.js";
import { emit, type WorkerContext } from "./context.js";

/** Sampling options of the page's settings (0 = off for topK, maxLatents). */
export function samplingOptions(model: PerceiverAR, s: SamplingSettings) {
  return {
    maxNewTokens: s.maxNewTokens,
    temperature: s.temperature,
    topP: s.topP,
    seed: s.seed,
    ...(s.topK > 0 ? { topK: s.topK } : {}),
    ...(s.maxLatents > 0 ? { maxLatents: Math.min(s.maxLatents, model.config.maxLatents) } : {}),
  };
}

/** Streams tokens of `model` after `prompt` to `onToken`; returns the tokens and the timing. */
export async function streamTokens(ctx: WorkerContext, model: PerceiverAR, prompt: ArrayLike<number>, s: SamplingSettings, onToken: (token: number, elapsedMs: number, firstTokenMs: number) => void) {
  const t0 = performance.now();
  let first = 0;
  const out: number[] = [];
  ctx.stopGeneration = false;
  for await (const t of generateStream(model, prompt, samplingOptions(model, s))) {
    const now = performance.now() - t0;
    if (out.length === 0) first = now;
    out.push(t);
    onToken(t, now, first);
    if (ctx.stopGeneration) break;
  }
  const ms = performance.now() - t0;
  return { tokens: out, ms, firstTokenMs: first };
}

export async function generateText(ctx: WorkerContext, prompt: string, s: SamplingSettings) {
  const slot = ctx.models.text;
  if (slot === undefined) throw new Error("no text model: train one, or load a model folder or URL first");
  const tok: Tokenizer | null = slot.tokenizer;
  if (tok === null) throw new Error(`the model (vocabulary ${slot.info.vocabSize}) has no tokenizer: drop its tokenizer.json with the model files`);
  const ids = tok.encode(prompt);
  if (ids.length === 0) throw new RangeError("prompt: type at least one character");
  const decoder = createStreamingDecoder(tok);
  let n = 0;
  const r = await streamTokens(ctx, slot.model, ids, s, (t, elapsed, first) => {
    const piece = decoder.push(t);
    n++;
    emit({ kind: "text", piece, tokens: n, tokensPerSec: (n * 1000) / Math.max(1e-3, elapsed), firstTokenMs: first });
  });
  const tail = decoder.flush();
  if (tail !== "") emit({ kind: "text", piece: tail, tokens: r.tokens.length, tokensPerSec: (r.tokens.length * 1000) / r.ms, firstTokenMs: r.firstTokenMs });
  return { tokens: r.tokens.length, ms: r.ms, firstTokenMs: r.firstTokenMs, tokensPerSec: (r.tokens.length * 1000) / r.ms };
}
