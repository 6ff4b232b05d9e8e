"""Build a zoo model and fill it from a local weight file in the layout torchgeo releases it in.

torchgeo's builders load ``weights.get_state_dict()`` — the file its weights URL points to, a
plain state dict keyed like torchgeo's module — with ``load_state_dict(strict=False)`` and an
assertion on which keys may be absent. rsbench reads the same file safely (``weights_only``,
``rsbench.checkpoints.sources``), holds it to the same rule and reports every tensor:

- a key the module has and the file lacks is an error, unless the entry lists it in
  ``defaults`` (torchgeo's allowed-missing keys), which keep the constructor's values;
- a file key the module does not have is an error, unless the entry ``ignored`` it (heads);
- a position embedding of another grid is resampled as rsbench does for any ViT; any other
  shape that does not fit is an error.

The module is built on the meta device and filled with ``assign=True``; defaulted keys of a
norm layer get its ``reset_parameters`` values (what the constructor gives). Any other module
state the file does not give means an ordinary CPU build, then overwritten.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, cast

import torch

from rsbench.backbones.base import Pool
from rsbench.backbones.input_spec import InputSpec
from rsbench.checkpoints.adapt import fit_to_target
from rsbench.checkpoints.digest import file_sha256
from rsbench.checkpoints.load import in_dtypes_of, naming
from rsbench.checkpoints.report import LoadReport, summarise
from rsbench.checkpoints.safe_load import CheckpointError
from rsbench.checkpoints.sources import open_source
from rsbench.zoo.backbone import ZooBackbone
from rsbench.zoo.entry import ZooEntry


def build_zoo(arch: str, input_spec: InputSpec | None = None, pool: Pool = "cls",
              device: str | torch.device | None = None, **overrides: Any) -> ZooBackbone:
    """A randomly initialised zoo backbone (``"meta"``: shapes only, no memory)."""
    from rsbench.backbones.factory import build_backbone

    backbone = build_backbone(arch, input_spec, pool, device, **overrides)
    assert isinstance(backbone, ZooBackbone)  # the zoo family wraps every zoo: arch so
    return backbone


def listed(key: str, names: frozenset[str]) -> bool:
    """Whether ``key`` is one of ``names`` or lies under one (``s1_encoder`` covers its keys)."""
    return key in names or any(key.startswith(f"{n}.") for n in names)


def patch_grid(model: torch.nn.Module) -> tuple[int, int] | None:
    """The patch grid of the module's ViT (nested one level for Panopticon), or None."""
    for owner in (model, getattr(model, "model", None)):
        grid = getattr(getattr(owner, "patch_embed", None), "grid_size", None)
        if grid is not None:
            return (int(grid[0]), int(grid[1]))
    return None


def checked_keys(entry: ZooEntry, file_keys: set[str], target: set[str]) -> tuple[list[str], list[str]]:
    """``(defaulted, ignored)`` keys, or a ``CheckpointError`` for any other difference."""
    absent = sorted(target - file_keys)
    extra = sorted(file_keys - target)
    missing = [k for k in absent if not listed(k, entry.defaults)]
    unexpected = [k for k in extra if not listed(k, entry.ignored)]
    if missing or unexpected:
        parts = ([f"lacks {len(missing)} key(s) of torchgeo's module ({', '.join(missing[:4])})"]
                 if missing else [])
        parts += ([f"has {len(unexpected)} key(s) the module has not ({', '.join(unexpected[:4])})"]
                  if unexpected else [])
        raise CheckpointError(f"not a zoo:{entry.name} weight file in torchgeo's layout: "
                              f"{'; '.join(parts)}")
    return [k for k in absent if listed(k, entry.defaults)], extra


def zoo_report(path: Path, arch: str, storage: str, prefix: str, shapes: dict[str, tuple[int, ...]],
               loaded: dict[str, torch.Tensor], defaulted: list[str], ignored: list[str],
               resampled: dict[str, str]) -> LoadReport:
    """The load report of a zoo load: every module tensor either loaded or a named default."""
    warnings = ([f"{len(defaulted)} key(s) not in the released file keep torchgeo's constructor "
                 f"values, as torchgeo's own loader leaves them: {', '.join(defaulted)}"]
                if defaulted else [])
    return LoadReport(
        path=str(path), arch=arch, storage=storage, format="torchgeo", sha256=file_sha256(path),
        prefix=prefix, matched=len(loaded), total_keys=len(shapes),
        params_loaded=sum(math.prod(shapes[k]) for k in loaded),
        params_total=sum(math.prod(shapes[k]) for k in shapes if k not in defaulted),
        resampled=resampled, ignored=summarise(ignored), ignored_count=len(ignored),
        warnings=warnings)


def covered(model: torch.nn.Module, keys: set[str]) -> bool:
    """Whether ``keys`` name every tensor of ``model`` (a non-persistent buffer, computed at
    construction, needs the ordinary build)."""
    persistent = set(model.state_dict())
    everything = {n for n, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}
    return everything <= persistent and persistent <= keys


def reset_owners(model: torch.nn.Module, defaulted: list[str]) -> list[torch.nn.Module] | None:
    """The modules owning ``defaulted`` keys, when each has only such tensors and rebuilds
    its constructor values with ``reset_parameters`` (a norm layer); None otherwise."""
    modules = dict(model.named_modules())
    owners = {key.rpartition(".")[0] for key in defaulted}
    out = []
    for name in sorted(owners):
        module = modules.get(name)
        own = {f"{name}.{k}" for k, _ in module.named_parameters(recurse=False)} if module else set()
        if module is None or not hasattr(module, "reset_parameters") or not own <= set(defaulted):
            return None
        out.append(module)
    return out


def load_zoo(path_or_dir: str | Path, arch: str, input_spec: InputSpec | None = None,
             pool: Pool = "cls", allow_partial: bool = False, dtype: torch.dtype | None = None,
             **overrides: Any) -> ZooBackbone:
    """A zoo backbone filled from its released weight file, with ``load_report`` set.

    ``allow_partial`` is accepted for the loader's signature: a zoo file either fits
    torchgeo's module as torchgeo requires or is refused.

    Raises:
        CheckpointError: unreadable or unsafe file, or one that is not the entry's layout.
    """
    path = Path(path_or_dir)
    backbone = build_zoo(arch, input_spec, pool, device="meta", **overrides)
    entry, model = backbone.entry, backbone.model
    if dtype is not None:
        model.to(dtype)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    try:
        source = open_source(path)
        prefix = entry.file_prefix  # module key = prefix + file key
        defaulted, ignored = checked_keys(entry, {prefix + k for k in source.shapes}, set(shapes))
        wanted = [k for k in shapes if k not in defaulted]
        # resampling knows keys by their ViT names (pos_embed), so it runs on the file's names
        inner = {k[len(prefix):]: shapes[k] for k in wanted}
        fitted, resampled, mismatched = fit_to_target(
            source.read(list(inner)), inner, 1, patch_grid(model))
        state_dict = {prefix + k: v for k, v in fitted.items()}
        resampled = {prefix + k: v for k, v in resampled.items()}
        if mismatched:
            raise CheckpointError(f"zoo:{entry.name}: shapes that do not fit torchgeo's module: "
                                  f"{', '.join(f'{k} {v}' for k, v in list(mismatched.items())[:4])}")
        report = zoo_report(path, arch, source.storage, prefix, shapes, state_dict, defaulted,
                            ignored, resampled)
    except CheckpointError as err:
        raise naming(err, path) from None
    resettable = reset_owners(model, defaulted)
    if resettable is not None and covered(model, set(state_dict) | set(defaulted)):
        model.load_state_dict(in_dtypes_of(model, state_dict), assign=True, strict=False)
        for module in resettable:  # LayerNorm's constructor values, allocated here
            module.to_empty(device="cpu", recurse=False)
            cast(Any, module).reset_parameters()  # checked by reset_owners
    else:  # the constructor's values for the defaulted keys and non-persistent buffers
        backbone = build_zoo(arch, input_spec, pool, **overrides)
        if dtype is not None:
            backbone.model.to(dtype)
        backbone.model.load_state_dict(state_dict, strict=False)
    backbone.load_report = report
    return backbone


def zoo_checkpoint(path_or_dir: str | Path, arch: str, input_spec: InputSpec | None = None,
                   pool: Pool = "cls", **overrides: Any) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """``load_checkpoint`` for a zoo arch (``rsbench inspect``): the filled module's tensors and
    the report, on the entry's default weights' input spec when none is given."""
    from rsbench.zoo import zoo_entry
    from rsbench.zoo.spec import zoo_input_spec

    entry = zoo_entry(arch)
    spec = input_spec or zoo_input_spec(entry, None, arch)
    offered = pool if pool in entry.pools else cast(Pool, next(iter(entry.pools)))
    backbone = load_zoo(path_or_dir, arch, spec, offered, **overrides)
    return backbone.model.state_dict(), backbone.load_report
