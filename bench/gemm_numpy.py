"""Times numpy (BLAS) sgemm for the shapes given as JSON on argv[1]; prints JSON results.

Each shape: {"m", "n", "k", "tA", "tB"}; A is stored (k, m) when tA, B is stored (n, k) when tB,
exactly like the perceiver-ar Backend.matmul contract. Transposes are numpy views (no copies), so
BLAS sees the transpose flags. Result: best-of-5 GFLOP/s per shape, plus the BLAS config in use.
Each result is validated before it is timed: every entry within (k + 2)·2^-24·Σ|a·b| of the float64
product (the error bound of a float32 sum of k + 1 terms); a wrong result exits with status 1.
"""
import json
import os
import sys
import time

import numpy as np


def validate(A, B, c, shape):
    A64, B64 = A.astype(np.float64), B.astype(np.float64)
    err = np.abs(c - A64 @ B64)
    bound = (A.shape[1] + 2) * 2.0**-24 * (np.abs(A64) @ np.abs(B64))
    if not np.all(err <= bound):
        i, j = np.unravel_index(np.argmax(err - bound), err.shape)
        sys.exit(f"numpy result wrong for (m, n, k, tA, tB) = {shape}: C({i}, {j}) error {err[i, j]:.3e}"
                 f" > bound {bound[i, j]:.3e}: not timing it")


def bench(m, n, k, tA, tB, min_time):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if tA else (m, k), dtype=np.float32)
    b = rng.standard_normal((n, k) if tB else (k, n), dtype=np.float32)
    A = a.T if tA else a
    B = b.T if tB else b
    c = np.empty((m, n), dtype=np.float32)
    np.matmul(A, B, out=c)
    validate(A, B, c, (m, n, k, tA, tB))
    reps = 1
    while True:
        t = time.perf_counter()
        for _ in range(reps):
            np.matmul(A, B, out=c)
        dt = time.perf_counter() - t
        if dt >= min_time:
            break
        reps *= 2
    best = dt / reps
    for _ in range(4):
        t = time.perf_counter()
        for _ in range(reps):
            np.matmul(A, B, out=c)
        best = min(best, (time.perf_counter() - t) / reps)
    return 2.0 * m * n * k / best / 1e9, best * 1e3


def main():
    shapes = json.loads(sys.argv[1])
    min_time = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    out = []
    for s in shapes:
        g, ms = bench(s["m"], s["n"], s["k"], s["tA"], s["tB"], min_time)
        out.append({"gflops": g, "ms": ms})
    cfg = {}
    try:
        info = np.show_config(mode="dicts")
        cfg = info.get("Build Dependencies", {}).get("blas", {})
    except Exception:  # older numpy
        pass
    env = {k: os.environ[k] for k in os.environ if k.startswith("OPENBLAS") or k.startswith("OMP")}
    print(json.dumps({"results": out, "numpy": np.__version__, "blas": cfg.get("name", "?"),
                      "blas_version": cfg.get("version", "?"), "env": env}))


if __name__ == "__main__":
    main()
