"""Frozen-backbone features for the probe protocols, read through the per-image feature store.

The backbone runs only on images no earlier task stored (``rsbench.engine.feature_store``);
a split is a gather of stored rows. A suite fills the store first (:func:`prefetched`): every
distinct image that any of its frozen runs reads, across all their splits, goes through the
backbone once, in one pass per feature space, and each run then only gathers. Datasets that are
not lists of image files (none of the shipped classification ones) fall back to one cache entry
per split.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rsbench.config import spec_hash
from rsbench.data.dataset import SceneDataset
from rsbench.engine.feature_store import FeatureStore, id_path, image_id
from rsbench.engine.features import (
    FeatureCache,
    extracted_features,
    extraction_placement,
    extraction_workers,
)
from rsbench.engine.sharding import lazy_args
from rsbench.engine.trainer import EngineOptions
from rsbench.protocols.base import ProtocolContext

Splits = dict[str, tuple[torch.Tensor, torch.Tensor]]
SPLITS = ("train", "val", "test")
#: Images per forward pass. One value for every extraction, so that a row is the same bits
#: whichever task or suite plan extracted it.
EXTRACTION_BATCH = 64
#: (task type, protocol) pairs that read pooled features through :func:`cached_splits`.
FROZEN_PROTOCOLS = frozenset({("classification", "linear_probe"), ("classification", "knn")})


def cached_splits(ctx: ProtocolContext, batch_size: int = EXTRACTION_BATCH,
                  check: Callable[[Any], None] | None = None) -> tuple[Splits, Any, dict]:
    """``({"train"|"val"|"test": (X, y)}, data, timings)``; the backbone runs only on misses.

    ``check(data)`` runs once the data is built, before any feature is extracted: a protocol
    refuses data it cannot use there, not after the backbone pass."""
    data = ctx.make_data(train_transform=None)
    if check is not None:
        check(data)
    datasets = scene_datasets(data)
    if datasets is not None:
        return per_image_splits(ctx, data, datasets, batch_size)
    return per_split_splits(ctx, data, batch_size)


def scene_datasets(data: Any) -> list[SceneDataset] | None:
    """The train, val and test datasets when all are untransformed image-file lists, else None."""
    datasets = [getattr(data, name, None) for name in SPLITS]
    if all(isinstance(d, SceneDataset) and d.transform is None for d in datasets):
        return datasets  # type: ignore[return-value]  # each was checked just above
    return None


def feature_space(ctx: ProtocolContext, dataset: SceneDataset) -> dict:
    """Everything a feature depends on besides the image."""
    identity = {k: v for k, v in ctx.identity.items() if k != "dataset"}
    return {**identity, "reader": repr(dataset.reader), "image_size": dataset.size}


def feature_cache(ctx: ProtocolContext) -> FeatureCache:
    """The run's feature cache (a frozen protocol cannot run without one)."""
    if ctx.cache is None:
        raise RuntimeError(f"{ctx.task.task}: a frozen protocol needs ProtocolContext.cache")
    return ctx.cache


def is_writer() -> bool:
    """Whether this process writes what every rank holds (rank 0; the only one without DDP)."""
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    return rank_zero_only.rank == 0  # type: ignore[attr-defined]  # set by Lightning at import


def split_ids(datasets: Sequence[SceneDataset]) -> list[list[str]]:
    """The image ids of each dataset's samples, in order."""
    return [[image_id(os.path.join(d.root, rel)) for rel, _ in d.samples] for d in datasets]


def filled(store: FeatureStore, datasets: Sequence[SceneDataset], make_backbone: Callable,
           opts: EngineOptions, workers: int | None, batch_size: int) -> dict:
    """Extract, in one pass, every image of ``datasets`` that ``store`` lacks; the timings."""
    missing = store.missing([i for ids in split_ids(datasets) for i in ids])
    timings: dict[str, Any] = {"features_cached": float(not missing),
                               "features_extracted": float(len(missing))}
    if not missing:
        return timings
    start, first = time.perf_counter(), datasets[0]
    # Absolute sample paths: the images may come from any split of any task.
    todo = SceneDataset(first.root, [(id_path(i), 0) for i in missing], first.reader, first.size)
    # Under --strategy fsdp a lazy encoder, read once the pass is placed (sharded_placement).
    x, _ = extracted_features(make_backbone(**lazy_args(opts)), todo, opts, batch_size,
                              extraction_workers(workers, opts))
    seconds = time.perf_counter() - start
    timings.update({"features_s": seconds, "features_img_per_s": len(missing) / max(seconds, 1e-9)})
    placed = extraction_placement()
    if placed is not None:  # --strategy fsdp: replicated or sharded, and why
        timings["features_encoder"] = placed
    store.add(missing, x, write=is_writer())  # every rank holds the rows; one writes
    return timings


def per_image_splits(ctx: ProtocolContext, data: Any, datasets: list[SceneDataset],
                     batch_size: int) -> tuple[Splits, Any, dict]:
    """Splits gathered from the feature store after extracting the images it lacks."""
    cache = feature_cache(ctx)
    store = FeatureStore(cache.dir.parent, feature_space(ctx, datasets[0]))
    timings: dict = filled(store, datasets, ctx.make_backbone, ctx.opts, cache.workers, batch_size)
    splits = {name: (store.gather(ids), torch.as_tensor(d.targets, dtype=torch.long))
              for name, d, ids in zip(SPLITS, datasets, split_ids(datasets), strict=True)}
    timings["feature_store"] = store.dir.name
    return splits, data, timings


def prefetched(contexts: Sequence[ProtocolContext], batch_size: int = EXTRACTION_BATCH,
               on_error: Callable[[ProtocolContext, Exception], None] | None = None) -> dict:
    """Fill the feature store for many frozen runs at once: each distinct image once.

    The images of all runs' splits are grouped by feature space; each space's missing images
    are extracted in one pass. A run whose data cannot be built is left to its own run, which
    reports the problem in its record (``on_error`` is told). Returns the counts.
    """
    groups: dict[str, tuple[FeatureStore, ProtocolContext, list[SceneDataset]]] = {}
    for ctx in contexts:
        try:
            datasets = scene_datasets(ctx.make_data(train_transform=None))
        except Exception as exc:  # the run itself fails on it again, as a failed record
            if on_error is not None:
                on_error(ctx, exc)
            continue
        if datasets is None:
            continue
        space = feature_space(ctx, datasets[0])
        key = spec_hash(space)
        if key not in groups:
            groups[key] = (FeatureStore(feature_cache(ctx).dir.parent, space), ctx, [])
        groups[key][2].extend(datasets)
    counts = {"spaces": len(groups), "distinct_images": 0, "extracted": 0, "features_s": 0.0}
    for store, ctx, datasets in groups.values():
        counts["distinct_images"] += len({i for ids in split_ids(datasets) for i in ids})
        timings = filled(store, datasets, ctx.make_backbone, ctx.opts,
                         feature_cache(ctx).workers, batch_size)
        counts["extracted"] += int(timings["features_extracted"])
        counts["features_s"] += timings.get("features_s", 0.0)
    return counts


def per_split_splits(ctx: ProtocolContext, data: Any, batch_size: int
                     ) -> tuple[Splits, Any, dict]:
    """One cache entry per (identity, split): for datasets that are not image-file lists."""
    cache = feature_cache(ctx)
    key = cache.key({**ctx.identity, "split_hash": data.split_hash,
                     "fingerprint": data.fingerprint, "image_size": ctx.task.dataset.image_size})
    splits = cache.load(key)
    timings: dict = {"features_cached": float(splits is not None)}
    if splits is None:
        start = time.perf_counter()
        backbone = ctx.make_backbone(**lazy_args(ctx.opts))
        workers = extraction_workers(cache.workers, ctx.opts)
        splits = {name: extracted_features(backbone, getattr(data, name), ctx.opts, batch_size,
                                           workers) for name in SPLITS}
        seconds = time.perf_counter() - start
        n = sum(len(y) for _, y in splits.values())
        timings.update({"features_s": seconds, "features_img_per_s": n / max(seconds, 1e-9)})
        if is_writer():
            cache.save(key, splits, meta={**ctx.identity, "n": n})
    timings["feature_cache_key"] = key
    return splits, data, timings
