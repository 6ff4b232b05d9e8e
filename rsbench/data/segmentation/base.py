"""The segmentation adapter contract: metadata as class attributes, enumeration and mask decoding."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from rsbench.data.errors import DatasetNotFound
from rsbench.data.segmentation.common import PairSample


class SegAdapter:
    """A semantic-segmentation dataset on disk. Subclasses set the class attributes.

    ``official`` returns ``{"train": [...], "test": [...]}`` (the official split, with the test
    part being whatever the benchmark scores on); a val split is carved from train by
    ``build_segmentation_data`` in whole groups (``group``: one file, one tile, one scene).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    homepage: ClassVar[str] = ""
    #: Names of the K classes, in index order (the ignore value 255 is not a class); an
    #: adapter read as a variant with other classes (ISPRS 5-class) sets its own.
    classes: tuple[str, ...] = ()
    #: The name of the official split (``split: {kind: official, name: ...}``).
    official_name: ClassVar[str] = "official"
    #: One sentence on what ``official`` means here; written into the split file.
    split_note: ClassVar[str] = ""
    #: One line for error messages: the expected layout under the root.
    layout: ClassVar[str] = ""

    def how_to_get(self) -> str:
        """How a person obtains the data (one clause, no trailing period)."""
        return f"download it from {self.homepage} (no automatic download)"

    def not_found(self, root: Path, problem: str = "not found") -> DatasetNotFound:
        """A one-line error naming the dataset, where it was expected, its layout and source."""
        return DatasetNotFound(f"dataset {self.name!r} ({self.title}) {problem} at {root}: "
                               f"expected {self.layout}; {self.how_to_get()}")

    def complete_pairs(self, root: Path, folder: str, pairs: list[PairSample]) -> list[PairSample]:
        """``pairs`` if there are any and every mask exists, else a one-line not-found error."""
        if not pairs:
            # What is there instead, e.g. a folder extracted or renamed as "train".
            present = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
            held = f" (its folders: {', '.join(present)})" if present else ""
            raise self.not_found(root, f"has no {folder} images{held}")
        missing = [m for _, m in pairs if not (root / m).is_file()]
        if missing:
            raise self.not_found(root, f"is incomplete ({len(missing)} masks missing, "
                                       f"e.g. {missing[0]})")
        return pairs

    def official(self, root: Path, download: bool = False) -> dict[str, list[PairSample]]:
        """``train`` and ``test`` samples of the official split, sorted by image path.

        Raises:
            DatasetNotFound: the data is absent or incomplete.
        """
        raise NotImplementedError

    def read_mask(self, path: Path) -> np.ndarray:
        """One mask file as uint8 ``[H, W]`` indices ``0..K-1`` / 255."""
        raise NotImplementedError

    def group(self, image_rel: str) -> str:
        """The unit a val split is carved in (default: the file itself)."""
        return image_rel
