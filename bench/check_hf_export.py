#!/usr/bin/env python3
"""Checks a folder written by `saveModel(model, dir, {format: "hf"})` / `perceiver-ar export`
against what krasserm/perceiver-io's `PerceiverCausalLanguageModel.from_pretrained` does with it,
without transformers (not installable offline here). Verification tool only (bench/verify-hf-export.ts
runs it); never a dependency of the package or its tests.

What is replicated from the reference's source (perceiver/model/text/clm/huggingface.py,
perceiver/model/core/config.py, transformers' PreTrainedModel.from_pretrained):
  1. config.json: `model_type` is the registered "perceiver-ar-causal-language-model";
     `CausalLanguageModelConfig.create(**config["model_config"])` keeps exactly the dataclass's
     fields (listed below from the reference source): every one of them must be present, none other;
  2. model.safetensors: metadata {"format": "pt"} (transformers refuses other formats); the state
     dict loads with strict=True into a module whose `backend_model` attribute is the model, i.e.
     every name is "backend_model." + a CausalSequenceModel parameter or buffer name;
  3. logits of that torch model (bench/torch_perceiver_ar.py, the reference's computation in the
     abs_pos_emb layout) equal the logits our model computed for the same ids (expected.json).
Prints one JSON line; exit 1 on any mismatch.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_perceiver_ar import PerceiverAR  # noqa: E402

# Fields of CausalSequenceModelConfig (PerceiverARConfig + its own), from the reference source.
REFERENCE_FIELDS = {
    "num_heads", "max_heads_parallel", "num_self_attention_layers", "num_self_attention_rotary_layers",
    "self_attention_widening_factor", "cross_attention_widening_factor", "cross_attention_dropout",
    "post_attention_dropout", "residual_dropout", "activation_checkpointing", "activation_offloading",
    "vocab_size", "max_seq_len", "max_latents", "num_channels", "output_norm", "output_bias", "abs_pos_emb",
    "init_scale",
}
DTYPES = {"F32": np.float32}


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        dt = np.dtype(DTYPES[info["dtype"]])
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype=dt, count=(b - a) // dt.itemsize, offset=8 + n + a).reshape(info["shape"]).copy())
    return out, meta


def main(folder, expected_file):
    problems = []
    cfg = json.load(open(os.path.join(folder, "config.json")))
    if cfg.get("model_type") != "perceiver-ar-causal-language-model":
        problems.append(f"model_type {cfg.get('model_type')!r}")
    if cfg.get("architectures") != ["PerceiverCausalLanguageModel"]:
        problems.append(f"architectures {cfg.get('architectures')!r}")
    mc = cfg.get("model_config", {})
    if set(mc) != REFERENCE_FIELDS:
        problems.append(f"model_config fields differ: missing {sorted(REFERENCE_FIELDS - set(mc))}, extra {sorted(set(mc) - REFERENCE_FIELDS)}")
    sd, meta = read_safetensors(os.path.join(folder, "model.safetensors"))
    if meta.get("format") != "pt":
        problems.append(f"safetensors metadata {meta!r}: transformers needs format 'pt'")
    assert mc.get("abs_pos_emb") and mc.get("output_bias") and not mc.get("output_norm"), "this check models the abs_pos_emb layout (torch_perceiver_ar.py)"
    hub_model = nn.Module()
    hub_model.backend_model = PerceiverAR(mc["vocab_size"], mc["max_seq_len"], mc["max_latents"], mc["num_channels"], mc["num_heads"],
                                          mc["num_self_attention_layers"], mc["num_self_attention_rotary_layers"],
                                          widening=mc["self_attention_widening_factor"], init_scale=mc["init_scale"])
    try:
        hub_model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        problems.append(f"strict load failed: {str(e)[:500]}")
    exp = json.load(open(expected_file))
    ids = torch.tensor(exp["ids"], dtype=torch.long)
    with torch.no_grad():
        logits = hub_model.backend_model(ids, None, exp["prefix_len"]).numpy()
    want = np.array(exp["logits"], dtype=np.float64).reshape(logits.shape)
    err = float((np.abs(logits - want) / np.maximum(1.0, np.abs(want))).max())
    if err > 1e-4:
        problems.append(f"logits differ by {err}")
    print(json.dumps({"folder": folder, "tensors": len(sd), "logits_max_err": err, "problems": problems, "ok": not problems}))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
