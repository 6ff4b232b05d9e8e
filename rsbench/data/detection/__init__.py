"""Object-detection data (horizontal boxes): adapters, DOTA tiling, synthetic demo data.

``build_detection_data(spec, data_root, split_dir, download, train_transform)`` is the entry
point the detection task uses: ``(image, target)`` datasets at native resolution, float32
``[C, H, W]`` in [0, 1] and ``{"boxes": float32 [N, 4] xyxy pixels, "labels": int64 [N],
"difficult": bool [N], "image_id": int}``; ``DetectionData.coco_ground_truth(split)`` exports a
split as a COCO dict; ``detection_collate`` batches as lists. ``prepare_detection(name, src,
dst)`` cuts DOTA or xView into tiles with a sha256 manifest (``tiling``); ``make_synthetic_dior``
writes a learnable fake DIOR in its real layout. Datasets: dior (official), dota (prepared
tiles), xview (whole scenes) and xview_tiles (prepared tiles), both with rsbench's own seeded
split by source image.
"""

from rsbench.data.detection.build import (
    RatioDetSplit,
    build_detection_data,
    det_adapter,
    parse_det_split,
    prepare_detection,
)
from rsbench.data.detection.common import (
    Annotation,
    DetectionData,
    DetectionDataset,
    clean_annotation,
    detection_collate,
    detection_labels_getter,
)
from rsbench.data.detection.dior import DIOR_CLASSES, parse_voc_xml
from rsbench.data.detection.dota import DOTA_CLASSES
from rsbench.data.detection.dota_raw import parse_raw_objects
from rsbench.data.detection.polygons import clip_polygon, polygon_to_hbb
from rsbench.data.detection.prepare import prepare_dota
from rsbench.data.detection.synthetic import make_synthetic_dior
from rsbench.data.detection.tiling import tile_objects
from rsbench.data.detection.xview import XVIEW_CLASSES, XVIEW_TYPE_IDS, parse_xview_geojson
from rsbench.data.detection.xview_prepare import prepare_xview

__all__ = [
    "DIOR_CLASSES",
    "DOTA_CLASSES",
    "XVIEW_CLASSES",
    "XVIEW_TYPE_IDS",
    "Annotation",
    "DetectionData",
    "DetectionDataset",
    "RatioDetSplit",
    "build_detection_data",
    "clean_annotation",
    "clip_polygon",
    "det_adapter",
    "detection_collate",
    "detection_labels_getter",
    "make_synthetic_dior",
    "parse_det_split",
    "parse_raw_objects",
    "parse_voc_xml",
    "parse_xview_geojson",
    "polygon_to_hbb",
    "prepare_detection",
    "prepare_dota",
    "prepare_xview",
    "tile_objects",
]
