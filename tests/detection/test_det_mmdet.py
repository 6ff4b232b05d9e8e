"""The mmdet backend: config substitutions (always), and with MMDetection installed
(``make setup-mmdet``) the detector itself, its box rescaling and a full ``rsbench run``."""

import copy
import sys
from pathlib import Path

import pytest
import torch
import yaml
from tiny_models import tiny_vit

from rsbench.config import SpecError
from rsbench.heads.mmdet import require_mmdet, resolved_model_config
from rsbench.protocols.detection import COMMON_DEFAULTS, checked_backend

REPO = Path(__file__).resolve().parents[2]
SHIPPED = yaml.safe_load((REPO / "tasks/detection/_mmdet/faster_rcnn_fpn.yaml").read_text())
MODEL = SHIPPED["protocol"]["model_config"]


def mmdet_available() -> bool:
    try:
        require_mmdet()
    except ImportError:
        return False
    return True


needs_mmdet = pytest.mark.skipif(not mmdet_available(), reason="mmdet absent: make setup-mmdet")


def test_substitutions_touch_only_what_rsbench_owns():
    before = copy.deepcopy(MODEL)
    cfg = resolved_model_config(MODEL, 20, 192, 3)
    assert MODEL == before  # the shipped mapping is not mutated
    assert cfg["roi_head"]["bbox_head"]["num_classes"] == 20
    assert "num_classes" not in cfg["rpn_head"]  # the RPN's one objectness class stays
    assert cfg["neck"]["in_channels"] == [192] * 4
    assert cfg["backbone"] == {"type": "RSBenchViT", "frozen": False}
    assert cfg["data_preprocessor"]["mean"] == [0.0] * 3 and cfg["data_preprocessor"]["std"] == [1.0] * 3
    assert cfg["data_preprocessor"]["bgr_to_rgb"] is False
    untouched = {k for k in cfg if k not in ("backbone", "neck", "roi_head", "data_preprocessor")}
    assert {k: cfg[k] for k in untouched} == {k: MODEL[k] for k in untouched}


def test_cascade_and_one_stage_heads_get_num_classes():
    cascade = {"type": "CascadeRCNN", "rpn_head": {"type": "RPNHead"},
               "roi_head": {"bbox_head": [{"num_classes": 80}, {"num_classes": 80}, {"num_classes": 80}]}}
    assert [h["num_classes"] for h in resolved_model_config(cascade, 15, 64, 3)["roi_head"]["bbox_head"]] == [15] * 3
    retina = {"type": "RetinaNet", "bbox_head": {"type": "RetinaHead", "num_classes": 80}}
    assert resolved_model_config(retina, 60, 64, 4)["bbox_head"]["num_classes"] == 60


@pytest.mark.parametrize("bad, match", [({"neck": {}}, "missing 'type'"),
                                        ({"type": "FasterRCNN"}, "no bbox_head")])
def test_unusable_model_configs_are_one_line_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        resolved_model_config(bad, 2, 64, 3)


@pytest.mark.parametrize("given, match", [
    ({"backend": "mmdet"}, "needs model_config"),
    ({"model_config": MODEL}, "set backend: mmdet"),
    ({"backend": "detectron2"}, "use 'torchvision' or 'mmdet'"),
    ({"backend": "mmdet", "model_config": MODEL, "detector": "fcos"}, r"\['detector'\]"),
])
def test_inconsistent_backend_options_are_spec_errors(given, match):
    with pytest.raises(SpecError, match=match):
        checked_backend({**COMMON_DEFAULTS, **given}, "task.yaml")


def test_missing_mmdet_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mmdet", None)  # import of mmdet now raises ImportError
    with pytest.raises(ImportError, match="make setup-mmdet"):
        require_mmdet()


@needs_mmdet
def test_detector_keeps_the_loaded_encoder_and_trains_it():
    from rsbench.heads.mmdet import MMDetModel

    encoder = tiny_vit()
    reference = {k: v.clone() for k, v in tiny_vit().state_dict().items()}
    model = MMDetModel(encoder, resolved_model_config(MODEL, 2, encoder.embed_dim, 3), 64)
    assert model.encoder is encoder  # the very module rsbench loaded (and reported on)
    after = encoder.state_dict()
    assert all(torch.equal(reference[k], after[k]) for k in after)  # init_weights left it alone
    model.train()
    images = [torch.rand(3, 64, 64) for _ in range(2)]
    targets = [{"boxes": torch.tensor([[4.0, 4.0, 30.0, 30.0]]), "labels": torch.tensor([1])}] * 2
    losses = model(images, targets)
    assert set(losses) == {"loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox"}
    sum(losses.values()).backward()
    assert encoder.model.blocks[0].attn.qkv.weight.grad.abs().sum() > 0


@needs_mmdet
def test_boxes_come_back_in_native_pixels():
    """A 128 px image is resized to the model's 64 px: its boxes are exactly twice those of the
    64 px image that resize produces, and they lie inside the 128 px image."""
    from rsbench.heads.mmdet import MMDetModel, data_samples

    encoder = tiny_vit()
    model = MMDetModel(encoder, resolved_model_config(MODEL, 2, encoder.embed_dim, 3), 64).eval()
    torch.manual_seed(1)
    native = torch.rand(3, 128, 128)
    (resized,), (sample,) = data_samples([native], [{"image_id": 7}], 64, training=False)
    assert sample.metainfo["scale_factor"] == (0.5, 0.5) and sample.metainfo["ori_shape"] == (128, 128)
    with torch.no_grad():
        (big,) = model([native])
        (small,) = model([resized])
    assert len(small["boxes"]) > 0  # an untrained head still scores above 0.05
    torch.testing.assert_close(big["boxes"], 2 * small["boxes"])
    torch.testing.assert_close(big["scores"], small["scores"])
    assert big["boxes"].min() >= 0 and big["boxes"].max() <= 128


@needs_mmdet
def test_rsbench_run_with_an_mmdet_config_writes_a_record(tmp_path, tiny_card, run_one_record):
    from rsbench.data.detection import make_synthetic_dior

    make_synthetic_dior(tmp_path / "data" / "dior", 4, 64, 0)
    task = tmp_path / "det_mmdet.yaml"
    task.write_text(
        f"include: [{REPO}/tasks/demo/demo_dior_frozen.yaml, "
        f"{REPO}/tasks/detection/_mmdet/faster_rcnn_fpn.yaml]\ntask: det_mmdet\n"
        "dataset: {image_size: 64}\n"
        "protocol: {name: finetune, iterations: 2, channels: 256, box_batch_size_per_image: 512, "
        "layer_decay: 0.75, drop_path: 0.1}\n")
    record = run_one_record(tiny_card(tmp_path, 64), task, tmp_path)
    m, hp = record["metrics"], record["protocol"]["hparams"]
    assert 0.0 <= m["map50"] <= 1.0 and "ap50_airplane" in m
    assert hp["backend"] == "mmdet" and hp["model_config_source"] == "inline"
    assert hp["model_config"]["roi_head"]["bbox_head"]["num_classes"] == 20  # DIOR's classes
    assert hp["model_config"]["backbone"] == {"type": "RSBenchViT", "frozen": False}


def test_missing_config_file_names_it(tmp_path):
    from rsbench.heads.mmdet import config_from

    with pytest.raises(FileNotFoundError, match=r"configs/frcnn\.py: mmdet config file not found"):
        config_from("configs/frcnn.py", tmp_path)


@needs_mmdet
def test_config_file_with_base_resolves_relative_to_the_task(tmp_path):
    """An mmdet-style Python config that inherits (``_base_``) and overrides, as RS repos ship."""
    from rsbench.heads.mmdet import config_from

    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "base.py").write_text(f"model = {MODEL!r}\n")
    (tmp_path / "configs" / "frcnn.py").write_text(
        "_base_ = ['./base.py']\n"
        "model = dict(test_cfg=dict(rcnn=dict(max_per_img=300)))\n")
    model, source = config_from("configs/frcnn.py", tmp_path)
    assert source == str(tmp_path / "configs" / "frcnn.py")
    assert model["test_cfg"]["rcnn"]["max_per_img"] == 300  # the override
    assert model["roi_head"] == MODEL["roi_head"]  # the rest from _base_
