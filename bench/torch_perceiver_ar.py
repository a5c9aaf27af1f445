#!/usr/bin/env python3
"""PyTorch Perceiver AR for benchmarking one training step against the TypeScript model.

Benchmark-only; not part of the npm package and not a project dependency. Needs PyTorch (Debian:
`apt-get install -y python3-torch libopenblas0-pthread`, then run with /usr/bin/python3).

The model is written here from scratch to compute the same function as `src/models/perceiver-ar.ts`
(and krasserm/perceiver-io's CausalSequenceModel) in the abs_pos_emb=True layout:

  x = txt_embedding(ids) + pos_embedding(positions)           positions = arange(N) - pads, >= 0
  latents = x[:, P:], prefix = x[:, :P]                       M = N - P latents
  q_in = LN_q(latents); kv_in = cat(LN_kv(prefix), q_in)      latent keys use the *q* norm
  h = latents + o_proj(attn(rot(q_proj(q_in)), rot(k_proj(kv_in)), v_proj(kv_in)))  (o_proj bias)
      latent i sees keys 0..P+i, padded keys masked; rotary on the first head_dim/2 channels
  h = h + MLP(h)                                              LN -> Linear(C,4C) -> GELU -> Linear(4C,C)
  L x: h = h + SelfAttn(LN(h)) (causal, rotary in the first layer only, no o_proj bias); h += MLP(h)
  logits = h @ txt_embedding.weight^T + output_adapter.bias

Parameter names are the reference's state-dict names, so golden weights load with
`load_state_dict`. Attention is written the plain way (einsum + masked softmax): torch 1.13 (Debian
bookworm) has no `scaled_dot_product_attention`; when a newer torch has it, `--attention sdpa`
uses it.

Usage:
  python3 bench/torch_perceiver_ar.py --seq-len 4096 --latents 512 --channels 256 --heads 4 \
      --layers 5 --vocab 256 --batch 1 --steps 5 --warmup 2 --threads 2
      -> prints one JSON line {median_step_s, min_step_s, step_times_s, baseline_rss_mb,
         peak_rss_mb, losses, gemm_gflops, torch_version, threads, env, ...}; baseline_rss_mb is the
         RSS with the interpreter, numpy and torch loaded and no model yet; gemm_gflops is the best
         1024^3 torch.mm after the steps, in the same process (what its BLAS can do here)
  python3 bench/torch_perceiver_ar.py --init-from DIR --steps 5 --warmup 2 --threads 2
      -> the same, with the model config, weights, tokens and labels of a golden-layout folder
         (config.json, weights.safetensors, meta.json, forward.safetensors: what
         bench/train-step.ts writes from our model); the first step's logits, loss and gradients
         are compared with the folder's (golden tolerances) and reported as "check" {ok, ...}
  python3 bench/torch_perceiver_ar.py --check-golden /work/shared/golden/abs
      -> compares logits / loss / gradients with the golden vectors, prints JSON, exit 1 on mismatch
"""

import argparse
import json
import math
import os
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE_INDEX = -100


# ----------------------------------------------------------------------------------------------
# Model


def rotate_half(x):
    # adjacent pairs: [x1, x2, x3, x4, ...] -> [-x2, x1, -x4, x3, ...]
    x = x.unflatten(-1, (-1, 2))
    x1, x2 = x.unbind(-1)
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def apply_rotary(x, angles):
    """x (B, H, T, D); angles (B, T, r): rotate the first r channels of each head."""
    r = angles.shape[-1]
    a = angles.unsqueeze(1)  # (B, 1, T, r)
    xr, xp = x[..., :r], x[..., r:]
    xr = xr * a.cos() + rotate_half(xr) * a.sin()
    return torch.cat((xr, xp), dim=-1)


class MultiHeadAttention(nn.Module):
    def __init__(self, channels, heads, out_bias, impl):
        super().__init__()
        self.heads = heads
        self.head_dim = channels // heads
        self.impl = impl
        self.q_proj = nn.Linear(channels, channels, bias=False)
        self.k_proj = nn.Linear(channels, channels, bias=False)
        self.v_proj = nn.Linear(channels, channels, bias=False)
        self.o_proj = nn.Linear(channels, channels, bias=out_bias)

    def forward(self, xq, xkv, q_angles, k_angles, causal_offset, key_pad):
        B, Tq, C = xq.shape
        Tk = xkv.shape[1]
        H, D = self.heads, self.head_dim
        q = self.q_proj(xq).view(B, Tq, H, D).transpose(1, 2)  # (B, H, Tq, D)
        k = self.k_proj(xkv).view(B, Tk, H, D).transpose(1, 2)  # (B, H, Tk, D)
        v = self.v_proj(xkv).view(B, Tk, H, D).transpose(1, 2)  # (B, H, Tk, D)
        q = q * D ** -0.5
        if q_angles is not None:
            q = apply_rotary(q, q_angles)
        if k_angles is not None:
            k = apply_rotary(k, k_angles)
        # mask (B or 1, 1, Tq, Tk): True = not visible. Query i sees keys j <= causal_offset + i.
        i = torch.arange(Tq, device=xq.device).unsqueeze(1)
        j = torch.arange(Tk, device=xq.device).unsqueeze(0)
        mask = (j > causal_offset + i).view(1, 1, Tq, Tk)
        if key_pad is not None:
            mask = mask | key_pad.view(B, 1, 1, Tk)
        if self.impl == "sdpa":
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=~mask, scale=1.0)
        else:
            s = torch.einsum("bhid,bhjd->bhij", q, k)  # (B, H, Tq, Tk)
            s = s.masked_fill(mask, torch.finfo(s.dtype).min)
            p = s.softmax(dim=-1)
            o = torch.einsum("bhij,bhjd->bhid", p, v)  # (B, H, Tq, D)
        o = o.transpose(1, 2).reshape(B, Tq, C)
        return self.o_proj(o)


class CrossAttention(nn.Module):
    def __init__(self, channels, heads, impl):
        super().__init__()
        self.q_norm = nn.LayerNorm(channels)
        self.kv_norm = nn.LayerNorm(channels)
        self.attention = MultiHeadAttention(channels, heads, out_bias=True, impl=impl)

    def forward(self, latents, prefix, q_angles, k_angles, key_pad):
        q_in = self.q_norm(latents)
        kv_in = torch.cat((self.kv_norm(prefix), q_in), dim=1) if prefix.shape[1] > 0 else q_in
        return self.attention(q_in, kv_in, q_angles, k_angles, prefix.shape[1], key_pad)


class SelfAttention(nn.Module):
    def __init__(self, channels, heads, impl):
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.attention = MultiHeadAttention(channels, heads, out_bias=False, impl=impl)

    def forward(self, x, angles):
        n = self.norm(x)
        return self.attention(n, n, angles, angles, 0, None)


def mlp(channels, widening):
    return nn.Sequential(
        nn.LayerNorm(channels),
        nn.Linear(channels, widening * channels, bias=False),
        nn.GELU(),  # erf form
        nn.Linear(widening * channels, channels, bias=False),
    )


class Residual(nn.Module):
    """Holds its block as `.module` (the reference's state-dict layout); the caller adds."""

    def __init__(self, module):
        super().__init__()
        self.module = module


class InputAdapter(nn.Module):
    def __init__(self, vocab, max_seq_len, channels, rot_dim):
        super().__init__()
        self.txt_embedding = nn.Embedding(vocab, channels)
        self.pos_embedding = nn.Embedding(max_seq_len, channels)
        self.frq_pos_encoding = nn.Module()
        inv = 1.0 / (10000 ** (torch.arange(0, rot_dim, 2, dtype=torch.float32) / rot_dim))
        self.frq_pos_encoding.register_buffer("inv_freq", inv)


class OutputAdapter(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab))


class PerceiverAR(nn.Module):
    def __init__(self, vocab, max_seq_len, max_latents, channels, heads, layers, rotary_layers=1,
                 widening=4, impl="einsum", init_scale=0.02):
        super().__init__()
        head_dim = channels // heads
        self.max_latents = max_latents
        self.rotary_layers = rotary_layers
        self.input_adapter = InputAdapter(vocab, max_seq_len, channels, head_dim // 2)
        self.cross_attention = nn.Sequential(Residual(CrossAttention(channels, heads, impl)),
                                             Residual(mlp(channels, widening)))
        self.self_attention = nn.ModuleList(
            nn.Sequential(Residual(SelfAttention(channels, heads, impl)), Residual(mlp(channels, widening)))
            for _ in range(layers))
        self.output_adapter = OutputAdapter(vocab)
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=init_scale)
            elif name.endswith("norm.weight") or (p.dim() == 1 and name.endswith(".0.weight")):
                nn.init.ones_(p)
            else:
                nn.init.zeros_(p)

    def forward(self, ids, pad_mask=None, prefix_len=None):
        """ids (B, N) int64; pad_mask (B, N) bool, left padding -> logits (B, M, V)."""
        B, N = ids.shape
        P = max(0, N - self.max_latents) if prefix_len is None else prefix_len
        ia = self.input_adapter
        pads = pad_mask.sum(dim=1, keepdim=True) if pad_mask is not None else 0
        pos = (torch.arange(N, device=ids.device).unsqueeze(0) - pads).clamp(min=0).expand(B, N)
        x = ia.txt_embedding(ids) + ia.pos_embedding(pos)  # (B, N, C)
        inv = ia.frq_pos_encoding.inv_freq
        angles = (pos.unsqueeze(-1).to(inv.dtype) * inv).repeat_interleave(2, dim=-1)  # (B, N, r)

        latents, prefix = x[:, P:], x[:, :P]  # (B, M, C), (B, P, C)
        ca = self.cross_attention[0].module
        h = latents + ca(latents, prefix, angles[:, P:], angles, pad_mask)
        h = h + self.cross_attention[1].module(h)
        lat_angles = angles[:, P:]
        for layer, block in enumerate(self.self_attention):
            use_rot = self.rotary_layers == -1 or layer < self.rotary_layers
            h = h + block[0].module(h, lat_angles if use_rot else None)
            h = h + block[1].module(h)
        return h @ ia.txt_embedding.weight.t() + self.output_adapter.bias  # (B, M, V)


# ----------------------------------------------------------------------------------------------
# safetensors (read only; header = u64 length + JSON, then raw little-endian data). Tensors are
# read one at a time, so that loading a large state dict does not hold a second copy of it.

_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8,
           "F16": np.float16}


class SafetensorsFile:
    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        self.data_start = 8 + n
        self.entries = {k: v for k, v in header.items() if k != "__metadata__"}

    def names(self):
        return list(self.entries)

    def __contains__(self, name):
        return name in self.entries

    def get(self, name):
        info = self.entries[name]
        a, b = info["data_offsets"]
        dt = np.dtype(_DTYPES[info["dtype"]])
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert count * dt.itemsize == b - a, name
        with open(self.path, "rb") as f:
            f.seek(self.data_start + a)
            raw = f.read(b - a)
        return np.frombuffer(raw, dtype=dt, count=count).reshape(info["shape"]).copy()


def load_weights(model, path, dtype):
    """Copy a state dict (reference names, parameters and buffers) into `model`, strictly."""
    st = SafetensorsFile(path)
    own = model.state_dict()
    unknown = sorted(set(st.names()) - set(own))
    missing = sorted(set(own) - set(st.names()))
    if unknown or missing:
        raise SystemExit(f"{path}: state dict does not match the model: unknown {unknown}, missing {missing}")
    with torch.no_grad():
        for name, t in own.items():
            t.copy_(torch.from_numpy(st.get(name)).to(dtype))


def config_model(folder, dtype, impl="einsum"):
    """The model of a golden-layout folder (config.json + weights.safetensors)."""
    cfg = json.load(open(os.path.join(folder, "config.json")))
    assert cfg.get("abs_pos_emb", True) and not cfg.get("output_norm", False) and cfg.get("output_bias", True), \
        "this script models the abs_pos_emb / output-bias layout only"
    model = PerceiverAR(cfg["vocab_size"], cfg["max_seq_len"], cfg["max_latents"], cfg["num_channels"],
                        cfg["num_heads"], cfg["num_self_attention_layers"],
                        cfg.get("num_self_attention_rotary_layers", 1), impl=impl).to(dtype)
    load_weights(model, os.path.join(folder, "weights.safetensors"), dtype)
    return model


def rel(a, b):  # max |a - b| / max(1, |b|) elementwise: "absolute or relative, whichever is larger"
    return float((np.abs(a - b) / np.maximum(1.0, np.abs(b))).max())


def compare_step(model, logits, loss, fw):
    """Logits, loss and every parameter gradient against forward.safetensors `fw` (golden tolerances)."""
    res = {"logits_max_err": rel(logits.detach().double().numpy(), fw.get("logits").astype(np.float64)),
           "loss": float(loss), "loss_expected": float(fw.get("loss")[0])}
    res["loss_err"] = rel(np.array([float(loss)]), np.array([res["loss_expected"]]))
    worst, worst_name = 0.0, None
    for name, p in model.named_parameters():
        g = fw.get("grad/" + name).astype(np.float64)
        e = float(np.abs(p.grad.double().numpy() - g).max() / max(np.abs(g).max(), 1e-30))
        if worst_name is None or e > worst:
            worst, worst_name = e, name
    res["grad_max_rel_err"] = worst
    res["grad_worst_param"] = worst_name
    res["ok"] = res["logits_max_err"] < 1e-4 and res["loss_err"] < 1e-4 and worst < 1e-3
    return res


def case_inputs(fw):
    """input_ids, pad_mask (None when absent) and labels of forward.safetensors `fw`."""
    ids = torch.from_numpy(fw.get("input_ids")).long()
    pad = torch.from_numpy(fw.get("pad_mask")).bool() if "pad_mask" in fw else None
    labels = torch.from_numpy(fw.get("labels")).long()
    return ids, pad, labels


def check_golden(folder, dtype):
    meta = json.load(open(os.path.join(folder, "meta.json")))
    model = config_model(folder, dtype)
    fw = SafetensorsFile(os.path.join(folder, "forward.safetensors"))
    ids, pad, labels = case_inputs(fw)
    logits = model(ids, pad, meta["prefix_len"])
    loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
    loss.backward()
    return {"golden": folder, "dtype": str(dtype).replace("torch.", ""), **compare_step(model, logits, loss, fw)}


# ----------------------------------------------------------------------------------------------
# Benchmark


def gemm_gflops(size=1024, min_seconds=0.5):
    """Best GFLOP/s of a size^3 fp32 torch.mm in this process and environment: PyTorch's own roof."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(size, size, generator=g) - 0.5
    y = torch.rand(size, size, generator=g) - 0.5
    z = torch.mm(x, y)
    err = float((z.double() - x.double() @ y.double()).abs().max())
    assert err < 1e-3, f"torch.mm differs from float64 by {err}"
    best, calls, start = float("inf"), 0, time.perf_counter()
    while calls < 5 or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        torch.mm(x, y, out=z)
        best = min(best, time.perf_counter() - t0)
        calls += 1
    return 2 * size ** 3 / best / 1e9


def bench(a):
    # Interpreter + numpy + torch imported, no model yet: what any PyTorch training run pays.
    baseline_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    torch.manual_seed(0)
    impl = a.attention
    if impl == "auto":
        impl = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "einsum"
    fw = None
    if a.init_from:
        # Weights, tokens and the expected first step (our model's) from a golden-layout folder.
        model = config_model(a.init_from, torch.float32, impl)
        fw = SafetensorsFile(os.path.join(a.init_from, "forward.safetensors"))
        ids, pad, labels = case_inputs(fw)
        prefix_len = json.load(open(os.path.join(a.init_from, "meta.json")))["prefix_len"]
        N, M = ids.shape[1], ids.shape[1] - prefix_len
    else:
        N, M = a.seq_len, a.latents
        model = PerceiverAR(a.vocab, N, M, a.channels, a.heads, a.layers, impl=impl)
        g = torch.Generator().manual_seed(1)
        seq = torch.randint(0, a.vocab, (a.batch, N + 1), generator=g)
        ids, pad, labels = seq[:, :N], None, seq[:, N - M + 1:]  # labels: next token at each latent position
        prefix_len = N - M
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)

    fwd_times, times, losses, check = [], [], [], None
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(ids, pad, prefix_len)
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
        t1 = time.perf_counter()
        loss.backward()
        t_check = 0.0
        if step == 0 and fw is not None:  # validate the first step before any time is reported
            c0 = time.perf_counter()
            check = compare_step(model, logits, loss, fw)
            t_check = time.perf_counter() - c0
        opt.step()
        t2 = time.perf_counter()
        losses.append(float(loss))
        if step >= a.warmup:
            fwd_times.append(t1 - t0)
            times.append(t2 - t0 - t_check)
        del logits, loss
    torch_gemm = gemm_gflops()
    return {
        "n": N, "latents": M, "steps": a.steps, "warmup": a.warmup,
        "median_step_s": statistics.median(times), "min_step_s": min(times),
        "median_forward_s": statistics.median(fwd_times),
        "step_times_s": [round(t, 4) for t in times],
        "baseline_rss_mb": baseline_rss_mb,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "losses": losses, "check": check, "gemm_gflops": torch_gemm,
        "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "attention": impl, "parameters": sum(p.numel() for p in model.parameters()),
        "python": sys.executable,
        "env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_") or k.startswith("OMP_")},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seq-len", type=int, default=4096)
    ap.add_argument("--latents", type=int, default=512)
    ap.add_argument("--channels", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=5, help="self-attention layers (after 1 cross-attention)")
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attention", choices=["auto", "einsum", "sdpa"], default="auto")
    ap.add_argument("--init-from", metavar="DIR",
                    help="golden-layout folder: take the model config, weights, tokens and the expected first step from it")
    ap.add_argument("--check-golden", metavar="DIR", help="compare with golden vectors instead of benchmarking")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check_golden:
        results = [check_golden(a.check_golden, torch.float32), check_golden(a.check_golden, torch.float64)]
        for r in results:
            print(json.dumps(r))
        sys.exit(0 if all(r["ok"] for r in results) else 1)
    if a.seq_len < a.latents or a.steps < 1 or a.warmup < 0:
        ap.error("need --seq-len >= --latents, --steps >= 1, --warmup >= 0")
    print(json.dumps(bench(a)))


if __name__ == "__main__":
    main()
