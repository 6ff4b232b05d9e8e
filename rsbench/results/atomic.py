"""Atomic writes under their old name; they live in :mod:`rsbench.atomic_io`, below every package."""

from rsbench.atomic_io import atomic_write_bytes, atomic_write_text, is_temp_file, temp_path_for

__all__ = ["atomic_write_bytes", "atomic_write_text", "is_temp_file", "temp_path_for"]
