"""Which data band feeds each band a model was pretrained on: by name, common name, wavelength.

Three passes, each over the model bands still unmatched, each data band used at most once:

1. by name: the same band of the same instrument family (``s2_l1c:B04`` is ``s2_l2a:B04``);
2. by common name: ``red`` is S2 ``B04``, Landsat ``B4``, a camera's ``R``, when exactly one
   data band has that common name;
3. by wavelength: the nearest optical data band whose centre lies within ``tolerance_nm``.

A model band no pass matched is missing. Running with a missing band is refused unless the task
declares ``dataset.band_fill`` (see :data:`BAND_FILLS`); a silent zero channel is never made.
"""

from __future__ import annotations

from dataclasses import dataclass

from rsbench.bands.sensors import Band, BandError

#: How a run may go on when the data lacks bands the model needs.
BAND_FILLS = {
    "zero": "each missing band is a constant 0 (in the model's value scale) before normalisation",
    "mean": "each missing band is the model card's pretraining mean of that band",
    "slice": "the patch embedding keeps only the pretrained kernels of the bands present",
    "adapt": "timm's adapt_input_conv fits the pretrained kernels to the bands present",
}
#: Nearest-centre distance accepted by the wavelength pass (S2 B04 vs Landsat B4: 9.6 nm).
WAVELENGTH_TOLERANCE_NM = 20.0
#: Sensors whose band names denote the same bands.
FAMILIES = {"s2_l1c": "sentinel2", "s2_l2a": "sentinel2", "landsat8": "landsat", "landsat9": "landsat"}


def family(sensor: str) -> str:
    """The instrument family whose band names mean the same bands (the sensor itself if none)."""
    return FAMILIES.get(sensor, sensor)


@dataclass(frozen=True)
class Matched:
    """One model band and where its values come from.

    Attributes:
        model: the model's band.
        data: the data band feeding it, or None when missing.
        index: that band's channel in the data, or None.
        rule: ``"name"``, ``"common name"``, ``"wavelength"`` or ``"missing"``.
        delta_nm: data centre minus model centre for wavelength matches.
    """

    model: Band
    data: Band | None
    index: int | None
    rule: str
    delta_nm: float | None = None

    def to_dict(self) -> dict:
        """``{"model": "s2_l1c:B04", "data": "rgb:R", "index": 0, "rule": "common name"}``."""
        out: dict[str, object] = {"model": self.model.qualified, "data": self.data.qualified if self.data else None,
               "index": self.index, "rule": self.rule}
        if self.delta_nm is not None:
            out["delta_nm"] = round(self.delta_nm, 3)
        return out


@dataclass(frozen=True)
class BandMatch:
    """The model's bands, in the model's order, each with its source in the data."""

    entries: tuple[Matched, ...]
    data_bands: tuple[Band, ...]
    tolerance_nm: float

    @property
    def missing(self) -> tuple[Band, ...]:
        """Model bands the data lacks."""
        return tuple(e.model for e in self.entries if e.data is None)

    @property
    def present(self) -> tuple[Matched, ...]:
        """Entries with a data band, in the model's order."""
        return tuple(e for e in self.entries if e.data is not None)

    @property
    def identity(self) -> bool:
        """Whether the data already is the model's bands, in the model's order."""
        return not self.missing and [e.index for e in self.entries] == list(
            range(len(self.data_bands)))

    def table(self) -> list[dict]:
        """One row per model band (records, reports)."""
        return [e.to_dict() for e in self.entries]


def _by_name(m: Band, free: dict[int, Band]) -> int | None:
    return next((i for i, d in free.items()
                 if family(d.sensor) == family(m.sensor) and d.name == m.name), None)


def _by_common(m: Band, free: dict[int, Band], data: tuple[Band, ...]) -> int | None:
    if m.common is None or sum(d.common == m.common for d in data) != 1:
        return None
    return next((i for i, d in free.items() if d.common == m.common), None)


def _by_wavelength(m: Band, free: dict[int, Band], tol: float) -> int | None:
    if not m.optical or m.centre_nm is None:
        return None
    centre = m.centre_nm
    near = [(abs(d.centre_nm - centre), i) for i, d in free.items()
            if d.optical and d.centre_nm is not None and abs(d.centre_nm - centre) <= tol]
    return min(near)[1] if near else None


def match_bands(model: tuple[Band, ...], data: tuple[Band, ...],
                tolerance_nm: float = WAVELENGTH_TOLERANCE_NM) -> BandMatch:
    """Each model band's source among ``data`` (see the module docstring for the rules)."""
    free = dict(enumerate(data))
    found: dict[int, tuple[int, str]] = {}
    passes = (("name", lambda m: _by_name(m, free)),
              ("common name", lambda m: _by_common(m, free, data)),
              ("wavelength", lambda m: _by_wavelength(m, free, tolerance_nm)))
    for rule, find in passes:
        for k, m in enumerate(model):
            if k in found:
                continue
            index = find(m)
            if index is not None:
                found[k] = (index, rule)
                del free[index]
    entries = []
    for k, m in enumerate(model):
        if k not in found:
            entries.append(Matched(m, None, None, "missing"))
            continue
        index, rule = found[k]
        d = data[index]
        delta = (d.centre_nm - m.centre_nm
                 if rule == "wavelength" and d.centre_nm is not None and m.centre_nm is not None
                 else None)
        entries.append(Matched(m, d, index, rule, delta))
    return BandMatch(tuple(entries), tuple(data), tolerance_nm)


def checked_fill(match: BandMatch, fill: str | None, model_name: str, dataset: str) -> str | None:
    """``fill`` when the match can run with it; a one-line refusal otherwise.

    Raises:
        BandError: bands are missing and no ``band_fill`` is declared, the fill is unknown, or
            no model band is present at all.
    """
    if fill is not None and fill not in BAND_FILLS:
        raise BandError(f"dataset.band_fill is {fill!r}; allowed: {', '.join(BAND_FILLS)}")
    if not match.missing:
        return fill
    names = ", ".join(b.name for b in match.missing)
    if not match.present:
        have = ", ".join(b.name for b in match.data_bands)
        raise BandError(f"model {model_name} shares no band with dataset {dataset} ({have}); "
                        "no band_fill can run it")
    if fill is None:
        wanted = [e.model.name for e in match.entries]
        raise BandError(
            f"task bands {[b.name for b in match.data_bands]} differ from model {model_name}'s "
            f"input bands {wanted}: dataset {dataset} lacks {names} (matched by name, common "
            f"name, wavelength within {match.tolerance_nm:g} nm); set dataset.band_fill to one "
            f"of {', '.join(BAND_FILLS)} to run it anyway")
    return fill
