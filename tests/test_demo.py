"""The demo's ranking check and its texture-coded segmentation and detection data."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rsbench.data.detection import DIOR_CLASSES, make_synthetic_dior, parse_voc_xml
from rsbench.data.segmentation import make_synthetic_loveda
from rsbench.data.synthetic import class_factors
from rsbench.demo import misranked_tasks


def record(model: str, task: str, seed: int, value: float) -> dict:
    return {"model": {"name": model}, "task": {"name": task}, "seed": seed,
            "primary_metric": "miou", "metrics": {"miou": value}}


def test_a_clear_win_on_every_task_passes():
    recs = [record("e", "seg", 0, 0.10), record("e", "seg", 1, 0.12),
            record("f", "seg", 0, 0.30), record("f", "seg", 1, 0.34)]
    assert misranked_tasks(recs, early="e", final="f") == []


def test_a_win_within_the_seeds_spread_is_reported():
    # means 0.50 and 0.45: gap 0.05; spreads 0.02 (early) and 0.08 (final): 0.05 <= 0.08
    recs = [record("e", "det", 0, 0.44), record("e", "det", 1, 0.46),
            record("f", "det", 0, 0.46), record("f", "det", 1, 0.54),
            record("e", "seg", 0, 0.10), record("f", "seg", 0, 0.30)]
    assert misranked_tasks(recs, early="e", final="f") == [
        "det: final 0.5000 vs early 0.4500 (spread 0.0800)"]


def test_a_task_scored_for_one_checkpoint_only_is_reported():
    recs = [record("e", "seg", 0, 0.1), record("f", "seg", 0, 0.3), record("f", "knn", 0, 0.9)]
    assert misranked_tasks(recs, early="e", final="f") == ["knn: scored for one checkpoint only"]


def stripe_angle(pixels: np.ndarray) -> float:
    """Orientation in degrees [0, 180) of the stripes' wave vector, from the structure tensor."""
    g = pixels.astype(np.float64).mean(axis=-1)
    gy, gx = np.gradient(g)
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    return float(np.degrees(0.5 * np.arctan2(2 * jxy, jxx - jyy)) % 180.0)


def angle_gap(a: float, b: float) -> float:
    return abs((a - b + 90.0) % 180.0 - 90.0)


def test_texture_loveda_regions_carry_their_class_orientation(tmp_path):
    root = make_synthetic_loveda(tmp_path / "loveda", 6, 64, seed=0, classes_by="texture")
    checked = 0
    for image_path in sorted(root.glob("Train/*/images_png/*.png")):
        image = np.asarray(Image.open(image_path))
        mask = np.asarray(Image.open(str(image_path).replace("images_png", "masks_png")))
        for c in range(1, 8):
            rows, cols = np.nonzero(mask == c)
            if rows.size < 24 * 24:  # too small a region to read an orientation from
                continue
            # the stripe wave vector points along the class angle (8 degrees of jitter)
            r0, c0 = int(np.median(rows)), int(np.median(cols))
            box = (slice(max(0, r0 - 6), r0 + 6), slice(max(0, c0 - 6), c0 + 6))
            if (mask[box] != c).any():
                continue
            assert angle_gap(stripe_angle(image[box]), class_factors(c - 1)[0]) < 20.0
            checked += 1
    assert checked >= 3


def test_texture_dior_boxes_carry_their_class_orientation(tmp_path):
    root = make_synthetic_dior(tmp_path / "dior", 4, 128, seed=0, classes_by="texture")
    n = 0
    for xml in sorted((root / "Annotations" / "Horizontal Bounding Boxes").glob("*.xml")):
        split = "test" if xml.stem in (root / "ImageSets/Main/test.txt").read_text() else "trainval"
        image = np.asarray(Image.open(root / f"JPEGImages-{split}" / f"{xml.stem}.jpg"))
        ann = parse_voc_xml(xml, DIOR_CLASSES)
        for (x0, y0, x1, y1), k in zip(ann.boxes.astype(int), ann.labels, strict=True):
            assert 0 <= k < 8  # the eight orientation x frequency textures
            inner = image[y0 + 2:y1 - 2, x0 + 2:x1 - 2]
            assert angle_gap(stripe_angle(inner), class_factors(int(k))[0]) < 20.0
            n += 1
    assert n >= 12


@pytest.mark.parametrize("make", [make_synthetic_loveda, make_synthetic_dior])
def test_unknown_classes_by_is_refused(tmp_path, make):
    with pytest.raises(ValueError, match="classes_by 'shape'"):
        make(Path(tmp_path), 1, 32, 0, classes_by="shape")


def test_a_win_within_the_spread_is_not_an_inversion():
    recs = [record("e", "dior", 0, 0.10), record("e", "dior", 1, 0.11),
            record("f", "dior", 0, 0.20), record("f", "dior", 1, 0.09)]
    assert misranked_tasks(recs, early="e", final="f") != []  # within the spread
    assert misranked_tasks(recs, early="e", final="f", margin="none") == []  # but final ahead
