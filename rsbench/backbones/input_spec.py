"""What a backbone expects as input: bands, normalisation statistics, size.

The statistics belong to the model, not to the task: every dataset hands the backbone images
scaled to [0, 1] and the backbone normalises them with the statistics it was pretrained with, so
a task can never feed a model the wrong mean/std.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpec:
    """Input contract of a backbone.

    Attributes:
        bands: band names in channel order, e.g. ``("R", "G", "B")``.
        mean: per-band mean of [0, 1]-scaled inputs used at pretraining.
        std: per-band standard deviation, same scale.
        img_size: side length in pixels the backbone is built for.
    """

    bands: tuple[str, ...] = ("R", "G", "B")
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    img_size: int = 224
    extras: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        n = len(self.bands)
        if len(self.mean) != n or len(self.std) != n:
            raise ValueError(
                f"input spec: {n} bands {list(self.bands)} but {len(self.mean)} mean and "
                f"{len(self.std)} std values; give one value per band"
            )
        if any(s <= 0 for s in self.std):
            raise ValueError(f"input spec: std must be positive, got {list(self.std)}")
        if self.img_size <= 0:
            raise ValueError(f"input spec: img_size must be positive, got {self.img_size}")

    @property
    def in_chans(self) -> int:
        """Number of input channels."""
        return len(self.bands)

    def to_dict(self) -> dict:
        """JSON-ready form for records and reports."""
        d = asdict(self)
        d.pop("extras")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict | None) -> InputSpec:
        """Build from YAML/JSON data, tolerating lists for tuples."""
        if not d:
            return cls()
        known = {"bands", "mean", "std", "img_size"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"input spec: unknown fields {sorted(unknown)}; allowed {sorted(known)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kw)
