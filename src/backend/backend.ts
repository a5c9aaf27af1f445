// The compute backend contract: every numeric kernel the model needs, on raw typed arrays.
//
// A backend is a bag of synchronous kernels over row-major, contiguous Float32Arrays whose sizes
// are passed explicitly. The `reference` backend implements them as plain TypeScript loops and is
// the oracle; faster backends (native C++, later WASM/WebGPU) implement the same functions and
// are tested against it. Model and autograd code only ever talk to this interface.
//
// Conventions shared by all kernels:
// - Shapes are given in the comment of each kernel; sizes are element counts, not bytes.
// - Forward kernels OVERWRITE their outputs.
// - Backward kernels ACCUMULATE (+=) into their gradient outputs, so that a tensor used by several
//   ops sums its gradients without extra buffers. Callers zero gradient buffers before use.
// - Callers validate shapes and index ranges before calling (see `checks.ts`); a kernel may assume
//   its arguments are consistent, but a native kernel must still never write out of bounds for
//   inputs that passed validation.

/** Shape and masking of one fused multi-head attention call. */
export interface AttentionShape {
  /** B: batch size. */
  batch: number;
  /** H: number of heads. */
  heads: number;
  /** Tq: number of query positions. */
  queries: number;
  /** Tk: number of key/value positions. */
  keys: number;
  /** D: channels per head (q, k and v rows have H·D channels). */
  headDim: number;
  /**
   * Causal offset: query i may attend to keys j <= causalOffset + i. `null` disables causal
   * masking (every query sees every key).
   */
  causalOffset: number | null;
  /** Multiplier on q·k before the softmax (usually headDim^-0.5). */
  scale: number;
}

export interface Backend {
  /** Short name: "reference", "native", ... */
  readonly name: string;

  /**
   * GEMM. C (m, n) = op(A) · op(B), or C += op(A) · op(B) when `accumulate`.
   * op(A) is (m, k): A is stored (m, k), or (k, m) when `transA`.
   * op(B) is (k, n): B is stored (k, n), or (n, k) when `transB`.
   */
  matmul(
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void;

  /** out (rows, cols) += bias (cols) broadcast over rows. */
  addBias(out: Float32Array, bias: Float32Array, rows: number, cols: number): void;

  /** dbias (cols) += sum over rows of dout (rows, cols). */
  sumRows(dout: Float32Array, dbias: Float32Array, rows: number, cols: number): void;

  /**
   * LayerNorm over the last axis. x, y: (rows, cols); gamma, beta: (cols);
   * mean, rstd: (rows) saved for the backward pass. rstd = 1/sqrt(var + eps), biased variance.
   */
  layerNormForward(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    y: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;

  /** Accumulates dx (rows, cols), dgamma (cols), dbeta (cols). */
  layerNormBackward(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    rows: number,
    cols: number,
  ): void;

  /** y = GELU(x), erf form: x · Φ(x). n elements. */
  geluForward(x: Float32Array, y: Float32Array, n: number): void;

  /** dx += dy · GELU'(x). n elements. */
  geluBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, n: number): void;

  /** out = a + b, n elements (out may alias a or b). */
  add(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;

  /** dst += alpha · src, n elements. */
  axpy(alpha: number, src: Float32Array, dst: Float32Array, n: number): void;

  /**
   * Row gather: dst[i, :] = src[index[i], :]; dst (count, cols), src (srcRows, cols).
   * Used for embedding lookup and for selecting kept prefix positions.
   */
  gatherRows(
    src: Float32Array,
    index: Int32Array,
    dst: Float32Array,
    count: number,
    cols: number,
  ): void;

  /** Scatter-add, the gradient of gatherRows: dsrc[index[i], :] += ddst[i, :]. */
  scatterAddRows(
    ddst: Float32Array,
    index: Int32Array,
    dsrc: Float32Array,
    count: number,
    cols: number,
  ): void;

  /**
   * Rotary position embedding on the first `rotDim` channels of each head.
   * x, y: (rows, heads·headDim); cos, sin: (rows, rotDim), one angle per channel (each frequency
   * repeated for an adjacent pair). For each head and channel pair (2i, 2i+1) < rotDim:
   *   y[2i]   = x[2i]·cos[2i]     - x[2i+1]·sin[2i]
   *   y[2i+1] = x[2i+1]·cos[2i+1] + x[2i]·sin[2i+1]
   * Channels >= rotDim are copied. y may alias x.
   */
  rotaryForward(
    x: Float32Array,
    cos: Float32Array,
    sin: Float32Array,
    y: Float32Array,
    rows: number,
    heads: number,
    headDim: number,
    rotDim: number,
  ): void;

  /** dx += R^T dy, the transpose of rotaryForward's rotation (channels >= rotDim pass through). */
  rotaryBackward(
    dy: Float32Array,
    cos: Float32Array,
    sin: Float32Array,
    dx: Float32Array,
    rows: number,
    heads: number,
    headDim: number,
    rotDim: number,
  ): void;

  /**
   * Fused multi-head attention, never materialising the (Tq, Tk) score matrix.
   * q: (B, Tq, H, D); k, v: (B, Tk, H, D); keyPad: (B, Tk) with 1 = padding (masked) or null;
   * out: (B, Tq, H, D); lse: (B, H, Tq) the row log-sum-exp of the scaled, masked scores.
   * A query row with no visible key gets out = 0 and lse = -Infinity.
   */
  attentionForward(
    s: AttentionShape,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyPad: Uint8Array | null,
    out: Float32Array,
    lse: Float32Array,
  ): void;

  /**
   * Backward of attentionForward, recomputing probabilities from the saved lse.
   * Accumulates dq (B, Tq, H, D), dk and dv (B, Tk, H, D).
   */
  attentionBackward(
    s: AttentionShape,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    keyPad: Uint8Array | null,
    out: Float32Array,
    dout: Float32Array,
    lse: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
  ): void;

  /**
   * Softmax cross-entropy per row. logits (rows, vocab); labels (rows), a label equal to
   * `ignoreIndex` contributes nothing. Writes lse (rows) and losses (rows; 0 where ignored).
   * Labels are validated to be in [0, vocab) or ignoreIndex by the caller.
   */
  crossEntropyForward(
    logits: Float32Array,
    labels: Int32Array,
    lse: Float32Array,
    losses: Float32Array,
    rows: number,
    vocab: number,
    ignoreIndex: number,
  ): void;

  /** dlogits += scale · (softmax(logits) - onehot(label)) for rows whose label is not ignored. */
  crossEntropyBackward(
    logits: Float32Array,
    labels: Int32Array,
    lse: Float32Array,
    dlogits: Float32Array,
    rows: number,
    vocab: number,
    ignoreIndex: number,
    scale: number,
  ): void;

  /**
   * One AdamW step on n elements (decoupled weight decay, bias-corrected moments):
   *   m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²
   *   p -= lr · ( (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) + weightDecay · p )
   */
  adamw(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    n: number,
    o: AdamWStep,
  ): void;
}

/** Hyper-parameters of one AdamW update (t is the 1-based step number). */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  t: number;
}
