#!/usr/bin/env python3
"""Writes a randomly initialised model of krasserm/perceiver-ar-clm-base's published config as
hub folders, for bench/load.ts (benchmark tool only; never a dependency of the package or tests).

  /usr/bin/python3 bench/make_clm_base_folder.py --out /tmp/clm-base
  -> /tmp/clm-base/bin/{config.json, pytorch_model.bin}            (torch.save, as the hub holds it)
     /tmp/clm-base/safetensors/{config.json, model.safetensors}    (same tensors, safetensors)

The state dict has the reference's names (PerceiverCausalLanguageModel: `backend_model.` +
CausalSequenceModel's names) and shapes for the published config: 1280 channels, 10 heads,
20 self-attention layers, vocab 32,000, rotary only (abs_pos_emb false), output norm, no output
bias; about 455M float32 parameters (1.8 GB). Linear weights ~ N(0, 0.02), norms 1/0.
"""
import argparse
import json
import os
import struct

import torch

CONFIG = {
    "architectures": ["PerceiverCausalLanguageModel"],
    "is_decoder": True,
    "model_config": {
        "abs_pos_emb": False, "activation_checkpointing": False, "activation_offloading": False,
        "cross_attention_dropout": 0.0, "cross_attention_widening_factor": 4, "init_scale": 0.02,
        "max_heads_parallel": 2, "max_latents": 512, "max_seq_len": 1024, "num_channels": 1280,
        "num_heads": 10, "num_self_attention_layers": 20, "num_self_attention_rotary_layers": 1,
        "output_bias": False, "output_norm": True, "post_attention_dropout": 0.0, "residual_dropout": 0.0,
        "self_attention_widening_factor": 4, "vocab_size": 32000,
    },
    "model_type": "perceiver-ar-causal-language-model",
    "tokenizer_class": "XLNetTokenizerFast",
    "torch_dtype": "float32",
    "transformers_version": "4.28.0",
}


def state_dict(cfg):
    m = cfg["model_config"]
    C, V, L, H = m["num_channels"], m["vocab_size"], m["num_self_attention_layers"], m["num_heads"]
    wf, cwf = m["self_attention_widening_factor"], m["cross_attention_widening_factor"]
    rot = C // H  # rotary on every channel of a head (abs_pos_emb false)
    g = torch.Generator().manual_seed(0)
    sd = {}

    def lin(name, out_f, in_f):
        sd[name] = torch.randn(out_f, in_f, generator=g) * m["init_scale"]

    def norm(name):
        sd[name + ".weight"] = torch.ones(C)
        sd[name + ".bias"] = torch.zeros(C)

    p = "backend_model."
    sd[p + "input_adapter.txt_embedding.weight"] = torch.randn(V, C, generator=g) * m["init_scale"]
    sd[p + "input_adapter.frq_pos_encoding.inv_freq"] = 1.0 / (10000 ** (torch.arange(0, rot, 2, dtype=torch.float32) / rot))
    ca = p + "cross_attention.0.module."
    norm(ca + "q_norm")
    norm(ca + "kv_norm")
    for n in "qkvo":
        lin(f"{ca}attention.{n}_proj.weight", C, C)
    sd[ca + "attention.o_proj.bias"] = torch.zeros(C)
    norm(p + "cross_attention.1.module.0")
    lin(p + "cross_attention.1.module.1.weight", cwf * C, C)
    lin(p + "cross_attention.1.module.3.weight", C, cwf * C)
    for l in range(L):
        sa = f"{p}self_attention.{l}."
        norm(sa + "0.module.norm")
        for n in "qkvo":
            lin(f"{sa}0.module.attention.{n}_proj.weight", C, C)
        norm(sa + "1.module.0")
        lin(sa + "1.module.1.weight", wf * C, C)
        lin(sa + "1.module.3.weight", C, wf * C)
    norm(p + "out_norm")
    return sd


def write_safetensors(path, sd):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for k, v in sd.items():
        n = v.numel() * 4
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + n]}
        offset += n
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for v in sd.values():
            f.write(v.contiguous().numpy().tobytes())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sd = state_dict(CONFIG)
    print(f"{sum(v.numel() for v in sd.values()):,} values in {len(sd)} tensors")
    for sub, fname in (("bin", "pytorch_model.bin"), ("safetensors", "model.safetensors")):
        d = os.path.join(a.out, sub)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(CONFIG, f, indent=2, sort_keys=True)
        if fname.endswith(".bin"):
            torch.save(sd, os.path.join(d, fname))
        else:
            write_safetensors(os.path.join(d, fname), sd)
        print("wrote", os.path.join(d, fname))


if __name__ == "__main__":
    main()
