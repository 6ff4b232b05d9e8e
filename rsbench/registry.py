"""One small generic registry: plugins are chosen by a ``type:`` string.

Entries are registered lazily as ``"module:attr"`` (or plain ``"module"``) strings so that listing
names never imports torch, timm or torchgeo; the target is imported on first ``get``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

from rsbench.errors import RsbenchError


class RegistryError(RsbenchError, KeyError):
    """An unknown name, with the closest known names in the message."""

    def __str__(self) -> str:  # KeyError quotes its argument; people want the plain sentence.
        return str(self.args[0])


class Registry:
    """Maps names to objects or lazy ``"module:attr"`` references."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}

    @classmethod
    def of(cls, kind: str, entries: dict[str, Any]) -> Registry:
        """A registry of ``kind`` holding ``entries`` (name -> object or ``"module:attr"``)."""
        registry = cls(kind)
        for name, target in entries.items():
            registry.register(name, target)
        return registry

    def register(self, name: str, target: Any = None) -> Callable[[Any], Any] | Any:
        """Register ``target`` under ``name``; usable as a decorator when ``target`` is None."""
        if target is None:
            return lambda obj: self.register(name, obj)
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = target
        return target

    def get(self, name: str) -> Any:
        """Return the object registered as ``name``, importing it if it was lazy."""
        if name not in self._entries:
            raise RegistryError(self.unknown_message(name))
        target = self._entries[name]
        if isinstance(target, str):
            module, _, attr = target.partition(":")
            target = importlib.import_module(module)
            target = getattr(target, attr) if attr else target
            self._entries[name] = target
        return target

    def unknown_message(self, name: str) -> str:
        """A one-line 'unknown X' message with did-you-mean suggestions."""
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(self._entries))})"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)
