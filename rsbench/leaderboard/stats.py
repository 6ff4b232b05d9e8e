"""Statistics of a suite leaderboard: bootstrap CIs over seeds, min-max normalisation, IQM.

GEO-Bench's recipe (Lacoste et al., 2023): each task's mean over seeds is min-max normalised
against fixed baselines, a model's aggregate is the interquartile mean (IQM) of its normalised
task scores, and the uncertainty of both comes from a percentile bootstrap over seeds. All
draws use numpy's seeded :class:`~numpy.random.Generator`, so a rebuild gives the same CIs.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

DEFAULT_N_BOOT = 10_000
DEFAULT_LEVEL = 0.95
IQM_TRIM = 0.25


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A generator seeded by ``seed`` and a stable hash of ``names`` (independent of order of
    evaluation, so one cell's CI does not depend on which other cells exist)."""
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def bootstrap_means(values, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` means of resamples (with replacement, same size) of ``values``.

    Returns:
        An array of shape ``[n_boot]``; empty input gives NaNs.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return np.full(n_boot, math.nan)
    index = rng.integers(0, values.size, size=(n_boot, values.size))
    return values[index].mean(axis=1)


def percentile_ci(draws: np.ndarray, level: float = DEFAULT_LEVEL) -> tuple[float, float]:
    """The central ``level`` percentile interval of bootstrap ``draws`` (NaN if any is NaN)."""
    if draws.size == 0 or np.isnan(draws).any():
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_ci(
    values,
    n_boot: int = DEFAULT_N_BOOT,
    rng: np.random.Generator | int = 0,
    level: float = DEFAULT_LEVEL,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (one value per seed).

    Args:
        values: per-seed scores.
        n_boot: bootstrap resamples.
        rng: a generator, or a seed for :func:`numpy.random.default_rng`.
        level: coverage, 0.95 for a 95% interval.

    Returns:
        ``(low, high)``; both equal the value when all seeds agree; NaNs for no values.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return percentile_ci(bootstrap_means(values, n_boot, rng), level)


def normalised(score, low: float, high: float, higher_is_better: bool = True):
    """Min-max normalised score: 0 at the ``low`` baseline, 1 at the ``high`` reference.

    ``low < high`` are points of the metric's own scale. For a lower-is-better metric the
    scale is flipped, ``(high - score) / (high - low)``, so 1 is still best. Works on scalars
    and arrays alike.
    """
    span = high - low
    return (score - low) / span if higher_is_better else (high - score) / span


def _trim_mean(values: np.ndarray, proportion: float) -> np.ndarray:
    # scipy.stats.trim_mean's definition: cut int(proportion * n) values from each end of the
    # sorted sample and average the rest.
    n = values.shape[-1]
    cut = int(proportion * n)
    return np.sort(values, axis=-1)[..., cut : n - cut].mean(axis=-1)


def iqm(values, axis: int = -1):
    """Interquartile mean: the mean of the middle half, as ``scipy.stats.trim_mean(x, 0.25)``.

    With ``n`` values, ``floor(n / 4)`` are cut from each end (8 values: the middle 4). Uses
    scipy when installed and an exact numpy reimplementation otherwise. NaN for no values.
    """
    values = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
    if values.shape[-1] == 0:
        return np.full(values.shape[:-1], math.nan) if values.ndim > 1 else math.nan
    try:
        from scipy.stats import trim_mean
    except ImportError:
        result = _trim_mean(values, IQM_TRIM)
    else:
        result = trim_mean(values, IQM_TRIM, axis=-1)
    return float(result) if np.ndim(result) == 0 else result


def aggregate_ci(
    per_task: list[tuple[np.ndarray, float, float, bool]],
    n_boot: int = DEFAULT_N_BOOT,
    rng: np.random.Generator | int = 0,
    level: float = DEFAULT_LEVEL,
) -> tuple[float, float, float]:
    """A model's aggregate (IQM of normalised task means) and its bootstrap CI.

    Args:
        per_task: one ``(seed_values, low, high, higher_is_better)`` per task that enters the
            aggregate.
        n_boot, rng, level: as in :func:`bootstrap_ci`; each resample draws seeds anew within
            every task and recomputes the aggregate.

    Returns:
        ``(iqm, ci_low, ci_high)``; NaNs when ``per_task`` is empty.
    """
    if not per_task:
        return math.nan, math.nan, math.nan
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    point = np.array(
        [normalised(float(np.mean(v)), lo, hi, up) for v, lo, hi, up in per_task], dtype=float
    )
    draws = np.stack(
        [normalised(bootstrap_means(v, n_boot, rng), lo, hi, up) for v, lo, hi, up in per_task],
        axis=1,
    )
    low, high = percentile_ci(np.asarray(iqm(draws, axis=1)), level)
    return float(iqm(point)), low, high
