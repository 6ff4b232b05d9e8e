"""Adapters for datasets torchgeo 0.8 ships a class for: its download and its official split.

torchgeo's class is used for what it is good at: fetching and md5-checking the archive and the
split files, and listing the samples of its 60/20/20 split ("In-domain representation learning
for remote sensing", Neumann et al. 2019). Decoding stays with rsbench's own readers, on the
same files, so every dataset decodes and resizes the same way.

The metadata on the subclasses (folders, URLs, md5s, split file names) is read from torchgeo's
own class attributes (``torchgeo_meta.FromTorchGeo``), not copied, so it cannot go stale.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import ClassVar

from rsbench.data.base import Sample, SceneAdapter
from rsbench.data.errors import DataError, named

SPLITS = ("train", "val", "test")


def _brief(err: BaseException) -> str:
    """``Type: message`` on one line, shortened."""
    return f"{type(err).__name__}: {' '.join(str(err).split())}"[:200]


class TorchGeoAdapter(SceneAdapter):
    """A scene dataset torchgeo can download and whose official split torchgeo defines."""

    #: ``"module:Class"`` of the torchgeo dataset class.
    torchgeo_class: ClassVar[str] = ""
    url: ClassVar[str] = ""
    md5: ClassVar[str] = ""
    #: Official split name -> {"train"|"val"|"test": split file name in the root}.
    split_filenames: ClassVar[dict[str, dict[str, str]]] = {}
    #: Official split name -> {"train"|"val"|"test": URL of the split file}.
    split_urls: ClassVar[dict[str, dict[str, str]]] = {}
    split_md5s: ClassVar[dict[str, dict[str, str]]] = {}
    #: Official split name -> ``"module:Class"`` when it differs from ``torchgeo_class``.
    split_classes: ClassVar[dict[str, str]] = {}

    def how_to_get(self) -> str:
        cls = self.torchgeo_class.split(":")[-1]
        return (f"run with --download to fetch it through torchgeo.datasets.{cls} ({self.url}), "
                f"or download and extract it there yourself")

    def torchgeo_type(self, split_name: str | None = None) -> type:
        """The torchgeo class (for ``split_name``'s split files when that has its own class)."""
        target = self.split_classes.get(split_name or "", self.torchgeo_class)
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def torchgeo_dataset(self, root: Path, split: str, download: bool,
                         split_name: str | None = None):
        """torchgeo's dataset object for one split; md5s are checked on anything it downloads."""
        # checksum=True only costs time on a download or extraction, never on extracted data.
        return self.torchgeo_type(split_name)(root=str(root), split=split, download=download,
                                              checksum=True)

    def download(self, root: Path) -> None:
        """Fetch and extract the images (and the default split files) through torchgeo.

        Raises:
            DatasetNotFound: the download or the md5 check failed (the cause is chained).
        """
        root.mkdir(parents=True, exist_ok=True)
        try:
            self.torchgeo_dataset(root, "train", download=True)
        except Exception as err:  # network, md5 or archive errors: one line a person can act on
            raise self.not_found(root, f"not found and its download failed ({_brief(err)})") from err

    def fetch_split_files(self, root: Path, name: str) -> None:
        """Download the split files torchgeo would (its class skips them if images exist)."""
        from torchvision.datasets.utils import download_url

        for split, filename in self.split_filenames[name].items():
            if (root / filename).is_file():
                continue
            try:
                download_url(self.split_urls[name][split], str(root), filename=filename,
                             md5=self.split_md5s[name][split])
            except Exception as err:
                raise self.not_found(root, f"lacks {filename} and its download failed "
                                           f"({_brief(err)})") from err

    def missing_split_files(self, root: Path, name: str) -> list[str]:
        """Split file names of the official split ``name`` that are absent from ``root``."""
        return [f for f in self.split_filenames[name].values() if not (root / f).is_file()]


    def official(self, root: Path, name: str, download: bool = False) -> dict[str, list[Sample]]:
        """torchgeo's train/val/test samples, as paths relative to ``root`` and our labels.

        Raises:
            DatasetNotFound: images or split files are absent and ``download`` is off.
        """
        folder = self.prepare(root, download)
        if self.missing_split_files(root, name) and download:
            self.fetch_split_files(root, name)
        missing = self.missing_split_files(root, name)
        if missing:
            raise self.not_found(root, f"has images in {folder} but lacks the split files "
                                       f"{', '.join(missing)} (or use a ratio split)")
        labels = {c: i for i, c in enumerate(self.sorted_classes())}
        out = {}
        for split in SPLITS:
            try:
                ds = self.torchgeo_dataset(root, split, download=False, split_name=name)
            except FileNotFoundError as err:  # ImageFolder: a class with no file of this split
                raise self.not_found(root, f"does not match its {split} split file "
                                           f"({' '.join(str(err).split())})") from None
            unknown = sorted(set(ds.classes) - set(labels))
            if unknown:
                raise self.not_found(root, f"has unexpected class folders {unknown}")
            # torchgeo labels index its own (sorted folder) class list; map by name to ours.
            out[split] = sorted((Path(path).relative_to(root).as_posix(), labels[ds.classes[idx]])
                                for path, idx in ds.samples)
            self.check_listed(root, name, split, out[split])
        return out

    def listed_names(self, root: Path, name: str, split: str) -> list[str]:
        """File names the split file lists, as torchgeo matches them against the images."""
        text = (root / self.split_filenames[name][split]).read_text()
        return [n.strip() for n in text.splitlines() if n.strip()]

    def check_listed(self, root: Path, name: str, split: str, samples: list[Sample]) -> None:
        """Refuse a split that lost listed images: torchgeo's reader skips them silently.

        Raises:
            DataError: names the listed files that have no image (first few and how many).
        """
        found = {Path(rel).name for rel, _ in samples}
        missing = sorted(set(self.listed_names(root, name, split)) - found)
        if missing:
            listing = self.split_filenames[name][split]
            raise DataError(f"dataset {self.name!r} at {root}: {listing} lists {len(missing)} "
                            f"image(s) not found under its class folders: {named(missing)}; "
                            f"restore them (re-extract the archive or pass --download) so the "
                            f"{split} split has all its samples")
