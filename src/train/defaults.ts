// The one set of training defaults. The Trainer fills missing options from it, `perceiver-ar train`
// uses it for flags that were not given and prints it in `train --help`, and the README's
// "Training defaults" table is checked against it (test/readme.test.ts). Change a default here
// and nowhere else.
//
// The values are the ones `npm start` was measured with (the text-small preset on the built-in
// corpus: 1.995 bits/byte after 1,500 steps, 2.3 min of training on 2 cores), which is what a
// small model on a CPU wants. Where they differ from the reference (krasserm/perceiver-io
// examples/training/clm: Adam lr 2e-4, betas 0.9/0.999, eps 1e-8, no weight decay, 200 warmup
// steps decaying to 0, gradient clip 0.5, 2 accumulated batches), the reason says why.

/** One default: its value (or the rule that derives it) and why it is what it is. */
export interface TrainingDefault<T> {
  readonly value: T;
  /** The value as a person reads it (help text, README). */
  readonly shown: string;
  readonly why: string;
  /** Settable from `perceiver-ar train` as --<kebab-case name>. */
  readonly cli: boolean;
}

function d<T>(value: T, why: string, cli = true, shown = String(value)): TrainingDefault<T> {
  return { value, shown, why, cli };
}

/** Every training default, one field a line. */
export const TRAINING_DEFAULTS = {
  maxSteps: d(1500, "enough for the text-small preset to reach ~2.0 bits/byte on SOTU in ~2.3 min on 2 cores (npm start)"),
  batchSize: d(8, "sequences per micro-batch; text-small at batch 8 needs ~267 MB (`perceiver-ar info --preset text-small --batch-size 8`)"),
  gradAccumulation: d(1, "micro-batches per step (reference: 2); raise it for a larger effective batch at the same memory"),
  lr: d(2e-3, "peak learning rate of the measured npm start run; the reference's 2e-4 is for a far larger model and batch", true, "2e-3"),
  warmupSteps: d((maxSteps: number) => Math.min(100, Math.floor(maxSteps / 10)), "linear warmup (reference: 200); a tenth of a short run is enough for a small model", true, "10% of max steps, at most 100"),
  minLr: d((lr: number) => lr / 10, "end of the cosine decay (reference: 0); lr / 10 is what the npm start run used (2e-4)", true, "lr / 10"),
  weightDecay: d(0.01, "AdamW decay of weight matrices only (PyTorch AdamW's default; the reference uses none)"),
  clipNorm: d(1.0, "clip the global gradient norm (0 = off); 1.0 as in GPT-2/nanoGPT training (reference: 0.5)"),
  beta1: d(0.9, "Adam first-moment decay, as the reference", false),
  beta2: d(0.95, "instead of the reference's 0.999: tracks the gradient scale faster, more robust to loss spikes with small batches", false),
  eps: d(1e-8, "Adam denominator epsilon, as the reference", false, "1e-8"),
  decayEmbeddings: d(false, "no weight decay on embeddings (they are looked up, not multiplied)", false),
  decayNorms: d(false, "no weight decay on LayerNorm weights and biases", false),
  seed: d(0, "seed of initialisation, data order and dropout: the same seed gives the same run"),
  evalEvery: d(250, "validate every n steps (0 = at the end only): 6 validations in a default run"),
  evalWindows: d(16, "validation windows (images for image runs, examples for copy runs)"),
  checkpointEvery: d(250, "checkpoint every n steps (0 = at the end only); a Ctrl-C also checkpoints"),
  logEvery: d(1, "append a train record to metrics.jsonl every n steps", false),
  saveBest: d(true, "keep run-folder/best (the weights of the best validation so far)", false),
  stopAtAccuracy: d<number | null>(null, "stop once a validation's next-token accuracy reaches this fraction; unset = never", true, "never"),
  sampleTokens: d(300, "text runs: print a sample of this many tokens at the end (0 = none)"),
} as const;

export type TrainingDefaultName = keyof typeof TRAINING_DEFAULTS;

/** Default warmup steps for a run of `maxSteps` steps. */
export function defaultWarmupSteps(maxSteps: number): number {
  return TRAINING_DEFAULTS.warmupSteps.value(maxSteps);
}

/** Default final learning rate for a peak of `lr`. */
export function defaultMinLr(lr: number): number {
  return TRAINING_DEFAULTS.minLr.value(lr);
}

/** The `train` flag of a default: --max-steps for maxSteps. */
export function defaultFlag(name: TrainingDefaultName): string {
  return "--" + name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

/** Every default as a Markdown table: Trainer option, `train` flag (if any), default, why (the README's table). */
export function trainingDefaultsTable(): string {
  const rows = (Object.keys(TRAINING_DEFAULTS) as TrainingDefaultName[]).map((k) => {
    const f = TRAINING_DEFAULTS[k];
    return `| \`${k}\` | ${f.cli ? `\`${defaultFlag(k)}\`` : "-"} | ${f.shown} | ${f.why} |`;
  });
  return ["| option | train flag | default | why |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

