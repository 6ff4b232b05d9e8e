"""torchvision's Swin-v2 builders at one block per stage, and torchgeo's loading-time conv swap.

torchvision's ``swin_v2_t`` / ``swin_v2_b`` fix ``depths``, so these call the class they build,
``SwinTransformer``, with every other argument of those builders and ``depths=[1, 1, 1, 1]``.
"""

import torch
from torchvision.models.swin_transformer import (
    PatchMergingV2,
    SwinTransformer,
    SwinTransformerBlockV2,
)

#: torchvision's swin_v2_t and swin_v2_b arguments, less depths.
ARGS = {"swin_v2_t": {"embed_dim": 96, "num_heads": [3, 6, 12, 24], "stochastic_depth_prob": 0.2},
        "swin_v2_b": {"embed_dim": 128, "num_heads": [4, 8, 16, 32], "stochastic_depth_prob": 0.5}}


def shallow(name: str, **kwargs) -> SwinTransformer:
    return SwinTransformer(patch_size=[4, 4], depths=[1, 1, 1, 1], window_size=[8, 8],
                           block=SwinTransformerBlockV2, downsample_layer=PatchMergingV2,
                           **ARGS[name], **kwargs)


def swin_v2_t(weights=None, **kwargs) -> SwinTransformer:
    return shallow("swin_v2_t", **kwargs)


def swin_v2_b(weights=None, **kwargs) -> SwinTransformer:
    return shallow("swin_v2_b", **kwargs)


def as_torchgeo_loads(model: SwinTransformer, in_chans: int) -> SwinTransformer:
    """The module torchgeo's builder loads a release into: the patch-embedding conv replaced by
    a 4x4 stride-4 ``Conv2d`` of the release's band count (``torchgeo.models.swin``)."""
    out = model.features[0][0].out_channels
    model.features[0][0] = torch.nn.Conv2d(in_chans, out, kernel_size=(4, 4), stride=(4, 4))
    return model
