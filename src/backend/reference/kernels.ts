// The reference kernels: every kernel of `Backend` as plain, readable TypeScript loops, WITHOUT
// argument validation (they assume a call that passed `validated()`; use `referenceBackend` from
// ./index.ts, which is the validated one).
//
// They are the oracle that faster backends are tested against, and they run anywhere (browser
// included). Accumulations that decide accuracy (dot products, norms, softmax sums) are done in
// float64 JavaScript numbers and rounded to float32 on store.

import type { AdamWStep, AttentionShape, Backend } from "../backend.js";
import { erf } from "./erf.js";

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const referenceKernels: Backend = {
  name: "reference",

  matmul(a, b, c, m, n, k, transA, transB, accumulate) {
    // op(A)[i, p] = transA ? a[p*m + i] : a[i*k + p];  op(B)[p, j] = transB ? b[j*k + p] : b[p*n + j]
    const row = new Float64Array(n);
    for (let i = 0; i < m; i++) {
      row.fill(0);
      for (let p = 0; p < k; p++) {
        const aip = transA ? a[p * m + i] : a[i * k + p];
        if (aip === 0) continue;
        if (transB) {
          for (let j = 0; j < n; j++) row[j] += aip * b[j * k + p];
        } else {
          const off = p * n;
          for (let j = 0; j < n; j++) row[j] += aip * b[off + j];
        }
      }
      const off = i * n;
      if (accumulate) for (let j = 0; j < n; j++) c[off + j] += row[j];
      else for (let j = 0; j < n; j++) c[off + j] = row[j];
    }
  },

  matmulInt8(x, wq, scale, y, m, n, k) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0; // float64
        for (let p = 0; p < k; p++) acc += x[i * k + p] * wq[j * k + p];
        y[i * n + j] = acc * scale[j];
      }
    }
  },

  addBias(out, bias, rows, cols) {
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      for (let j = 0; j < cols; j++) out[off + j] += bias[j];
    }
  },

  sumRows(dout, dbias, rows, cols) {
    const acc = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      for (let j = 0; j < cols; j++) acc[j] += dout[off + j];
    }
    for (let j = 0; j < cols; j++) dbias[j] += acc[j];
  },

  layerNormForward(x, gamma, beta, y, mean, rstd, rows, cols, eps) {
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      let s = 0;
      for (let j = 0; j < cols; j++) s += x[off + j];
      const mu = s / cols;
      let v = 0;
      for (let j = 0; j < cols; j++) {
        const d = x[off + j] - mu;
        v += d * d;
      }
      const rs = 1 / Math.sqrt(v / cols + eps);
      mean[r] = mu;
      rstd[r] = rs;
      for (let j = 0; j < cols; j++) y[off + j] = (x[off + j] - mu) * rs * gamma[j] + beta[j];
    }
  },

  layerNormBackward(dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols) {
    // xhat = (x - mu)·rstd;  dxhat = dy·gamma
    // dx = rstd · (dxhat - mean(dxhat) - xhat · mean(dxhat · xhat))
    const dg = new Float64Array(cols);
    const db = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const off = r * cols;
      const mu = mean[r];
      const rs = rstd[r];
      let sumD = 0;
      let sumDX = 0;
      for (let j = 0; j < cols; j++) {
        const xhat = (x[off + j] - mu) * rs;
        const d = dy[off + j] * gamma[j];
        sumD += d;
        sumDX += d * xhat;
        dg[j] += dy[off + j] * xhat;
        db[j] += dy[off + j];
      }
      const mD = sumD / cols;
      const mDX = sumDX / cols;
      for (let j = 0; j < cols; j++) {
        const xhat = (x[off + j] - mu) * rs;
        const d = dy[off + j] * gamma[j];
        dx[off + j] += rs * (d - mD - xhat * mDX);
      }
    }
    for (let j = 0; j < cols; j++) {
      dgamma[j] += dg[j];
      dbeta[j] += db[j];
    }
  },

  geluForward(x, y, n) {
    for (let i = 0; i < n; i++) {
      const v = x[i];
      y[i] = 0.5 * v * (1 + erf(v * SQRT1_2));
    }
  },

  geluBackward(x, dy, dx, n) {
    // d/dx [x·Φ(x)] = Φ(x) + x·φ(x)
    for (let i = 0; i < n; i++) {
      const v = x[i];
      const cdf = 0.5 * (1 + erf(v * SQRT1_2));
      const pdf = INV_SQRT_2PI * Math.exp(-0.5 * v * v);
      dx[i] += dy[i] * (cdf + v * pdf);
    }
  },

  add(a, b, out, n) {
    for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
  },

  axpy(alpha, src, dst, n) {
    for (let i = 0; i < n; i++) dst[i] += alpha * src[i];
  },

  gatherRows(src, index, dst, count, cols) {
    for (let i = 0; i < count; i++) {
      const s = index[i] * cols;
      dst.set(src.subarray(s, s + cols), i * cols);
    }
  },

  scatterAddRows(ddst, index, dsrc, count, cols) {
    for (let i = 0; i < count; i++) {
      const s = index[i] * cols;
      const d = i * cols;
      for (let j = 0; j < cols; j++) dsrc[s + j] += ddst[d + j];
    }
  },

  rotaryForward(x, cos, sin, y, rows, heads, headDim, rotDim) {
    const width = heads * headDim;
    for (let r = 0; r < rows; r++) {
      const ang = r * rotDim;
      for (let h = 0; h < heads; h++) {
        const off = r * width + h * headDim;
        for (let c = 0; c < rotDim; c += 2) {
          const x0 = x[off + c];
          const x1 = x[off + c + 1];
          y[off + c] = x0 * cos[ang + c] - x1 * sin[ang + c];
          y[off + c + 1] = x1 * cos[ang + c + 1] + x0 * sin[ang + c + 1];
        }
        if (y !== x) for (let c = rotDim; c < headDim; c++) y[off + c] = x[off + c];
      }
    }
  },

  rotaryBackward(dy, cos, sin, dx, rows, heads, headDim, rotDim) {
    // Forward: y0 = x0·c0 - x1·s0, y1 = x1·c1 + x0·s1  =>  dx0 = dy0·c0 + dy1·s1, dx1 = dy1·c1 - dy0·s0
    const width = heads * headDim;
    for (let r = 0; r < rows; r++) {
      const ang = r * rotDim;
      for (let h = 0; h < heads; h++) {
        const off = r * width + h * headDim;
        for (let c = 0; c < rotDim; c += 2) {
          const g0 = dy[off + c];
          const g1 = dy[off + c + 1];
          dx[off + c] += g0 * cos[ang + c] + g1 * sin[ang + c + 1];
          dx[off + c + 1] += g1 * cos[ang + c + 1] - g0 * sin[ang + c];
        }
        for (let c = rotDim; c < headDim; c++) dx[off + c] += dy[off + c];
      }
    }
  },

  attentionForward(s, q, k, v, keyPad, out, lse) {
    const { batch: B, heads: H, queries: Tq, keys: Tk, headDim: D } = s;
    const W = H * D;
    const p = new Float64Array(Tk);
    const acc = new Float64Array(D);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < Tq; i++) {
          const qOff = (b * Tq + i) * W + h * D;
          const last = visibleKeyEnd(s, i);
          let max = -Infinity;
          for (let j = 0; j < last; j++) {
            if (keyPad !== null && keyPad[b * Tk + j] !== 0) {
              p[j] = -Infinity;
              continue;
            }
            const kOff = (b * Tk + j) * W + h * D;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qOff + d] * k[kOff + d];
            p[j] = dot * s.scale;
            if (p[j] > max) max = p[j];
          }
          acc.fill(0);
          const oOff = qOff;
          if (max === -Infinity) {
            // No visible unpadded key: the reference's uniform softmax over all Tk keys.
            if (Tk > 0) for (let j = 0; j < Tk; j++) addRow(acc, v, (b * Tk + j) * W + h * D, 1);
            for (let d = 0; d < D; d++) out[oOff + d] = Tk > 0 ? acc[d] / Tk : 0;
            lse[(b * H + h) * Tq + i] = -Infinity;
            continue;
          }
          let sum = 0;
          for (let j = 0; j < last; j++) {
            if (p[j] === -Infinity) continue;
            const e = Math.exp(p[j] - max);
            sum += e;
            addRow(acc, v, (b * Tk + j) * W + h * D, e);
          }
          for (let d = 0; d < D; d++) out[oOff + d] = acc[d] / sum;
          lse[(b * H + h) * Tq + i] = max + Math.log(sum);
        }
      }
    }
  },

  attentionBackward(s, q, k, v, keyPad, out, dout, lse, dq, dk, dv) {
    // P = exp(S - lse); dV += P^T dO; dP = dO V^T; dS = P ∘ (dP - rowsum(dO ∘ O)); dQ += scale·dS K; dK += scale·dS^T Q
    // A row with lse = -Infinity had the uniform softmax over all Tk keys: dV += dO / Tk for every
    // key, and no gradient into q or k (every score of the row was masked).
    const { batch: B, heads: H, queries: Tq, keys: Tk, headDim: D } = s;
    const W = H * D;
    const uniform = new Float64Array(D);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        uniform.fill(0);
        let uniformRows = 0;
        for (let i = 0; i < Tq; i++) {
          const l = lse[(b * H + h) * Tq + i];
          const qOff = (b * Tq + i) * W + h * D;
          if (l === -Infinity) {
            addRow(uniform, dout, qOff, 1);
            uniformRows++;
            continue;
          }
          let delta = 0;
          for (let d = 0; d < D; d++) delta += dout[qOff + d] * out[qOff + d];
          const last = visibleKeyEnd(s, i);
          for (let j = 0; j < last; j++) {
            if (keyPad !== null && keyPad[b * Tk + j] !== 0) continue;
            const kOff = (b * Tk + j) * W + h * D;
            let dot = 0;
            let dp = 0;
            for (let d = 0; d < D; d++) {
              dot += q[qOff + d] * k[kOff + d];
              dp += dout[qOff + d] * v[kOff + d];
            }
            const pij = Math.exp(dot * s.scale - l);
            const ds = pij * (dp - delta) * s.scale;
            for (let d = 0; d < D; d++) {
              dv[kOff + d] += pij * dout[qOff + d];
              dq[qOff + d] += ds * k[kOff + d];
              dk[kOff + d] += ds * q[qOff + d];
            }
          }
        }
        if (uniformRows === 0 || Tk === 0) continue;
        for (let j = 0; j < Tk; j++) {
          const kOff = (b * Tk + j) * W + h * D;
          for (let d = 0; d < D; d++) dv[kOff + d] += uniform[d] / Tk;
        }
      }
    }
  },

  crossEntropyForward(logits, labels, lse, losses, rows, vocab, ignoreIndex) {
    for (let r = 0; r < rows; r++) {
      const off = r * vocab;
      let max = -Infinity;
      for (let j = 0; j < vocab; j++) if (logits[off + j] > max) max = logits[off + j];
      let sum = 0;
      for (let j = 0; j < vocab; j++) sum += Math.exp(logits[off + j] - max);
      const l = max + Math.log(sum);
      lse[r] = l;
      const y = labels[r];
      losses[r] = y === ignoreIndex ? 0 : l - logits[off + y];
    }
  },

  crossEntropyBackward(logits, labels, lse, dlogits, rows, vocab, ignoreIndex, scale) {
    for (let r = 0; r < rows; r++) {
      const y = labels[r];
      if (y === ignoreIndex) continue;
      const off = r * vocab;
      const l = lse[r];
      for (let j = 0; j < vocab; j++) dlogits[off + j] += scale * Math.exp(logits[off + j] - l);
      dlogits[off + y] -= scale;
    }
  },

  adamw(param, grad, m, v, n, o: AdamWStep) {
    const bc1 = 1 - Math.pow(o.beta1, o.t);
    const bc2 = 1 - Math.pow(o.beta2, o.t);
    for (let i = 0; i < n; i++) {
      const g = grad[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const update = m[i] / bc1 / (Math.sqrt(v[i] / bc2) + o.eps);
      param[i] -= o.lr * (update + o.weightDecay * param[i]);
    }
  },
};

/** acc[0:D) += scale · x[off : off + D). */
function addRow(acc: Float64Array, x: Float32Array, off: number, scale: number): void {
  for (let d = 0; d < acc.length; d++) acc[d] += scale * x[off + d];
}

/** Number of keys query i may see: min(Tk, causalOffset + i + 1), or Tk without causality. */
function visibleKeyEnd(s: AttentionShape, i: number): number {
  if (s.causalOffset === null) return s.keys;
  return Math.max(0, Math.min(s.keys, s.causalOffset + i + 1));
}
