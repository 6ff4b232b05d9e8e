"""The segmentation adapter contract: metadata as class attributes, enumeration and mask decoding."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from rsbench.data.adapter import DatasetAdapter
from rsbench.data.segmentation.common import PairSample


class SegAdapter(DatasetAdapter):
    """A semantic-segmentation dataset on disk. Subclasses set the class attributes.

    ``official`` returns ``{"train": [...], "test": [...]}`` (the official split, with the test
    part being whatever the benchmark scores on); a val split is carved from train by
    ``build_segmentation_data`` in whole groups (``group``: one file, one tile, one scene).
    """

    # classes: the K classes in index order (the ignore value 255 is not a class)
    #: The name of the official split (``split: {kind: official, name: ...}``).
    official_name: ClassVar[str] = "official"
    #: One sentence on what ``official`` means here; written into the split file.
    split_note: ClassVar[str] = ""

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
