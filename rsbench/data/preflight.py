"""Pre-flight: every file a run will read is decoded and checked before anything trains.

A truncated test image found after 160k training iterations loses the whole run; a listed image
that a reader silently skips changes the number without a word. So before a protocol sees its
data, every sample of every split is read exactly as its dataset reads it (full decode, not
only the header) and checked: the file exists and decodes, has the bands the reader expects,
a segmentation mask matches its image in size and holds only class indices or the ignore
index, a detection box overlaps its image and names a known class, and each split has as many
samples as the split file lists. Every problem found goes into ONE :class:`DataError` naming
the files (first few and how many) and what to do.

The verdict is kept by ``rsbench.hashcache`` under one key per checked file set (every file's
path, size, mtime and inode, plus what the check depends on), so a re-run only stats the files;
a file rewritten or truncated since has another version and is checked again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rsbench import hashcache
from rsbench.data.errors import DataError, named
from rsbench.data.rows import SEP, container

SPLITS = ("train", "val", "test")
VERSION = 1  # bump when the checks change: old verdicts must not vouch for new rules
PROBE_SAMPLES = 32  # checked in the calling thread first, to time a sample's check
SLOW_SAMPLE_S = 1e-3  # above this a sample's check waits on decoding or I/O: threads pay
#: PIL modes whose ``convert("RGB")`` keeps three colour bands (a greyscale file has one).
COLOUR_MODES = ("RGB", "RGBA", "RGBX", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def sample_parts(dataset, sample) -> tuple:
    """The root-relative paths of the files one sample reads: its image (and mask or annotation)."""
    return sample if hasattr(dataset, "read_mask") or hasattr(dataset, "adapter") else sample[:1]


def sample_paths(dataset, sample) -> list[Path]:
    """The files one sample reads: its image (and mask or annotation file)."""
    return [container(dataset.root / rel) for rel in sample_parts(dataset, sample)]  # a row key: its file


def sample_files(dataset, sample) -> list[str]:
    """:func:`sample_paths` as strings, joined without building a ``Path`` per file: a re-check
    of a suite's files is a stat each, and a ``Path`` costs several times a stat to build."""
    root = str(dataset.root)
    return [os.path.join(root, rel) if SEP not in rel else str(container(dataset.root / rel))
            for rel in map(str, sample_parts(dataset, sample))]


def rgb_problem(path: Path) -> str | None:
    """``RGBReader``'s file in one open: the header's bands, then Pillow's full decode (what the
    reader's ``convert("RGB")`` runs; converting a decoded image of these modes cannot fail).
    Opening once halves the check of a small JPEG, whose header Pillow parses in Python."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode not in COLOUR_MODES:
            return f"has {len(img.getbands())} band(s) (mode {img.mode}), expected 3 (RGB)"
        img.load()
    return None


def colour_bands(path: Path, reader) -> str | None:
    """Why the file's bands do not fit ``reader`` (None when they do), from its header."""
    from PIL import Image

    from rsbench.data.decode import RasterReader, RGBReader

    if isinstance(reader, RGBReader):
        with Image.open(path) as img:
            if img.mode not in COLOUR_MODES:
                return f"has {len(img.getbands())} band(s) (mode {img.mode}), expected 3 (RGB)"
    elif isinstance(reader, RasterReader):
        import rasterio

        with rasterio.open(path) as src:
            if src.count < max(reader.indexes):
                return f"has {src.count} band(s), expected at least {max(reader.indexes)}"
    return None


def scene_problem(dataset, sample) -> tuple[str | None, bool]:
    """Classification: the image's bands, then a full decode through the dataset's reader."""
    from rsbench.data.decode import RGBReader

    path = dataset.root / sample[0]
    if type(dataset.reader) is RGBReader:  # exactly it: a subclass may read otherwise
        return rgb_problem(path), False
    wrong = colour_bands(path, dataset.reader)
    if wrong:
        return wrong, False
    dataset.reader(path)
    return None, False


def mask_problem(dataset, sample, num_classes: int, ignore: int) -> tuple[str | None, bool]:
    """Segmentation: a 3-band image and a same-size mask of class indices or ``ignore``."""
    from rsbench.data.decode import read_image

    image = read_image(dataset.root / sample[0])
    if image.shape[0] != 3:
        return f"has {image.shape[0]} band(s), expected 3", False
    mask = np.asarray(dataset.read_mask(dataset.root / sample[1]))
    if mask.shape != tuple(image.shape[-2:]):
        return (f"its mask {sample[1]} is {mask.shape}, the image {tuple(image.shape[-2:])}",
                False)
    bad = (mask >= num_classes) & (mask != ignore)
    if bad.any():
        return (f"its mask {sample[1]} holds value {int(mask[bad][0])}, neither a class "
                f"(0..{num_classes - 1}) nor ignore ({ignore})"), False
    return None, bool((mask == ignore).all())


def box_problem(dataset, sample, num_classes: int) -> tuple[str | None, bool]:
    """Detection: a 3-band image whose boxes are finite, of known classes and overlap it."""
    adapter = dataset.adapter
    image = adapter.read_image(dataset.root / sample[0])
    if image.shape[0] != 3:
        return f"has {image.shape[0]} band(s), expected 3", False
    height, width = (int(v) for v in image.shape[-2:])
    ann = adapter.load_annotation(dataset.root, sample[0], sample[1])
    labels = ann.labels
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        return f"its annotation {sample[1]} has labels outside 0..{num_classes - 1}", False
    boxes = ann.boxes
    # A box partly past the edge is clipped by the reference readers; one wholly outside (or
    # not a number) belongs to another image or a corrupt file, and would vanish silently.
    outside = ~np.isfinite(boxes).all(1) | (boxes[:, 0] >= width) | (boxes[:, 1] >= height) \
        | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    if outside.any() and not getattr(adapter, "boxes_outside_dropped", False):
        box = [round(float(v), 1) for v in boxes[outside][0]]
        return (f"its annotation {sample[1]} has {int(outside.sum())} box(es) outside the "
                f"{width} x {height} image, e.g. xyxy {box}"), False
    return None, False


def problem_of(data, dataset, sample) -> tuple[str | None, bool]:
    """``(what is wrong or None, whether the mask is all ignore)`` for one sample."""
    for n, path in enumerate(sample_paths(dataset, sample)):
        # The image is the item named; its mask or annotation file is named inside the reason.
        kind = "mask" if hasattr(dataset, "read_mask") else "annotation"
        which = f"its {kind} {sample[n]} " if n else ""
        if not path.is_file():
            return f"{which}missing", False
        # An empty annotation file is an image without objects (a DOTA or xView tile).
        if path.stat().st_size == 0 and (n == 0 or kind == "mask"):
            return f"{which}empty (0 bytes)", False
    k = len(data.classes)
    try:
        if hasattr(dataset, "read_mask"):
            return mask_problem(dataset, sample, k, getattr(data, "ignore_index", 255))
        if hasattr(dataset, "adapter"):
            return box_problem(dataset, sample, k)
        return scene_problem(dataset, sample)
    except Exception as err:  # any decoder's error: the file is named, the reason kept whole
        reason = " ".join(str(err).split())
        for rel, path in zip(sample, sample_paths(dataset, sample), strict=False):
            reason = reason.replace(str(path), str(rel))
        return f"read failed ({type(err).__name__}: {reason})", False


def split_counts(data) -> dict[str, int]:
    """The per-split sample counts the bundle's split file lists."""
    try:
        doc = json.loads(Path(data.split_file).read_text(encoding="utf-8"))
        return {s: len(doc[s]) for s in SPLITS}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def unique_paths(parts: list) -> list[str]:
    """Every file the splits read, once each (xView's one GeoJSON serves every image)."""
    return list(dict.fromkeys(path for _, dataset in parts for sample in dataset.samples
                              for path in sample_files(dataset, sample)))


def check_identity(data, parts: list) -> tuple:
    """What a sample's verdict depends on besides its files: the readers and the classes."""
    first = parts[0][1]
    return (VERSION, type(first).__name__, repr(getattr(first, "reader", None)),
            type(getattr(first, "adapter", None)).__name__, len(data.classes),
            getattr(data, "ignore_index", None))


def verdict_key(data, parts: list, files: list[str]) -> str:
    """The cache key of one bundle's check: what it depends on and every file's version
    (``files``: :func:`unique_paths` of ``parts``)."""
    versions = [hashcache.file_version(path) for path in files]
    samples = [(split, [list(map(str, s)) for s in d.samples]) for split, d in parts]
    return hashcache.key_of("preflight", (check_identity(data, parts), samples, versions))


def sample_verdict(data, identity: tuple, dataset, sample) -> tuple[str | None, bool]:
    """``problem_of`` one sample, remembered in this process by its files' versions, so tasks
    over overlapping samples (label fractions, several protocols) decode each file once."""
    try:
        versions = [hashcache.file_version(p) for p in sample_files(dataset, sample)]
    except OSError:
        return problem_of(data, dataset, sample)  # missing: named there
    key = hashcache.key_of("preflight_sample", (identity, versions))
    kept = hashcache.lookup(key)
    if kept is not None:
        return None, kept == "ignore"
    why, ignored = problem_of(data, dataset, sample)
    if why is None:  # the set's verdict goes to disk; a sample's stays in memory
        hashcache.store(key, "ignore" if ignored else "ok", on_disk=False)
    return why, ignored


def preflight(data, task: str = "", metric: str = "", workers: int | None = None
              ) -> dict[str, float]:
    """Check every file of every split of ``data`` (see the module docstring).

    Args:
        data: a bundle (``SplitData`` subclass) whose ``train``/``val``/``test`` datasets hold
            ``root`` and ``samples``.
        task: the task name, for messages.
        metric: the task's primary metric, for the message of a test split with no label.
        workers: decoding threads (default: up to 8, the CPUs there are), used where a
            sample's check is slow enough to gain from them (:func:`verdicts_of`).

    Returns:
        Timings for the record: ``preflight_s``, ``preflight_files``, ``preflight_cached``
        (1.0 when the verdict was kept from an earlier run of the same files) and
        ``preflight_all_ignore`` (masks with no labelled pixel, each also warned about).

    Raises:
        DataError: files are missing, empty, undecodable or wrong, or a split holds another
            number of samples than its split file lists.
        MetricUndefined: the test split is empty, or every mask of it is ignore (nothing
            could be scored).
    """
    start = time.perf_counter()
    parts = [(s, d) for s in SPLITS if (d := getattr(data, s, None)) is not None and len(d)]
    where = f"{task}: dataset {data.dataset!r} at {data.root}"
    test = getattr(data, "test", None)
    if parts and test is not None and len(test) == 0:
        from rsbench.errors import MetricUndefined

        # Found here, before any feature is extracted or anything trains, not at scoring time.
        raise MetricUndefined(f"{where}: the test split is empty, so '{metric or 'the metric'}' "
                              "has nothing to score (too few images per class for the split's "
                              "ratios?); give the dataset more images or another split")
    if not parts:  # nothing to read, nothing to check (the protocol says what it lacks)
        return {"preflight_s": 0.0, "preflight_files": 0.0, "preflight_cached": 0.0,
                "preflight_all_ignore": 0.0}
    counts = split_counts(data)
    short = [f"{s} has {len(d)} samples, its split file {counts[s]}" for s, d in parts
             if s in counts and counts[s] != len(d)]
    if short:
        raise DataError(f"{where}: {'; '.join(short)} ({data.split_file}); the dataset changed "
                        f"under the split: restore it or move the split file away")
    files = unique_paths(parts)
    n_files = len(files)
    try:
        key = verdict_key(data, parts, files)
    except OSError:
        key = None  # a file is missing: checked below, where it is named
    kept = hashcache.lookup(key) if key else None
    if kept is not None:
        summary = json.loads(kept)
    else:
        summary = checked_files(data, parts, (task, where, metric), workers)
        if key:
            hashcache.store(key, json.dumps(summary))
    if summary["all_ignore"]:
        print(f"[rsbench] {where}: warning: {len(summary['all_ignore'])} mask(s) have no labelled "
              f"pixel (all ignore), e.g. {named(summary['all_ignore'])}; they add nothing to "
              f"training or scores", file=sys.stderr, flush=True)
    return {"preflight_s": time.perf_counter() - start, "preflight_files": float(n_files),
            "preflight_cached": float(kept is not None),
            "preflight_all_ignore": float(len(summary["all_ignore"]))}


def verdicts_of(jobs: list, check: Callable[[list], list], workers: int) -> list:
    """``check(jobs)`` (a list of jobs to their verdicts, in order), in this thread or, where a
    sample's check is slow, the rest of them in ``workers`` threads.

    Threads pay only where a check waits on decoding or on the disk (which release the GIL); a
    small or uncompressed file is mostly Pillow's header parsing in Python, which a second
    thread only slows (UC Merced's 256 px TIFFs: 1.17 s for 2,100 on 1 thread, 1.68 s on 2;
    LoveDA's PNG pairs: 1.38 s on 1, 1.01 s on 2). So the first ``PROBE_SAMPLES`` are checked
    here and timed, and the rest go to a pool only when one took over ``SLOW_SAMPLE_S``, a few
    contiguous chunks per worker (a pool task per sample cost more than checking a 32 px TIFF:
    0.65 against 0.31 ms).
    """
    found = check(jobs[:1])  # the first also imports the decoder's plugin: not timed
    start = time.perf_counter()
    found += check(jobs[1:PROBE_SAMPLES])
    rest = jobs[PROBE_SAMPLES:]
    slow = (time.perf_counter() - start) / max(1, len(found) - 1) > SLOW_SAMPLE_S
    if workers == 1 or not slow or not rest:
        return found + check(rest)
    size = -(-len(rest) // (4 * workers))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        chunks = pool.map(check, [rest[i:i + size] for i in range(0, len(rest), size)])
        return found + [verdict for chunk in chunks for verdict in chunk]


def checked_files(data, parts: list, names: tuple[str, str, str], workers: int | None) -> dict:
    """Decode and check every sample; raise for any problem, else what the cache keeps.

    ``names`` is ``(task, where, metric)`` for the messages.
    """
    task, where, metric = names
    jobs = [(split, d, smp) for split, d in parts for smp in d.samples]
    workers = workers or min(8, os.cpu_count() or 1)
    identity = check_identity(data, parts)

    def verdicts(chunk: list) -> list[tuple[str | None, bool]]:
        return [sample_verdict(data, identity, job[1], job[2]) for job in chunk]

    found = verdicts_of(jobs, verdicts, workers)
    bad = [f"{job[2][0]} ({why})" for job, (why, _) in zip(jobs, found, strict=True) if why]
    if bad:
        raise DataError(f"{where}: {len(bad)} of {len(jobs)} samples fail the pre-flight check: "
                        f"{named(bad)}; replace or remove them (re-extract the archive or "
                        f"prepare the dataset again) and run again; nothing was trained")
    ignored = {split: [job[2][1] for job, (_, empty) in zip(jobs, found, strict=True)
                       if empty and job[0] == split] for split, _ in parts}
    for split, dataset in parts:
        if len(ignored[split]) == len(dataset) and split in ("train", "test"):
            if split == "test":
                from rsbench.errors import MetricUndefined

                raise MetricUndefined(
                    f"{task}: primary metric '{metric}' is undefined: every mask "
                    f"of the test split is all ignore ({named(ignored[split])}), so it gives "
                    f"nothing to score (found before training); check its labels")
            raise DataError(f"{where}: every mask of the train split is all ignore "
                            f"({named(ignored[split])}); nothing to learn from: check its labels")
    return {"all_ignore": sorted(m for ms in ignored.values() for m in ms)}
