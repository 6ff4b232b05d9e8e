"""Learning-rate schedules the recipes share.

What a protocol receives and returns (``ProtocolContext``, ``ProtocolResult``) and the one run
loop of the protocols that train live in :mod:`rsbench.engine.protocol`; they are re-exported
here for the protocol modules that import them from their own package.
"""

from __future__ import annotations

import math

from rsbench.engine.protocol import (  # noqa: F401  (re-exported)
    ProtocolContext,
    ProtocolResult,
    finite_loss,
    resolved_hparams,
)


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate factor: linear warm-up, then half-cycle cosine to zero (MAE's schedule)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def warmup_poly(step: int, warmup: int, total: int, power: float = 1.0) -> float:
    """lr factor: linear warm-up over ``warmup`` steps, then ``(1 - t/total) ** power`` to zero
    (mmseg's ``poly`` policy)."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, 1.0 - step / max(1, total)) ** power
