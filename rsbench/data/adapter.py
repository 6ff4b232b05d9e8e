"""The one adapter base every dataset of every task type derives from.

An adapter is a dataset's metadata as class attributes (name, title, homepage, classes, the
layout expected under its root) plus how it is enumerated and decoded; the task type's base
(``SceneAdapter``, ``SegAdapter``, ``DetAdapter``) adds what its samples are. What they share
lives here: the one-line not-found error, the ``dataset.variant`` rule (a dataset without
variants refuses one rather than ignoring it) and the unit a split keeps whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from rsbench.config import SpecError
from rsbench.data.errors import DatasetNotFound


class DatasetAdapter:
    """A dataset on disk. Subclasses set the class attributes."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    homepage: ClassVar[str] = ""
    #: Names of the classes, in label order; an adapter read as a variant with other classes
    #: (ISPRS 5-class) sets its own.
    classes: tuple[str, ...] = ()
    #: One line for error messages: the expected layout under the root.
    layout: ClassVar[str] = ""
    #: Whether images carry a set of labels (``type: multilabel`` tasks read it).
    multilabel: ClassVar[bool] = False

    def wrong_type(self, what: str = "", fitting: tuple[str, ...] = ()) -> Exception:
        """The one-line error of a ``what`` task (e.g. segmentation) naming this dataset, which
        is of another kind; ``fitting``: the datasets that are ``what``."""
        return SpecError(f"dataset {self.name!r} is not a {what} dataset ({what} datasets: "
                         f"{', '.join(fitting)})")

    def how_to_get(self) -> str:
        """How a person obtains the data (one clause, no trailing period)."""
        return f"download it from {self.homepage} (no automatic download)"

    def expected(self, root: Path) -> str:
        """What should be under ``root``, for :meth:`not_found` (default: ``layout``)."""
        return self.layout

    def not_found(self, root: Path, problem: str = "not found") -> DatasetNotFound:
        """A one-line error naming the dataset, where it was expected, its layout and source."""
        return DatasetNotFound(f"dataset {self.name!r} ({self.title}) {problem} at {root}: "
                               f"expected {self.expected(root)}; {self.how_to_get()}")

    def with_variant(self, name: str | None) -> Self:
        """This dataset read as the task's ``dataset.variant``; datasets with variants override.

        Raises:
            SpecError: a variant for a dataset that has none (it would silently do nothing).
        """
        if name is not None:
            raise SpecError(f"dataset {self.name!r} has no variants; remove dataset.variant "
                            f"({name!r})")
        return self

    def group(self, image_rel: str) -> str:
        """The unit a split keeps whole (default: the file itself)."""
        return image_rel
