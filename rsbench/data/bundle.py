"""What every task type's data builder returns: three splits and what a record pins about them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from torch.utils.data import Dataset

T_co = TypeVar("T_co", covariant=True)


class SizedDataset(Dataset[T_co]):
    """A map-style dataset that knows its length: every split a builder returns is one."""

    def __len__(self) -> int:
        raise NotImplementedError


@dataclass
class SplitData:
    """A dataset split three ways, with its provenance.

    Attributes:
        dataset: the dataset name.
        split: the validated split spec (has ``to_dict()``).
        classes: class names; label ``i`` is ``classes[i]``.
        train: the train dataset, with the train-time transform if one was given.
        val: as ``train`` without the transform (length 0 when there is no val).
        test: as ``val``.
        split_file: the JSON split file under the split folder.
        split_hash: sha256 of the split file's bytes.
        fingerprint: sha256 over the sorted relative paths, byte sizes and contents of the files used.
        root: the dataset root the split's paths are relative to.
    """

    dataset: str
    split: Any
    classes: list[str]
    train: SizedDataset
    val: SizedDataset
    test: SizedDataset
    split_file: Path
    split_hash: str
    fingerprint: str
    root: Path

    def summary(self) -> dict:
        """JSON-ready provenance for a run record."""
        return {
            "dataset": self.dataset,
            "split": self.split.to_dict(),
            "split_file": str(self.split_file),
            "split_hash": self.split_hash,
            "fingerprint": self.fingerprint,
            "n_train": len(self.train),
            "n_val": len(self.val),
            "n_test": len(self.test),
            "num_classes": len(self.classes),
        }
