"""``zoo:<name>`` as an arch family of ``rsbench.backbones.factory`` (registered there lazily).

``build_model`` is torchgeo's own builder with no weights (``ZooEntry.build``), at the card's
band count and size where the builder takes them; ``wrap`` puts it behind the ``Backbone``
contract (``rsbench.zoo.backbone.ZooBackbone``; a hierarchical entry's is also a feature
pyramid, ``rsbench.zoo.pyramid``).
"""

from __future__ import annotations

from typing import Any, cast

from rsbench.backbones.base import Backbone, Pool
from rsbench.backbones.input_spec import InputSpec
from rsbench.errors import SpecError
from rsbench.zoo import ZOO_PREFIX, entries, zoo_entry
from rsbench.zoo.entry import ZooEntry


def constructor_keywords(entry: ZooEntry, spec: InputSpec, overrides: dict[str, Any]) -> dict:
    """The card's overrides, plus the band count and size for builders that take them."""
    out = dict(overrides)
    if "in_chans" in entry.kwargs:
        out.setdefault("in_chans", spec.in_chans)
    for size in ("img_size", "image_size"):  # timm's spelling, and CROMA's
        if size in entry.kwargs:
            out.setdefault(size, spec.img_size)
    return out


def checked_pool(entry: ZooEntry, pool: str) -> None:
    """Refuse a ``pool`` the entry's torchgeo module does not offer."""
    if pool not in entry.pools:
        raise SpecError(f"zoo:{entry.name}: pool {pool!r} is not offered (torchgeo's module "
                        f"pools {' or '.join(repr(p) for p in entry.pools)}); set pool in the card")


class ZooFamily:
    """torchgeo's models by the names of their builders (``rsbench.zoo.entries``)."""

    prefixed = True

    def names(self) -> list[str]:
        return [ZOO_PREFIX + name for name in entries()]

    def check(self, arch: str) -> None:
        zoo_entry(arch)

    def build_model(self, arch: str, input_spec: InputSpec, pool: Pool, device: Any,
                    **overrides: Any) -> Any:
        entry = zoo_entry(arch)
        if pool not in entry.pools and str(device) == "meta":
            pool = cast(Pool, next(iter(entry.pools)))  # a counting build (param_count): any pool
        checked_pool(entry, pool)
        model = entry.build(pool, device, **constructor_keywords(entry, input_spec, overrides))
        # What the card told the builder (Scale-MAE's res), for ZooBackbone; not a tensor.
        model.zoo_overrides = dict(overrides)
        return model

    def wrap(self, model: Any, input_spec: InputSpec, pool: Pool, arch: str) -> Backbone:
        from rsbench.zoo.pyramid import zoo_backbone_class

        entry = zoo_entry(arch)
        return zoo_backbone_class(entry)(model, input_spec, pool, arch, entry,
                                         getattr(model, "zoo_overrides", {}))


FAMILY = ZooFamily()
