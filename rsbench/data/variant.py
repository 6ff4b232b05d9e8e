"""``dataset.variant``: a named preparation or class protocol of a dataset, or an error.

Datasets with variants (ISPRS, DOTA) give their adapters a ``with_variant(name)``; for every
other dataset a variant would silently do nothing, so it is refused.
"""

from __future__ import annotations

from rsbench.config import DatasetSpec, SpecError


def adapter_for(adapter, spec: DatasetSpec):
    """``adapter`` read as ``spec.variant``.

    Raises:
        SpecError: a variant the dataset has not (or any variant for a dataset without them).
    """
    if hasattr(adapter, "with_variant"):
        return adapter.with_variant(spec.variant)
    if spec.variant is not None:
        raise SpecError(f"dataset {spec.name!r} has no variants; remove dataset.variant "
                        f"({spec.variant!r})")
    return adapter
