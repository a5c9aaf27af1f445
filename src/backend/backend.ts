// The compute backend contract: every numeric kernel the model needs, on raw typed arrays.
//
// A backend is a bag of synchronous kernels over row-major Float32Arrays whose sizes are passed
// explicitly. The `reference` backend implements them as plain TypeScript loops and is the
// oracle; faster backends (native C++, later WASM/WebGPU) implement the same functions and are
// tested against it. Model and autograd code only ever talk to this interface.
//
// One description of every kernel's arguments: `KERNELS` below (kinds, lengths, which arguments
// are written and which may alias). `validate.ts` checks every call against it, for every backend
// (backend selection hands out only validated backends, see `select.ts`); the native addon carries
// the same argument strings in its registration table (`native/csrc/addon.cc`) and is refused at
// load time when they differ. Adding a kernel: its method here and its `KERNELS` row, the
// reference loop, the native kernel (declared in csrc/common.h) and its one addon table row, and
// for the wasm backend its export (wasm/csrc/exports.cc, declared in wasm/module.ts); nothing in
// the TypeScript loaders or the validation changes.
//
// Conventions shared by all kernels:
// - Shapes are given in the comment of each kernel; sizes are element counts, not bytes.
// - Forward kernels OVERWRITE their outputs.
// - Backward kernels ACCUMULATE (+=) into their gradient outputs, so that a tensor used by several
//   ops sums its gradients without extra buffers. Callers zero gradient buffers before use.
// - Same inputs give bit-identical outputs on every call (no dependence on thread timing); the
//   native backend also gives the same bits at any thread count (test/native-determinism.test.ts).
//
// Ownership, views and aliasing (enforced by `validated()` where it can be checked):
// - The CALLER allocates every argument array, owns it, and frees it (drops it; for the pooled
//   buffers of a training step, gives it back to the BufferPool). A kernel never keeps a
//   reference to an argument after it returns, never frees one, and allocates nothing the caller
//   sees; a backend may keep private scratch of its own (the native thread pool's grow-only
//   per-thread buffers), which it allocates and frees itself.
// - Every array argument may be a view (`subarray`) anywhere in a larger buffer, a plain
//   ArrayBuffer or a SharedArrayBuffer. A kernel touches only the first `length` elements the
//   `KERNELS` row gives for it (e.g. m·k of `a` for matmul) and ignores the rest of the view, so a
//   capacity-sized KV cache can be passed with a smaller `keys` count.
// - Read-only arguments may overlap each other freely (add(a, a, out) is fine). An argument the
//   kernel WRITES must not overlap any other argument, except where its `KERNELS` row allows an
//   exact alias (same buffer, same start): add's `out` may be `a` or `b`, rotaryForward's `y` may
//   be `x`. Anything else is refused by validation (a partial overlap would give
//   order-dependent garbage on a threaded backend).
//
// Storage: who allocates tensors (the optional `storage` member, `BackendStorage` below).
// - A backend without `storage` (reference, native) computes on any Float32Array: the engine
//   makes tensors with `new Float32Array` (src/backend/storage.ts `allocFloat32`).
// - A backend whose kernels need their data somewhere else provides `storage`, and the engine
//   asks it for every tensor it creates for that backend: Graph.alloc and op outputs, BufferPool,
//   ParameterStore (parameters and their gradients), AdamW's moments, the KV caches of
//   generation. Every other array is still a valid argument: such a backend copies it in (and a
//   written one back) per call, so correctness never depends on where an array came from, only
//   the speed does.
// - WebAssembly (src/backend/wasm/): storage hands out Float32Array views of the module's linear
//   memory, so a kernel call copies nothing and the kernel signatures do not change. A view made
//   at allocation stays valid for the block's life: the threaded build's memory is shared, and
//   growing a shared memory never detaches a view (only `memory.buffer` returns a new, longer
//   SharedArrayBuffer object); the single-threaded build's memory is not shared, so it is created
//   at its final size and never grows (growing would detach every view). A block is freed by
//   `free`, or when the garbage collector reclaims the view (a FinalizationRegistry): keep the
//   view `allocFloat32` returned reachable while any subarray of it is used across an await.
// - GPU (WebGPU), room for later: tensors are device buffers, not typed arrays. The interface
//   becomes generic in its storage type (`Backend<S>`, S = Float32Array here, GPUBuffer there),
//   `BackendStorage<S>` gains `write(host -> S)` and `read(S -> host)`, the engine's tensors hold S,
//   and only `read` shows values to JavaScript; the `KERNELS` descriptions (element counts,
//   written arguments, allowed aliases) and the ownership rules above carry over unchanged, and
//   kernels may then run asynchronously as long as `read` waits for them.

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

/**
 * Tensor storage of a backend whose kernels need their data in its own memory (see the header).
 * Arrays it returns are ordinary Float32Arrays (views), usable by any code and any backend.
 */
export interface BackendStorage {
  /** A zero-filled array of n elements in the backend's memory; the caller owns it. */
  allocFloat32(n: number): Float32Array;
  /**
   * Gives back an array `allocFloat32` returned; it must not be used (nor any subarray of it)
   * afterwards. Optional for the caller: an array never freed is reclaimed with its view.
   */
  free(a: Float32Array): void;
  /** Whether `a` is an array `allocFloat32` returned and that was not freed. */
  owns(a: Float32Array): boolean;
}

export interface Backend {
  /** Short name: "reference", "native", "wasm", ... */
  readonly name: string;

  /** Where the engine allocates this backend's tensors; absent: plain Float32Arrays. */
  readonly storage?: BackendStorage;

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

  /**
   * Int8 weight-only product (generation with int8 weights): y (m, n) = x (m, k) · Wᵀ where
   * W[j, :] = scale[j] · wq[j, :], wq (n, k) int8 row-major, scale (n). y is overwritten.
   */
  matmulInt8(x: Float32Array, wq: Int8Array, scale: Float32Array, y: Float32Array, m: number, n: number, k: number): void;

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
   * A query row whose every visible key is masked (by the pad mask and/or the causal limit) gets,
   * as the reference PyTorch implementation computes it (it fills masked scores with -finfo.max,
   * not -inf), a UNIFORM softmax over all Tk keys of the call, future and padded keys included:
   * out = the mean of all Tk value rows, and lse = -Infinity marks the row. With Tk = 0, out = 0.
   * (A padded latent whose padding covers the whole prefix is such a row; the real latents read
   * its output in self-attention, so this is visible in their logits: golden case `padlat/`.)
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
   * Accumulates dq (B, Tq, H, D), dk and dv (B, Tk, H, D). A row marked lse = -Infinity (the
   * uniform row above) adds dout/Tk to dv of every key and nothing to dq or dk: all its scores
   * were masked constants.
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
   * Labels must lie in [0, vocab) or equal ignoreIndex (checked by validation).
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

/** The kernels of a Backend: every member but `name` and `storage`. */
export type KernelName = Exclude<keyof Backend, "name" | "storage">;

/**
 * One kernel's arguments, the single description that validation (`validate.ts`) and the native
 * addon's registration table (`native/csrc/addon.cc`, same strings, compared at load) are built on.
 *
 * `args` lists the arguments in call order, comma-separated, each as `kind[length] name`:
 * - kinds: `f32`, `i32`, `i8`, `u8` (Float32Array, Int32Array, Int8Array, Uint8Array; `u8?` also takes null),
 *   `size` (a non-negative safe integer), `int` (a safe integer), `num` (a finite number), `bool`,
 *   `attn` (an AttentionShape: its fields batch, heads, queries, keys, headDim are sizes that
 *   lengths may name, causalOffset is an int or null, scale a num) and `adamw` (an AdamWStep:
 *   lr, beta1, beta2, eps, weightDecay, t, all nums);
 * - `[length]` (arrays only) is a product of size names and integer literals: the array must hold
 *   at least that many elements, and the kernel touches only those. Without it, any length.
 * Value checks that a length cannot express (index and label ranges, rotDim) are in validate.ts.
 */
export interface KernelSpec {
  readonly args: string;
  /** Arrays the kernel writes: they must not overlap any other argument... */
  readonly writes: readonly string[];
  /** ...except the exact aliases (same buffer, same start) listed here. */
  readonly mayAlias?: Readonly<Record<string, readonly string[]>>;
}

export const KERNELS: { readonly [N in KernelName]: KernelSpec } = {
  matmul: {
    args: "f32[m*k] a, f32[k*n] b, f32[m*n] c, size m, size n, size k, bool transA, bool transB, bool accumulate",
    writes: ["c"],
  },
  matmulInt8: { args: "f32[m*k] x, i8[n*k] wq, f32[n] scale, f32[m*n] y, size m, size n, size k", writes: ["y"] },
  addBias: { args: "f32[rows*cols] out, f32[cols] bias, size rows, size cols", writes: ["out"] },
  sumRows: { args: "f32[rows*cols] dout, f32[cols] dbias, size rows, size cols", writes: ["dbias"] },
  layerNormForward: {
    args: "f32[rows*cols] x, f32[cols] gamma, f32[cols] beta, f32[rows*cols] y, f32[rows] mean, f32[rows] rstd, size rows, size cols, num eps",
    writes: ["y", "mean", "rstd"],
  },
  layerNormBackward: {
    args: "f32[rows*cols] dy, f32[rows*cols] x, f32[cols] gamma, f32[rows] mean, f32[rows] rstd, f32[rows*cols] dx, f32[cols] dgamma, f32[cols] dbeta, size rows, size cols",
    writes: ["dx", "dgamma", "dbeta"],
  },
  geluForward: { args: "f32[n] x, f32[n] y, size n", writes: ["y"] },
  geluBackward: { args: "f32[n] x, f32[n] dy, f32[n] dx, size n", writes: ["dx"] },
  add: { args: "f32[n] a, f32[n] b, f32[n] out, size n", writes: ["out"], mayAlias: { out: ["a", "b"] } },
  axpy: { args: "num alpha, f32[n] src, f32[n] dst, size n", writes: ["dst"] },
  gatherRows: { args: "f32 src, i32[count] index, f32[count*cols] dst, size count, size cols", writes: ["dst"] },
  scatterAddRows: { args: "f32[count*cols] ddst, i32[count] index, f32 dsrc, size count, size cols", writes: ["dsrc"] },
  rotaryForward: {
    args: "f32[rows*heads*headDim] x, f32[rows*rotDim] cos, f32[rows*rotDim] sin, f32[rows*heads*headDim] y, size rows, size heads, size headDim, size rotDim",
    writes: ["y"],
    mayAlias: { y: ["x"] },
  },
  rotaryBackward: {
    args: "f32[rows*heads*headDim] dy, f32[rows*rotDim] cos, f32[rows*rotDim] sin, f32[rows*heads*headDim] dx, size rows, size heads, size headDim, size rotDim",
    writes: ["dx"],
  },
  attentionForward: {
    args: "attn s, f32[batch*queries*heads*headDim] q, f32[batch*keys*heads*headDim] k, f32[batch*keys*heads*headDim] v, u8?[batch*keys] keyPad, f32[batch*queries*heads*headDim] out, f32[batch*heads*queries] lse",
    writes: ["out", "lse"],
  },
  attentionBackward: {
    args: "attn s, f32[batch*queries*heads*headDim] q, f32[batch*keys*heads*headDim] k, f32[batch*keys*heads*headDim] v, u8?[batch*keys] keyPad, f32[batch*queries*heads*headDim] out, f32[batch*queries*heads*headDim] dout, f32[batch*heads*queries] lse, f32[batch*queries*heads*headDim] dq, f32[batch*keys*heads*headDim] dk, f32[batch*keys*heads*headDim] dv",
    writes: ["dq", "dk", "dv"],
  },
  crossEntropyForward: {
    args: "f32[rows*vocab] logits, i32[rows] labels, f32[rows] lse, f32[rows] losses, size rows, size vocab, int ignoreIndex",
    writes: ["lse", "losses"],
  },
  crossEntropyBackward: {
    args: "f32[rows*vocab] logits, i32[rows] labels, f32[rows] lse, f32[rows*vocab] dlogits, size rows, size vocab, int ignoreIndex, num scale",
    writes: ["dlogits"],
  },
  adamw: { args: "f32[n] param, f32[n] grad, f32[n] m, f32[n] v, size n, adamw o", writes: ["param", "m", "v"] },
};
