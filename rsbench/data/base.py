"""Scene-classification dataset adapters: metadata as class attributes plus a folder reader.

An adapter knows where a dataset lives under its root, which classes it has, how its files
decode and how a person gets it. Every scene dataset here is a folder per class, so the base
class enumerates samples itself; subclasses backed by torchgeo (see ``torchgeo_base``) add
downloads and torchgeo's official split files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import torch

from rsbench.config import SpecError
from rsbench.data.adapter import DatasetAdapter
from rsbench.data.decode import RGBReader
from rsbench.data.errors import SplitSpecError

Sample = tuple[str, int]
"""A sample: its path relative to the dataset root (POSIX form) and its class index."""

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".tif", ".tiff")


class SceneAdapter(DatasetAdapter):
    """A folder-per-class scene-classification dataset (``<root>/<image_dir>/<Class>/<file>``).

    Subclasses set the class attributes; instances are stateless.
    """

    # classes: the class folder names; ``classes`` of the built data is this, sorted
    #: Candidate folders (relative to the root) that hold the class folders, first match wins.
    image_dirs: ClassVar[tuple[str, ...]] = (".",)
    extensions: ClassVar[tuple[str, ...]] = IMAGE_EXTENSIONS
    layout: ClassVar[str] = "<Class>/<image>"
    #: Names a task's ``bands:`` may use -> channel index in the decoded RGB image.
    band_channels: ClassVar[dict[str, int]] = {"R": 0, "G": 1, "B": 2}
    #: Named official splits (``split: {kind: official, name: ...}``); the first is the default.
    official_splits: ClassVar[tuple[str, ...]] = ()

    # -- people-facing text -------------------------------------------------------------------

    def how_to_get(self) -> str:
        """How a person obtains the data (one clause, no trailing period)."""
        return f"download it from {self.homepage} and extract it there (no automatic download)"

    def expected(self, root: Path) -> str:
        return f"{len(self.classes)} class folders as {root}/{self.layout}"

    # -- locating and enumerating -------------------------------------------------------------

    def sorted_classes(self) -> list[str]:
        """Class names in label order (sorted, as torchvision's ImageFolder orders folders)."""
        return sorted(self.classes)

    def find_image_dir(self, root: Path) -> Path | None:
        """The first candidate folder under ``root`` that holds at least one class folder."""
        for rel in self.image_dirs:
            folder = root / rel
            if any((folder / c).is_dir() for c in self.classes):
                return folder
        return None

    def prepare(self, root: Path, download: bool) -> Path:
        """The folder holding the class folders, downloading first when allowed and possible.

        Raises:
            DatasetNotFound: the data is absent (and cannot or may not be downloaded).
        """
        folder = self.find_image_dir(root)
        if folder is None and download:
            self.download(root)
            folder = self.find_image_dir(root)
        if folder is None:
            raise self.not_found(root, "not found" + self.found_elsewhere(root))
        return folder

    def found_elsewhere(self, root: Path, depth: int = 4) -> str:
        """``" (found N of K class folders under X; ...)"`` for the folder within ``depth``
        levels of ``root`` that holds most class folders (a renamed or extra level), else ``""``.
        """
        best, most = None, 0
        for folder, dirs, _ in os.walk(root):
            n = len(set(dirs) & set(self.classes))
            if n > most:
                best, most = Path(folder), n
            if len(Path(folder).relative_to(root).parts) >= depth - 1:
                dirs[:] = []
        if best is None:
            return ""
        return (f" (found {most} of {len(self.classes)} class folders under {best}; move or "
                f"rename that folder to {root / self.image_dirs[0]})")

    def download(self, root: Path) -> None:
        """Fetch the data into ``root``; datasets without a public direct link cannot."""
        raise self.not_found(root, "not found and cannot be downloaded automatically")

    def samples(self, root: Path, download: bool = False) -> list[Sample]:
        """Every image of every class (class by class, sorted by path): what a ratio split divides.

        Raises:
            DatasetNotFound: the data is absent, or a class folder is missing or empty.
        """
        folder = self.prepare(root, download)
        out: list[Sample] = []
        empty = []
        for label, cls in enumerate(self.sorted_classes()):
            files = self._class_files(folder / cls)
            if not files:
                empty.append(cls)
            out.extend((f.relative_to(root).as_posix(), label) for f in files)
        if empty:
            shown = ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else "")
            problem = f"is incomplete (no images for {len(empty)} classes: {shown})"
            raise self.not_found(root, problem)
        return out

    def _class_files(self, folder: Path) -> list[Path]:
        if not folder.is_dir():
            return []
        exts = {e.lower() for e in self.extensions}
        # Hidden files (.DS_Store, AppleDouble ._x.jpg) are archive debris, never images.
        return sorted(p for p in folder.iterdir()
                      if p.suffix.lower() in exts and not p.name.startswith(".") and p.is_file())

    def official(self, root: Path, name: str, download: bool = False) -> dict[str, list[Sample]]:
        """The official ``train``/``val``/``test`` samples; datasets without one raise."""
        raise SplitSpecError(f"dataset {self.name!r} has no official split; "
                             "use dataset.split.kind: ratio")

    # -- decoding -----------------------------------------------------------------------------

    def reader(self, bands: tuple[str, ...]) -> Callable[[Path], torch.Tensor]:
        """A picklable callable decoding one file to float32 ``[len(bands), H, W]`` in [0, 1].

        Raises:
            SpecError: a band this dataset does not have.
        """
        return RGBReader(self.channel_indices(bands))

    def channel_indices(self, bands: tuple[str, ...]) -> tuple[int, ...]:
        """``bands`` mapped through ``band_channels``; an unknown name is a spec error."""
        unknown = [b for b in bands if b not in self.band_channels]
        if unknown or not bands:
            raise SpecError(f"dataset {self.name!r}: dataset.bands {list(bands)} not available; "
                            f"allowed: {', '.join(self.band_channels)}")
        return tuple(self.band_channels[b] for b in bands)

    def describe(self) -> dict:
        """The adapter's metadata as plain data (for listings)."""
        return {"name": self.name, "title": self.title, "homepage": self.homepage,
                "num_classes": len(self.classes), "layout": self.layout,
                "bands": list(self.band_channels), "official_splits": list(self.official_splits),
                "how_to_get": self.how_to_get()}
