"""Rows of checkpoint tensors, read one rank's dim-0 shard at a time.

``fully_shard`` splits every parameter along dim 0 as ``torch.chunk`` does (``row_range``);
``rows_reader`` reads just those rows of a checkpoint tensor: safetensors with one ``pread`` of
their byte range, memory-mapped torch zip files by slicing (only those pages are touched).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from rsbench.checkpoints.safe_load import CheckpointError
from rsbench.checkpoints.sources import Source


def row_range(rows: int, world: int, rank: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of a dim-0 ``torch.chunk`` shard (empty past the last chunk)."""
    size = math.ceil(rows / world) if rows else 0
    start = min(rows, rank * size)
    return start, min(rows, start + size)


SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16,
                      "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32,
                      "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}


def safetensors_rows(path: Path):
    """``(key, start, stop) -> tensor``: those rows read from the file with one ``pread``.

    The format is an 8-byte little-endian header length, a JSON header giving each tensor's
    dtype, shape and byte range after the header, then the row-major data, so rows
    ``[start, stop)`` are one contiguous byte range. Plain reads, unlike ``safe_open``'s
    memory map, leave no file pages in the process's resident set.
    """
    import json
    import os
    import weakref

    fd = os.open(path, os.O_RDONLY)
    header_len = int.from_bytes(os.pread(fd, 8, 0), "little")
    header = json.loads(os.pread(fd, header_len, 8))

    def read(key: str, start: int, stop: int) -> torch.Tensor:
        entry = header[key]
        dtype, shape = SAFETENSORS_DTYPES[entry["dtype"]], tuple(entry["shape"])
        row_bytes = math.prod(shape[1:]) * torch.empty(0, dtype=dtype).element_size()
        offset = 8 + header_len + entry["data_offsets"][0] + start * row_bytes
        data = bytearray((stop - start) * row_bytes)
        if os.preadv(fd, [data], offset) != len(data):
            raise CheckpointError(f"{path}: {key} ends past the end of the file (truncated?)")
        return torch.frombuffer(data, dtype=dtype).reshape((stop - start, *shape[1:]))

    weakref.finalize(read, os.close, fd)  # closed with the reader
    return read


def file_rows(source: Source):
    """``(key, start, stop) -> tensor`` reading only those rows of one file's tensor."""
    if source.storage == "safetensors":
        return safetensors_rows(source.path)
    return lambda key, start, stop: source.read([key])[key][start:stop]  # mmap: those pages only


def rows_reader(source: Source):
    """``(key, start, stop) -> tensor`` reading only those rows of a checkpoint tensor.

    ``key`` may also be a tuple of keys: the rows of their dim-0 concatenation (a fused q/k/v),
    each part read only where the rows overlap it. A folder's keys are read from the file
    holding them.
    """
    files = source.parts or [source]
    readers = [file_rows(part) for part in files]
    owner = {key: reader for part, reader in zip(files, readers, strict=True)
             for key in part.shapes}

    def read(key: str | tuple[str, ...], start: int, stop: int) -> torch.Tensor:
        if isinstance(key, str):
            return owner[key](key, start, stop)
        pieces, offset = [], 0
        for part in key:
            rows = source.shapes[part][0]
            low, high = max(start, offset), min(stop, offset + rows)
            if low < high:
                pieces.append(owner[part](part, low - offset, high - offset))
            offset += rows
        return torch.cat(pieces)

    return read


def local_rows(param: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """``(local tensor, start, stop)``: the rows of ``param`` this rank holds (all of a plain
    tensor; a DTensor's dim-0 ``torch.chunk`` shard along the mesh dimension that shards it,
    all of it where the mesh only replicates it, as HSDP's replica dimension does)."""
    from torch.distributed.tensor import DTensor, Shard

    if not isinstance(param, DTensor):
        return param, 0, param.shape[0] if param.dim() else 0
    mesh = param.device_mesh
    dims = [d for d, p in enumerate(param.placements) if isinstance(p, Shard) and p.dim == 0]
    if not dims:
        return param.to_local(), 0, param.shape[0] if param.dim() else 0
    start, stop = row_range(param.shape[0], mesh.size(dims[0]), mesh.get_local_rank(dims[0]))
    return param.to_local(), start, stop
