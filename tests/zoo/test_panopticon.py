"""Panopticon: torchgeo's own builder and loader (mask token dropped, 518 px position embedding
resized) against rsbench's read of the same released file."""

from dataclasses import replace
from types import SimpleNamespace

import timm
import torch
import torchgeo.models.panopticon as tgp
from zoo_helpers import UCMERCED, run_backbone, zoo_card

# S2 B02, B03, B04 centres (nm, ESA S2-SRF): UC Merced's B, G, R as the encoder takes them
RGB_AS_S2 = [492.7, 559.8, 664.6]


CREATE = timm.create_model


def one_block(name, **kwargs):
    """timm's builder as Panopticon calls it, with one block instead of twelve."""
    return CREATE(name, depth=1, **kwargs)


def test_rgb_equals_torchgeos_loaded_module(tmp_path, monkeypatch):
    monkeypatch.setattr(tgp.timm, "create_model", one_block)
    torch.manual_seed(0)
    vit = tgp.Panopticon(img_size=518).model  # the file holds the ViT at pretraining size
    released = {**vit.state_dict(), "mask_token": torch.randn(1, 768)}
    path = tmp_path / "panopticon_vitb14_teacher.pth"
    torch.save(released, path)

    fake = SimpleNamespace(get_state_dict=lambda progress: dict(released))
    reference = tgp.panopticon_vitb14(fake, img_size=28).eval()  # torchgeo's loader, strict
    backbone, plan = run_backbone(zoo_card("zoo:panopticon_vitb14", path),
                                  replace(UCMERCED, image_size=28))
    torch.manual_seed(1)
    x = torch.rand(2, 3, 28, 28)  # R, G, B
    with torch.no_grad():
        expected = reference({"imgs": x[:, [2, 1, 0]],
                              "chn_ids": torch.tensor([RGB_AS_S2, RGB_AS_S2])})
        got = backbone(x)
    assert (got - expected).abs().max().item() < 1e-5
    report = backbone.load_report
    assert report.params_loaded == report.params_total and report.matched == report.total_keys
    assert report.prefix == "model." and report.ignored_count == 1
    assert report.resampled == {"model.pos_embed": "[1, 1370, 768] -> [1, 5, 768]"}
