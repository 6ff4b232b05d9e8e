"""The named ISPRS variants: what a preparation put on disk, and how a task reads it.

A *preparation variant* (``rsbench data prepare --variant NAME``) fixes the bands, the label
files and the patch grid; it is written into ``manifest.json``::

    rgb-eroded   Potsdam default: mmseg's converter on 2_Ortho_RGB + 5_Labels_all_noBoundary
    irrg-eroded  Vaihingen default (its only bands): mmseg's converter on top/ + eroded labels
    rgb-full     mmseg's converter on the full (not eroded) labels
    irrg-full    as above, NIR-R-G bands
    pangaea      PANGAEA's Potsdam: IRRG, full labels, 512 px tiles every 384 px, no edge tile

A *read variant* (the task's ``dataset.variant``) is a preparation variant plus the class
protocol, chosen when reading so one preparation serves both: ``6cls`` scores clutter as a
sixth class (mmseg's ``PotsdamDataset`` / ``ISPRSDataset``), ``5cls`` ignores it (PANGAEA,
and papers reporting five classes). e.g. ``rgb-eroded-6cls``, ``pangaea-5cls``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rsbench.config import SpecError

#: The six ISPRS classes in mmseg's index order (stored indices are these + 1; 0 = boundary).
ISPRS_CLASSES_6: tuple[str, ...] = ("impervious_surface", "building", "low_vegetation", "tree", "car", "clutter")
CLASS_PROTOCOLS = {"6cls": ISPRS_CLASSES_6, "5cls": ISPRS_CLASSES_6[:5]}


@dataclass(frozen=True)
class PrepVariant:
    """What one preparation wrote: ``bands`` rgb|irrg, ``labels`` eroded|full, ``grid``
    mmseg|pangaea (patch origins and colour decoding of that reference)."""

    name: str
    bands: str
    labels: str
    grid: str
    reference: str

    def to_dict(self) -> dict:
        return {"name": self.name, "bands": self.bands, "labels": self.labels,
                "grid": self.grid, "reference": self.reference}


MMSEG = "mmsegmentation 1.2.2 tools/dataset_converters/{name}.py"
PANGAEA = "PANGAEA-bench pangaea/datasets/potsdam.py (tile_image 512 / overlap 128)"
PREP_VARIANTS = {
    "rgb-eroded": PrepVariant("rgb-eroded", "rgb", "eroded", "mmseg", MMSEG),
    "irrg-eroded": PrepVariant("irrg-eroded", "irrg", "eroded", "mmseg", MMSEG),
    "rgb-full": PrepVariant("rgb-full", "rgb", "full", "mmseg", MMSEG),
    "irrg-full": PrepVariant("irrg-full", "irrg", "full", "mmseg", MMSEG),
    "pangaea": PrepVariant("pangaea", "irrg", "full", "pangaea", PANGAEA),
}
#: Per dataset: the variants it has, the first being its default (mmseg's converter).
DATASET_VARIANTS = {
    "potsdam": ("rgb-eroded", "irrg-eroded", "rgb-full", "irrg-full", "pangaea"),
    "vaihingen": ("irrg-eroded", "irrg-full"),
}


def prep_variant(dataset: str, name: str | None) -> PrepVariant:
    """The preparation variant ``name`` of ``dataset`` (None: mmseg's default).

    Raises:
        SpecError: a name this dataset has not; the message lists those it has.
    """
    known = DATASET_VARIANTS[dataset]
    if name is None:
        return PREP_VARIANTS[known[0]]
    if name not in known:
        why = " (Vaihingen images are IRRG only)" if dataset == "vaihingen" and "rgb" in name else ""
        raise SpecError(f"{dataset} has no preparation variant {name!r}{why}; "
                        f"known: {', '.join(known)}")
    return PREP_VARIANTS[name]


@dataclass(frozen=True)
class ReadVariant:
    """A task's ``dataset.variant``: the preparation it needs and the class protocol."""

    prep: PrepVariant
    protocol: str

    @property
    def name(self) -> str:
        return f"{self.prep.name}-{self.protocol}"

    @property
    def classes(self) -> tuple[str, ...]:
        return CLASS_PROTOCOLS[self.protocol]

    def to_dict(self) -> dict:
        return {**self.prep.to_dict(), "name": self.name, "prepared_as": self.prep.name,
                "class_protocol": self.protocol}


def read_variants(dataset: str) -> list[str]:
    """Every read variant name of ``dataset``, e.g. ``rgb-eroded-6cls``."""
    return [f"{p}-{c}" for p in DATASET_VARIANTS[dataset] for c in CLASS_PROTOCOLS]


def read_variant(dataset: str, name: str | None) -> ReadVariant:
    """Parse a task's ``dataset.variant`` (required for ISPRS: no silent default).

    Raises:
        SpecError: absent or unknown; the message lists the valid names.
    """
    valid = read_variants(dataset)
    if name not in valid:
        problem = "is required" if name is None else f"is {name!r}, unknown"
        raise SpecError(f"dataset.variant {problem} for {dataset}; one of: {', '.join(valid)}")
    prep, protocol = name.rsplit("-", 1)
    return ReadVariant(PREP_VARIANTS[prep], protocol)


def index_lut(protocol: str) -> np.ndarray:
    """A 256-entry table from stored indices (mmseg's 0..6) to the protocol's training indices.

    mmseg's ``reduce_zero_label``: 0 -> 255, v -> v - 1, 254 stays 255 (so 255 stays 255);
    ``5cls`` also sends clutter (stored 6, index 5) to 255.
    """
    lut = np.arange(256, dtype=np.int64) - 1
    lut[0] = lut[255] = 255
    if protocol == "5cls":
        lut[6] = 255
    return lut.astype(np.uint8)
