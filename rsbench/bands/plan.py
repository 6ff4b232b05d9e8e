"""One run's input plan: the band match, the fill and the normalisation, and the encoder they give.

Built from the model card's input spec and the task's ``dataset:`` before anything is read, so
a refused match is a usage error of the command; applied to each fresh encoder of the run by
:meth:`InputPlan.fitted`; written into the record by :meth:`InputPlan.to_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rsbench.bands import DATASET_NORMALISATIONS
from rsbench.bands.matching import BandMatch, Matched, checked_fill, match_bands
from rsbench.bands.sensors import BandError, bands


def data_sensor(dataset: Any) -> tuple[str, float, float]:
    """``(sensor, value_scale, value_offset)`` the adapter of a dataset spec (its variant
    included) declares: data 0 is ``value_offset`` raw, data 1.0 is ``value_offset +
    value_scale`` (Sentinel-1: -50 dB and +10 dB); ``("rgb", 255, 0)`` for datasets whose
    adapters declare none (8-bit RGB scaled to [0, 1])."""
    from rsbench.data.catalog import DATASETS, dataset_adapter
    from rsbench.data.variant import adapter_for

    if dataset.name not in DATASETS:
        return "rgb", 255.0, 0.0
    adapter = adapter_for(dataset_adapter(dataset.name), dataset)
    return (getattr(adapter, "sensor", "rgb"), float(getattr(adapter, "value_scale", 255.0)),
            float(getattr(adapter, "value_offset", 0.0)))


@dataclass(frozen=True)
class InputPlan:
    """How a run turns the dataset's channels into the encoder's input.

    Attributes:
        model: the card name (for messages).
        match: each model band's data source.
        fill: the declared ``band_fill``, or None (nothing missing).
        normalisation: ``model``, ``dataset`` or ``none``.
        scale: the card's ``value_scale`` (data [0, 1] -> model units).
        mean: the card's per-band mean (model order, model units).
        std: the card's per-band std.
        data_scale: the dataset's raw span of [0, 1] (recorded, not applied: data is in [0, 1]).
        statistics: the training split's per-data-channel mean/std for ``dataset``.
        conditioning: the card's model is told each band's physics (``InputSpec.extras``):
            ``wavelength`` (missing bands are left out, not filled) or ``gsd``; None if not.
    """

    model: str
    match: BandMatch
    fill: str | None
    normalisation: str
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    data_scale: float
    statistics: dict | None = None
    conditioning: str | None = None
    data_offset: float = 0.0  # the raw value of data 0 (Sentinel-1: -50 dB); recorded only

    @property
    def encoder_entries(self) -> tuple[Matched, ...]:
        """The bands the encoder's patch embedding takes: the present ones after slice/adapt."""
        if self.match.missing and (self.fill in ("slice", "adapt")
                                   or self.conditioning == "wavelength"):
            return self.match.present
        return self.match.entries

    @property
    def keep(self) -> tuple[int, ...] | None:
        """Model band positions the patch embedding keeps, or None when it keeps all."""
        if self.encoder_entries == self.match.entries:
            return None
        return tuple(k for k, e in enumerate(self.match.entries) if e.data is not None)

    @property
    def plain(self) -> bool:
        """Whether the data is the model's bands in its order, normalised with its statistics."""
        return self.match.identity and self.normalisation == "model" and self.scale == 1.0

    def _model_index(self, entry: Matched) -> int:
        return self.match.entries.index(entry)

    def source(self) -> list[int]:
        """Per encoder channel, the data channel it reads, -1 for a filled band."""
        return [e.index if e.index is not None else -1 for e in self.encoder_entries]

    def fill_values(self) -> list[float]:
        """Per encoder channel, the constant of a filled band (model units), 0 elsewhere."""
        return [self.mean[self._model_index(e)] if e.data is None and self.fill == "mean" else 0.0
                for e in self.encoder_entries]

    def statistics_used(self) -> tuple[list[float], list[float]]:
        """Per encoder channel, the mean and std the normalisation applies (model units)."""
        entries = self.encoder_entries
        if self.normalisation == "none":
            return [0.0] * len(entries), [1.0] * len(entries)
        if self.normalisation == "model":
            idx = [self._model_index(e) for e in entries]
            return [self.mean[i] for i in idx], [self.std[i] for i in idx]
        if self.statistics is None:
            raise BandError(f"normalisation {self.normalisation!r} before the training split's "
                            "statistics were computed")
        src = [e.index for e in entries if e.index is not None]
        mean = [self.statistics["mean"][i] * self.scale for i in src]
        std = [self.statistics["std"][i] * self.scale for i in src]
        if self.normalisation == "dataset_2sigma":  # (x - (m - 2s)) / 4s, then clipped to [0, 1]
            return [m - 2 * s for m, s in zip(mean, std, strict=True)], [4 * s for s in std]
        return mean, std

    def with_statistics(self, statistics: dict) -> InputPlan:
        """The plan with the training split's statistics (``dataset`` normalisation)."""
        return replace(self, statistics=statistics)

    def input_map(self, what: str):
        """The encoder's :class:`~rsbench.bands.normalise.InputMap` for this plan."""
        from rsbench.bands.normalise import InputMap

        mean, std = self.statistics_used()
        return InputMap(self.source(), self.fill_values(), self.scale, self.normalisation,
                        mean, std, len(self.match.data_bands), what)

    def fitted(self, backbone: Any) -> Any:
        """``backbone`` (built on the card's bands) reduced and fed as this plan says."""
        if self.keep is not None and self.fill is not None:
            from rsbench.checkpoints.adapt import with_band_subset

            with_band_subset(backbone.model, self.keep, self.fill)
        backbone.input_map = self.input_map(backbone.arch)
        if self.conditioning is not None:
            backbone.condition(self.encoder_physics())
        return backbone

    def encoder_physics(self) -> list[dict]:
        """Per encoder channel, its data band's centre wavelength and bandwidth (nm) and GSD
        (m); the matched model band's wavelength and bandwidth where the data band publishes
        none (an RGB camera)."""
        out = []
        for e in self.encoder_entries:
            src = e.data or e.model
            centre = src.centre_nm if src.centre_nm is not None else e.model.centre_nm
            known = src if src.centre_nm is not None else e.model
            out.append({"band": src.qualified, "wavelength_nm": centre,
                        "bandwidth_nm": known.bandwidth_nm, "wavelength_from": known.qualified,
                        "gsd_m": src.gsd_m})
        return out

    def patch_embed_change(self) -> str | None:
        """What slice/adapt does to the patch embedding, in words, or None."""
        if self.keep is None:
            return None
        n = len(self.match.entries)
        how = self.fill or "wavelength-conditioned"  # no fill: the bands present are fed
        return f"{how}: {n} -> {len(self.keep)} input channels (model bands {list(self.keep)})"

    def to_dict(self) -> dict:
        """The record's account of the run's input (JSON data)."""
        mean, std = (None, None) if self.normalisation == "none" else self.statistics_used()
        return {
            "model_bands": [e.model.qualified for e in self.match.entries],
            "data_bands": [b.qualified for b in self.match.data_bands],
            "encoder_bands": [e.model.qualified for e in self.encoder_entries],
            "mapping": self.match.table(),
            "missing": [b.qualified for b in self.match.missing],
            "band_fill": self.fill,
            "patch_embed": self.patch_embed_change(),
            "tolerance_nm": self.match.tolerance_nm,
            "value_scale": {"data": self.data_scale, "model": self.scale},
            "value_offset": self.data_offset,
            "normalisation": self.normalisation,
            "mean": mean, "std": std,
            "statistics": self.statistics,
            **({"conditioning": self.conditioning, "physics": self.encoder_physics()}
               if self.conditioning else {}),
        }

    def identity(self) -> dict:
        """What of the plan changes the encoder's output (feature-cache keys)."""
        d = self.to_dict()
        return {k: d[k] for k in ("encoder_bands", "mapping", "band_fill", "value_scale",
                                  "normalisation", "mean", "std")}


def input_plan(spec: Any, model: str, dataset: Any) -> InputPlan:
    """The plan for a card's input spec against a task's dataset spec.

    Args:
        spec: the card's :class:`~rsbench.backbones.input_spec.InputSpec`.
        model: the card's name.
        dataset: the task's :class:`~rsbench.config.DatasetSpec`.

    Raises:
        BandError: unknown band names, a missing band without ``band_fill``, or a fill that
            cannot run with the declared normalisation.
    """
    sensor, data_scale, data_offset = data_sensor(dataset)
    model_bands = bands(tuple(spec.bands), spec.sensor, f"model {model}: input_spec.bands")
    data_bands = bands(tuple(dataset.bands), sensor, f"dataset {dataset.name}: dataset.bands")
    match = match_bands(model_bands, data_bands)
    conditioning = spec.extras.get("conditioning")
    if conditioning == "wavelength":
        conditioned_fill(match, dataset.band_fill, model, dataset.name)
        fill = None
    else:
        fill = checked_fill(match, dataset.band_fill, model, dataset.name)
    norm = dataset.normalisation
    if norm in DATASET_NORMALISATIONS and match.missing and fill in ("zero", "mean"):
        raise BandError(f"dataset {dataset.name}: normalisation {norm!r} has no statistics for "
                        f"the filled band(s) {', '.join(b.name for b in match.missing)}; use "
                        "normalisation: model, or band_fill: slice or adapt")
    return InputPlan(model=model, match=match, fill=fill if match.missing else None,
                     normalisation=norm, scale=float(spec.value_scale), mean=tuple(spec.mean),
                     std=tuple(spec.std), data_scale=data_scale, conditioning=conditioning,
                     data_offset=data_offset)


def conditioned_fill(match: BandMatch, fill: str | None, model: str, dataset: str) -> None:
    """Check a wavelength-conditioned model can run on the bands present (nothing is filled).

    Raises:
        BandError: no model band is present, or a ``band_fill`` is declared for missing bands.
    """
    if not match.present:
        checked_fill(match, fill, model, dataset)  # the one-line "shares no band" refusal
    if fill is not None and match.missing:
        raise BandError(f"model {model} is wavelength-conditioned: it runs on the bands dataset "
                        f"{dataset} has; remove dataset.band_fill ({fill!r})")


def run_plan(card: Any, task: Any, build_data: Any, cache_dir: Any) -> InputPlan:
    """The plan of one run, with the training split's statistics when it normalises by them.

    Args:
        card: the model card.
        task: the task spec.
        build_data: returns the task's data (train/val/test, ``split_hash``) without transforms;
            called only for ``normalisation: dataset``.
        cache_dir: the run's cache folder (statistics are computed once per split and reader).
    """
    plan = input_plan(card.input_spec, card.name, task.dataset)
    if plan.normalisation not in DATASET_NORMALISATIONS:
        return plan
    from rsbench.bands.normalise import dataset_statistics

    data = build_data()
    return plan.with_statistics(dataset_statistics(data.train, data.split_hash, cache_dir))


def cache_identity(plan: InputPlan) -> dict:
    """What a plan adds to feature-cache keys: nothing for a plain one, so caches stay valid."""
    return {} if plan.plain else {"input": plan.identity()}
