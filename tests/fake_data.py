"""The seeded fake-data generators in the datasets' real layouts, ``tests/data/<name>/make.py``.

Loaded by path: every generator file is called ``make.py``, so they cannot be imported by name.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@cache
def generator(name: str):
    """``tests/data/<name>/make.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f"_fake_{name}", DATA / name / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
