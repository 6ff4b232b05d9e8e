"""Which datasets exist: names -> adapter classes, registered lazily (no torchgeo on listing)."""

from __future__ import annotations

from rsbench.data.base import SceneAdapter
from rsbench.registry import Registry

DATASETS = Registry("dataset")
DATASETS.register("ucmerced", "rsbench.data.ucmerced:UCMercedAdapter")
DATASETS.register("resisc45", "rsbench.data.resisc45:RESISC45Adapter")
DATASETS.register("eurosat", "rsbench.data.eurosat:EuroSATAdapter")
DATASETS.register("aid", "rsbench.data.aid:AIDAdapter")
DATASETS.register("bigearthnet", "rsbench.data.bigearthnet:BigEarthNetAdapter")
DATASETS.register("bigearthnet_v2", "rsbench.data.bigearthnet_v2:BigEarthNetV2Adapter")
DATASETS.register("so2sat", "rsbench.data.so2sat:So2SatAdapter")


def dataset_adapter(name: str) -> SceneAdapter:
    """The adapter for dataset ``name``.

    Raises:
        RegistryError: an unknown name; the one-line message lists the known ones.
    """
    return DATASETS.get(name)()
