"""Load any supported checkpoint into an encoder, and refuse a load that would leave it random.

The pipeline is the package read top to bottom: ``open_source`` (safe reading, shapes only),
``to_timm`` (find the encoder, name it the timm way), ``fit_to_target`` (resample what a new image
size, patch size or band count requires), then a ``LoadReport`` counting parameters. The target's
shapes come from a model on the meta device, so checking a 15B checkpoint allocates nothing.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import torch

from rsbench import console
from rsbench.backbones import Backbone, InputSpec, build_backbone
from rsbench.backbones.base import Pool
from rsbench.backbones.factory import build_timm_model
from rsbench.backbones.vit import MLP_SIBLINGS, variant_for_keys
from rsbench.checkpoints import hf, infer
from rsbench.checkpoints.adapt import fit_to_target
from rsbench.checkpoints.digest import file_sha256
from rsbench.checkpoints.formats import to_timm
from rsbench.checkpoints.report import LoadReport, encoder_group, summarise
from rsbench.checkpoints.safe_load import CheckpointError
from rsbench.checkpoints.sources import Source, open_source, tagged


def encoder_shapes(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    """The target's state-dict shapes (built headless, so every key is encoder)."""
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def prefix_tokens(model: torch.nn.Module) -> int:
    """Leading tokens that carry position embeddings (none when the class token has none)."""
    if getattr(model, "no_embed_class", False):
        return 0
    return int(getattr(model, "num_prefix_tokens", 1))


def patch_grid(model: torch.nn.Module) -> tuple[int, int] | None:
    """The target's patch grid (rows, columns), for non-square inputs."""
    grid = getattr(getattr(model, "patch_embed", None), "grid_size", None)
    return (int(grid[0]), int(grid[1])) if grid is not None else None


def target_eps(model: torch.nn.Module) -> float:
    """The target's LayerNorm epsilon (timm's 1e-6 when it has none)."""
    norm = next((m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)), None)
    return float(norm.eps) if norm is not None else infer.TIMM_EPS


def target_act(model: torch.nn.Module) -> str:
    """The target's MLP activation as a timm ``act_layer`` name (``gelu``, ``gelu_tanh``...)."""
    blocks = getattr(model, "blocks", None)
    act = getattr(getattr(blocks[0], "mlp", None), "act", None) if blocks else None
    if act is None:
        return "gelu"
    name = type(act).__name__
    if name in ("GELU", "GELUTanh"):
        tanh = name == "GELUTanh" or getattr(act, "approximate", "none") == "tanh"
        return "gelu_tanh" if tanh else "gelu"
    return {"QuickGELU": "quick_gelu", "ReLU": "relu", "SiLU": "silu"}.get(name, name.lower())


def params_by_group(keys: list[str], shapes: dict[str, tuple[int, ...]]) -> dict[str, int]:
    """Parameter counts of ``keys`` per encoder group (``blocks.3``, ``pos_embed``...)."""
    out: dict[str, int] = {}
    for key in keys:
        group = encoder_group(key)
        out[group] = out.get(group, 0) + math.prod(shapes[key])
    return out


def float_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype of ``model``'s floating-point parameters (fp32 unless it was cast)."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def casting(source: Source, dtype: torch.dtype) -> Source:
    """``source`` whose floating tensors arrive in ``dtype``, read and cast one at a time.

    A tensor already in ``dtype`` is handed on as read (no copy); any other is cast as soon
    as it is read and the original dropped before the next is read, so a bf16 load of an
    fp32 file holds the bf16 weights plus one fp32 tensor, never a full fp32 copy.
    """
    def read(keys: list[str]) -> dict[str, torch.Tensor]:
        out = {}
        for key in keys:
            tensor = source.read([key])[key]
            out[key] = tensor.to(dtype) if tensor.is_floating_point() else tensor
            del tensor  # released now, not when the next read returns
        return out

    return replace(source, read=read)


def convert_into(source: Source, model: torch.nn.Module, arch: str) -> tuple[dict, LoadReport]:
    """The checkpoint's encoder fitted to ``model``'s shapes, and the report of how it fitted.

    Tensors are read in ``model``'s floating dtype (``casting``); resampling, where a new image
    or patch size needs it, is computed in fp32 from those values."""
    shapes = encoder_shapes(model)
    converted = to_timm(casting(source, float_dtype(model)), set(shapes))
    state_dict, resampled, mismatched = fit_to_target(
        converted.state_dict, shapes, prefix_tokens(model), patch_grid(model))
    not_loaded = [k for k in shapes if k not in state_dict]
    warnings = list(converted.warnings)
    if "hf_config" in source.info:
        warnings += hf.config_warnings(source.info["hf_config"], shapes, target_eps(model),
                                       target_act(model))
    if not converted.state_dict:
        warnings.append(f"no checkpoint key matched a {arch} encoder key under any prefix")
    if converted.unexpected:
        warnings.append(f"{len(converted.unexpected)} checkpoint keys under the encoder prefix "
                        f"fit no {arch} key (a deeper or different model?)")
    report = LoadReport(
        path=str(source.path), arch=arch, storage=source.storage, format=converted.format,
        sha256=None, prefix=converted.prefix, matched=len(state_dict), total_keys=len(shapes),
        params_loaded=sum(math.prod(shapes[k]) for k in state_dict),
        params_total=sum(math.prod(s) for s in shapes.values()),
        missing=[k for k in not_loaded if k not in mismatched],
        unexpected=converted.unexpected, mismatched=mismatched, resampled=resampled,
        ignored=summarise(converted.ignored), ignored_count=len(converted.ignored),
        warnings=warnings, missing_params=params_by_group(not_loaded, shapes),
    )
    return state_dict, report


def naming(err: CheckpointError, path: Path) -> CheckpointError:
    """``err`` with the checkpoint path in front when its message does not name it already."""
    return err if str(path) in str(err) else CheckpointError(f"{path}: {err}")


def load_checkpoint(
    path_or_dir: str | Path,
    arch: str,
    input_spec: InputSpec | None = None,
    pool: Pool = "cls",
    *,
    model: torch.nn.Module | None = None,
    shapes_only: bool = False,
    **overrides: Any,
) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """A flat timm encoder state dict for ``arch`` from any supported checkpoint, and its report.

    Args:
        path_or_dir: a torch file, a ``.safetensors`` file, a DCP folder or a Hugging Face folder.
        arch: a backbone name (``rsbench ls models``), ``timm:<name>``, or ``auto``: the
            architecture the checkpoint carries (``rsbench.checkpoints.infer``).
        input_spec: size and bands of the target; tensors are resampled to fit it.
        pool: the target's pooling (does not change the keys of registered ViTs).
        model: the timm model to fit; built on the meta device from the arguments when omitted.
        shapes_only: read no tensor data: the state dict holds meta tensors and the report is
            the same (a report depends on shapes only; ``rsbench inspect``). A conversion that
            builds tensors (q/k/v fusing, resampling) then builds nothing either.
        **overrides: timm keyword overrides of the architecture, e.g. ``depth=2``.

    Returns:
        Tensors keyed like ``model.state_dict()`` (only keys that load), and the ``LoadReport``.

    Raises:
        CheckpointError: the file is unreadable, refused as unsafe, or not a checkpoint.
    """
    if arch.startswith("zoo:"):  # torchgeo's models, read in their released layout (rsbench.zoo)
        from rsbench.zoo.load import zoo_checkpoint

        return zoo_checkpoint(path_or_dir, arch, input_spec, pool, **overrides)
    path = Path(path_or_dir)
    try:
        source = open_source(path)
        if shapes_only:
            source = tagged(source, torch.float32)
        if arch == infer.AUTO:
            inference = infer.infer_arch(path, source)
            arch, overrides = inference.arch, {**inference.overrides, **overrides}
        chosen = variant_for_keys(arch, source.shapes)
        if model is None:
            model = build_timm_model(chosen, input_spec or InputSpec(), pool, device="meta",
                                     **overrides)
        state_dict, report = convert_into(source, model, chosen)
        report.sha256 = file_sha256(path)
        report.arch_source = infer.remembered(path, arch, overrides)
    except CheckpointError as err:
        raise naming(err, path) from None
    if chosen != arch:
        report.warnings.append(f"{arch} requested; the checkpoint's MLP keys are those of "
                               f"{chosen}, which was built")
    return state_dict, report


def checkpoint_arch(path_or_dir: str | Path, arch: str) -> str:
    """The architecture to build for ``arch`` (its MLP sibling when the keys say so)."""
    if arch not in MLP_SIBLINGS:
        return arch  # nothing to choose: the checkpoint is not opened twice
    try:
        return variant_for_keys(arch, open_source(Path(path_or_dir)).shapes)
    except CheckpointError as err:
        raise naming(err, Path(path_or_dir)) from None


def load_backbone(
    path_or_dir: str | Path,
    arch: str,
    input_spec: InputSpec | None = None,
    pool: Pool = "cls",
    allow_partial: bool = False,
    dtype: torch.dtype | None = None,
    **overrides: Any,
) -> Backbone:
    """A ``Backbone`` filled from a checkpoint, with ``backbone.load_report`` set.

    The encoder is built on the meta device and its tensors are then taken from the file as
    they are (``load_state_dict(assign=True)``): nothing is randomly initialised only to be
    overwritten, and no second copy of the weights is made (a memory-mapped torch file or a
    safetensors read is the model's storage). Only a partial load (``allow_partial``) or an
    encoder with state outside its state dict is built the ordinary way, randomly initialised,
    and then overwritten where the checkpoint has tensors.

    Args:
        path_or_dir: the checkpoint (any format ``load_checkpoint`` reads).
        arch: the backbone name, or ``auto`` (inferred from the checkpoint).
        input_spec: bands, statistics and size; ImageNet RGB at 224 px when omitted.
        pool: ``"cls"`` or ``"avg"``.
        allow_partial: accept a load that fills under 99% of encoder parameters.
        dtype: the parameters' dtype (``torch.bfloat16`` for frozen protocols under bf16);
            each tensor is cast as it is read (``casting``). fp32 when None.
        **overrides: timm keyword overrides of the architecture.

    Raises:
        CheckpointError: unreadable or unsafe file, or a partial load without ``allow_partial``.
    """
    if arch.startswith("zoo:"):  # torchgeo's models, read in their released layout (rsbench.zoo)
        from rsbench.zoo.load import load_zoo

        return load_zoo(path_or_dir, arch, input_spec, pool, allow_partial, dtype, **overrides)
    if arch == infer.AUTO:
        inference = infer.infer_arch(path_or_dir)
        infer.checked_pool(inference, pool, path_or_dir)
        arch, overrides = inference.arch, {**inference.overrides, **overrides}
    built = checkpoint_arch(path_or_dir, arch)
    backbone = build_backbone(built, input_spec, pool, device="meta", **overrides)
    if dtype is not None:
        backbone.model.to(dtype)  # on the meta device: nothing is allocated
    state_dict, report = load_checkpoint(path_or_dir, arch, model=backbone.model, **overrides)
    report.allow_partial = allow_partial
    if not report.complete:
        if not allow_partial:
            raise CheckpointError(report.refusal())
        report.warnings.append(f"only {report.fraction_loaded:.1%} of encoder parameters loaded; "
                               "the rest are random (run allowed by --allow-partial)")
    if fills_everything(backbone.model, state_dict):
        backbone.model.load_state_dict(in_dtypes_of(backbone.model, state_dict), assign=True)
    else:
        backbone = build_backbone(built, input_spec, pool, **overrides)
        if dtype is not None:
            backbone.model.to(dtype)
        result = backbone.model.load_state_dict(state_dict, strict=False)
        if result.unexpected_keys:  # to_timm only keeps target keys; this would be a bug here
            raise RuntimeError(f"unexpected keys after conversion: {result.unexpected_keys[:5]}")
    backbone.load_report = report
    return backbone


def fills_everything(model: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> bool:
    """Whether ``state_dict`` provides every tensor of ``model`` (non-persistent buffers,
    which no state dict holds, are computed at construction and so need the ordinary build)."""
    persistent = set(model.state_dict())
    everything = {n for n, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}
    return everything <= persistent and persistent <= set(state_dict)


def in_dtypes_of(model: torch.nn.Module, state_dict: dict[str, torch.Tensor]) -> dict:
    """``state_dict`` with each tensor in the dtype of the model's own (a bf16 checkpoint
    loads into an fp32 model as fp32); tensors already in that dtype are not copied."""
    target = model.state_dict()
    return {k: v if v.dtype == target[k].dtype else v.to(target[k].dtype)
            for k, v in state_dict.items()}


def inspect_command(
    path: str | Path, arch: str, as_json: bool = False, arch_overrides: dict | None = None
) -> int:
    """``rsbench inspect``: print the load report; 0 when loadable, 1 when below the threshold.

    ``arch_overrides`` are timm keyword overrides; ``img_size`` among them sets the target size
    (224 px otherwise, so a checkpoint trained at another size shows its position-embedding
    resampling). With ``arch="auto"`` the target is the inferred model at the size its position
    embedding was trained at, pooled as the checkpoint's model was.
    """
    overrides = dict(arch_overrides or {})
    size, pool = overrides.pop("img_size", None), cast(Pool, "cls")
    if arch == infer.AUTO:
        inference = infer.infer_arch(path)
        arch, overrides = inference.arch, {**inference.overrides, **overrides}
        size = size or inference.img_size
        pool = "avg" if inference.pool == "avg" else "cls"  # the only two the inference names
    spec = InputSpec(img_size=int(size)) if size is not None else None
    _, report = load_checkpoint(path, arch, spec, pool, shapes_only=True, **overrides)
    print(report.to_json() if as_json else report.to_text())
    if report.complete:
        return 0
    if not as_json:
        console.error(report.refusal())
    return 1
