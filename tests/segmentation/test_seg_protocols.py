import pytest
import torch
from seg_helpers import fake_seg_data
from tiny_models import protocol_context, tiny_vit

import rsbench.tasks.segmentation as seg_plugin
from rsbench.protocols import ProtocolContext, protocol_module
from rsbench.protocols.segmentation import (
    FINETUNE,
    FROZEN,
    JointTrainTransform,
    build_module,
    warmup_poly,
)

FT_DEFAULTS, FROZEN_DEFAULTS = FINETUNE.defaults, FROZEN.defaults


def context(tmp_path, protocol: dict, backbones: list, size: int = 32, **data_kw) -> ProtocolContext:
    return protocol_context(
        tmp_path, "fake_seg", protocol, backbones, size,
        lambda train_transform=None: fake_seg_data(size=size, train_transform=train_transform, **data_kw),
        seg_plugin)


def test_plugin_maps_protocol_names_to_modules():
    assert protocol_module("segmentation", "frozen").DEFAULTS is FROZEN_DEFAULTS
    assert protocol_module("segmentation", "finetune").DEFAULTS is FT_DEFAULTS
    assert FT_DEFAULTS["layer_decay"] == 0.9 and FT_DEFAULTS["drop_path"] == 0.1
    assert FT_DEFAULTS["lr"] == 6e-5 and FT_DEFAULTS["iterations"] == 160_000


def test_frozen_protocol_trains_decoder_only_and_learns(tmp_path):
    backbones: list = []
    # slide_stride null: 2/3 of the 32 px crop (the recipe's 341 is that of a 512 crop)
    ctx = context(tmp_path, {"name": "frozen", "decoder": "linear", "iterations": 60,
                             "batch_size": 8, "lr": 2e-2, "warmup_iters": 5, "slide_stride": None},
                  backbones, n_test=3, test_size=40)
    before = {k: v.clone() for k, v in tiny_vit(32).state_dict().items()}
    result = protocol_module("segmentation", "frozen").run(ctx)
    (backbone,) = backbones
    after = backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "encoder weights changed"
    assert result.metrics["miou"] > 0.9, result.metrics
    assert set(seg_plugin.METRICS) <= set(result.metrics)
    assert {"iou_red", "iou_green", "iou_blue"} <= set(result.metrics)
    assert result.hparams["slide_stride"] == 21 and "RVSA" in result.hparams["recipe"]
    assert result.data["dataset"] == "fake"


def test_frozen_protocol_changes_the_decoder():
    backbone = tiny_vit(32)
    module = build_module(backbone, 3, {**FROZEN_DEFAULTS, "decoder": "upernet", "channels": 16},
                          crop=32, ignore_index=255, frozen=True, layer_decay=None)
    head_before = [p.clone() for p in module.model.head.parameters()]
    enc_before = [p.clone() for p in backbone.parameters()]
    opt = torch.optim.AdamW([p for g in module.param_groups() for p in g["params"]], lr=1e-2)
    module.train()
    data = fake_seg_data()
    x = torch.stack([data.train[i][0] for i in range(4)])
    y = torch.stack([data.train[i][1] for i in range(4)])
    module.training_step((x, y), 0).backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(head_before, module.model.head.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(enc_before, backbone.parameters(), strict=True))
    ids = {id(p) for g in module.param_groups() for p in g["params"]}
    assert not ids & {id(p) for p in backbone.parameters()}


def test_finetune_layer_decay_groups_by_hand():
    backbone = tiny_vit(32, depth=2)
    hp = {**FT_DEFAULTS, "lr": 1.0, "channels": 16}
    module = build_module(backbone, 3, hp, crop=32, ignore_index=255, frozen=False, layer_decay=0.9)
    opt = module.configure_optimizers()["optimizer"]
    lrs = {id(p): (g["initial_lr"], g["weight_decay"]) for g in opt.param_groups for p in g["params"]}
    names = dict(module.named_parameters())
    # MAE layer ids with depth 2: stem 0, blocks.i -> i + 1, decoder 3; scale 0.9 ** (3 - id)
    expect = {"model.backbone.model.patch_embed.proj.weight": 0.9 ** 3,
              "model.backbone.model.pos_embed": 0.9 ** 3,
              "model.backbone.model.blocks.0.attn.qkv.weight": 0.9 ** 2,
              "model.backbone.model.blocks.1.mlp.fc1.weight": 0.9,
              "model.head.classifier.weight": 1.0,
              "model.head.fuse.0.weight": 1.0}
    for name, lr in expect.items():
        assert lrs[id(names[name])][0] == pytest.approx(lr), name
    assert lrs[id(names["model.head.classifier.weight"])][1] == 0.05
    assert lrs[id(names["model.head.classifier.bias"])][1] == 0.0
    assert lrs[id(names["model.backbone.model.blocks.0.attn.qkv.bias"])][1] == 0.0
    assert not any(".model.norm." in n for n in names)  # unused by feature maps: dropped
    every = [id(p) for g in opt.param_groups for p in g["params"]]
    assert len(every) == len(set(every)) == len(list(module.parameters()))


def test_finetune_protocol_runs_with_drop_path(tmp_path):
    backbones: list = []
    ctx = context(tmp_path, {"name": "finetune", "decoder": "upernet", "channels": 16,
                             "iterations": 3, "batch_size": 4, "warmup_iters": 1}, backbones,
                  n_train=8, n_test=2)
    result = protocol_module("segmentation", "finetune").run(ctx)
    assert backbones[0].model.blocks[1].drop_path1.drop_prob == pytest.approx(0.1)
    assert 0.0 <= result.metrics["miou"] <= 1.0
    assert result.hparams["layer_decay"] == 0.9


def test_unknown_protocol_option_is_an_error(tmp_path):
    ctx = context(tmp_path, {"name": "frozen", "layer_decay": 0.9}, [])
    with pytest.raises(Exception, match="layer_decay"):
        protocol_module("segmentation", "frozen").run(ctx)


def test_train_transform_crops_jointly_and_pads_with_ignore():
    torch.manual_seed(0)
    image = torch.arange(16.0).view(1, 4, 4).repeat(3, 1, 1)
    mask = torch.arange(16).view(4, 4)
    t = JointTrainTransform(8, (0.5, 0.5), hflip=0.0, ignore_index=255)
    img, m = t(image, mask)
    assert img.shape == (3, 8, 8) and m.shape == (8, 8) and m.dtype == torch.int64
    assert (m[2:, :] == 255).all() and (img[:, 2:, :] == 0).all()
    t = JointTrainTransform(4, (2.0, 2.0), hflip=1.0)
    img, m = t(image, mask)
    assert set(m.unique().tolist()) <= set(range(16))  # nearest: no invented labels


def test_warmup_poly_schedule():
    assert warmup_poly(0, 10, 100) == pytest.approx(0.1)
    assert warmup_poly(9, 10, 100) == pytest.approx(1.0)
    assert warmup_poly(50, 10, 100) == pytest.approx(0.5)
    assert warmup_poly(100, 10, 100) == 0.0


def test_batch_size_is_global_and_split_over_processes():
    from rsbench.config import SpecError
    from rsbench.engine.protocol import per_rank_batch, steps_per_epoch

    assert per_rank_batch(8, 1, "t") == 8
    assert per_rank_batch(8, 4, "t") == 2
    with pytest.raises(SpecError, match="divisible"):
        per_rank_batch(8, 3, "t")
    # Lightning's DistributedSampler pads each rank to ceil(n / world), then drop_last per rank.
    assert steps_per_epoch(10, 4, 1) == 2
    assert steps_per_epoch(10, 2, 2) == 2  # ceil(10 / 2) = 5 samples per rank -> 2 batches
    assert steps_per_epoch(11, 2, 2) == 3  # 6 per rank (one padded) -> 3 batches
