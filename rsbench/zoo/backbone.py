"""A zoo model behind rsbench's ``Backbone`` contract, with the band physics it is conditioned on.

Pooled features are torchgeo's own forward (the entry's ``pooled``) on the normalised input.
A wavelength-conditioned model (DOFA) is handed the centre wavelength of each band it is fed, a
GSD-aware one (Scale-MAE) the data's ground sampling distance: at first those of the card's
bands, then, once a run's band plan fits the encoder (``InputPlan.fitted``), those of the data
bands that plan feeds it (``condition``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rsbench.backbones.base import Backbone, Pool
from rsbench.backbones.input_spec import InputSpec
from rsbench.bands.normalise import InputMap
from rsbench.bands.sensors import bands as resolve_bands
from rsbench.errors import SpecError
from rsbench.zoo.entry import ZooEntry


def common_gsd(gsds: list[float | None]) -> float | None:
    """The one ground sampling distance of all bands, or None when unknown or mixed."""
    known = set(gsds)
    return known.pop() if len(known) == 1 and None not in known else None


class ZooBackbone(Backbone):
    """A torchgeo module with the ``Backbone`` interface.

    Args:
        model: torchgeo's module, headless.
        input_spec: the card's bands, statistics and size.
        pool: the card's pool (the entry's ``pools`` say which the model offers).
        arch: ``zoo:<name>``.
        entry: the zoo entry.
        overrides: the constructor keywords the card added (``res`` of Scale-MAE...).
    """

    def __init__(self, model: nn.Module, input_spec: InputSpec, pool: Pool, arch: str,
                 entry: ZooEntry, overrides: dict[str, Any] | None = None) -> None:
        super().__init__(model, input_spec, pool, arch)
        self.entry = entry
        self.overrides = dict(overrides or {})
        n = input_spec.in_chans
        # Fed [0, 1] data of its own bands, scaled to the card's value scale as torchgeo's
        # transforms expect (a run's band plan replaces this map with its own).
        self.input_map = InputMap(range(n), [0.0] * n, input_spec.value_scale, "model",
                                  input_spec.mean, input_spec.std, n, arch)
        card_bands = resolve_bands(tuple(input_spec.bands), input_spec.sensor,
                                   f"{arch}: input_spec.bands")
        centres: tuple[float | None, ...] = (input_spec.wavelengths
                                              or tuple(b.centre_nm for b in card_bands))
        self.condition([{"band": b.qualified, "wavelength_nm": w, "bandwidth_nm": b.bandwidth_nm,
                         "gsd_m": b.gsd_m} for b, w in zip(card_bands, centres, strict=True)])

    def condition(self, physics: list[dict]) -> None:
        """Take the wavelength (nm) and GSD (m) of each band the encoder is fed, in order."""
        self.physics = [dict(p) for p in physics]
        self.wavelengths_nm = [p["wavelength_nm"] for p in physics]
        self.gsd_m = common_gsd([p["gsd_m"] for p in physics])

    def centres_nm(self) -> list[float]:
        """Centre wavelengths in nanometres; a band without one is refused."""
        if any(w is None for w in self.wavelengths_nm):
            unknown = [p["band"] for p in self.physics if p["wavelength_nm"] is None]
            raise SpecError(f"{self.arch} is conditioned on wavelengths; band(s) {unknown} have "
                            "no published centre wavelength (rsbench.bands.sensors)")
        return [float(w) for w in self.wavelengths_nm]

    def wavelengths_um(self) -> list[float]:
        """Centre wavelengths in micrometres (DOFA's unit)."""
        return [w / 1000.0 for w in self.centres_nm()]

    def bandwidths_nm(self) -> list[float]:
        """Bandwidths in nanometres (Copernicus-FM's spectral input); unknown ones refused."""
        unknown = [p["band"] for p in self.physics if p.get("bandwidth_nm") is None]
        if unknown:
            raise SpecError(f"{self.arch} is conditioned on bandwidths; band(s) {unknown} have "
                            "no published bandwidth (rsbench.bands.sensors)")
        return [float(p["bandwidth_nm"]) for p in self.physics]

    def resolution_m(self) -> float:
        """The GSD the model is told: the data's, else the card's ``arch_overrides.res``."""
        if self.gsd_m is not None:
            return float(self.gsd_m)
        if "res" in self.overrides:
            return float(self.overrides["res"])
        bands = [p["band"] for p in self.physics]
        raise SpecError(f"{self.arch} is conditioned on the ground sampling distance; the bands "
                        f"{bands} publish none (or differ); set arch_overrides.res (metres) in "
                        "the model card")

    @property
    def embed_dim(self) -> int:
        model = self.model  # CROMA: encoder_dim; a timm CNN: num_features; Panopticon: model.model
        for owner, name in ((model, "embed_dim"), (model, "encoder_dim"), (model, "num_features")):
            if getattr(owner, name, None):
                return int(getattr(owner, name))
        return int(model.model.embed_dim)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """One vector per image, ``[B, D]``: torchgeo's forward on the normalised input."""
        self.prepared()
        return self.entry.pooled(self.model, self.normalize(x), self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if not self.entry.maps:
            raise SpecError(f"{self.arch} gives pooled features only (classification and "
                            "multi-label tasks)")
        self.prepared()
        return self.model.forward_features(self.normalize(x))

    def feature_maps(self, x: torch.Tensor, levels: list[int] | None = None) -> list[torch.Tensor]:
        if not self.entry.maps:
            raise SpecError(f"{self.arch} gives pooled features only (classification and "
                            "multi-label tasks)")
        self.prepared()
        return super().feature_maps(x, levels)

    def prepared(self) -> None:
        """Hand the module what it is conditioned on before a forward (Scale-MAE's ``res``)."""
        if self.entry.prepare is not None:
            self.entry.prepare(self.model, self)
