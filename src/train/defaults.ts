// The one set of training defaults. The Trainer fills missing options from it, `perceiver-ar train`
// uses it for flags that were not given and prints it in `train --help`, and the README's
// "Training defaults" table is checked against it (test/readme.test.ts). Change a default here
// and nowhere else.
//
// The values are the ones `npm start` was measured with (the text-small preset on the built-in
// corpus: 1.806 bits/byte over the default validation windows, 1.801 over all 684, after 2,400
// steps in ~3.7 min of training on 2 cores), which is what a small model on a CPU wants. Where
// they differ from the reference (krasserm/perceiver-io examples/training/clm: Adam lr 2e-4,
// betas 0.9/0.999, eps 1e-8, no weight decay, 200 warmup steps decaying to 0, gradient clip 0.5,
// 2 accumulated batches), the reason says why.

/**
 * The values a setting accepts. `max` bounds what is meaningful on any machine this runs on, so
 * that a typo (1e12 steps) is refused before anything is written instead of running for years.
 */
export interface Limit {
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  /** min itself is not allowed (lr > 0). */
  readonly minExclusive?: boolean;
  /** max itself is not allowed (beta < 1). */
  readonly maxExclusive?: boolean;
}

/** One default: its value (or the rule that derives it), the values it accepts, and why it is what it is. */
export interface TrainingDefault<T> {
  readonly value: T;
  /** The value as a person reads it (help text, README). */
  readonly shown: string;
  readonly why: string;
  /** Settable from `perceiver-ar train` as --<kebab-case name>. */
  readonly cli: boolean;
  /** Accepted values of a numeric setting (dependent bounds such as warmupSteps <= maxSteps are checked by the Trainer). */
  readonly limit?: Limit;
}

function d<T>(value: T, why: string, limit?: Limit, cli = true, shown = String(value)): TrainingDefault<T> {
  return { value, shown, why, cli, ...(limit !== undefined ? { limit } : {}) };
}

const int = (min: number, max: number): Limit => ({ integer: true, min, max });
const num = (min: number, max: number, o: { minExclusive?: boolean; maxExclusive?: boolean } = {}): Limit => ({ integer: false, min, max, ...o });

/** Upper bound of step counts and cadences: a billion steps is decades at a step per second. */
const MAX_STEPS = 1_000_000_000;
/** Upper bound of batch sizes and accumulation: 65,536 sequences per micro-batch or micro-batches per step is past any CPU's memory or patience. */
const MAX_BATCH = 65_536;
/** Upper bound of validation windows and sampled tokens: a million is hours of scoring on a CPU. */
const MAX_COUNT = 1_000_000;

/** Every training default, one field a line. */
export const TRAINING_DEFAULTS = {
  maxSteps: d(2400, "the text-small preset reaches ~1.81 bits/byte on SOTU in ~3.7 min on 2 cores (npm start); 1,500 steps gave 1.93", int(1, MAX_STEPS)),
  batchSize: d(8, "sequences per micro-batch; text-small at batch 8 needs ~267 MB (`perceiver-ar info --preset text-small --batch-size 8`)", int(1, MAX_BATCH)),
  gradAccumulation: d(1, "micro-batches per step (reference: 2); raise it for a larger effective batch at the same memory", int(1, MAX_BATCH)),
  lr: d(2e-3, "peak learning rate of the measured npm start run; the reference's 2e-4 is for a far larger model and batch", num(0, 1, { minExclusive: true }), true, "2e-3"),
  warmupSteps: d((maxSteps: number) => Math.min(100, Math.floor(maxSteps / 10)), "linear warmup (reference: 200); a tenth of a short run is enough for a small model", int(0, MAX_STEPS), true, "10% of max steps, at most 100"),
  minLr: d((lr: number) => lr / 10, "end of the cosine decay (reference: 0); lr / 10 is what the npm start run used (2e-4)", num(0, 1), true, "lr / 10"),
  weightDecay: d(0.01, "AdamW decay of weight matrices only (PyTorch AdamW's default; the reference uses none); each step multiplies them by 1 - lr·weightDecay", num(0, 1)),
  clipNorm: d(1.0, "clip the global gradient norm (0 = off); 1.0 as in GPT-2/nanoGPT training (reference: 0.5)", num(0, Number.MAX_VALUE)),
  beta1: d(0.9, "Adam first-moment decay, as the reference", num(0, 1, { maxExclusive: true }), false),
  beta2: d(0.95, "instead of the reference's 0.999: tracks the gradient scale faster, more robust to loss spikes with small batches", num(0, 1, { maxExclusive: true }), false),
  eps: d(1e-8, "Adam denominator epsilon, as the reference", num(0, 1, { minExclusive: true }), false, "1e-8"),
  decayEmbeddings: d(false, "no weight decay on embeddings (they are looked up, not multiplied)", undefined, false),
  decayNorms: d(false, "no weight decay on LayerNorm weights and biases", undefined, false),
  seed: d(0, "seed of initialisation, data order and dropout: the same seed gives the same run", int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)),
  evalEvery: d(400, "validate every n steps (0 = at the end only): 6 validations in a default run", int(0, MAX_STEPS)),
  evalWindows: d<number | null>(
    null,
    "validation windows (0 = none); text and music: 49,152 scored tokens (384 windows at 128 latents, at most 400k input tokens), within ~0.02 bits/byte of the whole validation text, which 16 windows missed by up to 0.2; images: 16 whole images; copy: 16 examples; `eval` scores the same by default",
    int(0, MAX_COUNT),
    true,
    "per task",
  ),
  checkpointEvery: d(250, "checkpoint every n steps (0 = at the end only); a Ctrl-C also checkpoints", int(0, MAX_STEPS)),
  logEvery: d(1, "append a train record to metrics.jsonl every n steps", int(1, MAX_STEPS), false),
  saveBest: d(true, "keep run-folder/best (the weights of the best validation so far)", undefined, false),
  stopAtAccuracy: d<number | null>(null, "stop once a validation's next-token accuracy reaches this fraction; unset = never", num(0, 1, { minExclusive: true }), true, "never"),
  sampleTokens: d(300, "text runs: print a sample of this many tokens at the end (0 = none)", int(0, MAX_COUNT)),
} as const;

/** "an integer in [1, 1000000000]", "a number in (0, 1]". */
export function limitText(l: Limit): string {
  const lo = l.min === Number.MIN_SAFE_INTEGER ? "-(2^53 - 1)" : String(l.min);
  const hi = l.max === Number.MAX_SAFE_INTEGER ? "2^53 - 1" : l.max === Number.MAX_VALUE ? "inf" : String(l.max);
  return `${l.integer ? "an integer" : "a number"} in ${l.minExclusive ? "(" : "["}${lo}, ${hi}${l.maxExclusive || l.max === Number.MAX_VALUE ? ")" : "]"}`;
}

/** True if `v` is a value `l` accepts. */
export function withinLimit(v: unknown, l: Limit): v is number {
  if (typeof v !== "number" || !Number.isFinite(v)) return false;
  if (l.integer && !Number.isInteger(v)) return false;
  if (l.minExclusive ? v <= l.min : v < l.min) return false;
  return l.maxExclusive ? v < l.max : v <= l.max;
}

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

/** Every default as a Markdown table: Trainer option, `train` flag (if any), default, accepted values, why (the README's table). */
export function trainingDefaultsTable(): string {
  const rows = (Object.keys(TRAINING_DEFAULTS) as TrainingDefaultName[]).map((k) => {
    const f: TrainingDefault<unknown> = TRAINING_DEFAULTS[k];
    const range = f.limit !== undefined ? limitText(f.limit).replace(/^an? (integer|number) in /, (_, t: string) => `${t} `) : "true / false";
    return `| \`${k}\` | ${f.cli ? `\`${defaultFlag(k)}\`` : "-"} | ${f.shown} | ${range} | ${f.why} |`;
  });
  return ["| option | train flag | default | accepts | why |", "| --- | --- | --- | --- | --- |", ...rows].join("\n");
}

