"""``--strategy fsdp`` fills the encoder shard by shard: no rank holds the whole model.

Two CPU processes fine-tune a segmentation model through the engine's run loop with the
encoder of a real ``LoadedModel`` (a safetensors card). Sharded, the encoder is on the meta
device until ``configure_model``; each rank then reads exactly its dim-0 rows of every tensor
(``torch.chunk``'s split, as FSDP2 shards) and never runs the whole-file loader. The final
weights equal, bit for bit, those of the same run whose ranks each read the whole encoder
before sharding it: the shards hold the same numbers and FSDP2 groups the model alike.
"""

import os
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from tiny_models import tiny_vit, write_tiny_card  # noqa: E402

from rsbench.backbones import InputSpec  # noqa: E402
from rsbench.checkpoints import load_backbone  # noqa: E402


def launched(out: Path, mode: str) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]),
                                                        os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "test_sharded_finetune_worker.py"),
                           str(out), mode], env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [torch.load(out / f"rank{r}-{mode}.pt", weights_only=False) for r in (0, 1)]


def test_fsdp_finetune_reads_each_rank_its_shard_and_trains_as_the_full_load(tmp_path):
    write_tiny_card(tmp_path, 32)
    # The segmentation model replaces the encoder's final norm (unused by its feature maps)
    # by Identity before training, so the fill never reads it.
    encoder = {k: v for k, v in tiny_vit(32).model.state_dict().items()
               if not k.startswith("norm.")}
    # torch.chunk over 2 ranks: rank 0 ceil(n / 2) rows, rank 1 the rest (pos_embed's 1 row: none)
    rows0 = {k: -(-v.shape[0] // 2) for k, v in encoder.items()}
    expected = [sum(rows0[k] * v[0].numel() for k, v in encoder.items()),
                sum((v.shape[0] - rows0[k]) * v[0].numel() for k, v in encoder.items())]
    total = sum(v.numel() for v in encoder.values())
    assert sum(expected) == total and 0.4 < expected[1] / total < 0.6

    sharded = launched(tmp_path, "sharded")
    for rank, got in enumerate(sharded):
        assert got["world"] == 2
        assert got["meta_at_build"]  # no encoder memory before configure_model
        assert got["total"] == total
        assert got["local"] == expected[rank]  # materialised: its shard only
        assert got["bytes_read"] == 4 * expected[rank]  # read from the file: its rows only
        assert got["how"] == "safetensors: each rank read its rows"

    full = launched(tmp_path, "full")
    assert [r["meta_at_build"] for r in full] == [False, False]
    assert [r["bytes_read"] for r in full] == [0, 0] and full[0]["how"] is None
    whole = load_backbone(tmp_path / "tiny.safetensors", "vit_tiny_patch16",
                          InputSpec(img_size=32), "cls", depth=2, patch_size=8)
    assert sharded[0]["report"] == whole.load_report.to_dict()  # checked by shapes, reported alike
    assert sorted(sharded[0]["state"]) == sorted(full[0]["state"])
    moved = max((full[0]["state"][f"model.backbone.model.{k}"] - v).abs().max().item()
                for k, v in encoder.items())
    assert moved > 1e-3  # training changed the encoder, so agreeing is not trivial
    for key, value in full[0]["state"].items():
        assert torch.equal(sharded[0]["state"][key], value), key
    assert sharded[0]["metrics"] == full[0]["metrics"]
