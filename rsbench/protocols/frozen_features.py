"""Frozen-backbone features for the probe protocols, read through the feature cache."""

from __future__ import annotations

import time

import torch

from rsbench.engine.features import FeatureCache, extracted_features
from rsbench.protocols.base import ProtocolContext

Splits = dict[str, tuple[torch.Tensor, torch.Tensor]]


def cached_splits(ctx: ProtocolContext, batch_size: int = 64) -> tuple[Splits, object, dict]:
    """``({"train"|"val"|"test": (X, y)}, data, timings)``; the backbone runs only on a miss."""
    data = ctx.make_data(train_transform=None)
    cache: FeatureCache = ctx.cache
    key = cache.key({**ctx.identity, "split_hash": data.split_hash,
                     "fingerprint": data.fingerprint, "image_size": ctx.task.dataset.image_size})
    splits = cache.load(key)
    timings = {"features_cached": float(splits is not None)}
    if splits is None:
        start = time.perf_counter()
        backbone = ctx.make_backbone()
        splits = {name: extracted_features(backbone, getattr(data, name), ctx.opts, batch_size)
                  for name in ("train", "val", "test")}
        seconds = time.perf_counter() - start
        n = sum(len(y) for _, y in splits.values())
        timings.update({"features_s": seconds, "features_img_per_s": n / max(seconds, 1e-9)})
        # Under DDP every rank holds the gathered features; one of them writes the cache.
        from lightning.pytorch.utilities.rank_zero import rank_zero_only

        if rank_zero_only.rank == 0:
            cache.save(key, splits, meta={**ctx.identity, "n": n})
    timings["feature_cache_key"] = key
    return splits, data, timings
