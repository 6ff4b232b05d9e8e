"""So2Sat LCZ42 (Zhu et al., IEEE GRSM 2020): local climate zones from Sentinel-2 and Sentinel-1.

400,673 co-registered Sentinel-1 / Sentinel-2 patches of 32 x 32 px (10 m) from 52 cities, each
one of 17 local climate zones. Version 2, as torchgeo 0.8's ``So2Sat(version="2")`` reads it::

    <root>/training.h5     42 cities                        352,366 patches
    <root>/validation.h5   the western halves of 10 others   24,119
    <root>/testing.h5      their eastern halves              24,188

each holding ``sen1`` [N, 32, 32, 8], ``sen2`` [N, 32, 32, 10] (float64) and ``label`` [N, 17]
(one-hot). The file names, the class list and the band names are read from torchgeo's class.

A sample is a row, keyed ``testing.h5#<row>`` (``rsbench.data.rows``); its label is the one-hot's
argmax, as torchgeo takes it, and labels index torchgeo's class order (not sorted names).
``dataset.variant``:

- ``s2`` (default): the 10 Sentinel-2 bands B02..B08, B8A, B11, B12 (torchgeo's ``S2_B02`` ...),
  stored as top-of-atmosphere reflectance, clipped to [0, 1];
- ``s1``: ``VV`` and ``VH``, the refined-Lee-filtered intensities (channels 6 and 5 of ``sen1``,
  torchgeo's ``S1_B6``, ``S1_B5``), taken to dB and mapped to [0, 1] as every SAR band is
  (``rsbench.data.sar``); the other six channels (the unfiltered complex VH, VV and the
  covariance term) are not read;
- ``all``: both, the S1 bands named ``s1:VV``, ``s1:VH`` first.

Values are torchgeo's (the float64 rows cast to float32) before that mapping.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from rsbench.config import SpecError
from rsbench.data.base import Sample, SceneAdapter
from rsbench.data.errors import DataError
from rsbench.data.rows import row_key, split_row
from rsbench.data.sar import DB_LOW, DB_SPAN, unit_from_intensity
from rsbench.data.torchgeo_meta import FromTorchGeo
from rsbench.errors import UserError

#: torchgeo's split names of version 2 -> rsbench's.
_SPLITS = {"train": "train", "validation": "val", "test": "test"}
Channel = tuple[str, int]
"""A band's place in a row: the HDF5 dataset (``sen1`` / ``sen2``) and the channel index."""


def h5py_module() -> Any:
    """The h5py module.

    Raises:
        UserError: h5py is not installed (So2Sat ships as HDF5).
    """
    try:
        import h5py
    except ImportError:
        raise UserError("reading So2Sat's HDF5 files needs h5py; pip install h5py") from None
    return h5py


class So2SatReader:
    """One So2Sat row (``<file>.h5#<row>``) as float32 ``[len(channels), 32, 32]``.

    ``sen2`` reflectance is clipped to [0, 1]; ``sen1`` intensity is mapped through dB
    (``rsbench.data.sar.unit_from_intensity``).

    Args:
        channels: per output band, its HDF5 dataset and channel.
    """

    def __init__(self, channels: tuple[Channel, ...]) -> None:
        self.channels = tuple(channels)
        self._files: dict[tuple[int, Path], Any] = {}

    def __getstate__(self) -> dict:
        return {"channels": self.channels}  # open files stay in this process

    def __setstate__(self, state: dict) -> None:
        self.channels, self._files = state["channels"], {}

    def opened(self, file: Path) -> Any:
        """``file`` open for reading, once per process (a forked worker opens its own)."""
        key = (os.getpid(), file)
        if key not in self._files:
            self._files[key] = h5py_module().File(file, "r")
        return self._files[key]

    def __call__(self, path: Path) -> torch.Tensor:
        """The bands of the row ``path`` names.

        Raises:
            DataError: ``path`` is not a row key.
        """
        file, row = split_row(Path(path))
        if row is None:
            raise DataError(f"{path}: not a So2Sat row key (<file>.h5#<row>)")
        h5 = self.opened(file)
        rows = {key: np.asarray(h5[key][row], dtype=np.float64)
                for key in dict.fromkeys(k for k, _ in self.channels)}
        bands = []
        for key, index in self.channels:
            band = torch.from_numpy(np.ascontiguousarray(rows[key][:, :, index])).float()
            bands.append(unit_from_intensity(band) if key == "sen1" else band.clamp_(0.0, 1.0))
        return torch.stack(bands)

    def __repr__(self) -> str:
        return f"So2SatReader(channels={self.channels}, sar=db-50..10)"


def _s2_channels(tg: Any) -> dict[str, Channel]:
    return {name.removeprefix("S2_"): ("sen2", i)
            for i, name in enumerate(tg("all_s2_band_names"))}


def _s1_channels(tg: Any) -> dict[str, Channel]:
    names = tg("all_s1_band_names")
    return {"VV": ("sen1", names.index("S1_B6")), "VH": ("sen1", names.index("S1_B5"))}


class So2SatAdapter(SceneAdapter):
    """So2Sat LCZ42 version 2, Sentinel-2 (10 bands), torchgeo's train/validation/test files."""

    name = "so2sat"
    title = "So2Sat LCZ42 v2 (Sentinel-2, 10 bands, 17 local climate zones)"
    homepage = "https://github.com/zhu-xlab/So2Sat-LCZ42"
    torchgeo_class: ClassVar[str] = "torchgeo.datasets:So2Sat"
    variant: ClassVar[str] = "s2"
    sensor: ClassVar[str] = "s2_l1c"
    #: Stored value of reflectance 1.0 (the files hold reflectance).
    value_scale: ClassVar[float] = 1.0
    official_splits: ClassVar[tuple[str, ...]] = ("v2",)
    classes = FromTorchGeo(lambda tg: tuple(tg("classes")))
    #: torchgeo's split -> file name, version 2.
    filenames = FromTorchGeo(lambda tg: dict(tg("filenames_by_version")["2"]))
    #: Task band name -> its HDF5 dataset and channel.
    channels = FromTorchGeo(_s2_channels)
    layout = "training.h5, validation.h5, testing.h5 (So2Sat LCZ42 version 2)"

    @property
    def band_channels(self) -> dict[str, int]:  # type: ignore[override]  # listings only
        return {band: i for i, band in enumerate(self.channels)}

    def with_variant(self, name: str | None) -> So2SatAdapter:
        """Sentinel-2 (None, ``s2``), Sentinel-1 (``s1``) or both (``all``).

        Raises:
            SpecError: another variant name.
        """
        if name in VARIANTS:
            return VARIANTS[name]()
        raise SpecError(f"dataset.variant {name!r}: So2Sat has "
                        f"{', '.join(str(v) for v in VARIANTS if v)}")

    def sorted_classes(self) -> list[str]:
        """torchgeo's class order: a label is the column of the file's one-hot vector."""
        return list(self.classes)

    def expected(self, root: Path) -> str:
        return (f"{', '.join(self.filenames.values())} (So2Sat LCZ42 version 2: sen1 "
                "[N,32,32,8], sen2 [N,32,32,10], label [N,17] one-hot)")

    def how_to_get(self) -> str:
        return (f"download training.h5, validation.h5 and testing.h5 from "
                f"https://dataserv.ub.tum.de/index.php/s/m1483140 ({self.homepage}; torchgeo "
                "reads the same files and cannot download them)")

    def reader(self, bands: tuple[str, ...]) -> So2SatReader:
        """Reads ``bands`` of a row (see the module docstring).

        Raises:
            SpecError: a band this variant has not.
        """
        unknown = [b for b in bands if b not in self.channels]
        if unknown or not bands:
            raise SpecError(f"dataset {self.name!r}: dataset.bands {list(bands)} not available; "
                            f"allowed: {', '.join(self.channels)}")
        return So2SatReader(tuple(self.channels[b] for b in bands))

    def samples(self, root: Path, download: bool = False) -> list[Sample]:
        """Refused: So2Sat's splits are its cities; a ratio split would mix them.

        Raises:
            SpecError: always.
        """
        raise SpecError(f"dataset {self.name!r}: use dataset.split.kind: official (its "
                        "train/val/test files are disjoint cities)")

    def official(self, root: Path, name: str, download: bool = False) -> dict[str, list[Sample]]:
        """Every row of the three files with its label.

        Raises:
            DatasetNotFound: a file is absent.
            DataError: a file lacks a dataset, or a label row is not one-hot.
        """
        missing = [f for f in self.filenames.values() if not (root / f).is_file()]
        if missing:
            raise self.not_found(root, f"lacks {', '.join(missing)}" if len(missing) < 3
                                 else "not found")
        return {_SPLITS[split]: self.rows(root, filename)
                for split, filename in self.filenames.items()}

    def rows(self, root: Path, filename: str) -> list[Sample]:
        """``(row key, label)`` of every row of one file."""
        with h5py_module().File(root / filename, "r") as h5:
            absent = [k for k in ("sen1", "sen2", "label") if k not in h5]
            if absent:
                raise DataError(f"dataset {self.name!r} at {root}: {filename} has no "
                                f"{', '.join(absent)}; download the file again")
            onehot = np.asarray(h5["label"])
        bad = np.flatnonzero((onehot != 0).sum(axis=1) != 1)
        if onehot.ndim != 2 or onehot.shape[1] != len(self.classes) or len(bad):
            where = f"row {int(bad[0])}" if len(bad) else f"shape {onehot.shape}"
            raise DataError(f"dataset {self.name!r} at {root}: {filename} label {where} is not "
                            f"one-hot over {len(self.classes)} classes; download the file again")
        return [(row_key(filename, i), int(c)) for i, c in enumerate(onehot.argmax(axis=1))]


class So2SatS1Adapter(So2SatAdapter):
    """So2Sat LCZ42 version 2, Sentinel-1 refined-Lee VV and VH intensities."""

    title = "So2Sat LCZ42 v2 (Sentinel-1, VV and VH intensity, 17 local climate zones)"
    variant: ClassVar[str] = "s1"
    sensor: ClassVar[str] = "s1"
    #: dB from data 0.0 to 1.0, and the dB of 0.0 (``rsbench.data.sar``).
    value_scale: ClassVar[float] = DB_SPAN
    value_offset: ClassVar[float] = DB_LOW
    channels = FromTorchGeo(_s1_channels)


class So2SatAllAdapter(So2SatAdapter):
    """So2Sat LCZ42 version 2, Sentinel-1 VV, VH then the 10 Sentinel-2 bands."""

    title = "So2Sat LCZ42 v2 (Sentinel-1 VV, VH and Sentinel-2, 17 local climate zones)"
    variant: ClassVar[str] = "all"
    channels = FromTorchGeo(lambda tg: {**{f"s1:{b}": c for b, c in _s1_channels(tg).items()},
                                        **_s2_channels(tg)})


VARIANTS: dict[str | None, type[So2SatAdapter]] = {
    None: So2SatAdapter, "s2": So2SatAdapter, "s1": So2SatS1Adapter, "all": So2SatAllAdapter}
