"""Linear heads: MAE's probe head and the fine-tune classifier."""

from __future__ import annotations

from torch import nn


def probe_head(embed_dim: int, num_classes: int) -> nn.Sequential:
    """``BatchNorm1d(affine=False)`` then ``Linear``, as in MAE ``main_linprobe.py``.

    The parameter-free BatchNorm whitens features of any scale so one learning-rate grid fits
    every backbone; the linear layer starts at trunc-normal std 0.01 and zero bias.
    """
    linear = nn.Linear(embed_dim, num_classes)
    nn.init.trunc_normal_(linear.weight, std=0.01)
    nn.init.zeros_(linear.bias)
    return nn.Sequential(nn.BatchNorm1d(embed_dim, affine=False, eps=1e-6), linear)


def finetune_head(embed_dim: int, num_classes: int, init_std: float = 2e-5) -> nn.Linear:
    """Classifier for full fine-tuning; MAE ``main_finetune.py`` initialises it at std 2e-5."""
    linear = nn.Linear(embed_dim, num_classes)
    nn.init.trunc_normal_(linear.weight, std=init_std)
    nn.init.zeros_(linear.bias)
    return linear
