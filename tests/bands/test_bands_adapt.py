"""band_fill slice and adapt: the patch embedding fitted to the bands present, as specified.

``slice`` keeps the pretrained kernels of the present bands (hand-indexed here); ``adapt`` is
timm's ``adapt_input_conv`` (called here directly, and its documented rule computed by hand:
the first k pretrained channels, scaled by N / k). A sliced encoder fed the present bands must
give the features of the full encoder fed the same bands with every missing band's normalised
input at 0, because the patch embedding is linear.
"""

import torch
from bands_helpers import S2_MEAN, S2_STD, s2_spec, tiny
from timm.models import adapt_input_conv

from rsbench.bands.plan import input_plan
from rsbench.checkpoints.adapt import band_subset_weight
from rsbench.config import DatasetSpec

RGB = DatasetSpec(name="ucmerced", split={"kind": "official"}, image_size=8)
KEEP = (3, 2, 1)  # R, G, B data -> S2 B04, B03, B02; in the model's order: B02, B03, B04


def plan_for(fill):
    from dataclasses import replace

    return input_plan(s2_spec(), "s2", replace(RGB, band_fill=fill))


def test_slice_keeps_the_present_bands_kernels_in_model_order():
    plan = plan_for("slice")
    assert plan.keep == (1, 2, 3) and plan.source() == [2, 1, 0]  # B02<-B, B03<-G, B04<-R
    full = tiny(s2_spec())
    weight = full.model.patch_embed.proj.weight.detach().clone()
    sliced = plan.fitted(tiny(s2_spec()))
    assert torch.equal(sliced.model.patch_embed.proj.weight, weight[:, [1, 2, 3]])
    assert plan.to_dict()["encoder_bands"] == ["s2_l1c:B02", "s2_l1c:B03", "s2_l1c:B04"]
    assert plan.to_dict()["patch_embed"] == "slice: 13 -> 3 input channels (model bands [1, 2, 3])"


def test_adapt_is_timms_adapt_input_conv():
    weight = torch.randn(8, 13, 4, 4)
    ours = band_subset_weight(weight, (1, 2, 3), "adapt")
    assert torch.equal(ours, adapt_input_conv(3, weight, base_chans=13))
    assert torch.allclose(ours, weight[:, :3] * (13 / 3))  # timm's rule, by hand
    adapted = plan_for("adapt").fitted(tiny(s2_spec()))
    full = tiny(s2_spec()).model.patch_embed.proj.weight.detach()
    assert torch.allclose(adapted.model.patch_embed.proj.weight, full[:, :3] * (13 / 3))


def test_sliced_encoder_equals_full_encoder_with_missing_inputs_at_zero():
    rgb = torch.rand(2, 3, 8, 8)
    sliced = plan_for("slice").fitted(tiny(s2_spec()))
    with torch.no_grad():
        got = sliced.pooled(rgb)
        z = torch.zeros(2, 13, 8, 8)
        mean, std = torch.tensor(S2_MEAN), torch.tensor(S2_STD)
        for k, c in zip((1, 2, 3), (2, 1, 0), strict=True):  # B02<-B, B03<-G, B04<-R
            z[:, k] = (rgb[:, c] - mean[k]) / std[k]
        full = tiny(s2_spec())
        tokens = full.model.forward_features(z)
    assert torch.allclose(got, tokens[:, 0], atol=1e-5)
