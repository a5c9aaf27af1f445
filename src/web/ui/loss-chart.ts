// The live loss chart: training loss per step and validation loss, on one canvas, redrawn at most
// once an animation frame (so a burst of steps costs one draw).

export class LossChart {
  private readonly train: [number, number][] = [];
  private readonly val: [number, number][] = [];
  private scheduled = false;

  private readonly ctx: CanvasRenderingContext2D;

  constructor(private readonly canvas: HTMLCanvasElement) {
    // The first context and draw of a canvas can take ~100 ms (software rendering): do it now,
    // while the page loads, not in the frame that shows the first step.
    this.ctx = canvas.getContext("2d")!;
    this.draw();
  }

  clear(): void {
    this.train.length = 0;
    this.val.length = 0;
    this.schedule();
  }

  addTrain(step: number, loss: number): void {
    this.train.push([step, loss]);
    this.schedule();
  }

  addValidation(step: number, loss: number): void {
    this.val.push([step, loss]);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.draw();
    });
  }

  private draw(): void {
    const c = this.ctx;
    const { width: W, height: H } = this.canvas;
    const pad = 36;
    c.clearRect(0, 0, W, H);
    c.strokeStyle = "#999";
    c.strokeRect(pad, pad, W - 2 * pad, H - 2 * pad);
    c.fillStyle = "#444";
    c.font = "11px sans-serif";
    const all = [...this.train, ...this.val];
    if (all.length === 0) {
      c.fillText("loss (no steps yet)", pad + 6, pad + 14); // also the first text draw: font set-up now, not mid-run
      return;
    }
    const maxStep = Math.max(...all.map((p) => p[0]), 1);
    const lo = Math.min(...all.map((p) => p[1]));
    const hi = Math.max(...all.map((p) => p[1]));
    const span = hi - lo || 1;
    const x = (s: number) => pad + ((W - 2 * pad) * s) / maxStep;
    const y = (l: number) => H - pad - ((H - 2 * pad) * (l - lo)) / span;
    c.fillText(hi.toFixed(2), 2, pad + 4);
    c.fillText(lo.toFixed(2), 2, H - pad);
    c.fillText(`step ${maxStep}`, W - pad - 50, H - pad + 14);
    const line = (pts: [number, number][], color: string) => {
      c.strokeStyle = color;
      c.beginPath();
      pts.forEach(([s, l], i) => (i === 0 ? c.moveTo(x(s), y(l)) : c.lineTo(x(s), y(l))));
      c.stroke();
      for (const [s, l] of pts.length < 40 ? pts : []) c.fillRect(x(s) - 1.5, y(l) - 1.5, 3, 3);
    };
    line(this.train, "#1f6feb");
    line(this.val, "#d1242f");
    c.fillStyle = "#1f6feb";
    c.fillText("training", pad + 6, pad + 14);
    c.fillStyle = "#d1242f";
    c.fillText("validation", pad + 70, pad + 14);
  }
}
