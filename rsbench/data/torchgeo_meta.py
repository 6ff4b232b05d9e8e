"""Dataset metadata read from torchgeo's classes, never copied: class lists, file names, md5s.

torchgeo's dataset classes carry what its downloads check (URLs, archive and split file names,
md5s) and some class lists as class attributes. rsbench reads them from there, so a torchgeo
upgrade that changes a checksum or a file name changes rsbench with it, and one that drops an
attribute fails with one line naming it, not with a copy gone stale.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from rsbench.data.errors import TorchGeoMismatch

T = TypeVar("T")
#: The torchgeo version whose attributes rsbench is written against (constraints.txt pins it).
TESTED_WITH = "0.8.1"


def torchgeo_attribute(target: str, attr: str) -> Any:
    """``attr`` of torchgeo's class ``target`` (``"torchgeo.datasets:UCMerced"``).

    Raises:
        TorchGeoMismatch: the installed torchgeo has no such class or attribute.
    """
    module_name, _, class_name = target.partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name, None)
    if cls is None or not hasattr(cls, attr):
        import torchgeo

        missing = f"{class_name}.{attr}" if cls is not None else class_name
        raise TorchGeoMismatch(f"torchgeo {torchgeo.__version__} has no {module_name}.{missing}, "
                               f"which rsbench reads dataset metadata from; install torchgeo "
                               f"{TESTED_WITH} (pip install -c constraints.txt -e .)")
    return getattr(cls, attr)


Read = Callable[..., Any]
"""``read(attr, target=None)``: :func:`torchgeo_attribute` of the adapter's torchgeo class
(``target`` names another one)."""


class FromTorchGeo(Generic[T]):
    """A class attribute of a dataset adapter built, on each use, from its torchgeo class.

    ``url = FromTorchGeo(lambda tg: tg("url") + tg("filename"))`` reads ``url`` and
    ``filename`` of the class named by the adapter's ``torchgeo_class``; it works on the class
    and on its instances alike, and fails only when used (with :class:`TorchGeoMismatch`).
    """

    def __init__(self, build: Callable[[Read], T]) -> None:
        self.build = build

    def __get__(self, obj: object, owner: type) -> T:
        default: str = getattr(owner, "torchgeo_class", "")

        def read(attr: str, target: str | None = None) -> Any:
            return torchgeo_attribute(target or default, attr)

        return self.build(read)
