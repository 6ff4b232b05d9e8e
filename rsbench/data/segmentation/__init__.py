"""Semantic-segmentation data: adapters, preparation of raw releases, synthetic demo data.

``build_segmentation_data(spec, data_root, split_dir, download, train_transform)`` is the entry
point the segmentation task uses: ``(image, mask)`` datasets at native resolution, float32
``[C, H, W]`` in [0, 1] and int64 ``[H, W]`` with 255 ignored. ``prepare_dataset(name, src,
dst)`` cuts ISPRS Potsdam / Vaihingen tiles or iSAID scenes into patches with a sha256 manifest;
``make_synthetic_loveda`` writes a learnable fake LoveDA in its real layout. Datasets: loveda,
potsdam, vaihingen (prepared), isaid (prepared 896 px patches).
"""

from rsbench.data.official_split import OfficialSplit, parse_official_split
from rsbench.data.preparation import patch_positions
from rsbench.data.segmentation.build import (
    PREPARABLE,
    build_segmentation_data,
    prepare_dataset,
    seg_adapter,
)
from rsbench.data.segmentation.common import (
    IGNORE_INDEX,
    SegmentationData,
    SegmentationDataset,
)
from rsbench.data.segmentation.isaid_prepare import prepare_isaid
from rsbench.data.segmentation.prepare import prepare_isprs
from rsbench.data.segmentation.synthetic import make_synthetic_loveda

__all__ = [
    "IGNORE_INDEX",
    "PREPARABLE",
    "OfficialSplit",
    "SegmentationData",
    "SegmentationDataset",
    "build_segmentation_data",
    "make_synthetic_loveda",
    "parse_official_split",
    "patch_positions",
    "prepare_dataset",
    "prepare_isaid",
    "prepare_isprs",
    "seg_adapter",
]
