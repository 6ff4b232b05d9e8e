"""The seeded tiny ViT the head, protocol and end-to-end tests score, a protocol context that
builds it and a model card that loads it, so every test means the same model by "tiny"."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch
import yaml

from rsbench.backbones import InputSpec, build_backbone
from rsbench.engine.trainer import EngineOptions
from rsbench.protocols import ProtocolContext


def tiny_vit(size: int = 64, depth: int = 2, patch: int = 8, **overrides):
    """ViT-Ti with ``depth`` blocks and ``patch`` px patches, weights from seed 0."""
    torch.manual_seed(0)
    return build_backbone("vit_tiny_patch16", InputSpec(img_size=size), depth=depth,
                          patch_size=patch, **overrides)


def protocol_context(tmp_path, name: str, protocol: dict, backbones: list, size: int, make_data,
                     plugin) -> ProtocolContext:
    """A CPU ``ProtocolContext`` for task ``name``; every backbone it builds is appended to
    ``backbones`` so a test can inspect what the protocol trained."""
    task = SimpleNamespace(task=name, path="fake.yaml", protocol=protocol,
                           dataset=SimpleNamespace(image_size=size))

    def make_backbone(sharded=False, **kw):  # whole either way: the engine shards it as it is
        backbones.append(tiny_vit(size, **kw))
        return backbones[-1]

    return ProtocolContext(
        task=task, seed=0,
        opts=EngineOptions(accelerator="cpu", progress=False, root_dir=str(tmp_path)),
        make_backbone=make_backbone, make_data=make_data, cache=None, identity={}, plugin=plugin)


def write_tiny_card(folder: Path, img_size: int) -> Path:
    """``folder/tiny.safetensors`` (``tiny_vit(img_size)``) and ``folder/card.yaml`` reading it."""
    from safetensors.torch import save_file

    save_file(tiny_vit(img_size).model.state_dict(), str(folder / "tiny.safetensors"))
    card = folder / "card.yaml"
    card.write_text(yaml.safe_dump({"name": "tiny", "arch": "vit_tiny_patch16",
                                    "checkpoint": str(folder / "tiny.safetensors"),
                                    "arch_overrides": {"depth": 2, "patch_size": 8},
                                    "input_spec": {"img_size": img_size}}))
    return card


REPO = Path(__file__).resolve().parents[1]


def write_demo_task(folder: Path, name: str, protocol: str, overrides: str) -> Path:
    """``folder/<name>.yaml``: a 32 px task on the demo dataset (synthetic UC Merced) with the
    shipped ``protocol`` (``knn``, ``linear_probe``, ``finetune``, or ``seg`` for the demo's
    LoveDA frozen task) and ``overrides`` as a YAML flow mapping of protocol options."""
    base = ([f"{REPO}/tasks/demo/demo_loveda_frozen.yaml"] if protocol == "seg" else
            [f"{REPO}/tasks/demo/_demo_dataset.yaml",
             f"{REPO}/tasks/classification/_protocols/{protocol}.yaml"])
    path = folder / f"{name}.yaml"
    path.write_text(f"include: [{', '.join(base)}]\ntask: {name}\nversion: 1\n"
                    f"dataset: {{image_size: 32}}\nprotocol: {overrides}\n")
    return path
