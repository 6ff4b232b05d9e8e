"""Frozen / finetune detection protocols on in-memory fake data, schedule, transform, YAMLs."""

import pytest
import torch
from det_helpers import fake_det_data
from tiny_models import protocol_context, tiny_vit

import rsbench.tasks.detection as det_plugin
from rsbench.config import SpecError
from rsbench.protocols import ProtocolContext, protocol_module
from rsbench.protocols.detection import (
    FINETUNE,
    FROZEN,
    DetectionModule,
    DetectionTrainTransform,
    build_module,
    step_lr_factor,
    training_targets,
)

FT_DEFAULTS, FROZEN_DEFAULTS = FINETUNE.defaults, FROZEN.defaults

FAST = {"channels": 32, "iterations": 4, "batch_size": 4, "eval_batch_size": 4, "lr": 1e-3,
        "warmup_iters": 1, "box_batch_size_per_image": 32}


def context(tmp_path, protocol: dict, backbones: list, size: int = 64) -> ProtocolContext:
    return protocol_context(
        tmp_path, "fake_det", protocol, backbones, size,
        lambda train_transform=None: fake_det_data(size, train_transform=train_transform), det_plugin)


def test_plugin_maps_protocol_names_to_modules():
    assert protocol_module("detection", "frozen").DEFAULTS is FROZEN_DEFAULTS
    assert protocol_module("detection", "finetune").DEFAULTS is FT_DEFAULTS
    assert det_plugin.METRICS[0] == "map50"


def test_frozen_run_keeps_encoder_bit_identical_and_scores(tmp_path):
    backbones = []
    before = {k: v.clone() for k, v in tiny_vit().state_dict().items()}
    result = protocol_module("detection", "frozen").run(
        context(tmp_path, {"name": "frozen", **FAST}, backbones))
    after = backbones[0].state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    m = result.metrics
    assert list(m)[:2] == ["map50", "map"] and {"ap50_red", "ap50_green"} <= set(m)
    assert 0.0 <= m["map50"] <= 1.0 and 0.0 <= m["map"] <= m["map50"]
    assert result.hparams["recipe"].startswith("frozen") and result.hparams["total_steps"] == 4
    assert result.data["dataset"] == "fake_det" and result.timings["test_s"] > 0


def test_finetune_param_groups_use_layer_decay():
    hp = {**FT_DEFAULTS, **FAST}
    module = build_module(tiny_vit(depth=2), 2, hp, 64, frozen=False, layer_decay=0.75)
    groups = module.param_groups()
    scales = sorted({round(g["lr_scale"], 6) for g in groups})
    assert scales == [round(0.75 ** k, 6) for k in (3, 2, 1, 0)]  # embed, block 0, block 1, head
    n = sum(p.numel() for g in groups for p in g["params"])
    assert n == sum(p.numel() for p in module.model.parameters())
    frozen = build_module(tiny_vit(), 2, hp, 64, frozen=True, layer_decay=None)
    enc = {id(p) for p in frozen.model.encoder.parameters()}
    assert not any(id(p) in enc for g in frozen.param_groups() for p in g["params"])


def test_finetune_run_with_drop_path(tmp_path):
    backbones = []
    result = protocol_module("detection", "finetune").run(
        context(tmp_path, {"name": "finetune", **FAST, "iterations": 2, "detector": "fcos"}, backbones))
    assert backbones[0].model.blocks[1].drop_path1.drop_prob == pytest.approx(0.15)
    assert result.hparams["layer_decay"] == 0.75 and 0.0 <= result.metrics["map50"] <= 1.0


def test_unknown_protocol_option_is_an_error(tmp_path):
    with pytest.raises(SpecError, match="not used by this protocol"):
        protocol_module("detection", "frozen").run(context(tmp_path, {"name": "frozen", "crop": 3}, []))


def test_step_schedule_1x():
    hp = {**FT_DEFAULTS}
    f = [step_lr_factor(s, hp, 1200, 100) for s in (0, 499, 500, 799, 800, 1099, 1100)]
    assert f[0] == pytest.approx(0.001) and f[2:] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    short = {**hp, "iterations": 120, "warmup_iters": 0}
    assert [step_lr_factor(s, short, 120, 1) for s in (79, 80, 110)] == pytest.approx([1, 0.1, 0.01])


def test_train_transform_resizes_and_flips_boxes_jointly():
    from torchvision import tv_tensors

    image = torch.zeros(3, 50, 100)
    boxes = tv_tensors.BoundingBoxes(torch.tensor([[0.0, 0.0, 10.0, 25.0]]), format="XYXY",
                                     canvas_size=(50, 100))
    out, target = DetectionTrainTransform(200, hflip=1.0)(image, {"boxes": boxes, "labels": torch.tensor([1])})
    assert out.shape == (3, 200, 200) and type(target["boxes"]) is torch.Tensor
    assert target["boxes"].tolist() == [[180.0, 0.0, 200.0, 100.0]]


def test_training_targets_drop_difficult_and_degenerate_boxes():
    t = {"boxes": torch.tensor([[0.0, 0, 10, 10], [5, 5, 5.5, 9], [1, 1, 4, 4]]),
         "labels": torch.tensor([0, 1, 1]), "difficult": torch.tensor([False, False, True])}
    out = training_targets([t])[0]
    assert out["boxes"].tolist() == [[0.0, 0, 10, 10]] and out["labels"].tolist() == [0]


def test_module_predict_collects_zero_based_detections():
    hp = {**FROZEN_DEFAULTS, **FAST}
    module = build_module(tiny_vit(), 2, hp, 64, frozen=True, layer_decay=None)
    assert isinstance(module, DetectionModule)
    data = fake_det_data()
    images, targets = zip(*[data.test[i] for i in range(2)], strict=True)
    module.eval()
    with torch.no_grad():
        out = module.predict_step((list(images), list(targets)), 0)
    assert [d["image_id"] for d in out] == [1, 2]


def test_shipped_task_files_validate():
    from rsbench.cli import main

    assert main(["validate"]) == 0
