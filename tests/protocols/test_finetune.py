import pytest
import torch

from rsbench.backbones import InputSpec, build_backbone
from rsbench.protocols.finetune import DEFAULTS, Finetuner


def optimizer_lrs(layer_decay: float, depth: int = 2) -> dict[str, tuple[float, float]]:
    backbone = build_backbone("vit_tiny_patch16", InputSpec(img_size=32), depth=depth, patch_size=8)
    hp = {**DEFAULTS, "layer_decay": layer_decay, "mixup": 0.0, "cutmix": 0.0}
    module = Finetuner(backbone, num_classes=5, hp=hp, total_steps=100, lr=1.0)
    opt = module.configure_optimizers()["optimizer"]
    names = {id(p): n for n, p in module.named_parameters()}
    return {names[id(p)]: (g["initial_lr"], g["weight_decay"]) for g in opt.param_groups for p in g["params"]}


def test_layer_wise_lr_decay_matches_mae_lr_decay_by_hand():
    # MAE util/lr_decay.py with depth 2: layer ids stem 0, blocks.i -> i + 1, norm/head -> 3;
    # scale = decay ** (3 - layer_id). With decay 0.5 and lr 1: stem 0.125, blocks.0 0.25,
    # blocks.1 0.5, final norm and head 1.
    lrs = optimizer_lrs(0.5)
    assert lrs["backbone.model.patch_embed.proj.weight"][0] == pytest.approx(0.125)
    assert lrs["backbone.model.pos_embed"][0] == pytest.approx(0.125)
    assert lrs["backbone.model.cls_token"][0] == pytest.approx(0.125)
    assert lrs["backbone.model.blocks.0.attn.qkv.weight"][0] == pytest.approx(0.25)
    assert lrs["backbone.model.blocks.1.mlp.fc2.weight"][0] == pytest.approx(0.5)
    assert lrs["backbone.model.norm.weight"][0] == pytest.approx(1.0)
    assert lrs["head.weight"][0] == pytest.approx(1.0)


def test_weight_decay_skips_biases_norms_and_embeddings():
    lrs = optimizer_lrs(0.75)
    assert lrs["backbone.model.blocks.0.attn.qkv.weight"][1] == DEFAULTS["weight_decay"]
    assert lrs["head.weight"][1] == DEFAULTS["weight_decay"]
    for name in ("backbone.model.blocks.0.attn.qkv.bias", "backbone.model.norm.weight",
                 "backbone.model.pos_embed", "backbone.model.cls_token", "head.bias"):
        assert lrs[name][1] == 0.0, name


def test_every_parameter_is_optimised_exactly_once():
    backbone = build_backbone("vit_tiny_patch16", InputSpec(img_size=32), depth=2, patch_size=8)
    module = Finetuner(backbone, 5, {**DEFAULTS, "mixup": 0.0, "cutmix": 0.0}, 100, 1e-3)
    opt = module.configure_optimizers()["optimizer"]
    ids = [id(p) for g in opt.param_groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(module.parameters()))


def test_non_finite_loss_fails_loudly():
    backbone = build_backbone("vit_tiny_patch16", InputSpec(img_size=32), depth=1, patch_size=8)
    module = Finetuner(backbone, 3, {**DEFAULTS, "mixup": 0.0, "cutmix": 0.0}, 10, 1e-3)
    with torch.no_grad():
        module.head.weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="non-finite"):
        module.training_step((torch.rand(2, 3, 32, 32), torch.tensor([0, 1])), 0)
