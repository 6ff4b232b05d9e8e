"""Frozen-backbone features for the probe protocols, read through the per-image feature store.

The backbone runs only on images no earlier task stored (``rsbench.engine.feature_store``);
a split is a gather of stored rows. Datasets that are not lists of image files (none of the
shipped classification ones) fall back to one cache entry per split.
"""

from __future__ import annotations

import time

import torch

from rsbench.data.dataset import SceneDataset
from rsbench.engine.feature_store import FeatureStore, image_id
from rsbench.engine.features import FeatureCache, extracted_features
from rsbench.protocols.base import ProtocolContext

Splits = dict[str, tuple[torch.Tensor, torch.Tensor]]
SPLITS = ("train", "val", "test")


def cached_splits(ctx: ProtocolContext, batch_size: int = 64) -> tuple[Splits, object, dict]:
    """``({"train"|"val"|"test": (X, y)}, data, timings)``; the backbone runs only on misses."""
    data = ctx.make_data(train_transform=None)
    datasets = [getattr(data, name, None) for name in SPLITS]
    if all(isinstance(d, SceneDataset) and d.transform is None for d in datasets):
        return per_image_splits(ctx, data, datasets, batch_size)
    return per_split_splits(ctx, data, batch_size)


def feature_space(ctx: ProtocolContext, dataset: SceneDataset) -> dict:
    """Everything a feature depends on besides the image."""
    identity = {k: v for k, v in ctx.identity.items() if k != "dataset"}
    return {**identity, "reader": repr(dataset.reader), "image_size": dataset.size}


def per_image_splits(ctx: ProtocolContext, data, datasets: list[SceneDataset],
                     batch_size: int) -> tuple[Splits, object, dict]:
    """Splits gathered from the feature store after extracting the images it lacks."""
    store = FeatureStore(ctx.cache.dir.parent, feature_space(ctx, datasets[0]))
    ids = [[image_id(d.root / rel) for rel, _ in d.samples] for d in datasets]
    by_id = {i: (d, s) for d, split_ids in zip(datasets, ids, strict=True)
             for i, s in zip(split_ids, d.samples, strict=True)}
    missing = store.missing([i for split_ids in ids for i in split_ids])
    timings = {"features_cached": float(not missing), "features_extracted": float(len(missing))}
    if missing:
        start = time.perf_counter()
        first = datasets[0]
        # Absolute sample paths: the images may come from any of the three splits.
        todo = SceneDataset(first.root, [(str((by_id[i][0].root / by_id[i][1][0]).resolve()),
                                          by_id[i][1][1]) for i in missing],
                            first.reader, first.size)
        x, _ = extracted_features(ctx.make_backbone(), todo, ctx.opts, batch_size)
        seconds = time.perf_counter() - start
        timings.update({"features_s": seconds, "features_img_per_s": len(missing) / max(seconds, 1e-9)})
        from lightning.pytorch.utilities.rank_zero import rank_zero_only

        # Every rank holds the gathered rows; one of them writes the chunk.
        store.add(missing, x, write=rank_zero_only.rank == 0)
    splits = {name: (store.gather(split_ids), torch.as_tensor(d.targets, dtype=torch.long))
              for name, d, split_ids in zip(SPLITS, datasets, ids, strict=True)}
    timings["feature_store"] = store.dir.name
    return splits, data, timings


def per_split_splits(ctx: ProtocolContext, data, batch_size: int) -> tuple[Splits, object, dict]:
    """One cache entry per (identity, split): for datasets that are not image-file lists."""
    cache: FeatureCache = ctx.cache
    key = cache.key({**ctx.identity, "split_hash": data.split_hash,
                     "fingerprint": data.fingerprint, "image_size": ctx.task.dataset.image_size})
    splits = cache.load(key)
    timings = {"features_cached": float(splits is not None)}
    if splits is None:
        start = time.perf_counter()
        backbone = ctx.make_backbone()
        splits = {name: extracted_features(backbone, getattr(data, name), ctx.opts, batch_size)
                  for name in SPLITS}
        seconds = time.perf_counter() - start
        n = sum(len(y) for _, y in splits.values())
        timings.update({"features_s": seconds, "features_img_per_s": n / max(seconds, 1e-9)})
        from lightning.pytorch.utilities.rank_zero import rank_zero_only

        if rank_zero_only.rank == 0:
            cache.save(key, splits, meta={**ctx.identity, "n": n})
    timings["feature_cache_key"] = key
    return splits, data, timings
