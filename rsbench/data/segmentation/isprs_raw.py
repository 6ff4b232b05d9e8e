"""Finding ISPRS raw tiles in the layouts people have, or saying exactly what differs.

Accepted layouts under ``--src`` (the first folder holding every requested tile wins; the one
used is written into the manifest)::

    potsdam images  rgb:  2_Ortho_RGB/top_potsdam_<i>_<j>_RGB.tif       (official archive)
                          4_Ortho_RGBIR/top_potsdam_<i>_<j>_RGBIR.tif   (torchgeo; bands 1-3)
                    irrg: 3_Ortho_IRRG/top_potsdam_<i>_<j>_IRRG.tif     (official archive)
                          4_Ortho_RGBIR/top_potsdam_<i>_<j>_RGBIR.tif   (torchgeo; bands 4, 1, 2)
    potsdam labels  eroded: {5_Labels_all_noBoundary,.}/top_potsdam_<i>_<j>_label_noBoundary.tif
                    full:   {5_Labels_all,.}/top_potsdam_<i>_<j>_label.tif  (torchgeo: at the root)
    vaihingen images irrg:  {top,ISPRS_semantic_labeling_Vaihingen/top}/top_mosaic_09cm_area<n>.tif
    vaihingen labels eroded: {ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE,
                              gts_eroded_for_participants,.}/top_mosaic_09cm_area<n>_noBoundary.tif
                     full:   {ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE,
                              gts_for_participants,.}/top_mosaic_09cm_area<n>.tif  (torchgeo: root)

Refused, each with one line: archives not yet extracted, a folder mmseg's converter already
prepared (use it as the dataset root instead), tiles under another folder name, an incomplete
folder, and eroded labels asked for where only full ones exist (never a silent fallback).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rsbench.data.errors import DatasetNotFound

ISPRS_URL = "https://www.isprs.org/education/benchmarks/UrbanSemLab/default.aspx"


@dataclass(frozen=True)
class Source:
    """One folder and file pattern (``{tile}`` placeholder) and the bands taken from the file."""

    folder: str
    pattern: str
    channels: tuple[int, ...] = (0, 1, 2)

    def path(self, src: Path, tile: str) -> Path:
        return src / self.folder / self.pattern.format(tile=tile)

    def describe(self) -> str:
        where = "" if self.folder == "." else f"{self.folder}/"
        bands = "" if self.channels == (0, 1, 2) else \
            f" (bands {','.join(str(c + 1) for c in self.channels)})"
        return f"{where}{self.pattern.format(tile='<id>')}{bands}"


_P = "top_potsdam_{tile}"
_V = "top_mosaic_09cm_area{tile}"
_V_ERODED = ("ISPRS_semantic_labeling_Vaihingen_ground_truth_eroded_COMPLETE",
             "gts_eroded_for_participants", ".")
_V_FULL = ("ISPRS_semantic_labeling_Vaihingen_ground_truth_COMPLETE", "gts_for_participants", ".")
IMAGE_SOURCES: dict[str, dict[str, tuple[Source, ...]]] = {
    "potsdam": {
        "rgb": (Source("2_Ortho_RGB", f"{_P}_RGB.tif"), Source("4_Ortho_RGBIR", f"{_P}_RGBIR.tif")),
        "irrg": (Source("3_Ortho_IRRG", f"{_P}_IRRG.tif"),
                 Source("4_Ortho_RGBIR", f"{_P}_RGBIR.tif", (3, 0, 1))),
    },
    "vaihingen": {"irrg": (Source("top", f"{_V}.tif"),
                           Source("ISPRS_semantic_labeling_Vaihingen/top", f"{_V}.tif"))},
}
LABEL_SOURCES: dict[str, dict[str, tuple[Source, ...]]] = {
    "potsdam": {
        "eroded": tuple(Source(d, f"{_P}_label_noBoundary.tif")
                        for d in ("5_Labels_all_noBoundary", ".")),
        "full": tuple(Source(d, f"{_P}_label.tif") for d in ("5_Labels_all", ".")),
    },
    "vaihingen": {"eroded": tuple(Source(d, f"{_V}_noBoundary.tif") for d in _V_ERODED),
                  "full": tuple(Source(d, f"{_V}.tif") for d in _V_FULL)},
}


def find_source(dataset: str, src: Path, sources: tuple[Source, ...], tiles: list[str],
                what: str, hint: str = "") -> Source:
    """The first of ``sources`` holding every tile in ``tiles``, else a one-line error."""
    for source in sources:
        present = [t for t in tiles if source.path(src, t).is_file()]
        if len(present) == len(tiles):
            return source
        if present:
            missing = [t for t in tiles if t not in present]
            raise DatasetNotFound(
                f"raw {dataset} {what} incomplete under {src / source.folder}: {len(missing)} of "
                f"{len(tiles)} tiles missing, e.g. {source.path(src, missing[0]).name}")
    expected = f"expected {' or '.join(s.describe() for s in sources)}"
    problem = elsewhere(src, sources) or (expected + hint if hint else nothing_found(sources))
    raise DatasetNotFound(f"raw {dataset} {what} not found under {src}: {problem}")


def elsewhere(src: Path, sources: tuple[Source, ...]) -> str:
    """What lies under ``src`` instead (archives, an mmseg folder, tiles in another folder)."""
    if not src.is_dir():
        return ""
    archives = sorted(p.name for p in src.glob("*.zip"))
    if archives:
        return (f"found the archive(s) {', '.join(archives)} not extracted; extract them under "
                f"{src} first, expected {sources[0].describe()}")
    if (src / "manifest.json").is_file():
        return f"{src} is a prepared folder (manifest.json), not raw tiles"
    if (src / "img_dir").is_dir() and (src / "ann_dir").is_dir():
        return (f"{src} is a folder prepared by mmseg's converter (img_dir/, ann_dir/); it needs "
                f"no preparation: point the task's dataset root at it")
    for folder, count in tiles_by_folder(src, sources).items():
        return (f"found {count} tiles under {folder}; expected "
                f"{' or '.join(s.describe() for s in sources)} (pass --src so that the tiles' "
                f"folder is one of these, or rename it)")
    return ""


def tiles_by_folder(src: Path, sources: tuple[Source, ...], depth: int = 3) -> dict[Path, int]:
    """Folders under ``src`` (``depth`` levels) holding files named as ``sources`` expect."""
    suffixes = {s.pattern.split("{tile}")[1] for s in sources}
    prefixes = {s.pattern.split("{tile}")[0] for s in sources}
    found: dict[Path, int] = {}
    for folder, dirs, files in os.walk(src):
        if len(Path(folder).relative_to(src).parts) >= depth:
            dirs.clear()
        n = sum(1 for f in files if any(f.startswith(p) for p in prefixes)
                and any(f.endswith(s) and not _longer_suffix(f, s) for s in suffixes))
        if n:
            found[Path(folder)] = n
    return found


def _longer_suffix(name: str, suffix: str) -> bool:
    """``area1_noBoundary.tif`` ends with ``.tif`` too: a full-label pattern must not take it."""
    return suffix == ".tif" and name.endswith("_noBoundary.tif")


def nothing_found(sources: tuple[Source, ...]) -> str:
    return (f"expected {' or '.join(s.describe() for s in sources)}; ISPRS data must be "
            f"requested by hand at {ISPRS_URL} (no automatic download)")


def label_hint(dataset: str, src: Path, labels: str, bands_variant: str) -> str:
    """For absent eroded labels: where the full ones are and which variant prepares from them."""
    if labels != "eroded":
        return ""
    found = tiles_by_folder(src, LABEL_SOURCES[dataset]["full"]) if src.is_dir() else {}
    if not found:
        return ""
    folder, count = next(iter(found.items()))
    return (f"; found {count} full (not eroded) labels under {folder} (torchgeo's download has "
            f"only these): pass --variant "
            f"{bands_variant}-full to prepare from them (not mmseg's protocol), or extract the "
            f"eroded labels ({LABEL_SOURCES[dataset]['eroded'][0].describe()})")
