"""What a backbone expects as input: bands, value scale, normalisation statistics, size.

The statistics belong to the model, not to the task: every dataset hands the backbone images
scaled to [0, 1] (1.0 being the dataset's declared full scale), the backbone scales them to the
card's ``value_scale`` and normalises them with the statistics it was pretrained with, so a task
can never feed a model the wrong mean/std. Band names are resolved in ``sensor`` by
``rsbench.bands`` (``B04`` of ``s2_l1c``, ``R`` of ``rgb``, or qualified: ``s1:VV``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rsbench.errors import SpecError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpec:
    """Input contract of a backbone.

    Attributes:
        bands: band names in channel order, e.g. ``("R", "G", "B")``.
        mean: per-band mean used at pretraining, in the ``value_scale`` units.
        std: per-band standard deviation, same units.
        img_size: side length in pixels the backbone is built for.
        sensor: the sensor ``bands`` are named in (``rsbench.bands.sensors.SENSORS``).
        value_scale: the model's input value for a data value of 1.0: 1 for [0, 1] RGB or
            reflectance, 10000 for a model pretrained on raw Sentinel-2 digital numbers.
        wavelengths: centre wavelength (nm) per band, for wavelength-conditioned models.
    """

    bands: tuple[str, ...] = ("R", "G", "B")
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    img_size: int = 224
    extras: dict = field(default_factory=dict, compare=False)
    sensor: str = "rgb"
    value_scale: float = 1.0
    wavelengths: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.bands)
        if len(self.mean) != n or len(self.std) != n:
            raise SpecError(
                f"input spec: {n} bands {list(self.bands)} but {len(self.mean)} mean and "
                f"{len(self.std)} std values; give one value per band"
            )
        if any(s <= 0 for s in self.std):
            raise SpecError(f"input spec: std must be positive, got {list(self.std)}")
        if self.img_size <= 0:
            raise SpecError(f"input spec: img_size must be positive, got {self.img_size}")
        if self.value_scale <= 0:
            raise SpecError(f"input spec: value_scale must be positive, got {self.value_scale}")
        if self.wavelengths is not None and len(self.wavelengths) != n:
            raise SpecError(f"input spec: {n} bands but {len(self.wavelengths)} wavelengths; "
                             "give one per band")

    @property
    def in_chans(self) -> int:
        """Number of input channels."""
        return len(self.bands)

    def to_dict(self) -> dict:
        """JSON-ready form for records and reports.

        The band fields appear only when they differ from their defaults, so an RGB card's
        identity (and every record id and cache key derived from it) is what it always was.
        """
        d = asdict(self)
        d.pop("extras")
        for key in ("sensor", "value_scale", "wavelengths"):
            if d[key] == getattr(InputSpec, key):
                d.pop(key)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict | None) -> InputSpec:
        """Build from YAML/JSON data, tolerating lists for tuples."""
        if not d:
            return cls()
        known = {"bands", "mean", "std", "img_size", "sensor", "value_scale", "wavelengths"}
        unknown = set(d) - known
        if unknown:
            raise SpecError(f"input spec: unknown fields {sorted(unknown)}; allowed {sorted(known)}")
        kw: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)
