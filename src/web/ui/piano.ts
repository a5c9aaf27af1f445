// A small WebAudio piano: each note is a triangle oscillator with a decaying envelope, scheduled
// at its start time; and a piano roll of the notes on a canvas.

export interface PlayedNote {
  pitch: number;
  start: number;
  end: number;
  velocity: number;
}

/** Release after a note's end, seconds (avoids clicks). */
const RELEASE_SECONDS = 0.05;

export function playNotes(notes: readonly PlayedNote[]): AudioContext {
  const ac = new AudioContext();
  const t0 = ac.currentTime + 0.1;
  for (const n of notes) {
    const osc = ac.createOscillator();
    const gain = ac.createGain();
    osc.type = "triangle";
    osc.frequency.value = 440 * 2 ** ((n.pitch - 69) / 12);
    const peak = 0.25 * (n.velocity / 127);
    gain.gain.setValueAtTime(0, t0 + n.start);
    gain.gain.linearRampToValueAtTime(peak, t0 + n.start + 0.005);
    gain.gain.exponentialRampToValueAtTime(Math.max(1e-4, peak * 0.3), t0 + Math.max(n.start + 0.01, n.end));
    gain.gain.linearRampToValueAtTime(0, t0 + n.end + RELEASE_SECONDS);
    osc.connect(gain).connect(ac.destination);
    osc.start(t0 + n.start);
    osc.stop(t0 + n.end + RELEASE_SECONDS);
  }
  return ac;
}

/** Notes starting before `primerEnd` seconds (the primer) are grey, the continuation blue. */
export function drawPianoRoll(canvas: HTMLCanvasElement, notes: readonly PlayedNote[], primerEnd: number): void {
  const c = canvas.getContext("2d")!;
  const { width: W, height: H } = canvas;
  c.clearRect(0, 0, W, H);
  if (notes.length === 0) return;
  const end = Math.max(...notes.map((n) => n.end));
  const lo = Math.min(...notes.map((n) => n.pitch)) - 1;
  const hi = Math.max(...notes.map((n) => n.pitch)) + 1;
  for (const n of notes) {
    c.fillStyle = n.start < primerEnd ? "#888" : "#1f6feb";
    const y = H - ((n.pitch - lo) / (hi - lo)) * H;
    c.fillRect((n.start / end) * W, y, Math.max(1, ((n.end - n.start) / end) * W), Math.max(2, H / (hi - lo)));
  }
}
