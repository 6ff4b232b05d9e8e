"""A file's version costs one stat per ask: its path is resolved once per file, not per task."""

import os
from pathlib import Path

from rsbench import hashcache
from rsbench.engine.feature_store import id_path, image_id


def counting_resolve(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = Path.resolve

    def resolve(self, strict=False):
        calls.append(str(self))
        return real(self, strict)

    monkeypatch.setattr(Path, "resolve", resolve)
    return calls


def test_a_version_is_resolved_once_per_file_and_a_replaced_file_is_seen(tmp_path, monkeypatch):
    hashcache.forget_in_memory()
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    image = tmp_path / "link" / "a.tif"
    image.write_bytes(b"one")
    calls = counting_resolve(monkeypatch)
    first = hashcache.file_version(image)
    assert first[0] == str(tmp_path / "real" / "a.tif")  # through the symlink
    assert hashcache.file_version(image) == first and image_id(image) == image_id(image)
    assert len(calls) == 1  # nine tasks asking for one image resolve it once
    stat = image.stat()  # the feature store's key is what it was: stored rows stay valid
    assert image_id(image) == f"{tmp_path / 'real' / 'a.tif'}|{stat.st_size}|{stat.st_mtime_ns}"
    # Replaced under the same path (a new inode): resolved again, a new version.
    replacement = tmp_path / "real" / "b.tif"
    replacement.write_bytes(b"other bytes")
    os.replace(replacement, tmp_path / "real" / "a.tif")
    second = hashcache.file_version(image)
    assert len(calls) == 2 and second[0] == first[0]
    assert second[1] == len(b"other bytes") and second[3] != first[3]
    assert id_path(image_id(image)) == str(tmp_path / "real" / "a.tif")


def test_a_container_row_is_identified_by_its_file(tmp_path):
    hashcache.forget_in_memory()
    (tmp_path / "s.h5").write_bytes(b"rows")
    size, mtime = 4, (tmp_path / "s.h5").stat().st_mtime_ns
    assert image_id(tmp_path / "s.h5#7") == f"{tmp_path / 's.h5'}#7|{size}|{mtime}"
    assert id_path(image_id(tmp_path / "s.h5#7")) == f"{tmp_path / 's.h5'}#7"
