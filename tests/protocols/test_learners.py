"""A broken learner cannot pass: each training protocol, on fake data a model can learn, scores
well above the same seeded model before training, in the same test.

The untrained score is the protocol itself run for zero steps (same data, same seeded model,
same evaluation), so the difference is what training did.
"""

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "segmentation"))
sys.path.insert(0, str(HERE.parent / "detection"))

from det_helpers import fake_det_data  # noqa: E402
from seg_helpers import fake_seg_data  # noqa: E402
from tiny_models import protocol_context  # noqa: E402

import rsbench.tasks.detection as det_plugin  # noqa: E402
import rsbench.tasks.segmentation as seg_plugin  # noqa: E402
from rsbench.protocols import protocol_module  # noqa: E402


def seg_score(tmp_path, iterations: int) -> float:
    protocol = {"name": "finetune", "decoder": "upernet", "channels": 16, "iterations": iterations,
                "batch_size": 4, "lr": 1e-3, "warmup_iters": 5, "slide_stride": 16}
    ctx = protocol_context(tmp_path, "fake_seg", protocol, [], 32,
                           lambda train_transform=None: fake_seg_data(
                               size=32, n_train=16, n_test=6, train_transform=train_transform),
                           seg_plugin)
    return protocol_module("segmentation", "finetune").run(ctx).metrics["miou"]


def det_score(tmp_path, epochs: int) -> float:
    protocol = {"name": "finetune", "channels": 32, "epochs": epochs, "lr_steps": [100],
                "batch_size": 4, "eval_batch_size": 4, "lr": 1e-3, "warmup_iters": 10,
                "box_batch_size_per_image": 64, "hflip": 0.5}
    ctx = protocol_context(tmp_path, "fake_det", protocol, [], 64,
                           lambda train_transform=None: fake_det_data(
                               64, n_train=16, n_test=8, train_transform=train_transform),
                           det_plugin)
    return protocol_module("detection", "finetune").run(ctx).metrics["map50"]


def test_segmentation_finetune_learns(tmp_path):
    before, after = seg_score(tmp_path, 0), seg_score(tmp_path, 30)
    assert after > before + 0.3, (before, after)


def test_detection_finetune_learns(tmp_path):
    before, after = det_score(tmp_path, 0), det_score(tmp_path, 8)
    assert after > before + 0.3, (before, after)
