"""``--arch auto``: each format's architecture inferred, and features equal the originating
library's within 1e-5 (transformers for HF folders, timm for timm/MAE/Lightning files)."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
from ckpt_helpers import ARCH, OVERRIDES, SPEC, images, perturbed, timm_vit

from rsbench.backbones import InputSpec
from rsbench.backbones.factory import build_timm_model
from rsbench.checkpoints import CheckpointError, load_backbone, load_checkpoint
from rsbench.checkpoints.infer import infer_arch, infer_from_source
from rsbench.checkpoints.sources import Source
from rsbench.cli import main
from rsbench.config import SpecError, card_from_dict

HF_CONFIG = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "intermediate_size": 256, "patch_size": 8, "image_size": 32, "layer_norm_eps": 1e-12}


def feature_gap(backbone, reference, size: int = 32) -> float:
    """Max |ours - reference| over the tokens of two images (reference sees normalised input)."""
    x = images(size)
    backbone.eval()
    with torch.no_grad():
        ours, theirs = backbone.forward_features(x), reference(backbone.normalize(x))
    assert ours.shape == theirs.shape
    return (ours - theirs).abs().max().item()


def hf_vit(path, **config):
    """A transformers ViTModel saved with save_pretrained, reloaded as the reference."""
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(0)
    perturbed(ViTModel(ViTConfig(**{**HF_CONFIG, **config}))).save_pretrained(path)
    model = ViTModel.from_pretrained(path).eval()
    return lambda z: model(pixel_values=z).last_hidden_state


@pytest.mark.parametrize("config", [{}, {"hidden_act": "gelu_new"}, {"qkv_bias": False}],
                         ids=["eps1e-12", "gelu_new", "no_qkv_bias"])
def test_hf_vit_folder_builds_the_config(tmp_path, config):
    reference = hf_vit(tmp_path / "hf", **config)
    backbone = load_backbone(tmp_path / "hf", "auto", input_spec=SPEC)
    report = backbone.load_report
    assert report.fraction_loaded == 1.0 and not report.warnings
    assert report.arch == ARCH
    assert "heads 4 from config.json num_attention_heads" in report.arch_source
    assert "layer_norm_eps 1e-12 from config.json" in report.arch_source
    assert backbone.model.norm.eps == 1e-12
    assert feature_gap(backbone, reference) < 1e-5


def test_timm_eps_on_the_same_folder_differs_and_warns(tmp_path):
    """The control: the 1e-6 target of an explicit --arch fails the 1e-5 check, and says so."""
    reference = hf_vit(tmp_path / "hf")
    backbone = load_backbone(tmp_path / "hf", ARCH, input_spec=SPEC, **OVERRIDES,
                             embed_dim=64, num_heads=4)
    assert any("layer_norm_eps=1e-12; the target uses 1e-06" in w
               for w in backbone.load_report.warnings)
    assert backbone.load_report.arch_source is None
    assert feature_gap(backbone, reference) > 1e-5


def test_hf_vitmae_folder(tmp_path):
    from transformers import ViTMAEConfig, ViTMAEModel

    config = ViTMAEConfig(**HF_CONFIG, mask_ratio=0.0)
    perturbed(ViTMAEModel(config)).save_pretrained(tmp_path / "hf")
    model = ViTMAEModel.from_pretrained(tmp_path / "hf").eval()
    backbone = load_backbone(tmp_path / "hf", "auto", input_spec=SPEC)
    assert backbone.load_report.format == "hf-vitmae" and not backbone.load_report.warnings

    def reference(z):  # noise in increasing order keeps every patch in its place
        noise = torch.arange(16, dtype=torch.float32).expand(z.shape[0], 16)
        return model(pixel_values=z, noise=noise).last_hidden_state

    assert feature_gap(backbone, reference) < 1e-5


def test_hf_state_dict_without_config_uses_transformers_defaults(tmp_path):
    from transformers import ViTConfig, ViTModel

    config = {k: v for k, v in HF_CONFIG.items() if k != "layer_norm_eps"}
    model = perturbed(ViTModel(ViTConfig(**{**config, "num_attention_heads": 1})))
    torch.save(model.state_dict(), tmp_path / "hf.pth")
    backbone = load_backbone(tmp_path / "hf.pth", "auto", input_spec=SPEC)
    source = backbone.load_report.arch_source
    assert "layer_norm_eps 1e-12 from transformers' default" in source
    assert "heads 1 assumed from head dim 64" in source
    assert feature_gap(backbone, lambda z: model(pixel_values=z).last_hidden_state) < 1e-5


def mae_file(path, vit, **args) -> None:
    """An MAE-style training file: encoder and decoder weights under 'model', args Namespace."""
    model = {**vit.state_dict(), "mask_token": torch.zeros(1, 1, vit.embed_dim),
             "decoder_embed.weight": torch.zeros(32, vit.embed_dim)}
    torch.save({"model": model, "epoch": 3, "args": argparse.Namespace(mask_ratio=0.75, **args)},
               path)


def test_mae_args_name_the_arch(tmp_path, vit):
    # A path naming another size comes first in args; only the model field names the arch.
    mae_file(tmp_path / "mae.pth", vit, resume="/ckpt/mae_vit_base_patch16.pth",
             model="mae_vit_tiny_patch8")
    inference = infer_arch(tmp_path / "mae.pth")
    assert (inference.arch, inference.overrides) == (ARCH, OVERRIDES)
    assert "heads 3 from MAE args model='mae_vit_tiny_patch8'" in inference.evidence
    backbone = load_backbone(tmp_path / "mae.pth", "auto", input_spec=SPEC)
    assert backbone.load_report.format == "mae"
    assert feature_gap(backbone, vit.forward_features) < 1e-5


def test_mae_args_contradicting_the_weights_are_refused(tmp_path, vit):
    mae_file(tmp_path / "mae.pth", vit, model="mae_vit_base_patch16")
    with pytest.raises(CheckpointError) as err:
        infer_arch(tmp_path / "mae.pth")
    message = str(err.value)
    assert "\n" not in message and "names width 768, the weights have 192" in message
    assert "pass --arch" in message


def test_mae_global_pool_finetune_checkpoint(tmp_path):
    """MAE's fine-tuned encoder pools patch tokens, then normalises (fc_norm; no final norm)."""
    vit = timm_vit(global_pool="avg", fc_norm=True)
    with torch.no_grad():
        vit.fc_norm.weight.uniform_(0.5, 1.5)
    mae_file(tmp_path / "ft.pth", vit, model="vit_tiny_patch8", global_pool=True)
    card = card_from_dict({"name": "ft", "arch": "auto", "checkpoint": str(tmp_path / "ft.pth")},
                          "ft.yaml")
    assert (card.pool, card.arch_overrides) == ("avg", {**OVERRIDES, "fc_norm": True})
    backbone = load_backbone(card.checkpoint, card.arch, input_spec=SPEC, pool=card.pool,
                             **card.arch_overrides)
    assert backbone.load_report.fraction_loaded == 1.0
    x = images()
    with torch.no_grad():
        theirs = vit.forward_head(vit.forward_features(backbone.normalize(x)), pre_logits=True)
        assert (backbone.pooled(x) - theirs).abs().max().item() < 1e-5


def test_lightning_hyper_parameters_give_heads(tmp_path):
    vit = timm_vit(embed_dim=128, num_heads=4)  # head dim 32: the 64 assumption would say 2
    state = {f"backbone.{k}": v for k, v in vit.state_dict().items()}
    torch.save({"state_dict": state, "pytorch-lightning_version": "2.4.0",
                "hyper_parameters": {"lr": 1e-3, "encoder": {"num_heads": 4}}}, tmp_path / "l.ckpt")
    backbone = load_backbone(tmp_path / "l.ckpt", "auto", input_spec=SPEC)
    assert "heads 4 from Lightning hyper_parameters encoder.num_heads" in \
        backbone.load_report.arch_source
    assert feature_gap(backbone, vit.forward_features) < 1e-5


def test_plain_timm_state_dict_inferred_from_shapes(tmp_path, vit):
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    inference = infer_arch(tmp_path / "vit.pth")
    assert (inference.arch, inference.overrides, inference.img_size) == (ARCH, OVERRIDES, 32)
    assert inference.evidence == ("inferred from tensor shapes: width 192, depth 2, patch 8, "
                                  "mlp 768; heads 3 assumed from vit_tiny_patch16, whose width "
                                  "matches")
    backbone = load_backbone(tmp_path / "vit.pth", "auto", input_spec=SPEC)
    assert feature_gap(backbone, vit.forward_features) < 1e-5


@pytest.mark.parametrize("kwargs,overrides", [
    ({"reg_tokens": 4}, {"reg_tokens": 4}),
    ({"reg_tokens": 2, "no_embed_class": True}, {"reg_tokens": 2, "no_embed_class": True}),
    ({"qkv_bias": False}, {"qkv_bias": False}),
    ({"class_token": False, "global_pool": "avg"}, {"class_token": False, "fc_norm": True}),
    ({"init_values": 0.1, "qk_norm": True}, {"init_values": 1e-5, "qk_norm": True}),
    ({"embed_dim": 128, "num_heads": 2, "mlp_ratio": 3.0},
     {"embed_dim": 128, "num_heads": 2, "mlp_ratio": 3.0}),
], ids=["registers", "no_embed_class", "no_qkv_bias", "no_class_token", "layer_scale_qk_norm",
        "width128"])
def test_structure_inferred_from_shapes(tmp_path, kwargs, overrides):
    vit = perturbed(timm_vit(**kwargs))
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    inference = infer_arch(tmp_path / "vit.pth")
    assert (inference.arch, inference.overrides) == (ARCH, {**OVERRIDES, **overrides})
    pool = inference.pool or "cls"
    backbone = load_backbone(tmp_path / "vit.pth", "auto", input_spec=SPEC, pool=pool)
    assert backbone.load_report.fraction_loaded == 1.0
    assert feature_gap(backbone, vit.forward_features) < 1e-5


def shapes_only(arch: str, **overrides) -> Source:
    """A checkpoint's shapes without its tensors (a meta-device model: no memory)."""
    model = build_timm_model(arch, InputSpec(), "cls", device="meta", **overrides)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return Source(path="big.pth", storage="torch-zip", shapes=shapes, read=lambda keys: {})


@pytest.mark.parametrize("arch,overrides", [
    ("vit_base_patch16", {}), ("vit_large_patch16", {}), ("vit_huge_patch14", {"depth": 4}),
    ("vit_5b_patch14_swiglu", {"depth": 2}),
])
def test_registered_dims_map_to_their_name(arch, overrides):
    inference = infer_from_source(shapes_only(arch, **overrides))
    assert (inference.arch, inference.overrides) == (arch, overrides)
    assert f"assumed from {arch}, whose width matches" in inference.evidence


def test_ambiguous_heads_refused(tmp_path):
    torch.save(timm_vit(embed_dim=96, num_heads=3).state_dict(), tmp_path / "narrow.pth")
    with pytest.raises(CheckpointError) as err:
        load_backbone(tmp_path / "narrow.pth", "auto", input_spec=SPEC)
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "narrow.pth") in message
    assert "number of attention heads" in message and "width 96" in message
    assert "pass --arch" in message


def test_not_a_vit_refused(tmp_path):
    torch.save({"conv1.weight": torch.zeros(8, 3, 7, 7), "fc.weight": torch.zeros(5, 8)},
               tmp_path / "resnet.pth")
    with pytest.raises(CheckpointError, match="no ViT patch embedding .* pass --arch"):
        infer_arch(tmp_path / "resnet.pth")


def test_two_encoders_of_different_shapes_refused(tmp_path):
    state = {**{f"student.{k}": v for k, v in timm_vit().state_dict().items()},
             **{f"teacher.{k}": v for k, v in timm_vit(depth=3).state_dict().items()}}
    torch.save(state, tmp_path / "dino.pth")
    with pytest.raises(CheckpointError, match="encoders of different shapes"):
        infer_arch(tmp_path / "dino.pth")


def test_hf_config_contradicting_weights_refused(tmp_path):
    hf_vit(tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    (tmp_path / "hf" / "config.json").write_text(json.dumps({**config, "num_hidden_layers": 3}))
    with pytest.raises(CheckpointError, match="num_hidden_layers=3 but the weights have 2"):
        infer_arch(tmp_path / "hf")


def test_card_resolves_auto_into_identity(tmp_path, vit):
    torch.save({"model": vit.state_dict()}, tmp_path / "vit.pth")
    card = card_from_dict({"name": "m", "arch": "auto", "checkpoint": "vit.pth",
                           "arch_overrides": {"drop_path_rate": 0.1}}, "m.yaml", tmp_path)
    assert card.arch == ARCH and card.pool == "cls"
    assert card.arch_overrides == {**OVERRIDES, "drop_path_rate": 0.1}
    assert json.loads(json.dumps(card.to_dict()))["arch_overrides"] == card.arch_overrides
    # As the runner loads it: the resolved name, and the report says where it came from.
    _, report = load_checkpoint(card.checkpoint, card.arch, SPEC, **card.arch_overrides)
    assert report.arch_source.startswith("inferred from tensor shapes: width 192")


def test_card_refusal_names_the_card_field(tmp_path):
    torch.save(timm_vit(embed_dim=96, num_heads=3).state_dict(), tmp_path / "narrow.pth")
    with pytest.raises(SpecError, match=r"^m.yaml: field 'arch' is auto: .*attention heads"):
        card_from_dict({"name": "m", "arch": "auto", "checkpoint": str(tmp_path / "narrow.pth")},
                       "m.yaml")
    with pytest.raises(SpecError, match="arch auto needs a checkpoint"):
        card_from_dict({"name": "m", "arch": "auto", "random_init": True}, "m.yaml")


def test_inspect_defaults_to_auto(tmp_path, vit, capsys):
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    assert main(["inspect", str(tmp_path / "vit.pth")]) == 0
    out = capsys.readouterr().out
    assert "arch source       inferred from tensor shapes: width 192, depth 2" in out
    assert "built as vit_tiny_patch16 + depth=2 + patch_size=8" in out
    assert "resampled" not in out  # the target is built at the checkpoint's 32 px


def test_run_without_arch_builds_an_auto_card(tmp_path, vit):
    from rsbench.cli import card_from_args

    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    args = argparse.Namespace(model=str(tmp_path / "vit.pth"), arch=None, name=None, pool=None)
    card = card_from_args(args)
    assert (card.name, card.arch, card.arch_overrides, card.pool) == ("vit", ARCH, OVERRIDES, "cls")
