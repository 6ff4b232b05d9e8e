"""Zoo entries at reduced depth: the model classes torchgeo's builders wrap, fewer blocks."""

from dataclasses import replace

import pytest

from rsbench.zoo import entries, zoo_entry


@pytest.fixture
def reduced(monkeypatch):
    """``reduced(name, constructor, **kwargs)``: the zoo entry ``name`` built by another torchgeo
    callable (the model class at reduced depth, where the builder fixes the depth)."""
    def patch(name: str, constructor: str | None = None, **kwargs):
        entry = zoo_entry(f"zoo:{name}")
        small = replace(entry, constructor=constructor or entry.constructor,
                        kwargs={**entry.kwargs, **kwargs})
        table = {**entries(), name: small}
        monkeypatch.setattr("rsbench.zoo.entries", lambda: table)
        return small
    return patch
