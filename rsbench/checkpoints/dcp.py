"""Read ``torch.distributed.checkpoint`` (DCP) directories in one process, without a process group.

A DCP checkpoint is a folder holding ``.metadata`` (a pickle describing every tensor: shape,
dtype, which ``__<rank>_<n>.distcp`` file and byte range holds each shard) and the shard files.
torch reads ``.metadata`` with plain ``pickle.load``, so a hostile folder could run code; here it
goes through an unpickler that admits only DCP's own metadata classes and the torch types they
hold. Tensors are then read by DCP itself into tensors we preallocate from that metadata (shards
are reassembled by DCP's planner); tensor payloads are read by torch with ``weights_only=True``.

``read_local_shards`` is the rank-local read of a sharded load: every rank of the process
group hands DCP its own shards (the DTensors of an FSDP2-sharded encoder), and DCP's planner
reads, on each rank, only the saved chunks those shards overlap. A folder saved by an N-rank
FSDP run holds each tensor as N row chunks, so each of N ranks reads about 1/N of it; a
folder saved by one process holds each tensor whole, which every rank then reads (tensor by
tensor: a rank never holds more than its shards and one saved tensor).
"""

from __future__ import annotations

import io
import pathlib
import pickle
import warnings
from pathlib import Path
from typing import Any, cast

import torch

from rsbench.checkpoints.safe_load import CheckpointError

METADATA_FILE = ".metadata"
DCP_MODULES = ("torch.distributed.checkpoint.metadata", "torch.distributed.checkpoint.filesystem")
PATH_CLASSES = {  # StorageMeta.checkpoint_id is the path the folder was saved to
    "PosixPath": pathlib.PurePosixPath, "PurePosixPath": pathlib.PurePosixPath,
    "WindowsPath": pathlib.PureWindowsPath, "PureWindowsPath": pathlib.PureWindowsPath,
}


def is_dcp_dir(path: Path) -> bool:
    """True when ``path`` is a folder with DCP's ``.metadata`` file."""
    return path.is_dir() and (path / METADATA_FILE).is_file()


def dcp_classes() -> dict[tuple[str, str], type]:
    """The data classes DCP pickles into ``.metadata``: dataclasses and enums its modules define.

    Readers, writers and functions are excluded: building or calling them could touch files.
    """
    import dataclasses
    import enum
    import importlib

    out = {}
    for module_name in DCP_MODULES:
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if (isinstance(obj, type) and obj.__module__ == module_name
                    and (dataclasses.is_dataclass(obj) or issubclass(obj, enum.Enum))):
                out[(module_name, name)] = obj
    return out


class MetadataUnpickler(pickle.Unpickler):
    """An unpickler for DCP ``.metadata``: DCP's data classes, torch dtypes/sizes and paths only."""

    allowed: dict[tuple[str, str], type] | None = None  # filled lazily: importing DCP costs a little

    def find_class(self, module: str, name: str) -> Any:
        if MetadataUnpickler.allowed is None:
            MetadataUnpickler.allowed = dcp_classes()
        allowed = MetadataUnpickler.allowed
        if (module, name) in allowed:
            return allowed[(module, name)]
        if module == "torch" and (name == "Size" or isinstance(getattr(torch, name, None), torch.dtype)):
            return getattr(torch, name)
        if (module, name) == ("torch.serialization", "_get_layout"):
            return torch.serialization._get_layout  # maps "torch.strided" to the layout object
        if module in ("pathlib", "pathlib._local") and name in PATH_CLASSES:
            return PATH_CLASSES[name]
        if (module, name) == ("collections", "OrderedDict"):
            return dict
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed in DCP metadata")


def read_metadata(path: Path) -> Any:
    """The ``Metadata`` object of a DCP folder, unpickled with the restricted unpickler."""
    meta_path = path / METADATA_FILE
    data = meta_path.read_bytes()
    if not data:
        raise CheckpointError(f"{meta_path}: empty DCP metadata file")
    try:
        meta = MetadataUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{meta_path}: refused ({err}); nothing was executed") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise CheckpointError(f"{meta_path}: truncated or corrupt DCP metadata ({err})") from None
    if not hasattr(meta, "state_dict_metadata"):
        raise CheckpointError(f"{meta_path}: not DCP metadata (got {type(meta).__name__})")
    return meta


def dcp_shapes(meta: Any) -> dict[str, tuple[int, ...]]:
    """Shapes of every tensor entry, by DCP's flattened dotted key (non-tensors skipped)."""
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata

    return {k: tuple(v.size) for k, v in meta.state_dict_metadata.items()
            if isinstance(v, TensorStorageMetadata)}


def safe_reader(path: Path, meta: Any) -> Any:
    """A DCP ``FileSystemReader`` that returns our already-vetted metadata instead of unpickling,
    counting in ``bytes_read`` the stored bytes of every saved chunk it reads."""
    from torch.distributed.checkpoint import FileSystemReader

    class VettedMetadataReader(FileSystemReader):
        bytes_read = 0

        def read_metadata(self, *args: Any, **kwargs: Any) -> Any:
            return meta

        def read_data(self, plan: Any, planner: Any) -> Any:
            # FileSystemReader reads each item's whole stored byte range (one saved chunk).
            self.bytes_read += sum(self.storage_data[item.storage_index].length
                                   for item in plan.items)
            return super().read_data(plan, planner)

    return VettedMetadataReader(str(path))


def loaded(path: Path, state: dict[str, Any], reader: Any, no_dist: bool,
           planner: Any = None) -> None:
    """``dcp.load`` of ``state`` in place through ``reader`` (and ``planner``, None: DCP's
    default); DCP's failures as one line."""
    import torch.distributed.checkpoint as dcp

    try:
        with warnings.catch_warnings():  # "assuming the intent is to load in a single process"
            warnings.simplefilter("ignore")
            dcp.load(state, storage_reader=reader, planner=planner, no_dist=no_dist)
    except Exception as err:  # DCP wraps reader failures in its own exception types
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: could not read DCP shards ({first})") from None


def rows_planner(first_rows: dict[str, int]) -> Any:
    """DCP's default load planner, except that the plain tensor of a key in ``first_rows``
    holds that key's rows from ``first_rows[key]`` on (as many as it has), not from row 0:
    the rows of a fused q/k/v that a rank's shard takes from one of its parts."""
    import dataclasses

    from torch.distributed.checkpoint.default_planner import (
        DefaultLoadPlanner,
        create_default_local_load_plan,
    )
    from torch.distributed.checkpoint.metadata import ChunkStorageMetadata
    from torch.distributed.checkpoint.planner_helpers import create_read_items_for_chunk_list

    class RowsPlanner(DefaultLoadPlanner):
        def create_local_plan(self) -> Any:
            # The targets' keys are the folder's own flattened keys (read_local_shards checks),
            # so the default plan needs none of DefaultLoadPlanner's old-version key matching.
            rows = {key: tensor for key, tensor in self.state_dict.items() if key in first_rows}
            others = {key: value for key, value in self.state_dict.items() if key not in rows}
            metadata = cast(Any, self.metadata)  # set by set_up_planner before this is called
            plan = create_default_local_load_plan(others, metadata, True)
            saved = metadata.state_dict_metadata
            chunks = {key: ChunkStorageMetadata(
                offsets=torch.Size([first_rows[key]] + [0] * (tensor.dim() - 1)), sizes=tensor.size())
                for key, tensor in rows.items()}
            items = [item for key, chunk in chunks.items()
                     for item in create_read_items_for_chunk_list(key, saved[key], [chunk])]
            return dataclasses.replace(plan, items=[*plan.items, *items])

        def lookup_tensor(self, index: Any) -> torch.Tensor:
            if index.fqn in first_rows:  # DCP finds a plain tensor by offset 0 only
                return self.state_dict[index.fqn]
            return super().lookup_tensor(index)

    return RowsPlanner()


def read_local_shards(path: Path, targets: dict[str, torch.Tensor], meta: Any | None = None,
                      first_rows: dict[str, int] | None = None) -> int:
    """Fill ``targets`` (flattened DCP key -> tensor, DTensor or local shard) in place from a
    DCP folder; returns the stored bytes this rank read (see the module notes). A plain tensor
    of a key in ``first_rows`` is filled with that key's rows from ``first_rows[key]`` on.

    Called on every rank of the initialised process group at once (DCP plans collectively);
    without one, in this process alone. Each value is filled in its own dtype (cast as read).
    """
    import torch.distributed as dist

    meta = meta if meta is not None else read_metadata(path)
    missing = [k for k in targets if k not in meta.state_dict_metadata]
    if missing:
        raise CheckpointError(f"{path}: DCP checkpoint has no tensor {missing[0]!r}")
    reader = safe_reader(path, meta)
    loaded(path, dict(targets), reader, no_dist=not (dist.is_available() and dist.is_initialized()),
           planner=rows_planner(first_rows) if first_rows else None)
    return reader.bytes_read


def read_dcp(path: Path, keys: list[str], meta: Any | None = None) -> dict[str, torch.Tensor]:
    """Tensors ``keys`` of a DCP folder, full size on the CPU, read in this process alone.

    Args:
        path: the DCP folder.
        keys: flattened keys as listed by ``dcp_shapes``; only these are read from disk.
        meta: its metadata when already read.
    """
    meta = meta if meta is not None else read_metadata(path)
    entries = meta.state_dict_metadata
    missing = [k for k in keys if k not in entries]
    if missing:
        raise CheckpointError(f"{path}: DCP checkpoint has no tensor {missing[0]!r}")
    state = {k: torch.empty(tuple(entries[k].size), dtype=entries[k].properties.dtype) for k in keys}
    loaded(path, state, safe_reader(path, meta), no_dist=True)
    return state
