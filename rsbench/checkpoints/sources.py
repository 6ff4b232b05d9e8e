"""One view over every way a checkpoint is stored: flat tensor keys with shapes, read on demand.

Format detection and conversion only need key names and shapes; tensor data is read for the keys
that end up in the encoder. That matters at scale: a DCP folder or an MAE training checkpoint of a
billion-parameter ViT carries two optimizer moments per weight, which are never read here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from rsbench.checkpoints import dcp, hf
from rsbench.checkpoints.safe_load import (
    CheckpointError,
    read_safetensors,
    read_torch,
    safetensors_shapes,
    sniff,
)

Reader = Callable[[list[str]], dict[str, torch.Tensor]]


@dataclass
class Source:
    """A checkpoint opened for reading.

    Attributes:
        path: file or folder.
        storage: ``torch-zip``, ``torch-legacy``, ``safetensors``, ``dcp`` or ``hf-folder``.
        shapes: every tensor by flattened dotted key (nested dicts joined with ``.``).
        read: returns the tensors for a list of keys.
        info: facts from outside the tensors: top-level entries, Lightning version, HF config.
        parts: the weight files of a folder (an HF folder's shards), each its own ``Source``.
    """

    path: Path
    storage: str
    shapes: dict[str, tuple[int, ...]]
    read: Reader
    info: dict[str, Any] = field(default_factory=dict)
    parts: list[Source] = field(default_factory=list)


def flatten_tensors(obj: Mapping, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors of a nested mapping by dotted key, as DCP flattens; lists and other values skipped."""
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            out[name] = value
        elif isinstance(value, Mapping):
            out.update(flatten_tensors(value, f"{name}."))
    return out


def torch_info(obj: Mapping) -> dict[str, Any]:
    """What a ``torch.save`` mapping says about its origin, besides its tensors."""
    info: dict[str, Any] = {"top_level": [str(k) for k in obj]}
    version = obj.get("pytorch-lightning_version")
    if version is not None:
        info["lightning_version"] = str(version)
    if isinstance(obj.get("args"), argparse.Namespace):
        info["has_training_args"] = True
        info["training_args"] = plain_values(vars(obj["args"]))
    if isinstance(obj.get("hyper_parameters"), Mapping):  # Lightning's save_hyperparameters()
        info["hyper_parameters"] = plain_values(obj["hyper_parameters"])
    return info


def plain_values(obj: Mapping, prefix: str = "") -> dict[str, Any]:
    """Strings, numbers and booleans of a nested mapping by dotted key (what names an
    architecture: a model name, ``num_heads``...); tensors and objects are left out."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, Mapping):
            out.update(plain_values(value, f"{prefix}{key}."))
        elif isinstance(value, str | int | float | bool):
            out[f"{prefix}{key}"] = value
    return out


def torch_source(path: Path) -> Source:
    """A ``.pth/.pt/.bin/.ckpt`` file, memory-mapped when in zip format."""
    obj = read_torch(path)
    if isinstance(obj, torch.Tensor) or not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a state dict or a "
                              "dict containing one")
    tensors = flatten_tensors(obj)
    return Source(
        path=path, storage="torch-zip" if sniff(path) == "zip" else "torch-legacy",
        shapes={k: tuple(v.shape) for k, v in tensors.items()},
        read=lambda keys: {k: tensors[k] for k in keys}, info=torch_info(obj),
    )


def safetensors_source(path: Path) -> Source:
    """A ``.safetensors`` file; only the requested tensors are read."""
    return Source(path=path, storage="safetensors", shapes=safetensors_shapes(path),
                  read=lambda keys: read_safetensors(path, keys))


def dcp_source(path: Path) -> Source:
    """A ``torch.distributed.checkpoint`` folder; only the requested tensors are read."""
    meta = dcp.read_metadata(path)
    return Source(path=path, storage="dcp", shapes=dcp.dcp_shapes(meta),
                  read=lambda keys: dcp.read_dcp(path, keys, meta))


def file_source(path: Path) -> Source:
    """A single weights file of any supported kind, recognised by content, not extension."""
    return safetensors_source(path) if sniff(path) == "safetensors" else torch_source(path)


def hf_source(path: Path) -> Source:
    """A Hugging Face ``save_pretrained`` folder (single file or sharded)."""
    parts = [file_source(f) for f in hf.weight_files(path)]
    owner = {k: part for part in parts for k in part.shapes}

    def read(keys: list[str]) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for part in parts:
            out.update(part.read([k for k in keys if owner[k] is part]))
        return out

    return Source(path=path, storage="hf-folder", shapes={k: owner[k].shapes[k] for k in owner},
                  read=read, info={"hf_config": hf.read_config(path)}, parts=parts)


def open_source(path: str | Path) -> Source:
    """Open any supported checkpoint, or raise a one-line ``CheckpointError`` naming it."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    if path.is_dir():
        if dcp.is_dcp_dir(path):
            return dcp_source(path)
        if hf.is_hf_folder(path):
            return hf_source(path)
        raise CheckpointError(
            f"{path}: a directory that is neither a DCP checkpoint (.metadata + *.distcp) nor a "
            "Hugging Face folder (config.json + model.safetensors or pytorch_model.bin)"
        )
    return file_source(path)


def tagged(source: Source, dtype: torch.dtype) -> Source:
    """``source`` whose reads are meta tensors (no data) of ``dtype`` that remember their
    source key as ``rsbench_key``: a conversion run over them gives the real one's report, and
    which checkpoint key (or keys, for a fused tensor) each target came from."""
    def read(keys: list[str]) -> dict[str, torch.Tensor]:
        out = {}
        for key in keys:
            meta = torch.empty(source.shapes[key], dtype=dtype, device="meta")
            meta.rsbench_key = key  # type: ignore[attr-defined]  # read back by sharded.fill_plan
            out[key] = meta
        return out

    return replace(source, read=read)
