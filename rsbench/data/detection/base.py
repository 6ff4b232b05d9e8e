"""The detection adapter contract: metadata as class attributes, enumeration and decoding."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from PIL import Image

from rsbench.data.adapter import DatasetAdapter
from rsbench.data.decode import read_image
from rsbench.data.detection.common import Annotation, DetSample


class DetAdapter(DatasetAdapter):
    """A detection dataset on disk. Subclasses set the class attributes.

    Datasets with an official split (``split_kind = "official"``) implement ``official``, which
    returns ``{"train": [...], "val": [...], "test": [...]}`` for one of ``official_names``
    (``val`` may be empty; ``build_detection_data`` then carves one from train in whole
    ``group`` units when ``val_fraction`` > 0). Datasets without one (``split_kind = "ratio"``)
    implement ``samples`` and are split from a seed in whole ``group`` units (by image unless
    ``group`` says otherwise).
    """

    #: ``"official"`` or ``"ratio"``: which ``dataset.split`` kind the dataset takes.
    split_kind: ClassVar[str] = "official"
    #: Official split names (default first) and one sentence on each, written to the split file.
    official_names: ClassVar[dict[str, str]] = {}
    #: What a ratio split keeps whole, in words for the split file's note (see ``group``).
    split_unit: ClassVar[str] = "image"

    def official(self, root: Path, name: str) -> dict[str, list[DetSample]]:
        """``train``/``val``/``test`` samples of official split ``name``, sorted by image path.

        Raises:
            DatasetNotFound: the data is absent or incomplete.
        """
        raise NotImplementedError

    def samples(self, root: Path) -> list[DetSample]:
        """Every sample, sorted by image path (datasets split by ratio).

        Raises:
            DatasetNotFound: the data is absent or incomplete.
        """
        raise NotImplementedError

    def load_annotation(self, root: Path, image_rel: str, ann_rel: str) -> Annotation:
        """The objects of one image (not yet clipped to it)."""
        raise NotImplementedError

    def read_image(self, path: Path) -> torch.Tensor:
        """One image as float32 ``[C, H, W]`` in [0, 1]."""
        return read_image(path)

    def image_size(self, path: Path) -> tuple[int, int]:
        """``(height, width)`` of an image, read from its header."""
        with Image.open(path) as img:
            return img.height, img.width
