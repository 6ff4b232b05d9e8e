"""Frozen-backbone features, extracted once with Lightning ``predict`` and cached on disk.

Linear probe and kNN both read this cache, so the expensive backbone pass runs once per
(checkpoint, dataset split, input size, precision) instead of once per epoch or protocol.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from torch.utils.data import Dataset

from rsbench.config import spec_hash
from rsbench.engine.predict import predict_in_order
from rsbench.engine.trainer import EngineOptions, make_trainer

# Bump when the extraction itself changes (pooling, dtype handling), invalidating old caches.
FEATURE_FORMAT = 1


class FeatureExtractor(L.LightningModule):
    """Runs a frozen backbone and returns pooled features with their labels."""

    def __init__(self, backbone: torch.nn.Module) -> None:
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False)

    def predict_step(self, batch, batch_idx):
        images, labels = batch
        return self.backbone.pooled(images).float(), torch.as_tensor(labels).long()


def extracted_features(
    backbone: torch.nn.Module, dataset: Dataset, opts: EngineOptions, batch_size: int = 64
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(features [N, D] float32, labels [N])`` in dataset order, on every rank.

    Under ``--devices N --strategy ddp`` each rank extracts every N-th batch and the results
    are gathered (``predict_in_order``), so they equal the one-process ones bit for bit.
    """
    if len(dataset) == 0:  # e.g. val with val_fraction 0: Lightning would return nothing
        return torch.empty(0, backbone.embed_dim), torch.empty(0, dtype=torch.long)
    # No workload: under --strategy fsdp a frozen forward pass runs data parallel (DDP).
    trainer = make_trainer(opts, use_distributed_sampler=False)
    feats, labels = predict_in_order(trainer, FeatureExtractor(backbone), dataset, batch_size, opts.num_workers)
    return feats, labels


class FeatureCache:
    """Content-addressed store of extracted features under ``root/features/``."""

    def __init__(self, root: Path) -> None:
        self.dir = Path(root) / "features"

    @staticmethod
    def key(parts: dict) -> str:
        """Cache key: hash of everything that determines the features."""
        return spec_hash({"format": FEATURE_FORMAT, **parts})[:24]

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.pt"

    def load(self, key: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]] | None:
        """Cached splits, or None when absent or unreadable (then they are recomputed)."""
        path = self.path(key)
        if not path.exists():
            return None
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        except Exception:  # a torn or foreign file is a cache miss, not a failure
            return None
        return {name: (x, y) for name, (x, y) in blob["splits"].items()}

    def save(self, key: str, splits: dict[str, tuple[torch.Tensor, torch.Tensor]], meta: dict) -> Path:
        """Write atomically: a reader never sees a half-written cache file."""
        from rsbench.engine.feature_store import atomic_torch_save

        return atomic_torch_save({"splits": splits, "meta": meta}, self.path(key))
