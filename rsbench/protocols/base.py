"""What every protocol receives and returns, and how its recipe numbers are resolved.

A protocol module declares ``RECIPE`` (the published source it follows) and ``DEFAULTS`` (its
numbers, as data). A task YAML may override any default; a key the protocol does not know is
an error, because an option that silently does nothing is worse than none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rsbench.config import SpecError


@dataclass
class ProtocolContext:
    """Everything a protocol needs, built lazily so that cache hits cost nothing.

    Attributes:
        task: the resolved task spec.
        seed: the run seed (weights init, data order, augmentation).
        opts: engine options (device, precision, workers).
        make_backbone: builds the loaded backbone; keyword args are timm overrides
            such as ``drop_path_rate``.
        make_data: builds the task's data; takes the train-time transform.
        cache: feature cache for frozen protocols.
        identity: what identifies model + data for caching (checkpoint hash, split hash, ...).
    """

    task: Any
    seed: int
    opts: Any
    make_backbone: Callable[..., Any]
    make_data: Callable[..., Any]
    cache: Any
    identity: dict
    plugin: Any = None


@dataclass
class ProtocolResult:
    """Metrics (fractions in [0, 1] for accuracies) and the hyper-parameters actually used."""

    metrics: dict[str, float]
    hparams: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


def resolved_hparams(defaults: dict, given: dict, where: str) -> dict:
    """``defaults`` updated with the task's ``protocol:`` section (minus ``name``/``recipe``)."""
    given = {k: v for k, v in given.items() if k not in ("name", "recipe")}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SpecError(f"{where}: protocol option(s) {unknown} are not used by this protocol; "
                        f"allowed: {sorted(defaults)}")
    return {**defaults, **given}


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate factor: linear warm-up, then half-cycle cosine to zero (MAE's schedule)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def finite_loss(loss, step: int):
    """``loss``, or a ``FloatingPointError`` when it is NaN or infinite: a diverged run must end
    as a ``failed`` record with the reason, never train on and score garbage."""
    import torch

    if not torch.isfinite(loss):
        raise FloatingPointError(f"non-finite training loss {loss.item()} at step {step}")
    return loss
