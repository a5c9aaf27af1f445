#!/usr/bin/env python3
"""PyTorch greedy generation with a KV cache for the clm layout, for bench/clm-base-generate.ts.

Benchmark-only; not part of the npm package and not a project dependency (Debian python3-torch;
run with /usr/bin/python3).

The model is written here to compute what krasserm/perceiver-io's CausalSequenceModel computes for
the published clm configuration (abs_pos_emb false: rotary on every channel of a head; rotary in
the cross-attention and the first `num_self_attention_rotary_layers` self-attention layers; output
LayerNorm; logits tied to the token embedding, no bias), with the reference's parameter names
(`backend_model.` prefix as the hub folder has it), read from the folder's model.safetensors.

Generation follows the reference's cached loop (its `generate` with `num_latents=1`): the prompt's
last token is the first latent, the rest the prefix; every step appends the new token as a latent,
its cross-attention key/value (q_norm form) to the cross-attention cache and its per-layer
self-attention key/value to those caches, and computes that one position through every layer. Keys
are cached rotated (the reference caches them unrotated and rotates all of them every step: the
same values, more work). While latents < max_latents and the window < max_seq_len (as for a
512-token prompt and 64 new tokens) this is exact, the same schedule as ours.

  python3 bench/torch_clm_generate.py --folder DIR --prompt-file P.json --new-tokens 64 [--threads 2]
  -> one JSON line: tokens, prefill_s, total_s, tokens_per_s, step_ms (median of the steps after
     the first), torch_version, threads, env
  python3 bench/torch_clm_generate.py --folder DIR --prompt-file P.json --logits-out FILE --logits-prefix 512
  -> instead of generating: the full forward's logits of the whole prompt with prefix_len
     --logits-prefix, written to FILE as float32 little-endian (M × V); one JSON line.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_perceiver_ar import SafetensorsFile, apply_rotary  # noqa: E402

PREFIX = "backend_model."


class ClmModel:
    """The clm-layout forward, on plain tensors from the state dict (no nn.Module overhead)."""

    def __init__(self, folder):
        cfg = json.load(open(os.path.join(folder, "config.json")))
        m = cfg.get("model_config", cfg)
        assert not m["abs_pos_emb"] and m["output_norm"] and not m["output_bias"], "the clm layout only"
        self.C, self.H, self.L = m["num_channels"], m["num_heads"], m["num_self_attention_layers"]
        self.D = self.C // self.H
        self.rot_layers = m["num_self_attention_rotary_layers"]
        self.max_seq_len, self.max_latents = m["max_seq_len"], m["max_latents"]
        st = SafetensorsFile(os.path.join(folder, "model.safetensors"))
        self.w = {k[len(PREFIX):] if k.startswith(PREFIX) else k: torch.from_numpy(st.get(k)) for k in st.names()}
        self.inv_freq = self.w["input_adapter.frq_pos_encoding.inv_freq"]

    def angles(self, positions):  # (T,) -> (1, T, D): each frequency for an adjacent channel pair
        a = positions.float()[:, None] * self.inv_freq[None, :]
        return a.repeat_interleave(2, dim=-1)[None]

    def ln(self, x, name):
        return F.layer_norm(x, (self.C,), self.w[name + ".weight"], self.w[name + ".bias"])

    def heads(self, x):  # (1, T, C) -> (1, H, T, D)
        return x.view(1, x.shape[1], self.H, self.D).transpose(1, 2)

    def attend(self, q, k, v, causal_offset):
        """q (1, H, Tq, D) already scaled and rotated; k, v (1, H, Tk, D); query i sees keys <= offset + i."""
        s = q @ k.transpose(-1, -2)
        Tq, Tk = q.shape[2], k.shape[2]
        if Tq > 1:
            mask = torch.arange(Tk)[None, :] > (causal_offset + torch.arange(Tq))[:, None]
            s = s.masked_fill(mask, torch.finfo(s.dtype).min)
        o = s.softmax(-1) @ v
        return o.transpose(1, 2).reshape(1, Tq, self.C)

    def mlp(self, h, name):
        x = self.ln(h, name + ".0")
        return h + F.linear(F.gelu(F.linear(x, self.w[name + ".1.weight"])), self.w[name + ".3.weight"])

    def step(self, ids, positions, prefix_len, cache):
        """New positions `ids` (T,) at `positions`: the first prefix_len are prefix, the rest latents.
        Extends `cache` (cross k/v; per-layer self k/v) and returns the last position's logits (V)."""
        x = F.embedding(ids[None], self.w["input_adapter.txt_embedding.weight"])  # (1, T, C)
        ang = self.angles(positions)
        lat, lat_ang = x[:, prefix_len:], ang[:, prefix_len:]
        ca = "cross_attention.0.module."
        q_in = self.ln(lat, ca + "q_norm")
        kv_in = torch.cat((self.ln(x[:, :prefix_len], ca + "kv_norm"), q_in), 1)
        q = apply_rotary(self.heads(F.linear(q_in, self.w[ca + "attention.q_proj.weight"])) * self.D ** -0.5, lat_ang)
        k = apply_rotary(self.heads(F.linear(kv_in, self.w[ca + "attention.k_proj.weight"])), ang)
        v = self.heads(F.linear(kv_in, self.w[ca + "attention.v_proj.weight"]))
        cache["ck"] = k if "ck" not in cache else torch.cat((cache["ck"], k), 2)
        cache["cv"] = v if "cv" not in cache else torch.cat((cache["cv"], v), 2)
        Tk, Tq = cache["ck"].shape[2], q.shape[2]
        o = self.attend(q, cache["ck"], cache["cv"], Tk - Tq)
        h = lat + F.linear(o, self.w[ca + "attention.o_proj.weight"], self.w[ca + "attention.o_proj.bias"])
        h = self.mlp(h, "cross_attention.1.module")
        for l in range(self.L):
            sa = f"self_attention.{l}.0.module."
            n = self.ln(h, sa + "norm")
            rot = self.rot_layers == -1 or l < self.rot_layers
            q = self.heads(F.linear(n, self.w[sa + "attention.q_proj.weight"])) * self.D ** -0.5
            k = self.heads(F.linear(n, self.w[sa + "attention.k_proj.weight"]))
            v = self.heads(F.linear(n, self.w[sa + "attention.v_proj.weight"]))
            if rot:
                q, k = apply_rotary(q, lat_ang), apply_rotary(k, lat_ang)
            kk, vk = f"k{l}", f"v{l}"
            cache[kk] = k if kk not in cache else torch.cat((cache[kk], k), 2)
            cache[vk] = v if vk not in cache else torch.cat((cache[vk], v), 2)
            o = self.attend(q, cache[kk], cache[vk], cache[kk].shape[2] - q.shape[2])
            h = h + F.linear(o, self.w[sa + "attention.o_proj.weight"])
            h = self.mlp(h, f"self_attention.{l}.1.module")
        out = self.ln(h, "out_norm")
        return out @ self.w["input_adapter.txt_embedding.weight"].t()  # (1, Tq, V)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folder", required=True)
    ap.add_argument("--prompt-file", required=True, help="JSON list of token ids")
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--logits-out")
    ap.add_argument("--logits-prefix", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = ClmModel(a.folder)
    prompt = torch.tensor(json.load(open(a.prompt_file)), dtype=torch.long)
    with torch.no_grad():
        if a.logits_out:
            t0 = time.perf_counter()
            logits = model.step(prompt, torch.arange(len(prompt)), a.logits_prefix, {})[0]
            logits.contiguous().numpy().astype("<f4").tofile(a.logits_out)
            print(json.dumps({"logits_out": a.logits_out, "shape": list(logits.shape), "forward_s": time.perf_counter() - t0, "torch_version": torch.__version__}))
            return
        # Greedy generation with the cache, num_latents = 1.
        assert len(prompt) + a.new_tokens <= model.max_seq_len and a.new_tokens <= model.max_latents
        model.step(prompt[:8], torch.arange(8), 7, {})  # warm-up (allocator, threads)
        cache, tokens, step_s = {}, [], []
        t0 = time.perf_counter()
        logits = model.step(prompt, torch.arange(len(prompt)), len(prompt) - 1, cache)[0, -1]
        tokens.append(int(logits.argmax()))
        prefill = time.perf_counter() - t0
        for i in range(1, a.new_tokens):
            t1 = time.perf_counter()
            pos = len(prompt) + i - 1
            logits = model.step(torch.tensor([tokens[-1]]), torch.tensor([pos]), 0, cache)[0, -1]
            tokens.append(int(logits.argmax()))
            step_s.append(time.perf_counter() - t1)
        total = time.perf_counter() - t0
    print(json.dumps({
        "tokens": tokens, "prefill_s": prefill, "total_s": total, "tokens_per_s": a.new_tokens / total,
        "step_ms": 1000 * statistics.median(step_s) if step_s else None,
        "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_") or k.startswith("OMP_")},
    }))


if __name__ == "__main__":
    main()
