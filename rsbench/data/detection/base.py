"""The detection adapter contract: metadata as class attributes, enumeration and decoding."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch
from PIL import Image

from rsbench.data.detection.common import Annotation, DetSample
from rsbench.data.errors import DatasetNotFound
from rsbench.data.segmentation.common import read_image


class DetAdapter:
    """A detection dataset on disk. Subclasses set the class attributes.

    Datasets with an official split (``split_kind = "official"``) implement ``official``, which
    returns ``{"train": [...], "val": [...], "test": [...]}`` for one of ``official_names``
    (``val`` may be empty; ``build_detection_data`` then carves one from train in whole
    ``group`` units when ``val_fraction`` > 0). Datasets without one (``split_kind = "ratio"``)
    implement ``samples`` and are split from a seed in whole ``group`` units (by image unless
    ``group`` says otherwise).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    homepage: ClassVar[str] = ""
    #: Names of the K classes, in label order.
    classes: ClassVar[tuple[str, ...]] = ()
    #: ``"official"`` or ``"ratio"``: which ``dataset.split`` kind the dataset takes.
    split_kind: ClassVar[str] = "official"
    #: Official split names (default first) and one sentence on each, written to the split file.
    official_names: ClassVar[dict[str, str]] = {}
    #: One line for error messages: the expected layout under the root.
    layout: ClassVar[str] = ""
    #: What a ratio split keeps whole, in words for the split file's note (see ``group``).
    split_unit: ClassVar[str] = "image"

    def how_to_get(self) -> str:
        """How a person obtains the data (one clause, no trailing period)."""
        return f"download it from {self.homepage} (no automatic download)"

    def not_found(self, root: Path, problem: str = "not found") -> DatasetNotFound:
        """A one-line error naming the dataset, where it was expected, its layout and source."""
        return DatasetNotFound(f"dataset {self.name!r} ({self.title}) {problem} at {root}: "
                               f"expected {self.layout}; {self.how_to_get()}")

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

    def group(self, image_rel: str) -> str:
        """The unit a split keeps whole: a val carved from train, a ratio split's sides
        (default: the image itself)."""
        return image_rel
