#!/usr/bin/env python3
"""Writes the small torch.save fixtures of test/torch-bin.test.ts into test/fixtures/torch/.

Run once with Debian's PyTorch (`/usr/bin/python3 test/fixtures-src/make_torch_fixtures.py`); the
outputs are committed and the tests never call Python. Each fixture comes with the values torch
itself reads back (expected.json: name -> {dtype, shape, values}), so the test compares our reader
with torch.load, not with itself.
"""
import collections
import json
import os
import shutil
import sys
import zipfile

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch")
GOLDEN_HF_BIN = os.environ.get("GOLDEN_HF_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "golden", "hf-bin"))


def values(t):
    t = t.detach()
    if t.dtype == torch.bool:
        return [int(x) for x in t.flatten().tolist()]
    if t.dtype in (torch.float16, torch.bfloat16, torch.float64):
        return t.to(torch.float32).flatten().tolist()  # what a float32 reader must return
    return t.flatten().tolist()


def expected(sd):
    out = {}
    for k, v in sd.items():
        dt = str(v.dtype).replace("torch.", "")
        vals = values(v)
        if v.dtype == torch.int64:
            vals = [str(x) for x in vals]  # exact in JSON
        out[k] = {"dtype": dt, "shape": list(v.shape), "values": vals}
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    exp = {}

    # 1. Every storage dtype, a Parameter, views: transposed (non-contiguous), offset slice,
    #    two tensors sharing one storage; an OrderedDict with _metadata (as model.state_dict() has).
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 5)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 3))
    sd["f16"] = torch.randn(7).to(torch.float16)
    sd["bf16"] = torch.randn(2, 2).to(torch.bfloat16)
    sd["f64"] = torch.randn(3, dtype=torch.float64)
    sd["i64"] = torch.tensor([-(2**62), -1, 0, 7, 2**62], dtype=torch.int64)
    sd["i32"] = torch.tensor([-5, 0, 2147483647], dtype=torch.int32)
    sd["u8"] = torch.tensor([0, 1, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 4)
    sd["transposed"] = base.t()  # (6, 4), strides (1, 6)
    sd["row_slice"] = base[1:3]  # offset 6
    sd["col_slice"] = base[:, 2:5]  # non-contiguous with offset
    sd["shared_a"] = base  # same storage as the three views above
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    torch.save(sd, os.path.join(OUT, "dtypes.bin"))
    exp["dtypes.bin"] = expected(sd)

    # 2. The same in the legacy (pre-1.6) stream format.
    torch.save(sd, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)
    exp["legacy.bin"] = expected(sd)

    # 3. The zip re-packed with deflated entries (torch never deflates; zip tools do).
    src = zipfile.ZipFile(os.path.join(OUT, "dtypes.bin"))
    with zipfile.ZipFile(os.path.join(OUT, "deflated.bin"), "w", compression=zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
    exp["deflated.bin"] = expected(sd)

    # 4. A sharded hub folder (pytorch_model.bin.index.json + 2 shards) of the golden hf-bin model.
    golden = torch.load(os.path.join(GOLDEN_HF_BIN, "pytorch_model.bin"))
    shard_dir = os.path.join(OUT, "sharded")
    shutil.rmtree(shard_dir, ignore_errors=True)
    os.makedirs(shard_dir)
    names = list(golden.keys())
    half = len(names) // 2
    weight_map = {}
    for i, part in enumerate([names[:half], names[half:]]):
        fname = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        torch.save({k: golden[k].clone() for k in part}, os.path.join(shard_dir, fname))
        for k in part:
            weight_map[k] = fname
    total = sum(v.numel() * v.element_size() for v in golden.values())
    with open(os.path.join(shard_dir, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    shutil.copy(os.path.join(GOLDEN_HF_BIN, "config.json"), os.path.join(shard_dir, "config.json"))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"torch_version": torch.__version__, "files": exp}, f, indent=1)
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
