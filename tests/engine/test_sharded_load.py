"""A sharded load on 2 CPU ranks equals the full load, parameter for parameter, bit for bit.

safetensors and torch zip files are read rank by rank (each its dim-0 rows, torch.chunk's
split as FSDP2 shards), Hugging Face checkpoints too (a rank's rows of the fused qkv read from
query, key and value); a legacy torch file cannot be sliced and is broadcast from rank 0.
"""

import os
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "checkpoints"))
from ckpt_helpers import (  # noqa: E402
    ARCH,
    HF_CONFIG,
    HF_OVERRIDES,
    OVERRIDES,
    SPEC,
    free_port,
    perturbed,
    timm_vit,
)

from rsbench.checkpoints import load_backbone  # noqa: E402
from rsbench.checkpoints.rows import row_range  # noqa: E402


def save(state: dict, path: Path, kind: str) -> None:
    if kind == "safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path, _use_new_zipfile_serialization=kind == "torch-zip")


def test_row_ranges_are_torch_chunks():
    for rows in (0, 1, 5, 17, 576):
        chunks = torch.arange(rows).chunk(2) if rows else ()
        for rank in (0, 1):
            start, stop = row_range(rows, 2, rank)
            expected = chunks[rank].tolist() if rank < len(chunks) else []
            assert list(range(start, stop)) == expected, (rows, rank)


def test_two_rank_sharded_load_equals_the_full_load(tmp_path):
    state = timm_vit(seed=5).state_dict()
    for kind in ("safetensors", "torch-zip", "torch-legacy"):
        save(state, tmp_path / f"w.{kind}", kind)
    from transformers import ViTConfig, ViTModel

    hf_model = perturbed(ViTModel(ViTConfig(**HF_CONFIG)))
    hf_model.save_pretrained(tmp_path / "hf")
    torch.save({"model": hf_model.state_dict()}, tmp_path / "hf.pth")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "test_sharded_load_worker.py"),
                           str(tmp_path), str(free_port())],
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = torch.load(tmp_path / "sharded.pt", weights_only=False)
    assert result["safetensors"]["how"] == "safetensors: each rank read its rows"
    assert result["torch-zip"]["how"] == "torch-zip: each rank read its rows"
    assert result["torch-legacy"]["how"] == ("torch-legacy: rank 0 read the file and broadcast "
                                             "each tensor")
    meshes, resampled, hf = result.pop("meshes"), result.pop("resampled"), result.pop("hf")
    for kind, got in result.items():
        full = load_backbone(tmp_path / f"w.{kind}", ARCH, SPEC, "cls", **OVERRIDES)
        reference = full.model.state_dict()
        assert got["types"] == ["DTensor"]  # really sharded
        assert list(got["state"]) == list(reference)
        for key, value in reference.items():
            assert torch.equal(got["state"][key], value), (kind, key)
            rows = value.shape[0]  # qkv.weight 576 rows: 288 each; pos_embed 1 row: rank 1 none
            assert [r[key] for r in got["rows"]] == [-(-rows // 2), rows - -(-rows // 2)], key
        assert got["report"]["params_loaded"] == full.load_report.params_loaded

    # 2-D (replicas x shards) meshes, HSDP's: a rank holds the rows of its place along the
    # sharding dimension, all of them where that dimension has size 1.
    reference = load_backbone(tmp_path / "w.safetensors", ARCH, SPEC, "cls", **OVERRIDES).model.state_dict()
    assert meshes["hybrid_group_1"][0] == (2, 1) and meshes["one_by_two"][0] == (1, 2)
    for name, (_, state, rows) in meshes.items():
        for key, value in reference.items():
            assert torch.equal(state[key], value), (name, key)
            n = value.shape[0]
            expected = [n, n] if name == "hybrid_group_1" else [-(-n // 2), n - -(-n // 2)]
            assert [r[key] for r in rows] == expected, (name, key)
    # A resampled position embedding is fitted at fill time; every other tensor is still read
    # by rows, and the whole equals the full load at that size.
    from rsbench.backbones import InputSpec

    assert resampled["how"] == "safetensors: each rank read its rows"
    full = load_backbone(tmp_path / "w.safetensors", ARCH, InputSpec(img_size=48), "cls", **OVERRIDES)
    assert resampled["report"]["resampled"] == full.load_report.resampled == {
        "pos_embed": "[1, 17, 192] -> [1, 37, 192]"}
    for key, value in full.model.state_dict().items():
        assert torch.equal(resampled["state"][key], value), key
    # Hugging Face checkpoints: query, key and value are fused into one qkv of 3 x 64 rows;
    # rank 0's 96 rows are all of query and half of key, rank 1's the rest of key and value.
    assert hf["hf"]["how"] == "hf-folder: each rank read its rows"
    assert hf["hf.pth"]["how"] == "torch-zip: each rank read its rows"
    for name, got in hf.items():
        full = load_backbone(tmp_path / name, ARCH, SPEC, "cls", **OVERRIDES, **HF_OVERRIDES)
        assert got["report"]["params_loaded"] == full.load_report.params_loaded
        for key, value in full.model.state_dict().items():
            assert torch.equal(got["state"][key], value), (name, key)
        assert [r["blocks.0.attn.qkv.weight"] for r in got["rows"]] == [96, 96]
