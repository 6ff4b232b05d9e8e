"""Every supported format loads into a backbone whose features equal the source library's own."""

from __future__ import annotations

import argparse

import pytest
import torch
from ckpt_helpers import (
    ARCH,
    HF_CONFIG,
    HF_OVERRIDES,
    OVERRIDES,
    SPEC,
    assert_same_features,
    images,
    perturbed,
    timm_vit,
)

from rsbench.backbones import InputSpec
from rsbench.checkpoints import CheckpointError, load_backbone, load_checkpoint


def load(path, spec=SPEC, **kw):
    return load_backbone(path, ARCH, input_spec=spec, **{**OVERRIDES, **kw})


def assert_complete(report, fmt, storage):
    assert (report.format, report.storage) == (fmt, storage)
    assert report.fraction_loaded == 1.0 and report.to_dict()["fraction_loaded"] == 1.0
    assert not report.missing and not report.mismatched and not report.unexpected


def test_timm_state_dict_pth(tmp_path, vit):
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    backbone = load(tmp_path / "vit.pth")
    assert_complete(backbone.load_report, "timm", "torch-zip")
    assert_same_features(backbone, vit.forward_features)


def test_legacy_torch_file_with_module_prefix(tmp_path, vit):
    state = {f"module.{k}": v for k, v in vit.state_dict().items()}
    torch.save({"state_dict": state}, tmp_path / "ddp.pth", _use_new_zipfile_serialization=False)
    backbone = load(tmp_path / "ddp.pth")
    assert backbone.load_report.storage == "torch-legacy"
    assert backbone.load_report.prefix == "state_dict.module."
    assert_same_features(backbone, vit.forward_features)


def test_safetensors(tmp_path, vit):
    from safetensors.torch import save_file

    save_file(vit.state_dict(), tmp_path / "vit.safetensors")
    backbone = load(tmp_path / "vit.safetensors")
    assert_complete(backbone.load_report, "timm", "safetensors")
    assert_same_features(backbone, vit.forward_features)


def mae_checkpoint(vit: torch.nn.Module) -> dict:
    """An official-MAE-shaped training checkpoint: encoder + decoder, optimizer, epoch, args."""
    from timm.models.vision_transformer import Block

    decoder = torch.nn.ModuleDict({
        "decoder_embed": torch.nn.Linear(192, 96), "decoder_blocks": torch.nn.ModuleList(
            [Block(96, 3, qkv_bias=True) for _ in range(2)]),
        "decoder_norm": torch.nn.LayerNorm(96), "decoder_pred": torch.nn.Linear(96, 8 * 8 * 3)})
    model = {**vit.state_dict(), "mask_token": torch.zeros(1, 1, 192),
             "decoder_pos_embed": torch.zeros(1, 17, 96), **decoder.state_dict()}
    params = [*vit.parameters(), *decoder.parameters()]
    opt = torch.optim.AdamW(params, lr=1e-3)
    sum(p.sum() for p in params).backward()
    opt.step()
    opt.zero_grad()
    args = argparse.Namespace(model="mae_vit_tiny_patch8", mask_ratio=0.75, norm_pix_loss=True,
                              blr=1.5e-4, batch_size=64, output_dir="./output_dir")
    return {"model": model, "optimizer": opt.state_dict(), "epoch": 3, "args": args,
            "scaler": {"scale": 65536.0, "growth_factor": 2.0, "_growth_tracker": 0}}


def test_official_mae_checkpoint(tmp_path, vit):
    checkpoint = mae_checkpoint(vit)
    torch.save(checkpoint, tmp_path / "mae.pth")
    backbone = load(tmp_path / "mae.pth")
    report = backbone.load_report
    assert_complete(report, "mae", "torch-zip")
    assert report.prefix == "model."
    assert report.ignored["optimizer.state.*"] > 0
    decoder_block_keys = [k for k in checkpoint["model"] if k.startswith("decoder_blocks.")]
    assert report.ignored["model.decoder_blocks.*"] == len(decoder_block_keys) > 0
    assert "model.mask_token" in report.ignored
    assert_same_features(backbone, vit.forward_features)


class LitWrapper(torch.nn.Module):
    def __init__(self, vit):
        super().__init__()
        self.backbone = vit


def lightning_checkpoint(path, vit, nested: bool) -> torch.nn.Module:
    """Train one step with a real Trainer and save; return the (updated) ViT."""
    import lightning as L

    class Module(L.LightningModule):
        def __init__(self, lr: float = 1e-3):
            super().__init__()
            self.save_hyperparameters()
            if nested:
                self.model = LitWrapper(vit)
            else:
                self.backbone = vit
            self.head = torch.nn.Linear(192, 5)

        def encoder(self):
            return self.model.backbone if nested else self.backbone

        def training_step(self, batch, _):
            return self.head(self.encoder()(batch[0])).square().mean()

        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)

    module = Module()
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(images(n=4)), batch_size=2)
    trainer = L.Trainer(max_steps=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, data)
    trainer.save_checkpoint(path)
    return module.encoder().eval()


@pytest.mark.parametrize("nested", [False, True], ids=["backbone", "model.backbone"])
def test_lightning_ckpt(tmp_path, vit, nested):
    trained = lightning_checkpoint(tmp_path / "last.ckpt", vit, nested)
    backbone = load(tmp_path / "last.ckpt")
    report = backbone.load_report
    assert_complete(report, "lightning", "torch-zip")
    assert report.prefix == ("state_dict.model.backbone." if nested else "state_dict.backbone.")
    assert set(report.ignored) == {"state_dict.head.*"}
    assert_same_features(backbone, trained.forward_features)


def test_hf_vit_folder(tmp_path):
    from transformers import ViTConfig, ViTModel

    perturbed(ViTModel(ViTConfig(**HF_CONFIG))).save_pretrained(tmp_path / "hf")
    hf_model = ViTModel.from_pretrained(tmp_path / "hf").eval()
    backbone = load(tmp_path / "hf", **HF_OVERRIDES)
    report = backbone.load_report
    assert_complete(report, "hf-vit", "hf-folder")
    assert set(report.ignored) == {"pooler.dense.*"} and not report.warnings
    assert_same_features(backbone, lambda z: hf_model(pixel_values=z).last_hidden_state)


@pytest.mark.parametrize("pretraining", [False, True], ids=["ViTMAEModel", "ViTMAEForPreTraining"])
def test_hf_vitmae_folder(tmp_path, pretraining):
    from transformers import ViTMAEConfig, ViTMAEForPreTraining, ViTMAEModel

    config = ViTMAEConfig(**HF_CONFIG, mask_ratio=0.0, decoder_hidden_size=32,
                          decoder_num_hidden_layers=1, decoder_num_attention_heads=4,
                          decoder_intermediate_size=64)
    cls = ViTMAEForPreTraining if pretraining else ViTMAEModel
    perturbed(cls(config)).save_pretrained(tmp_path / "hf")
    hf_model = ViTMAEModel.from_pretrained(tmp_path / "hf").eval()
    backbone = load(tmp_path / "hf", **HF_OVERRIDES)
    report = backbone.load_report
    assert_complete(report, "hf-vitmae", "hf-folder")
    assert report.prefix == ("vit." if pretraining else "")

    def reference(z):  # noise in increasing order keeps every patch in its place
        noise = torch.arange(16, dtype=torch.float32).expand(z.shape[0], 16)
        return hf_model(pixel_values=z, noise=noise).last_hidden_state

    assert_same_features(backbone, reference)


def test_hf_state_dict_saved_with_torch_save(tmp_path):
    from transformers import ViTConfig, ViTModel

    hf_model = perturbed(ViTModel(ViTConfig(**HF_CONFIG))).eval()  # in-memory names (v5: q_proj)
    torch.save({"model": hf_model.state_dict()}, tmp_path / "hf.pth")
    backbone = load(tmp_path / "hf.pth", **HF_OVERRIDES)
    assert_complete(backbone.load_report, "hf-vit", "torch-zip")
    assert_same_features(backbone, lambda z: hf_model(pixel_values=z).last_hidden_state)


def test_hf_config_disagreeing_with_arch_is_a_warning(tmp_path):
    from transformers import ViTConfig, ViTModel

    ViTModel(ViTConfig(**{**HF_CONFIG, "layer_norm_eps": 1e-12})).save_pretrained(tmp_path / "hf")
    _, report = load_checkpoint(tmp_path / "hf", ARCH, SPEC, **OVERRIDES, **HF_OVERRIDES)
    assert any("layer_norm_eps" in w for w in report.warnings)


def test_torch_distributed_checkpoint_dir(tmp_path, vit):
    import torch.distributed.checkpoint as dcp

    dcp.save({"model": vit.state_dict(), "step": 7}, checkpoint_id=str(tmp_path / "dcp"))
    backbone = load(tmp_path / "dcp")
    report = backbone.load_report
    assert_complete(report, "timm", "dcp")
    assert report.prefix == "model."
    assert_same_features(backbone, vit.forward_features)


def test_pos_embed_resampled_to_another_image_size(tmp_path):
    vit = timm_vit(dynamic_img_size=True)  # timm resamples on the fly: the same interpolation
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    backbone = load(tmp_path / "vit.pth", spec=InputSpec(img_size=48))
    report = backbone.load_report
    assert report.resampled == {"pos_embed": "[1, 17, 192] -> [1, 37, 192]"}
    assert report.fraction_loaded == 1.0
    assert_same_features(backbone, vit.forward_features, size=48)


def test_patch_size_and_band_count_adapted_and_reported(tmp_path, vit):
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    spec = InputSpec(bands=("B", "G", "R", "NIR"), mean=(0.5,) * 4, std=(0.2,) * 4, img_size=32)
    backbone = load(tmp_path / "vit.pth", spec=spec, patch_size=4)
    assert backbone.load_report.resampled == {
        "pos_embed": "[1, 17, 192] -> [1, 65, 192]",
        "patch_embed.proj.weight": "[192, 3, 8, 8] -> [192, 4, 4, 4]",
    }
    assert backbone.load_report.fraction_loaded == 1.0
    assert backbone.pooled(images(chans=4)).shape == (2, 192)


def test_partial_checkpoint_refused_unless_allowed(tmp_path, vit):
    state = {k: v for k, v in vit.state_dict().items() if not k.startswith("blocks.1.")}
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError) as err:
        load(tmp_path / "partial.pth")
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "partial.pth") in message
    assert "blocks.1" in message and "--allow-partial" in message
    backbone = load(tmp_path / "partial.pth", allow_partial=True)
    report = backbone.load_report
    assert 0.4 < report.fraction_loaded < 0.99 and report.allow_partial
    assert all(k.startswith("blocks.1.") for k in report.missing) and len(report.missing) == 12
    assert any("--allow-partial" in w for w in report.warnings)


def test_wrong_arch_is_refused_with_mismatched_shapes(tmp_path):
    torch.save(timm_vit(embed_dim=96, num_heads=3).state_dict(), tmp_path / "narrow.pth")
    with pytest.raises(CheckpointError, match="is --arch right"):
        load(tmp_path / "narrow.pth")
    _, report = load_checkpoint(tmp_path / "narrow.pth", ARCH, SPEC, **OVERRIDES)
    assert "blocks.0.attn.qkv.weight" in report.mismatched


def test_load_checkpoint_returns_the_state_dict_without_allocating_a_model(tmp_path, vit):
    torch.save({"model": vit.state_dict()}, tmp_path / "vit.pth")
    state, report = load_checkpoint(tmp_path / "vit.pth", ARCH, SPEC, **OVERRIDES)
    assert set(state) == set(vit.state_dict()) and report.matched == report.total_keys == 30
    assert all(torch.equal(state[k], v) for k, v in vit.state_dict().items())
