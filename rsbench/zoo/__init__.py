"""The model zoo: torchgeo's remote-sensing models as rsbench architectures (``arch: zoo:<name>``).

Each family module (``ssl4eo``, ``dofa``, ``scale_mae``, ...) defines its ``ENTRIES`` where the
model is described; none imports torch or torchgeo at import time, so listing the zoo is cheap.
An entry builds torchgeo's own module (never downloading: ``weights=None``), reads the input
spec from torchgeo's weights metadata (``rsbench.zoo.spec``), reads a local weight file in its
released layout (``rsbench.zoo.load``) and runs torchgeo's forward (``rsbench.zoo.backbone``).
"""

from __future__ import annotations

import difflib
from importlib import import_module

from rsbench.errors import SpecError
from rsbench.zoo.entry import ZooEntry

ZOO_PREFIX = "zoo:"
#: Family modules, each with an ``ENTRIES`` mapping of name -> ZooEntry.
FAMILIES = ("rsbench.zoo.ssl4eo", "rsbench.zoo.dofa", "rsbench.zoo.scale_mae", "rsbench.zoo.croma",
            "rsbench.zoo.copernicus", "rsbench.zoo.panopticon", "rsbench.zoo.resnet",
            "rsbench.zoo.swin")


def entries() -> dict[str, ZooEntry]:
    """Every zoo entry by name (imports the family modules, which import no torch)."""
    out: dict[str, ZooEntry] = {}
    for family in FAMILIES:
        out.update(import_module(family).ENTRIES)
    return out


def is_zoo(arch: str) -> bool:
    """Whether ``arch`` names a zoo entry (``zoo:<name>``)."""
    return arch.startswith(ZOO_PREFIX)


def zoo_entry(arch: str) -> ZooEntry:
    """The entry ``zoo:<name>`` names, or a one-line ``SpecError`` with suggestions."""
    name = arch[len(ZOO_PREFIX):] if is_zoo(arch) else arch
    known = entries()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join('zoo:' + c for c in close)}?" if close else ""
        raise SpecError(f"unknown zoo model {arch!r}{hint} (known: "
                        f"{', '.join('zoo:' + k for k in known)})")
    return known[name]


def zoo_rows() -> list[dict]:
    """One mapping per zoo entry for ``rsbench ls models`` (imports no torch)."""
    return [{"arch": ZOO_PREFIX + name, "builder": e.constructor, "weights": e.weights,
             "default_weights": e.default_weights, "conditioning": e.conditioning,
             "pools": list(e.pools), "note": e.note} for name, e in entries().items()]
