"""``dataset.variant``: a named preparation or class protocol of a dataset, or an error.

Datasets with variants (ISPRS, DOTA, EuroSAT) override ``DatasetAdapter.with_variant``; every
other dataset refuses one, which would silently do nothing.
"""

from __future__ import annotations

from typing import TypeVar

from rsbench.config import DatasetSpec
from rsbench.data.adapter import DatasetAdapter

A = TypeVar("A", bound=DatasetAdapter)


def adapter_for(adapter: A, spec: DatasetSpec) -> A:
    """``adapter`` read as ``spec.variant``.

    Raises:
        SpecError: a variant the dataset has not (or any variant for a dataset without them).
    """
    return adapter.with_variant(spec.variant)
