"""Fixtures for the checkpoint tests (helpers live in ``ckpt_helpers``)."""

from __future__ import annotations

import pytest
import torch
from ckpt_helpers import timm_vit


@pytest.fixture
def vit() -> torch.nn.Module:
    """A fresh timm ViT with seeded random weights."""
    return timm_vit()
