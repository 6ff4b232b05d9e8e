"""From a task's ``dataset:`` spec to detection train/val/test datasets with a hashed split file.

Order of work as for classification and segmentation: validate what needs no disk (name,
split), find and enumerate the data, split (official, val carved by group; or seeded ratio by
image), write or reuse the split file (``rsbench.data.split_files``: one ``[image,
annotation]`` pair per line), and fingerprint every file used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rsbench.config import DatasetSpec
from rsbench.data.build import dataset_root
from rsbench.data.catalog import adapter_of
from rsbench.data.detection.base import DetAdapter
from rsbench.data.detection.common import DetectionData, DetectionDataset, DetSample
from rsbench.data.errors import SplitSpecError
from rsbench.data.official_split import OfficialSplit, parse_official_split
from rsbench.data.preparation import prepare_raw
from rsbench.data.seeded import carve_val
from rsbench.data.split_files import pinned_split
from rsbench.data.splits import SplitSpec, parse_split, ratio_split
from rsbench.data.variant import adapter_for


@dataclass(frozen=True)
class RatioDetSplit(SplitSpec):
    """A seeded ratio split by image, with a note saying whose split it is."""

    note: str = ""

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.note:
            out["note"] = self.note
        return out


def det_adapter(name: str) -> DetAdapter:
    """The adapter for detection dataset ``name``.

    Raises:
        RegistryError: an unknown name, or not a detection dataset; the one-line message lists
            the detection datasets.
    """
    return adapter_of(name, DetAdapter, "detection")


def parse_det_split(raw: dict, adapter: DetAdapter) -> OfficialSplit | RatioDetSplit:
    """Validate ``dataset.split`` for ``adapter``; errors name the offending field.

    Official datasets take ``{kind: official, name?, val_fraction?, seed?}`` (``name`` one of
    the adapter's ``official_names``); ratio datasets take ``{kind: ratio, train, test,
    val_fraction?, seed}``.
    """
    if not isinstance(raw, dict):
        raise SplitSpecError(f"dataset.split must be a mapping, got {raw!r}")
    if adapter.split_kind == "ratio":
        if raw.get("kind") != "ratio":
            raise SplitSpecError(f"dataset.split.kind must be 'ratio' for {adapter.name} (it has "
                                 f"no official split), got {raw.get('kind')!r}")
        spec = parse_split(raw)
        note = (f"rsbench's own split of {adapter.title} by {adapter.split_unit} (no public one exists): "
                f"seeded sha256 order, val carved from train")
        return RatioDetSplit(**{k: getattr(spec, k) for k in
                                ("kind", "train", "test", "val_fraction", "seed")}, note=note)
    names = list(adapter.official_names)
    name = raw.get("name", names[0])
    if not isinstance(name, str) or name not in names:
        raise SplitSpecError(f"dataset.split.name must be one of {names}, got {raw.get('name')!r}")
    return parse_official_split(raw, name, adapter.official_names[name])


def assign(adapter: DetAdapter, root: Path, split: OfficialSplit | RatioDetSplit
           ) -> dict[str, list[DetSample]]:
    """The ``train``/``val``/``test`` samples of ``split`` (each list sorted by image path).

    A ratio split orders and cuts whole ``adapter.group`` units, so tiles of one source image
    (which overlap) never straddle two sides; where a group is one image this is the split by
    image.
    """
    if isinstance(split, RatioDetSplit):
        samples = adapter.samples(root)
        groups = sorted({adapter.group(img) for img, _ in samples})
        side = {group: name for name, items in ratio_split([(g, 0) for g in groups], split).items()
                for group, _ in items}
        return {name: [s for s in samples if side[adapter.group(s[0])] == name]
                for name in ("train", "val", "test")}
    official = adapter.official(root, split.name)
    if official["val"] and split.val_fraction:
        raise SplitSpecError(f"dataset.split.val_fraction must be 0 for split {split.name!r}, "
                             f"which has its own val")
    if official["val"]:
        return official
    train, val = carve_val(official["train"], split.val_fraction, split.seed, adapter.group)
    return {"train": train, "val": val, "test": official["test"]}


def build_detection_data(spec: DatasetSpec, data_root: Path, split_dir: Path,
                         download: bool = False,
                         train_transform: Callable | None = None) -> DetectionData:
    """The train/val/test ``(image, target)`` datasets of ``spec``, its split file and fingerprint.

    Images come at native resolution (``spec.image_size`` is the protocol's and is not used
    here); every dataset here is RGB. ``spec.variant`` names the preparation where a dataset
    has several (DOTA: ``devkit``, the default, or ``mmrotate``); its split file is named
    after it and the reader refuses tiles of another variant. No detection dataset is
    downloaded automatically (``download`` is accepted for a uniform signature; a missing
    dataset says how to get it).

    Args:
        spec: the task's dataset spec (name, split, root, variant).
        data_root: folder holding one folder per dataset (``spec.root`` overrides).
        split_dir: where split files are written.
        download: ignored (see above).
        train_transform: joint torchvision v2 callable ``(image, target) -> (image, target)``.

    Raises:
        RegistryError: unknown dataset name (the message lists the known ones).
        SplitSpecError: an invalid ``dataset.split``.
        SpecError: a variant the dataset has not.
        DatasetNotFound: the data is absent or incomplete (says where and how to get it).
        SplitConflict: a split file of the same name exists with different content.
    """
    del download
    adapter = adapter_for(det_adapter(spec.name), spec)  # a variant it has not: refused
    split = parse_det_split(spec.split, adapter)
    root = dataset_root(spec, data_root)
    assignment = assign(adapter, root, split)
    classes = list(adapter.classes)
    used = sorted({p for items in assignment.values() for pair in items for p in pair})

    def part(name: str, transform: Callable | None = None) -> DetectionDataset:
        return DetectionDataset(root, assignment[name], adapter, transform)

    # Variants cut different tiles: each has its own split file.
    split_name = f"{spec.name}_{spec.variant}" if spec.variant else spec.name
    return DetectionData(
        dataset=spec.name, split=split, classes=classes,
        train=part("train", train_transform), val=part("val"), test=part("test"),
        root=root, prepared=getattr(adapter, "prepared", None),
        **pinned_split(split_name, split, classes, assignment, split_dir, root, used),
    )


def prepare_detection(name: str, src: Path, dst: Path, **options: Any) -> dict:
    """Turn a raw release under ``src`` into the prepared dataset root ``dst``.

    ``options`` are passed on (``tile``, ``overlap``, ``workers``, ``tiles``; DOTA: ``variant``,
    ``min_visible``; xView: ``min_visible``, ``truncated``). Returns the manifest summary.

    Raises:
        PrepareError: a dataset that needs no preparation or is unknown (lists those that do),
            or an option its preparation does not take.
        DatasetNotFound: the raw data is missing (says where and how to get it).
    """
    return prepare_raw("detection", name, src, dst, **options)
