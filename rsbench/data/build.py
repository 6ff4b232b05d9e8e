"""From a task's ``dataset:`` spec to train/val/test datasets with a hashed split file.

Order of work: validate everything that needs no disk (name, split spec, bands), then find the
data (downloading if asked), enumerate samples, split, write or reuse the split file, and
fingerprint the files used. Any failure is one line a person can act on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rsbench.config import DatasetSpec
from rsbench.data.base import SceneAdapter
from rsbench.data.bundle import SplitData
from rsbench.data.catalog import adapter_of
from rsbench.data.dataset import SceneDataset
from rsbench.data.fractions import with_train_fraction
from rsbench.data.rows import container_rel
from rsbench.data.split_files import pinned_split
from rsbench.data.splits import parse_split, ratio_split
from rsbench.data.variant import adapter_for


class ClassificationData(SplitData):
    """Scene classification: datasets yield ``(image [C, S, S] in [0, 1], label)``, ``classes``
    in sorted order; the fields are :class:`~rsbench.data.bundle.SplitData`'s."""


def dataset_root(spec: DatasetSpec, data_root: Path) -> Path:
    """Where the dataset lives: ``spec.root`` (relative to ``data_root`` unless absolute), else
    ``data_root / spec.name``."""
    return Path(data_root) / spec.root if spec.root else Path(data_root) / spec.name


def build_classification_data(spec: DatasetSpec, data_root: Path, split_dir: Path,
                              download: bool = False,
                              train_transform: Callable | None = None) -> ClassificationData:
    """The train/val/test datasets of ``spec``, its split file and fingerprint.

    Args:
        spec: the task's dataset spec (name, split, image_size, bands, root).
        data_root: folder holding one folder per dataset.
        split_dir: where split files are written (``<cache>/splits``).
        download: fetch the data when absent (datasets torchgeo can download).
        train_transform: torchvision v2 callable on [0, 1] train images, after the resize.

    Raises:
        RegistryError: unknown dataset name (the message lists the known ones).
        SplitSpecError: an invalid ``dataset.split``.
        SpecError: bands the dataset does not have.
        DatasetNotFound: the data is absent or incomplete (says where and how to get it).
        SplitConflict: a split file of the same name exists with different content.
    """
    adapter = adapter_for(adapter_of(spec.name, SceneAdapter, "scene classification"), spec)  # no variant: refused
    split = parse_split(spec.split, adapter.official_splits, with_fraction=True)
    reader = adapter.reader(tuple(spec.bands))
    root = dataset_root(spec, data_root)
    if split.kind == "ratio":
        assignment = ratio_split(adapter.samples(root, download), split)
    else:
        assignment = adapter.official(root, split.name, download)
    assignment = with_train_fraction(assignment, split)
    classes = adapter.sorted_classes()
    # A row of a container file (So2Sat) is fingerprinted through its file, once.
    used = list(dict.fromkeys(container_rel(p) for items in assignment.values() for p, _ in items))

    def part(name: str, transform: Callable | None = None) -> SceneDataset:
        return SceneDataset(root, assignment[name], reader, spec.image_size, transform)

    return ClassificationData(
        dataset=spec.name, split=split, classes=classes,
        train=part("train", train_transform), val=part("val"), test=part("test"),
        root=root, **pinned_split(spec.name, split, classes, assignment, split_dir, root, used),
    )
