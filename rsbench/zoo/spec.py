"""A zoo model's input spec, read from torchgeo's weights: bands, mean and std.

torchgeo states each release's preprocessing as ``weights.transforms``, a chain of
``Normalize`` steps (and resizes, which a task's ``image_size`` decides in rsbench). The chain
is composed into one ``(v - M) / S`` over the values the release takes. Those values are the
release's raw units: the zoo entry says what rsbench's 1.0 is in them (``ZooEntry.sensors``:
10000 for SSL4EO-S12's Sentinel-2 digital numbers, 255 for fMoW's 8-bit RGB, 1 where the
transforms take the input as it is), so the card's statistics are ``M / raw`` and ``S / raw``
on rsbench's [0, 1] data, value scale 1, and ``InputMap`` computes torchgeo's transforms on
the same pixels. A release whose transforms hold no ``Normalize`` (DOFA: "normalization is
sensor-dependent") gets mean 0 and std 1: the task (``normalisation: dataset``) has to say
more. Transforms other than Normalize, Resize, CenterCrop and Identity are refused.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rsbench.backbones.input_spec import InputSpec
from rsbench.errors import SpecError
from rsbench.zoo.entry import ZooEntry

#: Transforms a release may hold: Normalize steps, and the geometry a task's image size decides.
TRANSFORMS = ("Normalize", "Resize", "CenterCrop", "Identity")


def normalize_steps(transforms: Any) -> list[tuple[list[float], list[float]]]:
    """``(mean, std)`` of each ``Normalize`` in torchgeo's transforms, in order."""
    if transforms is None:
        return []
    # a chain (nn.Sequential) or one transform (CROMA's nn.Identity)
    modules = list(transforms) if hasattr(transforms, "__iter__") else [transforms]
    other = [type(m).__name__ for m in modules if type(m).__name__ not in TRANSFORMS]
    if other:
        raise SpecError(f"torchgeo's transforms for these weights hold {', '.join(other)}, which "
                        "is no mean/std; give input_spec in the card")
    return [(list(map(float, m.mean)), list(map(float, m.std)))
            for m in modules if type(m).__name__ == "Normalize"]


def composed(steps: list[tuple[list[float], list[float]]], n: int) -> tuple[list[float], list[float]]:
    """``(mean, std)`` of a Normalize chain over ``n`` bands, in the chain's input units."""
    mean, std = [0.0] * n, [1.0] * n
    for m, s in steps:
        m_n = m * n if len(m) == 1 else m
        s_n = s * n if len(s) == 1 else s
        # (((v - mean) / std) - m) / s  ==  (v - (mean + m * std)) / (std * s)
        mean = [a + b * c for a, b, c in zip(mean, m_n, std, strict=True)]
        std = [c * d for c, d in zip(std, s_n, strict=True)]
    return mean, std


def weights_bands(entry: ZooEntry, weights: Any) -> tuple[str, ...]:
    """The bands a release takes: its metadata's ``bands``, else the entry's declaration."""
    named = (weights.meta.get("bands") if weights is not None else None) or entry.bands
    if not named:
        raise SpecError(f"zoo:{entry.name}: torchgeo names no bands for these weights and the "
                        "zoo entry declares none; give input_spec.bands in the card")
    return tuple(str(b) for b in named)


def zoo_input_spec(entry: ZooEntry, weights_name: str | None, where: str) -> InputSpec:
    """The input spec torchgeo's metadata gives for ``weights_name`` of ``entry``."""
    try:
        weights = entry.weights_member(weights_name)
    except KeyError:
        raise SpecError(f"{where}: field 'weights' is {weights_name!r}; zoo:{entry.name} has "
                        f"{', '.join(entry.weights_names()) or 'none'}") from None
    found = entry.sensor_of(weights.name if weights is not None else None)
    if found is None:
        raise SpecError(f"{where}: weights {weights.name} of zoo:{entry.name} are not read from "
                        "torchgeo's metadata (their bands' sensor, or their value scale, is not "
                        "one rsbench knows); give input_spec (bands, sensor, statistics) in the card")
    sensor, raw = found
    bands = weights_bands(entry, weights)
    mean, std = composed(normalize_steps(getattr(weights, "transforms", None)), len(bands))
    # (raw * x - mean) / std == (x - mean / raw) / (std / raw): statistics on rsbench's [0, 1]
    return with_conditioning(InputSpec(bands=bands, mean=tuple(m / raw for m in mean),
                                       std=tuple(s / raw for s in std), sensor=sensor), entry)


def with_conditioning(spec: InputSpec, entry: ZooEntry) -> InputSpec:
    """``spec`` marked with the entry's conditioning (``extras``, read by the band plan)."""
    if entry.conditioning == "none":
        return spec
    return replace(spec, extras={**spec.extras, "conditioning": entry.conditioning})


def card_spec(arch: str, weights_name: str | None, given: dict | None, parsed: InputSpec,
              pool: str, where: str) -> InputSpec:
    """A zoo card's input spec: torchgeo's for its ``weights`` unless the card gives one.

    Raises:
        SpecError: ``weights`` on a card whose arch is not ``zoo:``, an unknown entry, or a
            pool the entry's module does not offer.
    """
    from rsbench.zoo import is_zoo, zoo_entry

    if not is_zoo(arch):
        raise SpecError(f"{where}: field 'weights' names torchgeo weights of a zoo model; "
                        f"arch {arch!r} is not zoo:<name> (`rsbench ls models` lists them)")
    try:
        entry = zoo_entry(arch)
    except SpecError as err:
        raise SpecError(f"{where}: field 'arch': {err}") from None
    from rsbench.zoo.family import checked_pool

    try:
        checked_pool(entry, pool)
    except SpecError as err:
        raise SpecError(f"{where}: field 'pool': {err}") from None
    if given:
        return with_conditioning(parsed, entry)
    return zoo_input_spec(entry, weights_name, where)


def kept_card_spec(arch: str, weights_name: str | None, given: dict | None, parsed: InputSpec,
                   pool: str, where: str) -> InputSpec:
    """:func:`card_spec`, kept in ``rsbench.hashcache`` per torchgeo version and version of the
    zoo's code, so a re-run that the records answer imports neither torch nor torchgeo."""
    import json
    from importlib.metadata import version
    from pathlib import Path

    from rsbench import hashcache

    code = sorted(Path(__file__).resolve().parent.glob("*.py"))
    key = hashcache.key_of("zoo_card_spec", (arch, weights_name, given, pool, version("torchgeo"),
                                             [hashcache.file_version(p) for p in code]))
    kept = hashcache.lookup(key)
    if kept is not None:
        d = json.loads(kept)
        return replace(InputSpec.from_dict(d["spec"]), extras=d["extras"])
    spec = card_spec(arch, weights_name, given, parsed, pool, where)
    hashcache.store(key, json.dumps({"spec": spec.to_dict(), "extras": spec.extras}))
    return spec
