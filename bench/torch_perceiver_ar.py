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
      --layers 5 --vocab 256 --batch 1 --steps 3 --warmup 1 --threads 2
      -> prints one JSON line {median_step_s, min_step_s, peak_rss_mb, torch_version, threads, ...}
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
# safetensors (read only; header = u64 length + JSON, then raw little-endian data)

_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8,
           "F16": np.float16}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = np.dtype(_DTYPES[info["dtype"]])
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert count * dt.itemsize == b - a, name
        out[name] = np.frombuffer(raw, dtype=dt, count=count, offset=8 + n + a).reshape(info["shape"]).copy()
    return out


def check_golden(folder, dtype):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    meta = json.load(open(os.path.join(folder, "meta.json")))
    assert cfg.get("abs_pos_emb", True) and not cfg.get("output_norm", False) and cfg.get("output_bias", True), \
        "this script models the abs_pos_emb / output-bias layout only"
    model = PerceiverAR(cfg["vocab_size"], cfg["max_seq_len"], cfg["max_latents"], cfg["num_channels"],
                        cfg["num_heads"], cfg["num_self_attention_layers"],
                        cfg.get("num_self_attention_rotary_layers", 1)).to(dtype)
    weights = read_safetensors(os.path.join(folder, "weights.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v).to(dtype) for k, v in weights.items()}, strict=True)
    fw = read_safetensors(os.path.join(folder, "forward.safetensors"))
    ids = torch.from_numpy(fw["input_ids"]).long()
    pad = torch.from_numpy(fw["pad_mask"]).bool()
    labels = torch.from_numpy(fw["labels"]).long()
    logits = model(ids, pad, meta["prefix_len"])
    loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)
    loss.backward()

    def rel(a, b):  # max |a - b| / max(1, |b|) elementwise: "absolute or relative, whichever is larger"
        return float((np.abs(a - b) / np.maximum(1.0, np.abs(b))).max())

    res = {"golden": folder, "dtype": str(dtype).replace("torch.", ""),
           "logits_max_err": rel(logits.detach().double().numpy(), fw["logits"].astype(np.float64)),
           "loss": float(loss), "loss_golden": float(fw["loss"][0]),
           "loss_err": rel(np.array([float(loss)]), fw["loss"].astype(np.float64))}
    worst, worst_name = 0.0, None
    for name, p in model.named_parameters():
        g = fw["grad/" + name].astype(np.float64)
        e = float(np.abs(p.grad.double().numpy() - g).max() / max(np.abs(g).max(), 1e-30))
        if e > worst:
            worst, worst_name = e, name
    res["grad_max_rel_err"] = worst
    res["grad_worst_param"] = worst_name
    res["ok"] = res["logits_max_err"] < 1e-4 and res["loss_err"] < 1e-4 and worst < 1e-3
    return res


# ----------------------------------------------------------------------------------------------
# Benchmark


def bench(a):
    torch.manual_seed(0)
    impl = a.attention
    if impl == "auto":
        impl = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "einsum"
    N, M = a.seq_len, a.latents
    model = PerceiverAR(a.vocab, N, M, a.channels, a.heads, a.layers, impl=impl)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    seq = torch.randint(0, a.vocab, (a.batch, N + 1), generator=g)
    ids, labels = seq[:, :N], seq[:, N - M + 1:]  # labels: next token at each latent position

    fwd_times, times, last_loss = [], [], float("nan")
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten())
        t1 = time.perf_counter()
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        last_loss = float(loss)
        if step >= a.warmup:
            fwd_times.append(t1 - t0)
            times.append(t2 - t0)
        del logits, loss
    return {
        "n": N, "latents": M, "channels": a.channels, "heads": a.heads, "layers": a.layers,
        "vocab": a.vocab, "batch": a.batch, "steps": a.steps, "warmup": a.warmup,
        "median_step_s": statistics.median(times), "min_step_s": min(times),
        "median_forward_s": statistics.median(fwd_times),
        "step_times_s": [round(t, 4) for t in times],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "loss": last_loss, "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "attention": impl, "parameters": sum(p.numel() for p in model.parameters()),
        "python": sys.executable,
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")},
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
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attention", choices=["auto", "einsum", "sdpa"], default="auto")
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
