"""From a task's ``dataset:`` spec to segmentation train/val/test datasets with a hashed split file.

Order of work as for classification: validate what needs no disk (name, split), find and
enumerate the data, carve val, write or reuse the split file (``rsbench.data.split_files``: one
``[image, mask]`` pair per line), and fingerprint every file used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rsbench.config import DatasetSpec
from rsbench.data.build import dataset_root
from rsbench.data.catalog import adapter_of
from rsbench.data.fractions import group_subset
from rsbench.data.official_split import parse_official_split
from rsbench.data.preparation import preparable, prepare_raw
from rsbench.data.seeded import carve_val
from rsbench.data.segmentation.base import SegAdapter
from rsbench.data.segmentation.common import (
    IGNORE_INDEX,
    SegmentationData,
    SegmentationDataset,
)
from rsbench.data.split_files import pinned_split
from rsbench.data.variant import adapter_for

#: Datasets whose raw release must be cut into patches first (``prepare_dataset``).
PREPARABLE = tuple(preparable("segmentation"))


def seg_adapter(name: str) -> SegAdapter:
    """The adapter for segmentation dataset ``name``.

    Raises:
        RegistryError: an unknown name, or not a segmentation dataset; the one-line message
            lists the segmentation datasets.
    """
    return adapter_of(name, SegAdapter, "segmentation")


def build_segmentation_data(spec: DatasetSpec, data_root: Path, split_dir: Path,
                            download: bool = False,
                            train_transform: Callable | None = None) -> SegmentationData:
    """The train/val/test ``(image, mask)`` datasets of ``spec``, its split file and fingerprint.

    Images come at native resolution (``spec.image_size`` is the protocol's crop size and is
    not used here); ``spec.bands`` is not checked (every dataset here is 3-channel).

    Args:
        spec: the task's dataset spec; ``split`` is ``{kind: official}`` with optional
            ``val_fraction`` and ``seed`` (val carved from train by file, tile or scene) and
            ``train_fraction`` (the label-efficiency subset of the rest, by the same unit).
            ``variant`` names the dataset's variant where it has some (ISPRS: required, e.g.
            ``rgb-eroded-6cls``; its split file is named after it).
        data_root: folder holding one folder per dataset (``spec.root`` overrides).
        split_dir: where split files are written.
        download: fetch the data when absent (LoveDA only; ISPRS and iSAID are manual).
        train_transform: joint torchvision v2 callable ``(image, Mask) -> (image, mask)``.

    Raises:
        RegistryError: unknown dataset name (the message lists the known ones).
        SplitSpecError: an invalid ``dataset.split``.
        DatasetNotFound: the data is absent or incomplete (says where and how to get it).
        SplitConflict: a split file of the same name exists with different content.
    """
    adapter = adapter_for(seg_adapter(spec.name), spec)  # a variant it has not: refused
    split = parse_official_split(spec.split, adapter.official_name, adapter.split_note,
                            with_fraction=True)
    root = dataset_root(spec, data_root)
    official = adapter.official(root, download)
    train, val = carve_val(official["train"], split.val_fraction, split.seed, adapter.group)
    train = group_subset(train, split.train_fraction, split.seed, adapter.group)
    assignment = {"train": train, "val": val, "test": official["test"]}
    classes = list(adapter.classes)
    used = [p for items in assignment.values() for pair in items for p in pair]
    # Variants differ in classes or files: each has its own split file.
    split_name = f"{spec.name}_{spec.variant}" if spec.variant else spec.name

    def part(name: str, transform: Callable | None = None) -> SegmentationDataset:
        return SegmentationDataset(root, assignment[name], adapter.read_mask, transform)

    return SegmentationData(
        dataset=spec.name, split=split, classes=classes, ignore_index=IGNORE_INDEX,
        train=part("train", train_transform), val=part("val"), test=part("test"),
        root=root, prepared=getattr(adapter, "prepared", None) or None,
        **pinned_split(split_name, split, classes, assignment, split_dir, root, used),
    )


def prepare_dataset(name: str, src: Path, dst: Path, **options: Any) -> dict:
    """Turn a raw release under ``src`` into the prepared dataset root ``dst``.

    ``options`` are passed on (``patch``, ``stride``, ``workers``, ``variant``, ``tiles``; see
    ``prepare_isprs`` / ``prepare_isaid``; defaults ISPRS 512 / 256 as mmseg's converters, iSAID
    896 / 512 as mmseg's ``isaid.py``). Returns the manifest summary.

    Raises:
        PrepareError: a dataset that needs no preparation or is unknown (lists those that do),
            or an option its preparation does not take.
        DatasetNotFound: the raw data is missing (says where and how to get it).
    """
    return prepare_raw("segmentation", name, src, dst, **options)
