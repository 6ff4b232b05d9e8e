"""BigEarthNet v1 (Sumbul et al., IGARSS 2019): Sentinel-2 and Sentinel-1 multi-label scenes.

590,326 pairs of Sentinel-2 L2A and Sentinel-1 GRD patches of 1.2 x 1.2 km, each labelled with
the CORINE Land Cover 2018 classes it contains, read here in the 19-class nomenclature (Sumbul et
al., IEEE TNNLS 2021) that BigEarthNet papers report. On disk, as torchgeo 0.8's ``BigEarthNet``
reads it::

    <root>/BigEarthNet-v1.0/<s2 patch>/<s2 patch>_B01.tif ... _B12.tif   one single-band
        GeoTIFF per band (B01..B09, B8A, B11, B12: 12 bands, no B10); 10 m bands 120 px,
        20 m 60 px, 60 m 20 px
    <root>/BigEarthNet-v1.0/<s2 patch>/<s2 patch>_labels_metadata.json   {"labels": [43 names]}
    <root>/BigEarthNet-S1-v1.0/<s1 patch>/<s1 patch>_VV.tif, _VH.tif     float32 dB, 120 px
    <root>/BigEarthNet-S1-v1.0/<s1 patch>/<s1 patch>_labels_metadata.json
    <root>/bigearthnet-{train,val,test}.csv                              "<s2>,<s1>" lines

``dataset.variant`` is torchgeo's ``bands=`` argument: ``s2`` (the default), ``s1`` (VV, VH) or
``all`` (S1 bands named ``s1:VV``, ``s1:VH`` beside the S2 names). Bands are read as
``rsbench.data.multilabel_patches`` says: S2 as reflectance (DN / 10,000, the L2A quantification
value) clipped to [0, 1], S1 as the stored dB mapped to [0, 1] (``rsbench.data.sar``: -50 dB is 0,
+10 dB is 1). Labels are torchgeo's: the 43 names of the label file (the S1 patch's for ``s1``
and ``all``, as torchgeo reads them) mapped through ``BigEarthNet.label_converter`` (names
outside the 19 classes are dropped, so a patch may have no label). Class names, the mapping, the
split file names and the folder names are read from torchgeo's class attributes, never copied.

A sample is ``(<patch>/<patch>_labels_metadata.json, label indices)``: the label file names the
patch, so the pre-flight checks and the split file see one file per sample, while the
fingerprint covers every band file too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from rsbench.config import SpecError
from rsbench.data.adapter import DatasetAdapter
from rsbench.data.errors import DataError
from rsbench.data.multilabel_patches import (
    S1_BANDS,
    S2_BANDS,
    LabelledPatch,
    MultiLabelData,
    MultiLabelDataset,
    PatchReader,
    PatchSplits,
    checked,
)
from rsbench.data.sar import DB_LOW, DB_SPAN
from rsbench.data.torchgeo_meta import FromTorchGeo

__all__ = ["S1_BANDS", "S2_BANDS", "BigEarthNetAdapter", "MultiLabelData", "MultiLabelDataset",
           "PatchReader"]


class BigEarthNetAdapter(DatasetAdapter):
    """BigEarthNet v1, Sentinel-2, 19 classes, torchgeo's official train/val/test split."""

    name = "bigearthnet"
    title = "BigEarthNet v1 (Sentinel-2 L2A, 12 bands, 19 classes, multi-label)"
    homepage = "https://bigearth.net"
    multilabel = True
    torchgeo_class: ClassVar[str] = "torchgeo.datasets:BigEarthNet"
    #: torchgeo's ``bands=`` argument this adapter reads as (the ``dataset.variant``).
    variant: ClassVar[str] = "s2"
    sensor: ClassVar[str] = "s2_l2a"
    #: L2A digital number of reflectance 1.0 (ESA's quantification value); S1 bands are mapped
    #: from dB by ``rsbench.data.sar``.
    value_scale: ClassVar[float] = 10000.0
    #: The task's band names this variant reads.
    band_names: ClassVar[tuple[str, ...]] = S2_BANDS
    official_splits: ClassVar[tuple[str, ...]] = ("torchgeo",)
    classes = FromTorchGeo(lambda tg: tuple(tg("class_sets")[19]))
    #: 43-class name -> 19-class index (names outside the 19 classes absent).
    label_map = FromTorchGeo(lambda tg: {name: tg("label_converter")[i]
                                         for i, name in enumerate(tg("class_sets")[43])
                                         if i in tg("label_converter")})
    #: Every name a label file may hold (those outside the 19 classes are dropped).
    names_43 = FromTorchGeo(lambda tg: frozenset(tg("class_sets")[43]))
    #: Sensor key of torchgeo's ``metadata`` -> the patch folder of that sensor.
    directories = FromTorchGeo(lambda tg: {k: str(m["directory"])
                                           for k, m in tg("metadata").items()})
    split_filenames = FromTorchGeo(lambda tg: {s: str(m["filename"])
                                               for s, m in tg("splits_metadata").items()})

    def with_variant(self, name: str | None) -> BigEarthNetAdapter:
        """The Sentinel-2 patches (None, ``s2``), Sentinel-1 (``s1``) or both (``all``).

        Raises:
            SpecError: another variant name.
        """
        if name in VARIANTS:
            return VARIANTS[name]()
        raise SpecError(f"dataset.variant {name!r}: BigEarthNet has "
                        f"{', '.join(str(v) for v in VARIANTS if v)}")

    def sensors(self) -> tuple[str, ...]:
        """torchgeo's sensor keys this variant reads; labels come from the first (as torchgeo)."""
        return {"s2": ("s2",), "s1": ("s1",), "all": ("s1", "s2")}[self.variant]

    def s1_first(self) -> bool:
        """Whether a sample's own folder (its label file's) is the Sentinel-1 patch."""
        return self.sensors()[0] == "s1"

    def split_dataset(self) -> str:
        """The dataset name of the split file: a variant with other samples has its own file."""
        return self.name if self.variant == "s2" else f"{self.name}_{self.variant}"

    def expected(self, root: Path) -> str:
        files = ", ".join(self.split_filenames.values())
        parts = {"s2": f"{self.directories['s2']}/<patch>/<patch>_B01.tif..._B12.tif "
                       "(12 single-band GeoTIFFs)",
                 "s1": f"{self.directories['s1']}/<patch>/<patch>_VV.tif, _VH.tif"}
        return (" and ".join(parts[k] for k in self.sensors())
                + f" with <patch>_labels_metadata.json, plus {files}")

    def how_to_get(self) -> str:
        archives = " and ".join(f"BigEarthNet-{k.upper()}-v1.0.tar.gz" for k in self.sensors())
        return (f"run with --download (torchgeo's BigEarthNet, bands={self.variant!r}, fetches "
                f"the archives and the split files) or extract {archives} from {self.homepage}")

    def checked_bands(self, bands: tuple[str, ...]) -> tuple[str, ...]:
        """``bands`` when this variant has them.

        Raises:
            SpecError: a band the variant's patches do not have.
        """
        return checked(self.name, bands, self.band_names)

    def reader(self, bands: tuple[str, ...]) -> PatchReader:
        """Refused, as :meth:`official`: the multi-label builder makes the reader.

        Raises:
            SpecError: always (the task needs ``type: multilabel``).
        """
        raise self.wrong_type()

    def download(self, root: Path) -> None:
        """Everything torchgeo's ``BigEarthNet(bands=<variant>, download=True)`` fetches."""
        from torchgeo.datasets import BigEarthNet

        root.mkdir(parents=True, exist_ok=True)
        BigEarthNet(str(root), split="train", bands=self.variant, download=True)

    def official(self, root: Path, name: str, download: bool = False) -> dict:
        """Refused: the scene-classification builder's entry; BigEarthNet is multi-label.

        Raises:
            SpecError: always (the task needs ``type: multilabel``).
        """
        raise self.wrong_type()

    def samples(self, root: Path, download: bool = False) -> list:
        """Refused, as :meth:`official` (a ratio split of a scene-classification task)."""
        raise self.wrong_type()

    def wrong_type(self, what: str = "", fitting: tuple[str, ...] = ()) -> Exception:
        """The one-line error of a single-label task on this multi-label dataset."""
        return SpecError(f"dataset {self.name!r} is multi-label: its tasks have type: multilabel "
                         "(tasks/multilabel/)")

    def missing(self, root: Path) -> bool:
        """Whether a split file or a patch folder this variant reads is absent."""
        return (any(not (root / f).is_file() for f in self.split_filenames.values())
                or any(not (root / self.directories[k]).is_dir() for k in self.sensors()))

    def splits(self, root: Path, download: bool = False) -> PatchSplits:
        """The ``train``/``val``/``test`` patches the split files list, with their labels, and
        (variant ``all``) each S1 patch's S2 folder.

        Raises:
            DatasetNotFound: a split file or a patch folder is absent.
            DataError: a listed patch has no label file, or a label name is unknown.
        """
        if self.missing(root) and download:
            self.download(root)
        if self.missing(root):
            raise self.not_found(root)
        own, *other = self.sensors()
        column = {"s2": 0, "s1": 1}
        assignment: dict[str, list[LabelledPatch]] = {}
        partners: dict[str, Path] | None = {} if other else None
        for split, name in self.split_filenames.items():
            pairs = [line.split(",") for line in (root / name).read_text().strip().splitlines()]
            assignment[split] = [self.labelled(root, own, p[column[own]].strip()) for p in pairs]
            if partners is not None:
                partners.update({p[column[own]].strip(): root / self.directories[other[0]]
                                 / p[column[other[0]]].strip() for p in pairs})
        return PatchSplits(assignment, partners)

    def labelled_splits(self, root: Path, download: bool = False
                        ) -> dict[str, list[LabelledPatch]]:
        """The ``train``/``val``/``test`` patches with their labels (see :meth:`splits`)."""
        return self.splits(root, download).assignment

    def labelled(self, root: Path, sensor: str, patch: str) -> LabelledPatch:
        """``(label file, 19-class indices)`` of one patch, as torchgeo maps its 43 names."""
        rel = f"{self.directories[sensor]}/{patch}/{patch}_labels_metadata.json"
        try:
            names = json.loads((root / rel).read_text())["labels"]
        except (OSError, ValueError, KeyError) as err:
            raise DataError(f"dataset {self.name!r} at {root}: {rel} cannot be read "
                            f"({type(err).__name__}); restore the patch folder from the "
                            "archive") from None
        unknown = [n for n in names if n not in self.names_43]
        if unknown:
            raise DataError(f"dataset {self.name!r} at {root}: {rel} has label(s) {unknown} "
                            "outside BigEarthNet's 43 classes; restore the file")
        return rel, tuple(sorted({self.label_map[n] for n in names if n in self.label_map}))


class S1Variant:
    """torchgeo's ``bands="s1"``: VV and VH backscatter, labels from the S1 patches."""

    variant: ClassVar[str] = "s1"
    sensor: ClassVar[str] = "s1"
    #: dB from data 0.0 to 1.0, and the dB of 0.0 (``rsbench.data.sar``).
    value_scale: ClassVar[float] = DB_SPAN
    value_offset: ClassVar[float] = DB_LOW
    band_names: ClassVar[tuple[str, ...]] = S1_BANDS


class AllVariant:
    """torchgeo's ``bands="all"``: S1 bands named ``s1:VV``, ``s1:VH`` beside the S2 names."""

    variant: ClassVar[str] = "all"
    band_names: ClassVar[tuple[str, ...]] = (*(f"s1:{b}" for b in S1_BANDS), *S2_BANDS)


class BigEarthNetS1Adapter(S1Variant, BigEarthNetAdapter):
    """BigEarthNet v1, Sentinel-1 (VV, VH backscatter), labels from the S1 patches."""

    title = "BigEarthNet v1 (Sentinel-1 GRD, VV and VH, 19 classes, multi-label)"


class BigEarthNetAllAdapter(AllVariant, BigEarthNetAdapter):
    """BigEarthNet v1, Sentinel-1 and Sentinel-2; labels from the S1 patches, as torchgeo."""

    title = "BigEarthNet v1 (Sentinel-1 VV, VH and Sentinel-2 L2A, 19 classes, multi-label)"


VARIANTS: dict[str | None, type[BigEarthNetAdapter]] = {
    None: BigEarthNetAdapter, "s2": BigEarthNetAdapter, "s1": BigEarthNetS1Adapter,
    "all": BigEarthNetAllAdapter}
