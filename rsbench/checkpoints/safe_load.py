"""Read untrusted checkpoint files without ever running code from them.

A checkpoint is input from strangers: a pickle can name any importable callable and the
unpickler will call it. Every ``torch.load`` here uses ``weights_only=True`` (torch's restricted
unpickler) with a short allow-list of harmless globals that real checkpoints carry. When torch
refuses a file we scan the pickle statically (``pickletools`` parses, it never executes) to name
the offending global in a one-line ``CheckpointError``.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import pickle
import pickletools
import re
import zipfile
from pathlib import Path
from typing import Any, cast

import torch

from rsbench.errors import RsbenchError

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
# What a file that is not a checkpoint usually is, so that the error can say so.
FOREIGN_MAGIC = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image", b"\x89HDF": "an HDF5 file (Keras/TensorFlow weights?)",
    b"\x1f\x8b": "a gzip archive", b"\x93NUMPY": "a NumPy .npy array", b"GGUF": "a GGUF file",
    b"%PDF": "a PDF document",
}
LFS_POINTER = b"version https://git-lfs"
# Lightning 1.x pickled hyper-parameters as an AttributeDict; torch only lets plain dict
# types receive items, so they are rebuilt as an OrderedDict (a stand-in: no Lightning code
# is imported or run).
ATTRIBUTE_DICT_PATHS = (
    "pytorch_lightning.utilities.parsing.AttributeDict",
    "lightning.pytorch.utilities.parsing.AttributeDict",
    "lightning.fabric.utilities.data.AttributeDict",
    "lightning_fabric.utilities.data.AttributeDict",
)


class CheckpointError(RsbenchError):
    """A checkpoint that cannot be used; the message is one line naming the file and why."""


def numpy_safe_globals() -> list[Any]:
    """NumPy scalar and dtype rebuilders (e.g. a ``best_acc`` saved as ``np.float64``).

    ``scalar`` rebuilds one value from a dtype and raw bytes, ``dtype`` a type descriptor;
    neither can call anything the rest of the allow-list does not already permit. Arrays
    (``_reconstruct``) are left out: model weights are tensors.
    """
    try:
        import numpy as np
    except ImportError:  # numpy is optional for torch
        return []
    core = getattr(np, "_core", None) or np.core
    scalar = core.multiarray.scalar
    dtypes = [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType")]
    # Files written under numpy 1.x name ``numpy.core``; under 2.x ``numpy._core``.
    return [np.dtype, *dtypes, (scalar, "numpy.core.multiarray.scalar"),
            (scalar, "numpy._core.multiarray.scalar")]


def safe_globals() -> list[Any]:
    """Globals allowed in addition to torch's own weights-only set, each harmless to build.

    ``argparse.Namespace`` holds the training arguments of official MAE checkpoints; paths and
    ``frozenset`` are plain values; Lightning's AttributeDict becomes an OrderedDict.
    """
    return [
        argparse.Namespace,
        frozenset,
        pathlib.PurePosixPath,
        pathlib.PosixPath,
        pathlib.PureWindowsPath,
        # A Windows path cannot be instantiated on Linux; read it as a pure path instead.
        (pathlib.PureWindowsPath, "pathlib.WindowsPath"),
        *((collections.OrderedDict, p) for p in ATTRIBUTE_DICT_PATHS),
        *numpy_safe_globals(),
    ]


def allowed_global_names() -> set[str]:
    """Dotted names the restricted unpickler accepts (torch's defaults plus ours)."""
    names = {g[1] if isinstance(g, tuple) else f"{g.__module__}.{g.__qualname__}"
             for g in safe_globals()}
    try:  # private torch API; without it the diagnosis is only less precise
        from torch._weights_only_unpickler import _get_allowed_globals

        names |= set(_get_allowed_globals())
    except ImportError:
        pass
    return names


def sniff(path: Path) -> str:
    """``"zip"``, ``"pickle"`` or ``"safetensors"`` from the first bytes, else a CheckpointError."""
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path}: empty file (0 bytes); the download or copy was interrupted?")
    with path.open("rb") as f:
        head = f.read(32)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) >= 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") <= size - 8:
        return "safetensors"
    kind = next((name for magic, name in FOREIGN_MAGIC.items() if head.startswith(magic)), None)
    if head.startswith(LFS_POINTER):
        kind = "a Git LFS pointer; fetch the real file with `git lfs pull`"
    if kind is None and head.isascii():
        kind = "a text file"
    raise CheckpointError(
        f"{path}: not a checkpoint ({kind or f'unrecognised content {head[:8]!r}'}); expected a "
        "PyTorch file (.pth/.pt/.bin/.ckpt), .safetensors, a DCP directory or a Hugging Face folder"
    )


def pickle_bytes(path: Path, kind: str) -> bytes:
    """The pickle stream of a torch file: ``data.pkl`` inside a zip, else the file itself."""
    if kind == "zip":
        with zipfile.ZipFile(path) as zf:
            name = next(n for n in zf.namelist() if n.endswith("data.pkl"))
            return zf.read(name)
    return path.read_bytes()


def globals_in_pickle(data: bytes, max_pickles: int = 5) -> list[str]:
    """Every global a pickle stream names, found by parsing only (nothing is executed).

    Legacy torch files are several pickles back to back, hence ``max_pickles``. STACK_GLOBAL
    takes its module and name from the two strings pushed before it, possibly via the memo.
    Raises ``ValueError`` when the stream is truncated or corrupt.
    """
    found: list[str] = []
    pos = 0
    for _ in range(max_pickles):
        strings: list[str] = []  # every string pushed, in order
        memo: dict[int, str | None] = {}
        top: str | None = None  # the string on top of the stack, if the top is one
        for op, arg, at in pickletools.genops(data[pos:]):
            if op.name == "GLOBAL":
                found.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                found.append(f"{strings[-2]}.{strings[-1]}")
            if isinstance(arg, str) and "UNICODE" in op.name:
                top = arg
                strings.append(arg)
            elif op.name == "MEMOIZE":
                memo[len(memo)] = top
            elif op.name in ("BINPUT", "LONG_BINPUT", "PUT"):
                memo[int(cast(int, arg))] = top
            elif op.name in ("BINGET", "LONG_BINGET", "GET") and memo.get(int(cast(int, arg))):
                top = memo[int(cast(int, arg))]
                strings.append(cast(str, top))
            else:
                top = None
            if op.name == "STOP":
                pos += cast(int, at) + 1
                break
        if pos >= len(data) or data[pos : pos + 1] != b"\x80":
            break
    return found


def refusal(path: Path, kind: str, err: Exception) -> CheckpointError:
    """Explain why torch's restricted unpickler refused ``path``, naming the offending global."""
    try:
        names = globals_in_pickle(pickle_bytes(path, kind))
    except (ValueError, KeyError, StopIteration, zipfile.BadZipFile):
        return CheckpointError(f"{path}: truncated or corrupt pickle data")
    allowed = allowed_global_names()
    bad = [n for n in dict.fromkeys(names) if n not in allowed]
    if bad:
        return CheckpointError(
            f"{path}: refused to unpickle global {bad[0]!r}"
            + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else "")
            + "; checkpoints may only hold tensors and plain data, so nothing was executed"
        )
    inner = re.sub(r"\s+", " ", str(err).split("error:")[-1]).strip()[:200]
    return CheckpointError(f"{path}: unsupported pickle content ({inner})")


def read_torch(path: Path) -> Any:
    """The object in a ``torch.save`` file, read with ``weights_only=True`` on the CPU.

    Zip-format files are memory-mapped, so tensors nobody asks for are never read from disk
    (a tens-of-GB checkpoint with optimizer state costs only what the encoder needs).
    """
    kind = sniff(path)
    if kind == "safetensors":
        raise CheckpointError(f"{path}: this is a safetensors file; read it with read_safetensors")
    try:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(path, map_location="cpu", weights_only=True, mmap=kind == "zip")
    except pickle.UnpicklingError as err:
        raise refusal(path, kind, err) from None
    except (RuntimeError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as err:
        other = foreign_zip(path) if kind == "zip" else None
        if other:
            raise CheckpointError(f"{path}: {other}") from None
        raise CheckpointError(f"{path}: truncated or corrupt checkpoint ({first_sentence(err)})") from None


def foreign_zip(path: Path) -> str | None:
    """What a readable zip that ``torch.load`` refused is instead, or None (then it is damaged)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        return ("a TorchScript archive (torch.jit.save), which is a program, not weights; "
                "save model.state_dict() with torch.save instead")
    if not any(n.endswith("data.pkl") for n in names):
        return "a zip archive but not a torch.save file (no data.pkl inside)"
    return None


def first_sentence(err: Exception) -> str:
    """The first line and sentence of an error message (torch appends paragraphs of advice)."""
    text = str(err).strip()
    return text.splitlines()[0].split(". ")[0][:160] if text else type(err).__name__


def safetensors_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors header (no tensor data is read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except Exception as err:  # safetensors raises its own error types, Rust-side
        raise CheckpointError(f"{path}: corrupt safetensors file ({str(err).splitlines()[0]})") from None


def read_safetensors(path: Path, keys: list[str] | None = None) -> dict[str, torch.Tensor]:
    """Tensors ``keys`` (all when None) from a safetensors file, on the CPU."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in (f.keys() if keys is None else keys)}
    except Exception as err:
        raise CheckpointError(f"{path}: corrupt safetensors file ({str(err).splitlines()[0]})") from None
