"""xView cut into tiles (``rsbench data prepare xview``): the reader of the prepared root.

Why tiles: xView scenes are about 3000 x 3000 px at 0.3 m and the detection protocol resizes
every sample to ``image_size`` (800 px), which would shrink a 10-15 px car to 3-4 px. Tiles of
800 px reach the model at their native scale (see ``xview_prepare`` for the defaults).

Prepared layout (``<data_root>/xview_tiles``)::

    images/<n>__1__<x>___<y>.png    tile of train_images/<n>.tif whose top-left is (x, y)
    labels/<n>__1__<x>___<y>.txt    ``x1 y1 x2 y2 type_id difficult`` per line, tile pixels
                                    (xView ``type_id``: class names contain spaces)
    manifest.json                   parameters, per-image facts, sha256 per file

A separate dataset rather than the ``xview`` adapter switching on a manifest: the two score
different things (scenes shrunk to 800 px vs tiles at full resolution), so their records,
split files and leaderboard cells must not share a name, and the raw scenes stay usable.

Split: rsbench's own seeded ratio split (no public one exists), cut by source image: every
tile of ``<n>.tif`` falls on the side of ``train_images/<n>.tif``. Tiles of one image overlap
and share its scene, so splitting tiles would leak test pixels into training. Because the unit
is named as the raw ``xview`` adapter names the image, a given seed puts the same scenes on the
same side in both datasets.
"""

from __future__ import annotations

from pathlib import Path

from rsbench.data.detection.base import DetAdapter
from rsbench.data.detection.common import Annotation, DetSample
from rsbench.data.detection.tiling import source_stem
from rsbench.data.detection.xview import IMAGE_DIR, XVIEW_CLASSES, XVIEW_TYPE_IDS, XVIEW_URL
from rsbench.data.preparation import read_manifest_files

TILE_IMAGES, TILE_LABELS = "images", "labels"


class XViewTilesAdapter(DetAdapter):
    """xView train scenes as prepared tiles (see the module docstring); split by source image."""

    name = "xview_tiles"
    title = "xView (tiles)"
    homepage = XVIEW_URL
    classes = XVIEW_CLASSES
    split_kind = "ratio"
    split_unit = "source image (all tiles of a scene on one side)"
    layout = f"{TILE_IMAGES}/*.png, {TILE_LABELS}/*.txt and manifest.json"

    def how_to_get(self) -> str:
        return (f"download the xView train images and labels from {XVIEW_URL} to "
                f"<data_root>/xview and run `rsbench data prepare xview --src <data_root>/xview "
                f"--dst <data_root>/xview_tiles`")

    def samples(self, root: Path) -> list[DetSample]:
        """Tiles listed in ``manifest.json`` (not a glob: stale files are never picked up)."""
        root = Path(root)
        files = read_manifest_files(root)
        if files is None:
            raise self.not_found(root, "is not prepared (no manifest.json)")
        prefix = f"{TILE_IMAGES}/"
        out = [(rel, f"{TILE_LABELS}/{rel[len(prefix):-len('.png')]}.txt")
               for rel in sorted(files) if rel.startswith(prefix) and rel.endswith(".png")]
        if not out:
            raise self.not_found(root, "has no tiles in its manifest")
        return out

    def load_annotation(self, root: Path, image_rel: str, ann_rel: str) -> Annotation:
        label_of = {t: i for i, t in enumerate(XVIEW_TYPE_IDS)}
        boxes, labels, difficult = [], [], []
        for line in (Path(root) / ann_rel).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            x1, y1, x2, y2, type_id, hard = line.split()
            boxes.append([float(x1), float(y1), float(x2), float(y2)])
            labels.append(label_of[int(type_id)])
            difficult.append(hard != "0")
        return Annotation.from_lists(boxes, labels, difficult)

    def group(self, image_rel: str) -> str:
        """The raw scene a tile was cut from, as the ``xview`` adapter names it."""
        return f"{IMAGE_DIR}/{source_stem(image_rel)}.tif"
