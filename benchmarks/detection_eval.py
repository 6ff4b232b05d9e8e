"""Time the two COCO box evaluators on one large synthetic prediction set.

Builds ``--images`` images with ``--gt`` ground-truth boxes each (20 classes, 5% marked
difficult) and ``--dets`` scored detections each (jittered copies of the ground truth plus random
boxes), then scores them with ``rsbench.tasks.detection.coco_scores`` through pycocotools and
through faster-coco-eval, checks the numbers agree, and prints wall-clock seconds (best of
``--repeat``). Usage::

    .venv/bin/python benchmarks/detection_eval.py --images 5000 --gt 20 --dets 100
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from rsbench.tasks.detection import coco_scores


def synthetic(images: int, gt_per: int, dets_per: int, classes: int = 20, size: int = 800,
              seed: int = 0) -> tuple[dict, list[dict]]:
    """A COCO ground truth and per-image detections with a realistic mix of hits and misses."""
    rng = np.random.default_rng(seed)
    anns, dets, aid = [], [], 1
    for img in range(images):
        xy = rng.uniform(0, size - 120, (gt_per, 2))
        wh = rng.uniform(8, 120, (gt_per, 2))
        boxes = np.concatenate([xy, xy + wh], 1)
        labels = rng.integers(0, classes, gt_per)
        difficult = rng.random(gt_per) < 0.05
        for b, c, d in zip(boxes, labels, difficult, strict=True):
            anns.append({"id": aid, "image_id": img, "category_id": int(c) + 1,
                         "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         "area": float((b[2] - b[0]) * (b[3] - b[1])), "iscrowd": 0,
                         "ignore": int(d)})
            aid += 1
        n_hit = min(dets_per // 2, gt_per)
        pick = rng.integers(0, gt_per, dets_per - n_hit)
        hit = boxes[:n_hit] + rng.normal(0, 6, (n_hit, 4))
        rnd_xy = rng.uniform(0, size - 120, (dets_per - n_hit - len(pick) // 2, 2))
        rnd = np.concatenate([rnd_xy, rnd_xy + rng.uniform(8, 120, rnd_xy.shape)], 1)
        near = boxes[pick[: dets_per - n_hit - len(rnd)]] + rng.normal(0, 20, (dets_per - n_hit - len(rnd), 4))
        det_boxes = np.concatenate([hit, rnd, near])
        det_boxes[:, 2:] = np.maximum(det_boxes[:, 2:], det_boxes[:, :2] + 1)
        det_labels = np.concatenate([labels[:n_hit], rng.integers(0, classes, len(det_boxes) - n_hit)])
        dets.append({"image_id": img, "boxes": det_boxes, "labels": det_labels,
                     "scores": rng.random(len(det_boxes))})
    gt = {"images": [{"id": i, "width": size, "height": size} for i in range(images)],
          "annotations": anns,
          "categories": [{"id": k + 1, "name": f"c{k}"} for k in range(classes)]}
    return gt, dets


def timed(gt: dict, dets: list[dict], backend: str, repeat: int) -> tuple[float, dict]:
    best, out = math.inf, {}
    for _ in range(repeat):
        start = time.perf_counter()
        out = coco_scores(gt, dets, backend=backend)
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--gt", type=int, default=20)
    ap.add_argument("--dets", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    gt, dets = synthetic(args.images, args.gt, args.dets)
    report = {"images": args.images, "gt_per_image": args.gt, "dets_per_image": args.dets}
    scores = {}
    for backend in ("pycocotools", "faster_coco_eval"):
        seconds, scores[backend] = timed(gt, dets, backend, args.repeat)
        report[f"{backend}_s"] = round(seconds, 2)
    a, b = scores["pycocotools"], scores["faster_coco_eval"]
    report["max_abs_diff"] = max(abs(a[k] - b[k]) for k in a)
    report["map50"], report["map"] = round(a["map50"], 6), round(a["map"], 6)
    report["speedup"] = round(report["pycocotools_s"] / report["faster_coco_eval_s"], 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
