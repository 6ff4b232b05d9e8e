"""A lazy encoder takes a band plan's patch-embedding reduction: the fill reduces the file's
kernel the way the whole load reduces the loaded one (one process, no process group: the
fill of unsharded tensors copies every row)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent.parent / "checkpoints"))
from ckpt_helpers import ARCH, OVERRIDES, SPEC, timm_vit  # noqa: E402

from rsbench.checkpoints import CheckpointError, load_backbone  # noqa: E402
from rsbench.checkpoints.adapt import with_band_subset  # noqa: E402
from rsbench.checkpoints.sharded import band_subset_later, filled, lazy_backbone  # noqa: E402


@pytest.mark.parametrize("method", ["slice", "adapt"])
def test_lazy_fill_reduces_the_patch_embedding_as_the_full_load(tmp_path, method):
    from safetensors.torch import save_file

    save_file(timm_vit(seed=3).state_dict(), str(tmp_path / "w.safetensors"))
    keep = (2, 0)
    full = load_backbone(tmp_path / "w.safetensors", ARCH, SPEC, "cls", **OVERRIDES)
    with_band_subset(full.model, keep, method)
    lazy = band_subset_later(lazy_backbone(tmp_path / "w.safetensors", ARCH, SPEC, "cls",
                                           **OVERRIDES), keep, method)
    with_band_subset(lazy.model, keep, method)  # what the band plan does: shapes only, on meta
    assert lazy.model.patch_embed.proj.weight.is_meta
    assert lazy.load_report.to_dict() == full.load_report.to_dict()  # checked by shapes alone
    filled(lazy, "cpu")
    assert lazy.sharded_read == "safetensors: each rank read its rows"
    ours, reference = lazy.model.state_dict(), full.model.state_dict()
    assert list(ours) == list(reference)
    assert ours["patch_embed.proj.weight"].shape[1] == 2
    for key, value in reference.items():
        assert torch.equal(ours[key], value), key


def test_a_band_subset_of_an_unsliceable_file_is_refused_naming_the_fix(tmp_path):
    torch.save(timm_vit().state_dict(), tmp_path / "w.pth", _use_new_zipfile_serialization=False)
    lazy = lazy_backbone(tmp_path / "w.pth", ARCH, SPEC, "cls", **OVERRIDES)
    with pytest.raises(CheckpointError, match=r"w\.pth: patch_embed.proj.weight .*\.safetensors"):
        band_subset_later(lazy, (0,), "slice")
