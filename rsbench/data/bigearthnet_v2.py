"""BigEarthNet v2 / reBEN (Clasen et al., IGARSS 2025): Sentinel-2 and Sentinel-1, 19 classes.

549,488 pairs of Sentinel-2 L2A and Sentinel-1 GRD patches with labels recomputed from CORINE
2018 in the 19-class nomenclature, and a geographic train/validation/test split. On disk, as
torchgeo 0.8's ``BigEarthNetV2`` reads it::

    <root>/BigEarthNet-S2/<tile>/<patch>/<patch>_B01.tif ... _B12.tif   12 single-band GeoTIFFs
        (<tile> is <patch> without its last two fields)
    <root>/BigEarthNet-S1/<scene>/<s1 patch>/<s1 patch>_VV.tif, _VH.tif  (<scene>: <s1 patch>
        without its last three fields)
    <root>/metadata.parquet    one row per patch: patch_id, s1_name, split (train, validation,
                               test), labels (19-class names)
    <root>/Reference_Maps/...  pixel-level CLC maps (torchgeo checks they exist; not read here)

Bands are read as in v1 (``rsbench.data.multilabel_patches``); ``dataset.variant`` is torchgeo's
``bands=``: ``s2`` (default), ``s1`` or ``all``. Labels are the metadata's names indexed in
torchgeo's ``BigEarthNetV2.class_set``; patches are in the metadata's row order, as torchgeo
serves them. Folder names, split names and the class list are read from torchgeo's class.
Reading the metadata needs pyarrow (pandas' parquet engine).

A sample is ``(<patch>/<patch>_B02.tif, label indices)`` (``_VV.tif`` for ``s1`` and ``all``, whose
samples are the S1 patches); the fingerprint covers every band file it reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from rsbench.config import SpecError
from rsbench.data.bigearthnet import AllVariant, BigEarthNetAdapter, S1Variant
from rsbench.data.errors import DataError
from rsbench.data.multilabel_patches import (
    LabelledPatch,
    PatchSplits,
)
from rsbench.data.torchgeo_meta import FromTorchGeo
from rsbench.errors import UserError

#: The band file that stands for a patch in the split file, per sensor.
KEY_BAND = {"s2": "B02", "s1": "VV"}
#: Fields of a patch name dropped to get its parent folder, per sensor (torchgeo's rule).
PARENT_FIELDS = {"s2": 2, "s1": 3}


def patch_folder(sensor: str, name: str) -> str:
    """``<parent>/<name>``: the patch folder below the sensor's directory."""
    return f"{'_'.join(name.split('_')[:-PARENT_FIELDS[sensor]])}/{name}"


def read_metadata(path: Path) -> Any:
    """``metadata.parquet`` as a pandas frame.

    Raises:
        UserError: pyarrow (pandas' parquet engine) is not installed.
        DataError: the file cannot be read or lacks a column torchgeo reads.
    """
    import pandas as pd

    try:
        import pyarrow  # noqa: F401  (pandas' parquet engine)
    except ImportError:
        raise UserError(f"{path}: reading BigEarthNet v2's metadata needs pyarrow; "
                        "pip install pyarrow") from None
    try:
        frame = pd.read_parquet(path, columns=["patch_id", "s1_name", "split", "labels"])
    except Exception as err:  # pyarrow's errors for a truncated file or a missing column
        raise DataError(f"{path} cannot be read ({type(err).__name__}: "
                        f"{' '.join(str(err).split())[:160]}); download metadata.parquet again"
                        ) from None
    return frame


class BigEarthNetV2Adapter(BigEarthNetAdapter):
    """BigEarthNet v2 (reBEN), Sentinel-2, 19 classes, its official train/validation/test split."""

    name = "bigearthnet_v2"
    title = "BigEarthNet v2 (reBEN; Sentinel-2 L2A, 12 bands, 19 classes, multi-label)"
    torchgeo_class: ClassVar[str] = "torchgeo.datasets:BigEarthNetV2"
    classes = FromTorchGeo(lambda tg: tuple(tg("class_set")))
    #: Sensor key -> the folder (or file) name under the root.
    directories = FromTorchGeo(lambda tg: dict(tg("dir_file_names")))
    #: rsbench's split -> the metadata's ``split`` value.
    split_values = FromTorchGeo(lambda tg: dict(tg("split_map")))

    def with_variant(self, name: str | None) -> BigEarthNetV2Adapter:
        """Sentinel-2 (None, ``s2``), Sentinel-1 (``s1``) or both (``all``).

        Raises:
            SpecError: another variant name.
        """
        if name in VARIANTS:
            return VARIANTS[name]()
        raise SpecError(f"dataset.variant {name!r}: BigEarthNet v2 has "
                        f"{', '.join(str(v) for v in VARIANTS if v)}")

    def expected(self, root: Path) -> str:
        parts = {"s2": f"{self.directories['s2']}/<tile>/<patch>/<patch>_B01.tif..._B12.tif",
                 "s1": f"{self.directories['s1']}/<scene>/<patch>/<patch>_VV.tif, _VH.tif"}
        return (" and ".join(parts[k] for k in self.sensors())
                + f", plus {self.directories['metadata']}")

    def how_to_get(self) -> str:
        return (f"run with --download (torchgeo's BigEarthNetV2 fetches and extracts the S1, S2 "
                f"and reference-map archives and the metadata) or get them from "
                f"{self.homepage}")

    def download(self, root: Path) -> None:
        """Everything torchgeo's ``BigEarthNetV2(download=True)`` fetches."""
        from torchgeo.datasets import BigEarthNetV2

        root.mkdir(parents=True, exist_ok=True)
        BigEarthNetV2(str(root), split="train", bands=self.variant, download=True)

    def missing(self, root: Path) -> bool:
        """Whether the metadata or a sensor folder this variant reads is absent."""
        return (not (root / self.directories["metadata"]).is_file()
                or any(not (root / self.directories[k]).is_dir() for k in self.sensors()))

    def splits(self, root: Path, download: bool = False) -> PatchSplits:
        """The patches of each split in metadata order, with their labels, and (variant
        ``all``) each S1 patch's S2 folder.

        Raises:
            DatasetNotFound: the metadata or a sensor folder is absent.
            DataError: the metadata is unreadable or names a class outside the 19.
        """
        if self.missing(root) and download:
            self.download(root)
        if self.missing(root):
            raise self.not_found(root)
        frame = read_metadata(root / self.directories["metadata"])
        index = {c: i for i, c in enumerate(self.classes)}
        own, *other = self.sensors()
        column = {"s2": "patch_id", "s1": "s1_name"}
        assignment: dict[str, list[LabelledPatch]] = {}
        partners: dict[str, Path] | None = {} if other else None
        for split, value in self.split_values.items():
            rows = frame[frame["split"] == value]
            assignment[split] = [self.listed(root, own, name, list(labels), index)
                                 for name, labels in zip(rows[column[own]], rows["labels"],
                                                         strict=True)]
            if partners is not None:
                partners.update({name: root / self.directories[other[0]]
                                 / patch_folder(other[0], partner)
                                 for name, partner in zip(rows[column[own]],
                                                          rows[column[other[0]]], strict=True)})
        return PatchSplits(assignment, partners)

    def listed(self, root: Path, sensor: str, patch: str, names: list[str],
               index: dict[str, int]) -> LabelledPatch:
        """``(key band file, 19-class indices)`` of one patch."""
        unknown = [n for n in names if n not in index]
        if unknown:
            raise DataError(f"dataset {self.name!r} at {root}: {self.directories['metadata']} "
                            f"gives patch {patch} label(s) {unknown} outside the 19 classes; "
                            "download the metadata again")
        rel = (f"{self.directories[sensor]}/{patch_folder(sensor, patch)}/"
               f"{patch}_{KEY_BAND[sensor]}.tif")
        return rel, tuple(sorted({index[n] for n in names}))


class BigEarthNetV2S1Adapter(S1Variant, BigEarthNetV2Adapter):
    """BigEarthNet v2, Sentinel-1 (VV, VH backscatter, mapped from dB by ``rsbench.data.sar``)."""

    title = "BigEarthNet v2 (reBEN; Sentinel-1 GRD, VV and VH, 19 classes, multi-label)"


class BigEarthNetV2AllAdapter(AllVariant, BigEarthNetV2Adapter):
    """BigEarthNet v2, Sentinel-1 and Sentinel-2 (one metadata row: both patches)."""

    title = "BigEarthNet v2 (reBEN; Sentinel-1 VV, VH and Sentinel-2 L2A, 19 classes)"


VARIANTS: dict[str | None, type[BigEarthNetV2Adapter]] = {
    None: BigEarthNetV2Adapter, "s2": BigEarthNetV2Adapter, "s1": BigEarthNetV2S1Adapter,
    "all": BigEarthNetV2AllAdapter}
