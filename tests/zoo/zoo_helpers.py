"""Random torchgeo modules saved as their released weight files, and runs through rsbench's path."""

from dataclasses import replace
from pathlib import Path

import torch

from rsbench.bands.plan import input_plan
from rsbench.checkpoints import load_backbone
from rsbench.config import DatasetSpec, card_from_dict

OFFICIAL = {"kind": "official"}
#: EuroSAT all-bands as a task declares it: the files' order, B8A last (torchgeo 0.8).
EUROSAT13 = DatasetSpec("eurosat", OFFICIAL, 32, variant="all-bands",
                        bands=("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09",
                               "B10", "B11", "B12", "B8A"))
#: BigEarthNet's 12 Sentinel-2 L2A bands in torchgeo's order (no B10).
BIGEARTHNET = DatasetSpec("bigearthnet", OFFICIAL, 32,
                          bands=("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A",
                                 "B09", "B11", "B12"))
UCMERCED = DatasetSpec("ucmerced", {"kind": "ratio"}, 32, bands=("R", "G", "B"))


def released(tmp_path: Path, module: torch.nn.Module, absent: tuple[str, ...] = ()) -> Path:
    """``module``'s state dict, less the keys the released file lacks, saved as torch.save
    writes a plain state dict (the file torchgeo's weights URL points to)."""
    state = {k: v for k, v in module.state_dict().items() if k not in absent}
    path = tmp_path / "released.pth"
    torch.save(state, path)
    return path


def zoo_card(arch: str, checkpoint: Path, **more):
    return card_from_dict({"name": "zoo", "arch": arch, "checkpoint": str(checkpoint), **more},
                          "card.yaml")


def run_backbone(card, dataset: DatasetSpec):
    """The encoder a run of ``card`` on ``dataset`` gets: loaded as the runner loads it
    (``load_backbone``), then fitted by the band plan."""
    spec = replace(card.input_spec, img_size=dataset.image_size)
    plan = input_plan(spec, card.name, dataset)
    backbone = load_backbone(card.checkpoint, card.arch, spec, card.pool, **card.arch_overrides)
    return plan.fitted(backbone).eval(), plan
