"""Sentinel-1 backscatter in rsbench's [0, 1] data range: one mapping for every SAR dataset.

Every dataset yields images in [0, 1] (the resize clamps to it). Backscatter is mapped from dB:
``(dB - DB_LOW) / DB_SPAN``, clipped to [0, 1], so 0 is -50 dB and 1 is +10 dB (C-band land
backscatter lies well inside; below -50 dB is the no-data floor, above +10 dB a few corner
reflectors). Datasets that store linear intensity (So2Sat) are taken to dB first
(``10 log10``), so a SAR model meets the same values on every dataset.

The adapters declare ``value_scale = DB_SPAN`` and ``value_offset = DB_LOW``. A model card
trained on dB with mean ``m`` and std ``s`` feeds exactly by declaring ``value_scale: 60``,
``mean: m + 50``, ``std: s``: its input is then ``(x * 60 - (m + 50)) / s = (dB - m) / s``.
"""

from __future__ import annotations

import torch

#: dB mapped to 0.0.
DB_LOW = -50.0
#: dB from 0.0 to 1.0 (so +10 dB is 1.0).
DB_SPAN = 60.0


def unit_from_db(db: torch.Tensor) -> torch.Tensor:
    """Backscatter in dB -> [0, 1] (float32)."""
    return ((db.float() - DB_LOW) / DB_SPAN).clamp_(0.0, 1.0)


def unit_from_intensity(intensity: torch.Tensor) -> torch.Tensor:
    """Linear backscatter intensity -> [0, 1] through dB; zero or negative (filter ringing)
    intensity counts as the floor."""
    return unit_from_db(10.0 * torch.log10(intensity.float().clamp_min(1e-10)))
