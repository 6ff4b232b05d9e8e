"""Scene-classification data: dataset adapters, reproducible split files, synthetic demo data.

``build_classification_data(spec, data_root, split_dir, download, train_transform)`` is the one
entry point the task plugins use; ``make_synthetic_ucmerced`` writes offline demo data in UC
Merced's real layout. Datasets: ucmerced, resisc45, eurosat (through torchgeo's classes for
download and official splits), aid (folder per class).
"""

from rsbench.data.base import SceneAdapter
from rsbench.data.build import ClassificationData, build_classification_data, dataset_root
from rsbench.data.catalog import DATASETS, dataset_adapter
from rsbench.data.dataset import SceneDataset
from rsbench.data.errors import DatasetNotFound, SplitConflict, SplitSpecError
from rsbench.data.splits import SplitSpec, parse_split, ratio_counts, ratio_split
from rsbench.data.synthetic import make_synthetic_ucmerced

__all__ = [
    "DATASETS",
    "ClassificationData",
    "DatasetNotFound",
    "SceneAdapter",
    "SceneDataset",
    "SplitConflict",
    "SplitSpec",
    "SplitSpecError",
    "build_classification_data",
    "dataset_adapter",
    "dataset_root",
    "make_synthetic_ucmerced",
    "parse_split",
    "ratio_counts",
    "ratio_split",
]
