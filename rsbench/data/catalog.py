"""Which datasets exist: one registry of names -> adapter classes, registered lazily (listing
names imports no adapter, torchgeo or torch). Each task type asks for the adapters of its own
kind (:func:`adapter_of`): a scene dataset named in a segmentation task is refused with the
names that would fit."""

from __future__ import annotations

from typing import TypeVar

from rsbench.data.adapter import DatasetAdapter
from rsbench.registry import Registry, RegistryError

A = TypeVar("A", bound=DatasetAdapter)

DATASETS = Registry("dataset")
# Scene classification and multi-label (type: classification, multilabel).
DATASETS.register("ucmerced", "rsbench.data.ucmerced:UCMercedAdapter")
DATASETS.register("resisc45", "rsbench.data.resisc45:RESISC45Adapter")
DATASETS.register("eurosat", "rsbench.data.eurosat:EuroSATAdapter")
DATASETS.register("aid", "rsbench.data.aid:AIDAdapter")
DATASETS.register("bigearthnet", "rsbench.data.bigearthnet:BigEarthNetAdapter")
DATASETS.register("bigearthnet_v2", "rsbench.data.bigearthnet_v2:BigEarthNetV2Adapter")
DATASETS.register("so2sat", "rsbench.data.so2sat:So2SatAdapter")
# Semantic segmentation.
DATASETS.register("loveda", "rsbench.data.segmentation.loveda:LoveDAAdapter")
DATASETS.register("potsdam", "rsbench.data.segmentation.isprs:PotsdamAdapter")
DATASETS.register("vaihingen", "rsbench.data.segmentation.isprs:VaihingenAdapter")
DATASETS.register("isaid", "rsbench.data.segmentation.isaid:ISAIDAdapter")
# Object detection.
DATASETS.register("dior", "rsbench.data.detection.dior:DIORAdapter")
DATASETS.register("dota", "rsbench.data.detection.dota:DOTAAdapter")
DATASETS.register("xview", "rsbench.data.detection.xview:XViewAdapter")
DATASETS.register("xview_tiles", "rsbench.data.detection.xview_tiles:XViewTilesAdapter")


def names_of(kind: type[DatasetAdapter]) -> list[str]:
    """The registered datasets whose adapters are ``kind`` (imports each adapter's module)."""
    return [n for n in DATASETS if issubclass(DATASETS.get(n), kind)]


def adapter_of(name: str, kind: type[A], what: str) -> A:
    """The adapter for dataset ``name`` when it is a ``kind`` (``what``: e.g. "segmentation").

    Raises:
        RegistryError: an unknown name; the one-line message lists the ``what`` datasets.
        SpecError: a dataset of another kind (its adapter's ``wrong_type``: which kind it is,
            and the ``what`` datasets).
    """
    fitting = names_of(kind)
    if name not in DATASETS:
        raise RegistryError(Registry.of(f"{what} dataset", {n: n for n in fitting}).unknown_message(name))
    adapter = DATASETS.get(name)()
    if not isinstance(adapter, kind):
        raise adapter.wrong_type(what, tuple(fitting))
    return adapter


def dataset_adapter(name: str) -> DatasetAdapter:
    """The adapter for dataset ``name``, of any kind.

    Raises:
        RegistryError: an unknown name; the one-line message lists the known ones.
    """
    return DATASETS.get(name)()
