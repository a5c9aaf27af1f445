// TextStreamer: the text of one generated continuation, piece by piece, cut at stop strings.
//
// Contract: `push(token)` takes each generated token and returns the text it completes (possibly
// ""); `finish()` returns what is still held back once generation has ended. The pieces are decoded
// with the prompt as context (data/tokenizer.ts createStreamingDecoder): their concatenation is
// decode(prompt + generated) minus decode(prompt) for prefix-stable tokenizers, so a SentencePiece
// continuation keeps the space before its first word. With stop strings, the text ends right
// before the first occurrence of any of them (the stop string itself is not part of the text, as
// in the OpenAI API), `stopped` turns true when that happens, and text that could still become a
// stop string is held back until it cannot (so no piece ever has to be taken back).

import { createStreamingDecoder, type StreamingDecoder, type Tokenizer } from "../data/tokenizer.js";

export class TextStreamer {
  /** True once a stop string appeared; later pushes return "". */
  stopped = false;
  /** The text emitted so far. */
  text = "";
  private readonly decoder: StreamingDecoder;
  private readonly stops: readonly string[];
  /** Decoded text not yet emitted: a suffix that may be the start of a stop string. */
  private held = "";

  constructor(tokenizer: Tokenizer, prompt: ArrayLike<number>, stops: readonly string[] = []) {
    this.decoder = createStreamingDecoder(tokenizer, prompt);
    this.stops = stops;
  }

  push(token: number): string {
    if (this.stopped) return "";
    return this.take(this.decoder.push(token), false);
  }

  finish(): string {
    if (this.stopped) return "";
    return this.take(this.decoder.flush(), true);
  }

  /** Emit what is certain of held + piece; `final`: nothing more will come. */
  private take(piece: string, final: boolean): string {
    const buf = this.held + piece;
    let cut = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i !== -1 && (cut === -1 || i < cut)) cut = i;
    }
    let out: string;
    if (cut !== -1) {
      out = buf.slice(0, cut);
      this.held = "";
      this.stopped = true;
    } else {
      const keep = final ? 0 : this.longestStopPrefixSuffix(buf);
      out = buf.slice(0, buf.length - keep);
      this.held = buf.slice(buf.length - keep);
    }
    this.text += out;
    return out;
  }

  /** Length of the longest suffix of `s` that is a proper prefix of a stop string. */
  private longestStopPrefixSuffix(s: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, s.length); n > best; n--) {
        if (s.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
