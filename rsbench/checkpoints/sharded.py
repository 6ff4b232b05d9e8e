"""An FSDP2-sharded encoder filled from the file, each rank reading only the rows it holds.

``fully_shard`` splits every parameter along dim 0 as ``torch.chunk`` does: with ``n`` rows over
``W`` ranks, rank ``r`` holds rows ``[r * ceil(n / W), ...)``, possibly none. After sharding
the meta-device model, ``to_empty`` allocates only those local shards (uninitialised, never
random), and each is copied from the same rows of the checkpoint tensor:

- safetensors: one ``pread`` of those rows' bytes (``rsbench.checkpoints.rows``);
- torch zip files: memory-mapped, so slicing a tensor touches only the pages of its rows;
- Hugging Face folders of such files, each key read from the file holding it; a q/k/v that
  the conversion fuses is read as the rows of the concatenation that the shard holds, from
  query, key and value in turn;
- DCP folders: ``dcp.load`` into the sharded model's DTensors, every rank at once; DCP's
  planner reads on each rank only the saved chunks its shards overlap
  (``rsbench.checkpoints.dcp.read_local_shards``); a fused q/k/v's shard is read as the rows
  it takes from query, key and value, each into a tensor of those rows;
- anything else (legacy torch files): rank 0 reads the full state dict and torch's
  ``set_model_state_dict(..., full_state_dict=True, broadcast_from_rank0=True)`` sends each
  tensor in turn, every rank keeping its shard.

A tensor the conversion resamples (a position embedding, a patch kernel) is read whole on each
rank and fitted as a full load fits it; it is small.

Which checkpoint key feeds which parameter is found by running the ordinary conversion over
meta tensors tagged with their source key, so the report is the one ``load_checkpoint`` gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import torch

from rsbench.backbones import Backbone, InputSpec, build_backbone
from rsbench.backbones.base import Pool
from rsbench.checkpoints import infer
from rsbench.checkpoints.digest import file_sha256
from rsbench.checkpoints.load import checkpoint_arch, convert_into, fills_everything, naming
from rsbench.checkpoints.rows import local_rows, rows_reader
from rsbench.checkpoints.safe_load import CheckpointError
from rsbench.checkpoints.sources import Source, open_source, tagged

SLICEABLE = ("safetensors", "torch-zip", "dcp")  # read rank by rank
Key = str | tuple[str, ...]  # a checkpoint key, or the keys a fused tensor joins along dim 0


def sliceable(source: Source) -> bool:
    """Whether each rank can read its rows of ``source``: a sliceable file or DCP folder, or
    a folder of sliceable files."""
    return all(part.storage in SLICEABLE for part in source.parts or [source])


def refitting(key: str, shape: tuple[int, ...], prefix: int, grid: tuple[int, int] | None) -> Rewrite:
    """The rewrite fitting ``key``'s checkpoint tensor to ``shape`` as a full load does."""
    from rsbench.checkpoints.adapt import fitted

    def rewrite(full: torch.Tensor) -> torch.Tensor:
        out = fitted(key, full, shape, prefix, grid)
        if out is None:  # the shapes-only conversion fitted this very tensor
            raise CheckpointError(f"{key}: cannot be fitted to {shape} at fill time")
        return out

    return rewrite


def fill_plan(source: Source, model: torch.nn.Module, shapes_only: dict[str, torch.Tensor],
              resampled: Sequence[str]) -> tuple[dict[str, Key] | None, dict[str, Rewrite]]:
    """``(target key -> checkpoint key, rewrites)`` for a rank-by-rank fill of ``model`` from
    ``source``, ``shapes_only`` being ``convert_into``'s result over ``tagged`` reads.

    A tensor the conversion resampled (``resampled``: a position embedding or patch kernel
    for another image or patch size) keeps its checkpoint key and is fitted at fill time as a
    full load fits it (``adapt.fitted``, on the values cast to the model's dtype), so one small
    resampled tensor does not send the whole file through rank 0. A fused q/k/v maps to the
    keys it joins. ``(None, {})`` when the storage cannot be sliced, or a conversion made a
    tensor otherwise: then rank 0 reads and broadcasts.
    """
    if not sliceable(source):
        return None, {}
    keys = {k: getattr(v, "rsbench_key", None) for k, v in shapes_only.items()}
    rewrites: dict[str, Rewrite] = {}
    if resampled:
        from rsbench.checkpoints.formats import to_timm
        from rsbench.checkpoints.load import encoder_shapes, patch_grid, prefix_tokens

        shapes = encoder_shapes(model)
        weights = next(model.parameters()).dtype
        stored = to_timm(tagged(source, weights), set(shapes)).state_dict  # before fitting
        for key in resampled:
            keys[key] = getattr(stored.get(key), "rsbench_key", None)
            rewrites[key] = refitting(key, tuple(shapes[key]), prefix_tokens(model),
                                      patch_grid(model))
    if any(v is None for v in keys.values()):
        return None, {}
    return keys, rewrites  # type: ignore[return-value]  # every value checked just above


def shard(model: torch.nn.Module, mesh) -> None:
    """FSDP2 as the engine applies it: ``fully_shard`` on each transformer block, then the root."""
    from torch.distributed.fsdp import fully_shard

    for block in getattr(model, "blocks", []):
        fully_shard(block, mesh=mesh)
    fully_shard(model, mesh=mesh)


Rewrite = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class ShardFill:
    """How to fill an encoder built on the meta device from its checkpoint once it is sharded.

    Attributes:
        source: the opened checkpoint (shapes only until ``into`` reads).
        arch: the architecture converted to (for the rank-0 conversion of unsliceable files).
        keys: target key -> checkpoint key (or the keys a fused tensor joins) when every
            tensor is read from a sliceable file (each rank reads its rows); None: rank 0
            reads and broadcasts.
        rewrites: target key -> function of the full checkpoint tensor giving the target's:
            the conversion's resampling (position embedding, patch kernel) and changes made
            to the meta model after it (a band subset of the patch embedding); such a tensor
            is read whole, so only small ones belong here.
    """

    source: Source
    arch: str
    keys: dict[str, Key] | None
    rewrites: dict[str, Rewrite] = field(default_factory=dict)
    bytes_read: int | None = None  # DCP: the stored bytes this rank read (set by ``into``)

    def rewrite(self, key: str, fn: Rewrite) -> None:
        """Fill ``key`` with ``fn(checkpoint tensor)`` (same dim 0, any other shape).

        Raises:
            CheckpointError: the file is filled by a rank-0 broadcast, which converts against
                the model's final shapes and so cannot take a rewrite.
        """
        if self.keys is None:
            raise CheckpointError(f"{self.source.path}: {key} is changed after loading (a band "
                                  "subset), which a sharded load does only from a sliceable file; "
                                  "save the checkpoint as .safetensors or run without --strategy fsdp")
        earlier = self.rewrites.get(key)  # a resampling the load made: it comes first, as there
        self.rewrites[key] = fn if earlier is None else (lambda full: fn(earlier(full)))

    def into(self, model: torch.nn.Module, device: str | torch.device = "cpu") -> str:
        """Allocate ``model``'s local shards on ``device`` (uninitialised, never random) and
        fill them; every rank calls it, after ``fully_shard``. Returns how it was read."""
        model.to_empty(device=device)
        if self.keys is None:
            broadcast_full(model, self.source, self.arch)
            return f"{self.source.storage}: rank 0 read the file and broadcast each tensor"
        if self.source.storage == "dcp":
            self.bytes_read = fill_from_dcp(model, self.source.path, self.keys, self.rewrites)
            return "dcp: each rank read the saved chunks its shards overlap"
        fill_from_slices(model, rows_reader(self.source), self.keys, self.rewrites)
        return f"{self.source.storage}: each rank read its rows"


def fill_from_slices(model: torch.nn.Module, read_rows, keys: dict[str, Key],
                     rewrites: dict[str, Rewrite] | None = None) -> None:
    """Copy each local shard of ``model`` from its rows of the checkpoint (cast by ``copy_``)."""
    rewrites = rewrites or {}
    with torch.no_grad():
        for name, param in model.state_dict().items():
            local, start, stop = local_rows(param)
            if stop <= start:
                continue
            if name in rewrites:  # the rewrite sees the tensor as the full load casts it
                whole = read_rows(keys[name], 0, param.shape[0]).to(local.dtype)
                local.copy_(rewrites[name](whole)[start:stop])
            else:
                local.copy_(read_rows(keys[name], start, stop))


def fill_from_dcp(model: torch.nn.Module, path: Path, keys: dict[str, Key],
                  rewrites: dict[str, Rewrite]) -> int:
    """Fill ``model``'s shards from a DCP folder, each rank reading the chunks its shards
    overlap; a fused tensor's shard from its rows of each part, a rewritten tensor whole (it
    is small: a patch embedding). Returns the stored bytes this rank read."""
    from rsbench.checkpoints import dcp

    meta = dcp.read_metadata(path)
    state = model.state_dict()
    plain = {n: k for n, k in keys.items() if isinstance(k, str) and n not in rewrites}
    owner: dict[str, str] = {}  # checkpoint key -> the first target it fills
    for name, key in plain.items():
        owner.setdefault(key, name)
    first_rows: dict[str, int] = {}
    parts = {name: part_rows(state[name], key, meta, first_rows)  # fused target -> its rows
             for name, key in keys.items() if not isinstance(key, str)}
    targets = {key: state[name] for key, name in owner.items()}
    targets.update((key, rows) for pieces in parts.values() for key, rows in pieces)
    read = dcp.read_local_shards(path, targets, meta, first_rows)
    with torch.no_grad():
        for name, key in plain.items():  # a checkpoint tensor feeding a second target (tied)
            if owner[key] != name:
                local_rows(state[name])[0].copy_(local_rows(state[owner[key]])[0])
        for name, pieces in parts.items():
            if pieces:
                local_rows(state[name])[0].copy_(torch.cat([rows for _, rows in pieces]))
        if rewrites:
            stored = {name: cast(str, keys[name]) for name in rewrites}  # never fused
            whole = dcp.read_dcp(path, list(stored.values()), meta)
            for name, fn in rewrites.items():
                local, start, stop = local_rows(state[name])
                tensor = whole[stored[name]]
                local.copy_(fn(tensor.to(local.dtype))[start:stop])
                read += tensor.numel() * tensor.element_size()
    return read


def part_rows(param: torch.Tensor, joined: tuple[str, ...], meta,
              first_rows: dict[str, int]) -> list[tuple[str, torch.Tensor]]:
    """``(part key, empty tensor of its rows)`` for each part of a fused tensor that this
    rank's shard of ``param`` overlaps, in order; the first row of each is set in
    ``first_rows``."""
    local, start, stop = local_rows(param)
    pieces, offset = [], 0
    for key in joined:
        rows = meta.state_dict_metadata[key].size[0]
        low, high = max(start, offset), min(stop, offset + rows)
        if low < high:
            first_rows[key] = low - offset
            pieces.append((key, torch.empty((high - low, *local.shape[1:]), dtype=local.dtype,
                                            device=local.device)))
        offset += rows
    return pieces


def resolved(path: Path, arch: str, pool: Pool, overrides: dict) -> tuple[str, dict]:
    """``arch`` and ``overrides`` with ``auto`` inferred from the checkpoint (as load_backbone)."""
    if arch != infer.AUTO:
        return arch, overrides
    inference = infer.infer_arch(path)
    infer.checked_pool(inference, pool, path)
    return inference.arch, {**inference.overrides, **overrides}


def lazy_backbone(path_or_dir: str | Path, arch: str, input_spec: InputSpec | None = None,
                  pool: Pool = "cls", dtype: torch.dtype | None = None,
                  allow_partial: bool = False, **overrides: Any) -> Backbone:
    """A lazy ``Backbone``: its encoder on the meta device, checked against the checkpoint
    (``load_report`` set, nothing read but shapes), with the ``ShardFill`` that fills it once
    sharded as ``backbone.shard_fill`` (``pending_fill``). The encoder holds no memory until
    ``ShardFill.into``.

    Raises:
        CheckpointError: as ``load_backbone``; also for a load that would leave parameters
            random (sharded loads are all-or-nothing) without ``allow_partial``.
    """
    path = Path(path_or_dir)
    arch, overrides = resolved(path, arch, pool, overrides)
    built = checkpoint_arch(path, arch)
    backbone = build_backbone(built, input_spec, pool, device="meta", **overrides)
    if dtype is not None:
        backbone.model.to(dtype)
    model = backbone.model
    weights = next(model.parameters()).dtype
    try:
        source = open_source(path)
        shapes_only, report = convert_into(tagged(source, weights), model, built)
        report.sha256 = file_sha256(path)
        report.arch_source = infer.remembered(path, arch, overrides)  # as load_checkpoint says
    except CheckpointError as err:
        raise naming(err, path) from None
    if built != arch:
        report.warnings.append(f"{arch} requested; the checkpoint's MLP keys are those of "
                               f"{built}, which was built")
    report.allow_partial = allow_partial
    if not report.complete and not allow_partial:
        raise CheckpointError(report.refusal())
    if not fills_everything(model, shapes_only):
        raise CheckpointError(f"{path}: a sharded load fills every encoder tensor from the file; "
                              f"{len(report.missing)} are missing (run without --strategy fsdp)")
    keys, rewrites = fill_plan(source, model, shapes_only, list(report.resampled))
    backbone.load_report = report
    setattr(backbone, "shard_fill", ShardFill(source, built, keys, rewrites))  # noqa: B010  (plain attribute)
    return backbone


def pending_fill(backbone: torch.nn.Module) -> ShardFill | None:
    """The ``ShardFill`` of a lazy backbone not yet filled, else None."""
    fill = getattr(backbone, "shard_fill", None)
    return fill if isinstance(fill, ShardFill) else None


def filled(backbone: torch.nn.Module, device: str | torch.device) -> str:
    """Fill a lazy ``backbone`` (its encoder sharded by now, or whole: each rank then reads
    all of it); records and returns how."""
    fill = pending_fill(backbone)
    if fill is None:
        raise RuntimeError("filled() called on a backbone that is not lazy")
    how = fill.into(backbone.model, device)  # type: ignore[arg-type]  # a Backbone's encoder
    setattr(backbone, "shard_fill", None)  # noqa: B010  (plain attributes, no nn.Module slots)
    setattr(backbone, "sharded_read", how)  # noqa: B010
    setattr(backbone, "sharded_bytes_read", fill.bytes_read)  # noqa: B010
    return how


def band_subset_later(backbone: torch.nn.Module, keep: tuple[int, ...] | None,
                      method: str | None) -> torch.nn.Module:
    """``backbone``; when lazy and a band plan reduces its patch embedding, the fill applies
    the same reduction to the checkpoint's kernel (the plan reduces the meta kernel's shape)."""
    fill = pending_fill(backbone)
    if fill is not None and keep is not None and method is not None:
        from rsbench.checkpoints.adapt import band_subset_weight

        fill.rewrite("patch_embed.proj.weight",
                     lambda weight: band_subset_weight(weight, keep, method))
    return backbone


def load_sharded(path_or_dir: str | Path, arch: str, input_spec: InputSpec | None = None,
                 pool: Pool = "cls", mesh=None, dtype: torch.dtype | None = None,
                 allow_partial: bool = False, device: str = "cpu", **overrides: Any) -> Backbone:
    """A ``Backbone`` whose encoder is FSDP2-sharded over ``mesh`` (default: the whole world,
    one dimension) and filled from the checkpoint as the module notes say; ``device`` is where
    the shards live (``cpu``, or ``cuda`` for this rank's GPU).

    The encoder itself is an FSDP unit here, which suits its state (gathered, saved), not a
    forward: ``Backbone`` calls its encoder through methods, which bypass that unit's hooks, so
    a sharded forward needs a root unit above the ``Backbone``, as ``shard_module`` makes.

    Called on every rank of an initialised process group, like ``fully_shard``. The backbone's
    ``load_report`` is the one ``load_backbone`` gives; ``sharded_read`` says how it was read.
    The engine's runs take the two steps apart: ``lazy_backbone`` before the trainer starts,
    then ``rsbench.engine.sharding.shard_module`` shards it and calls ``filled``.

    Raises:
        CheckpointError: as ``lazy_backbone``.
    """
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh

    backbone = lazy_backbone(path_or_dir, arch, input_spec, pool, dtype, allow_partial,
                             **overrides)
    mesh = mesh or init_device_mesh(torch.device(device).type, (dist.get_world_size(),))
    shard(backbone.model, mesh)
    filled(backbone, device)
    return backbone


def broadcast_full(model: torch.nn.Module, source: Source, arch: str) -> None:
    """Rank 0 converts the whole encoder; every rank keeps its shard of each broadcast tensor."""
    import torch.distributed as dist
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    full: dict[str, Any] = {}
    if dist.get_rank() == 0:  # a sharded model's state dict has the global shapes convert_into fits
        full, _ = convert_into(source, model, arch)
    set_model_state_dict(model, full, options=StateDictOptions(full_state_dict=True,
                                                               broadcast_from_rank0=True))
