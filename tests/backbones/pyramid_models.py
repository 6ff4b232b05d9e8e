"""Seeded small timm hierarchical encoders and their reference ``features_only`` twins."""

from __future__ import annotations

import torch

from rsbench.backbones import InputSpec, build_backbone

# Reduced depth and width where timm's constructors take them (ResNet-18: two blocks in the first
# stage, one in the others, so a stage with two blocks is still covered).
SMALL = {
    "resnet18": {"layers": (2, 1, 1, 1)},
    "convnext_atto": {"depths": (1, 1, 1, 1)},
    "swin_tiny_patch4_window7_224": {"depths": (1, 1, 1, 1), "embed_dim": 24,
                                     "num_heads": (1, 1, 1, 1), "window_size": 4},
}


S2 = ("B02", "B03", "B04", "B08", "B11", "B12")


def small_pyramid(name: str, size: int = 64, in_chans: int = 3):
    """``timm:<name>`` at ``SMALL[name]``, weights (and BatchNorm statistics) from seed 0."""
    torch.manual_seed(0)
    bands, sensor = (("R", "G", "B"), "rgb") if in_chans == 3 else (S2[:in_chans], "sentinel2")
    spec = InputSpec(img_size=size, bands=bands, sensor=sensor, mean=(0.5,) * in_chans,
                     std=(0.25,) * in_chans)
    backbone = build_backbone(f"timm:{name}", spec, pool="avg", **SMALL[name]).eval()
    for m in backbone.modules():  # non-trivial running statistics, so eval-mode BN is tested
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    return backbone


def normalised(x: torch.Tensor) -> torch.Tensor:
    """``x`` in [0, 1] through ``small_pyramid``'s statistics, by hand."""
    return (x - 0.5) / 0.25


class TwoColourTiles(torch.utils.data.Dataset):
    """``n`` images of ``size`` px: a red left half (class 0) and a blue right half (class 1)."""

    def __init__(self, n: int, size: int, transform=None) -> None:
        self.n, self.size, self.transform = n, size, transform

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        half = self.size // 2
        image = torch.zeros(3, self.size, self.size)
        image[0, :, :half], image[2, :, half:] = 0.9, 0.9
        mask = torch.zeros(self.size, self.size, dtype=torch.long)
        mask[:, half:] = 1
        if self.transform is not None:
            from torchvision import tv_tensors

            image, mask = self.transform(image, tv_tensors.Mask(mask))
        return image, torch.as_tensor(mask).as_subclass(torch.Tensor)


class TileData:
    """The segmentation data contract over ``TwoColourTiles``."""

    classes = ["red", "blue"]
    ignore_index = 255
    split_hash = fingerprint = "tiles"

    def __init__(self, size: int, train_transform=None) -> None:
        self.train = TwoColourTiles(4, size, train_transform)
        self.val, self.test = TwoColourTiles(1, size), TwoColourTiles(2, size)

    def summary(self) -> dict:
        return {"dataset": "tiles", "split_hash": self.split_hash, "n_train": len(self.train)}
