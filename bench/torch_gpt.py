#!/usr/bin/env python3
"""A small GPT in PyTorch: the contender `npm start` must beat in bench/equal-wallclock.ts.

Benchmark-only; not part of the npm package and not a project dependency. Needs PyTorch (Debian:
`apt-get install -y python3-torch libopenblas0-pthread`, then run with /usr/bin/python3, OPENBLAS_*
unset, OMP_WAIT_POLICY=PASSIVE; equal-wallclock.ts starts it so).

The model is nanoGPT's architecture, written here from scratch: token + learned position
embeddings, `layers` pre-LayerNorm blocks (causal multi-head self-attention, then a GELU MLP of
4x width, each added to the residual stream), a final LayerNorm and an output layer tied to the
token embedding; no dropout. Initialisation N(0, 0.02), the residual output projections
N(0, 0.02 / sqrt(2 layers)) (GPT-2). Training: AdamW (betas 0.9/0.99, weight decay on matrices
only), gradient clipping at 1.0, linear warmup then cosine decay from lr to min-lr, random windows
of context + 1 tokens from the training stream, loss on every position. The default recipe is the
tuned one of the issue: 4 layers x 128 channels, 4 heads, context 64, lr 2e-3 -> 2e-4.

Data and scoring come from the TypeScript side (bench/sotu-scoring.ts `exportForPython`):
  DIR/train.u16, DIR/validation.u16   token ids (uint16 little-endian) of npm start's split
  DIR/scored.json                     {vocabSize, tokenBytes, ranges: [[a, b], ...]}
A range (a, b] scores the validation tokens a+1 .. b, each predicted from the tokens before it, in
chunks of at most `stride` targets from the range's end backwards; a chunk ending at e reads
stream[max(0, e - context), e) (the rule of chunkPlan in sotu-scoring.ts). The result reports the
scored tokens, bytes and a checksum of the scored positions, which the TypeScript side compares
with its own before it prints the bits/byte.

Length of training: `--steps N` (fixed), or `--budget S` seconds of training on `--clock`
(`wall`, or `cpu`: this thread's CPU time, steadier on a shared machine): a few calibration steps
on a copy of the model (not counted, the copy is discarded) give the planned number of steps, and
every 10 steps the plan is re-estimated from the rate so far, so that the cosine decay ends when
the budget does.

Before training, `--check` (default on) verifies: the initial loss on a fixed batch is within 0.1
nats of ln(vocab) (uniform predictions), the attention equals an explicit per-position softmax
computed in float64, and changing a later token leaves earlier logits unchanged (causality).

Prints progress on stderr and one JSON line on stdout.
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.proj.residual_output = True

    def forward(self, x):  # x (B, T, C)
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # (B, H, T, T)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(mask, float("-inf"))
        y = scores.softmax(dim=-1) @ v  # (B, H, T, D)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln_attn = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln_mlp = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.fc_out = nn.Linear(4 * width, width)
        self.fc_out.residual_output = True

    def forward(self, x):
        x = x + self.attn(self.ln_attn(x))
        return x + self.fc_out(F.gelu(self.fc(self.ln_mlp(x))))


class GPT(nn.Module):
    def __init__(self, vocab, context, width, heads, layers):
        super().__init__()
        self.context = context
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(context, width)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln_out = nn.LayerNorm(width)
        for name, p in self.named_parameters():
            if p.dim() == 1:
                nn.init.zeros_(p) if name.endswith("bias") else nn.init.ones_(p)
            else:
                nn.init.normal_(p, 0.0, 0.02)
        for m in self.modules():
            if getattr(m, "residual_output", False):
                nn.init.normal_(m.weight, 0.0, 0.02 / math.sqrt(2 * layers))

    def forward(self, ids):  # ids (B, T) -> logits (B, T, V)
        T = ids.shape[1]
        x = self.tokens(ids) + self.positions(torch.arange(T, device=ids.device))
        for b in self.blocks:
            x = b(x)
        return self.ln_out(x) @ self.tokens.weight.t()


def optimizer_for(model, lr, weight_decay, beta2):
    decay = [p for p in model.parameters() if p.dim() >= 2 and p is not model.tokens.weight and p is not model.positions.weight]
    rest = [p for p in model.parameters() if not any(p is q for q in decay)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}], lr=lr, betas=(0.9, beta2), eps=1e-8)


def learning_rate(step, total, warmup, lr, min_lr):
    """1-based step, as src/train/schedule.ts: linear warmup to lr, cosine to min_lr at `total`."""
    if step <= warmup:
        return lr * step / warmup
    if step >= total:
        return min_lr
    progress = (step - warmup) / (total - warmup)
    return min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))


class Windows:
    def __init__(self, stream, context, batch, seed):
        self.stream = torch.from_numpy(stream.astype(np.int64))
        self.context = context
        self.batch = batch
        self.gen = torch.Generator().manual_seed(seed)

    def next(self):
        starts = torch.randint(0, len(self.stream) - self.context - 1, (self.batch,), generator=self.gen)
        w = torch.stack([self.stream[s : s + self.context + 1] for s in starts.tolist()])  # (B, T + 1)
        return w[:, :-1], w[:, 1:]


def train_step(model, opt, x, y, lr, clip):
    for g in opt.param_groups:
        g["lr"] = lr
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item()


def clock_fn(kind):
    return time.perf_counter if kind == "wall" else time.thread_time


def chunk_plan(ranges, context, stride):
    plan = []
    for a, b in ranges:
        e = b
        while e > a:
            plan.append((e, min(e, context), max(a, e - stride)))
            e -= stride
    return plan


@torch.no_grad()
def score(model, stream, ranges, token_bytes, context, stride, batch=256):
    plan = chunk_plan(ranges, context, stride)
    s = torch.from_numpy(stream.astype(np.int64))
    nats = 0.0
    tokens = 0
    nbytes = 0
    checksum = 0
    by_n = {}
    for c in plan:
        by_n.setdefault(c[1], []).append(c)
    for n, chunks in by_n.items():
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            x = torch.stack([s[e - n : e] for e, _, _ in part])  # (B, n)
            logp = model(x).double().log_softmax(-1)  # (B, n, V)
            for r, (e, _, lo) in enumerate(part):
                t = torch.arange(lo + 1, e + 1)
                nats -= logp[r, t - (e - n + 1), s[t]].sum().item()
                tokens += len(t)
                nbytes += sum(token_bytes[int(v)] for v in s[t].tolist())
                checksum = (checksum + int(t.sum().item())) % 2**32
    model.train()
    return {"nats": nats, "tokens": tokens, "bytes": nbytes, "positionChecksum": checksum, "bitsPerByte": nats / math.log(2) / nbytes}


def check_model(model, vocab, context, seed):
    """Sanity checks before anything is timed (see the module docstring); returns a report or raises."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (4, context), generator=g)
    y = torch.randint(0, vocab, (4, context), generator=g)
    with torch.no_grad():
        logits = model(x)
        loss0 = F.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1)).item()
        if abs(loss0 - math.log(vocab)) > 0.1:
            raise SystemExit(f"check: initial loss {loss0:.4f} is not within 0.1 of ln({vocab}) = {math.log(vocab):.4f}")
        # The first block's attention against an explicit softmax per position, in float64.
        blk = model.blocks[0]
        h = blk.ln_attn(model.tokens(x) + model.positions(torch.arange(context)))
        got = blk.attn(h).double()
        B, T, C = h.shape
        H = blk.attn.heads
        D = C // H
        q, k, v = (t.double().view(B, T, H, D) for t in blk.attn.qkv(h).split(C, dim=2))
        want = torch.zeros(B, T, H, D, dtype=torch.float64)
        for t in range(T):
            sc = torch.einsum("bhd,bshd->bhs", q[:, t], k[:, : t + 1]) / math.sqrt(D)
            want[:, t] = torch.einsum("bhs,bshd->bhd", sc.softmax(-1), v[:, : t + 1])
        want = want.reshape(B, T, C) @ blk.attn.proj.weight.double().t() + blk.attn.proj.bias.double()
        attn_err = (got - want).abs().max().item() / max(1e-12, want.abs().max().item())
        if attn_err > 1e-4:
            raise SystemExit(f"check: attention differs from the explicit softmax by {attn_err:.2e} (relative to its largest value)")
        x2 = x.clone()
        x2[:, context // 2 :] = (x2[:, context // 2 :] + 1) % vocab
        causal_err = (model(x2)[:, : context // 2] - logits[:, : context // 2]).abs().max().item()
        if causal_err > 1e-5:
            raise SystemExit(f"check: changing tokens from position {context // 2} changed earlier logits by {causal_err:.2e}")
    return {"initialLoss": loss0, "lnVocab": math.log(vocab), "attentionRelError": attn_err, "causalityError": causal_err}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--context", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min-lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--beta2", type=float, default=0.99)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=0, help="fixed number of steps (0: train for --budget)")
    ap.add_argument("--budget", type=float, default=95.0, help="seconds of training on --clock")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    ap.add_argument("--calibration-steps", type=int, default=5)
    ap.add_argument("--stride", type=int, default=0, help="targets per scoring chunk (0: context / 4)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-check", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    meta = json.load(open(os.path.join(a.data, "scored.json")))
    vocab = meta["vocabSize"]
    train = np.fromfile(os.path.join(a.data, "train.u16"), dtype="<u2")
    val = np.fromfile(os.path.join(a.data, "validation.u16"), dtype="<u2")
    model = GPT(vocab, a.context, a.width, a.heads, a.layers)
    params = sum(p.numel() for p in model.parameters())
    check = None if a.no_check else check_model(model, vocab, a.context, a.seed)
    if check is not None:
        print(f"torch-gpt check: initial loss {check['initialLoss']:.4f} (ln V {check['lnVocab']:.4f}), attention {check['attentionRelError']:.1e}, causality {check['causalityError']:.1e}", file=sys.stderr)

    clock = clock_fn(a.clock)
    data = Windows(train, a.context, a.batch, a.seed)
    planned = a.steps
    calibration = None
    if planned <= 0:
        # Calibration on a throwaway copy: the rate of this machine, not counted, not kept.
        import copy

        twin = copy.deepcopy(model)
        topt = optimizer_for(twin, a.lr, a.weight_decay, a.beta2)
        cal = Windows(train, a.context, a.batch, a.seed + 1)
        x, y = cal.next()
        train_step(twin, topt, x, y, 1e-9, a.clip)  # warm-up: allocations
        t0 = clock()
        for _ in range(a.calibration_steps):
            x, y = cal.next()
            train_step(twin, topt, x, y, 1e-9, a.clip)
        calibration = (clock() - t0) / a.calibration_steps
        planned = max(1, int(a.budget / calibration))
        del twin, topt
    warmup = min(a.warmup, planned // 10) if a.steps <= 0 else min(a.warmup, planned)
    opt = optimizer_for(model, a.lr, a.weight_decay, a.beta2)
    losses = []
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    t0 = clock()
    step = 0
    while True:
        step += 1
        x, y = data.next()
        losses.append(train_step(model, opt, x, y, learning_rate(step, planned, warmup, a.lr, a.min_lr), a.clip))
        elapsed = clock() - t0
        if a.steps > 0:
            if step >= a.steps:
                break
        else:
            if elapsed >= a.budget:
                break
            if step % 10 == 0:
                planned = max(warmup + 1, step + 1, round(step * a.budget / elapsed))
        if step % 200 == 0:
            print(f"torch-gpt step {step}/{planned}: loss {sum(losses[-50:]) / len(losses[-50:]):.4f}, {elapsed:.1f} s", file=sys.stderr)
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    stride = a.stride if a.stride > 0 else max(1, a.context // 4)
    model.eval()
    s0 = time.perf_counter()
    sc = score(model, val, meta["ranges"], meta["tokenBytes"], a.context, stride)
    out = {
        "contender": "torch-gpt",
        "params": params,
        "steps": step,
        "plannedSteps": planned,
        "warmup": warmup,
        "calibrationSecondsPerStep": calibration,
        "trainWallSeconds": wall,
        "trainThreadCpuSeconds": cpu,
        "finalTrainLoss": sum(losses[-50:]) / len(losses[-50:]),
        "scoreSeconds": time.perf_counter() - s0,
        "stride": stride,
        "targetsPerStep": a.batch * a.context,
        "check": check,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "recipe": {k: getattr(a, k) for k in ("layers", "width", "heads", "context", "batch", "lr", "min_lr", "warmup", "weight_decay", "beta2", "clip")},
        **sc,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
