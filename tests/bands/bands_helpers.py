"""Tiny ViTs on any bands and the card statistics the band tests compute with."""

import torch

from rsbench.backbones import InputSpec, build_backbone

S2 = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10", "B11", "B12", "B8A")
#: Card statistics per S2 band (any distinct positive values; the tests compute with them).
S2_MEAN = tuple(0.05 + 0.01 * i for i in range(13))
S2_STD = tuple(0.02 + 0.005 * i for i in range(13))


def tiny(spec: InputSpec):
    """A one-block ViT with 4 px patches on ``spec``'s bands, weights from seed 0."""
    torch.manual_seed(0)
    return build_backbone("vit_tiny_patch16", spec, depth=1, patch_size=4).eval()


def s2_spec(img_size: int = 8, **kw) -> InputSpec:
    return InputSpec(bands=S2, mean=S2_MEAN, std=S2_STD, img_size=img_size, sensor="s2_l1c", **kw)
