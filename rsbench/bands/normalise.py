"""The one place an input is normalised, and the statistics a ``dataset`` normalisation uses.

Every dataset yields unnormalised images in [0, 1] (1.0 is the adapter's declared full scale,
e.g. reflectance 1 for Sentinel-2). The encoder's :class:`InputMap` then, in this order, picks
the data channels the band match chose, scales them to the value scale the model card declares,
fills missing bands if the task allows it, and applies exactly one normalisation:

- ``model``: the card's pretraining mean and std;
- ``dataset``: per-band mean and std of the task's training split (computed once, cached);
- ``dataset_2sigma``: the same statistics, each band's mean ± 2 std mapped to [0, 1] and
  clipped there (the rescale SeCo, SatMAE and CROMA apply to Sentinel-1/-2 before the encoder);
- ``none``: the values as scaled, unchanged.

:func:`standardised` is the only function in rsbench that applies statistics to an image, so
counting its calls proves no input is normalised twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from rsbench.bands import NORMALISATIONS
from rsbench.bands.sensors import BandError


def standardised(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(x - mean) / std`` over the channel axis of ``[B, C, H, W]``."""
    return (x - mean.to(x.dtype)) / std.to(x.dtype)


class InputMap(nn.Module):
    """Data channels -> the encoder's input: select, scale, fill, normalise once.

    Args:
        source: per encoder channel, the data channel it reads, or -1 for a filled band.
        fill: per encoder channel, the constant of a filled band (ignored elsewhere), in the
            model's value scale.
        scale: factor from the data's [0, 1] to the model's value scale.
        normalisation: one of :data:`NORMALISATIONS`.
        mean: per encoder channel, in the model's value scale (unused for ``none``).
        std: as ``mean``.
        data_channels: channels the data has (checked on every batch).
        what: names the encoder in errors.
    """

    source: torch.Tensor
    filled: torch.Tensor
    fill: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, source: Sequence[int], fill: Sequence[float], scale: float,
                 normalisation: str, mean: Sequence[float], std: Sequence[float],
                 data_channels: int, what: str = "encoder") -> None:
        super().__init__()
        if normalisation not in NORMALISATIONS:
            raise BandError(f"normalisation is {normalisation!r}; allowed: "
                            f"{', '.join(NORMALISATIONS)}")
        n = len(source)
        self.normalisation, self.scale, self.what = normalisation, float(scale), what
        self.data_channels = int(data_channels)
        self.passthrough = list(source) == list(range(data_channels))
        shape = (1, n, 1, 1)
        self.register_buffer("source", torch.tensor([max(s, 0) for s in source]), persistent=False)
        self.register_buffer("filled", torch.tensor([s < 0 for s in source]).view(shape),
                             persistent=False)
        self.register_buffer("fill", torch.tensor(list(fill), dtype=torch.float32).view(shape),
                             persistent=False)
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(shape),
                             persistent=False)
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(shape),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, data_channels, H, W]`` -> ``[B, len(source), H, W]`` as the encoder expects."""
        if x.shape[1] != self.data_channels:
            raise BandError(f"{self.what}: got {x.shape[1]} input channels, the input spec has "
                            f"{self.data_channels} bands")
        y = x if self.passthrough else x.index_select(1, self.source)
        if self.scale != 1.0:
            y = y * self.scale
        if bool(self.filled.any()):
            y = torch.where(self.filled, self.fill.to(y.dtype), y)
        if self.normalisation == "none":
            return y
        y = standardised(y, self.mean, self.std)
        # dataset_2sigma's statistics are the affine (mean - 2 std, 4 std): clip to its range.
        return y.clamp(0.0, 1.0) if self.normalisation == "dataset_2sigma" else y


def spec_input_map(bands: Sequence[str], mean: Sequence[float], std: Sequence[float],
                   what: str) -> InputMap:
    """The map of an encoder fed its own bands, normalised with its own statistics."""
    n = len(bands)
    return InputMap(range(n), [0.0] * n, 1.0, "model", mean, std, n, what)


def channel_statistics(read: Callable[[Path], torch.Tensor], paths: Sequence[Path]
                       ) -> tuple[list[float], list[float]]:
    """Per-channel mean and population std over every pixel of every image.

    Images are read at their native size (what the reader returns, before any resize), and
    sums are kept in float64 so 27,000 images do not lose digits.
    """
    total = squares = None
    count = 0
    for path in paths:
        image = read(path).to(torch.float64)
        flat = image.reshape(image.shape[0], -1)
        s, q = flat.sum(dim=1), (flat * flat).sum(dim=1)
        total = s if total is None else total + s
        squares = q if squares is None else squares + q
        count += flat.shape[1]
    if total is None or squares is None or count == 0:
        raise BandError("normalisation 'dataset': the training split has no image to compute "
                        "statistics on")
    mean = total / count
    var = (squares / count - mean * mean).clamp_min(0.0)
    return mean.tolist(), var.sqrt().tolist()


def dataset_statistics(train, split_hash: str, cache_dir: Path) -> dict:
    """Mean and std per data channel of the training split, cached by split and reader.

    Args:
        train: the training :class:`~rsbench.data.dataset.SceneDataset` (root, samples, reader).
        split_hash: the split file's hash (which images are the training split).
        cache_dir: the run's cache folder; statistics live in ``<cache>/statistics``.

    Returns:
        ``{"mean": [...], "std": [...], "images": n, "key": ...}`` in the data's [0, 1] scale.
    """
    from rsbench.config import spec_hash

    key = spec_hash({"split_hash": split_hash, "reader": repr(train.reader),
                     "samples": len(train.samples)})[:24]
    path = Path(cache_dir) / "statistics" / f"{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    mean, std = channel_statistics(train.reader, [train.root / rel for rel, _ in train.samples])
    if any(s <= 0 for s in std):
        flat = [i for i, s in enumerate(std) if s <= 0]
        raise BandError(f"normalisation 'dataset': data channel(s) {flat} are constant over the "
                        "training split (std 0); use normalisation: model")
    stats = {"mean": mean, "std": std, "images": len(train.samples), "key": key}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stats))
    tmp.replace(path)
    return stats
