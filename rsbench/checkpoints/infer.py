"""``--arch auto``: the architecture a checkpoint carries, as a registered name plus overrides.

Dimensions come from the tensors (``vit_shapes``); what the tensors cannot say comes from the
metadata the format carries: a Hugging Face ``config.json`` (heads, ``layer_norm_eps``,
``hidden_act``), MAE's saved ``args`` (the model name, ``global_pool``), Lightning's
``hyper_parameters`` (a head count or a model name). Without metadata the head count is a stated
assumption: that of the registered arch with the same width, else a head dimension of 64. Metadata
that contradicts the tensors, or heads that cannot be told, are refused: a wrong guess would load
every weight and still compute other features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rsbench.backbones.vit import VIT_ARCHS
from rsbench.checkpoints import hf
from rsbench.checkpoints.arch_names import named_arch, registered_overrides
from rsbench.checkpoints.safe_load import CheckpointError
from rsbench.checkpoints.sources import Source, open_source
from rsbench.checkpoints.vit_shapes import ASK, VitDims, vit_dims

AUTO = "auto"
TIMM_EPS = 1e-6  # timm's LayerNorm default, what a target without override uses
HEAD_KEYS = ("num_heads", "num_attention_heads", "heads", "n_heads")
# Fields that name the model (MAE's args.model...); paths such as args.resume are not read.
NAME_KEYS = ("model", "arch", "backbone", "model_name", "encoder")
# A card resolves ``auto`` once; the runner then loads by the resolved name, and this lets that
# load's report still say where the name came from (keyed by the checkpoint's resolved path).
_REMEMBERED: dict[str, Inference] = {}


@dataclass(frozen=True)
class Inference:
    """The architecture inferred for a checkpoint.

    Attributes:
        arch: a registered name (``rsbench ls models``).
        overrides: JSON-plain timm keyword overrides making ``arch`` the checkpoint's model.
        evidence: where each fact came from, for the load report.
        pool: the pooling the checkpoint's model used when it says so (``avg`` without a class
            token or with MAE's ``global_pool``), else None.
        img_size: the image size the position embedding was trained at.
    """

    arch: str
    overrides: dict[str, Any] = field(default_factory=dict)
    evidence: str = ""
    pool: str | None = None
    img_size: int = 224

    def arch_source(self) -> str:
        """The load report's line: ``"inferred from ...; built as vit_tiny_patch16 + depth=2"``."""
        built = " + ".join([self.arch, *(f"{k}={v}" for k, v in self.overrides.items())])
        return f"{self.evidence}; built as {built}"


def refusal(source: Source, why: str) -> CheckpointError:
    """The one-line error for a checkpoint whose architecture cannot be told."""
    return CheckpointError(f"{source.path}: --arch auto: {why}; {ASK}")


def hf_facts(source: Source, dims: VitDims) -> tuple[int | None, dict, list[str]]:
    """Heads, overrides and evidence from Hugging Face ``config.json`` (or, for HF weights
    without one, transformers' defaults); nothing for other formats."""
    config = source.info.get("hf_config")
    if config is None and not any(k.endswith(hf.SIGNATURE) for k in source.shapes):
        return None, {}, []
    config = config or {}
    for name, have in (("hidden_size", dims.embed_dim), ("num_hidden_layers", dims.depth),
                       ("intermediate_size", dims.mlp_dim), ("patch_size", dims.patch_size)):
        if config.get(name, have) != have:
            raise refusal(source, f"config.json {name}={config[name]} but the weights have {have}")
    notes = [f"{name} {hf.config_value(config, name)} from "
             + ("config.json" if name in config else "transformers' default")
             for name in hf.HF_DEFAULTS]
    overrides: dict[str, Any] = {}
    eps = float(hf.config_value(config, "layer_norm_eps"))
    if eps != TIMM_EPS:
        overrides["layer_norm_eps"] = eps
    act = hf.config_value(config, "hidden_act")
    if act not in hf.HF_ACTS:
        raise refusal(source, f"config.json hidden_act={act!r} has no timm equivalent here")
    if hf.HF_ACTS[act] != "gelu":
        overrides["act_layer"] = hf.HF_ACTS[act]
    heads = config.get("num_attention_heads")
    if heads is not None:
        notes.insert(0, f"heads {heads} from config.json num_attention_heads")
    return heads, overrides, notes


def named_heads(source: Source, dims: VitDims) -> tuple[int | None, str | None]:
    """Heads from a head count or a model name in MAE ``args`` or Lightning hyper-parameters."""
    for where, values in (("MAE args", source.info.get("training_args", {})),
                          ("Lightning hyper_parameters", source.info.get("hyper_parameters", {}))):
        counts = {k: v for k, v in values.items()
                  if k.split(".")[-1] in HEAD_KEYS and type(v) is int}
        if len(set(counts.values())) == 1:
            key, heads = next(iter(counts.items()))
            return heads, f"heads {heads} from {where} {key}"
        for key, value in values.items():
            named_field = key.split(".")[-1] in NAME_KEYS and isinstance(value, str)
            arch = named_arch(value) if named_field else None
            if arch is None:
                continue
            named = VIT_ARCHS[arch]
            if named.embed_dim != dims.embed_dim:
                raise refusal(source, f"{where} {key}={value!r} names width {named.embed_dim}, "
                                      f"the weights have {dims.embed_dim}")
            return named.num_heads, f"heads {named.num_heads} from {where} {key}={value!r}"
    return None, None


def assumed_heads(source: Source, dims: VitDims) -> tuple[int, str]:
    """Heads when nothing names them: the registered arch of this width, else head dim 64."""
    same = [n for n, a in VIT_ARCHS.items() if a.embed_dim == dims.embed_dim and a.mlp == dims.mlp]
    if same:
        heads = VIT_ARCHS[same[0]].num_heads
        return heads, f"heads {heads} assumed from {same[0]}, whose width matches"
    if dims.embed_dim % 64 == 0:
        heads = dims.embed_dim // 64
        return heads, f"heads {heads} assumed from head dim 64"
    raise refusal(source, f"the number of attention heads is not in the checkpoint, width "
                          f"{dims.embed_dim} matches no registered arch and is not a multiple of 64")


def structural_overrides(dims: VitDims) -> dict[str, Any]:
    """Overrides for what the registered ViTs do not have (no qkv bias, registers...)."""
    out: dict[str, Any] = {}
    flags = [("qkv_bias", not dims.qkv_bias, False), ("class_token", not dims.class_token, False),
             ("reg_tokens", dims.reg_tokens > 0, dims.reg_tokens),
             ("no_embed_class", dims.no_embed_class, True),
             ("init_values", dims.layer_scale, 1e-5),  # any value: the checkpoint's gammas load
             ("qk_norm", dims.qk_norm, True), ("pre_norm", dims.pre_norm, True),
             ("fc_norm", dims.fc_norm, True)]
    for name, applies, value in flags:
        if applies:
            out[name] = value
    return out


def infer_from_source(source: Source) -> Inference:
    """The ``Inference`` for an opened checkpoint (see the module docstring for the rules)."""
    dims = vit_dims(source)
    heads, config_overrides, notes = hf_facts(source, dims)
    if heads is None:
        heads, why = named_heads(source, dims)
        if heads is None:
            heads, why = assumed_heads(source, dims)
        notes.insert(0, str(why))
    if heads <= 0 or dims.embed_dim % heads:
        raise refusal(source, f"{heads} heads do not divide width {dims.embed_dim}")
    if int(dims.embed_dim * (dims.mlp_dim / dims.embed_dim)) != dims.mlp_dim:
        raise refusal(source, f"mlp width {dims.mlp_dim} is not int(width * mlp_ratio) for any "
                              "ratio timm can be given")
    arch, dim_overrides = registered_overrides(dims, heads)
    overrides = {**dim_overrides, **structural_overrides(dims), **config_overrides}
    agree = " (config.json agrees)" if "hf_config" in source.info else ""
    evidence = "; ".join([f"inferred from tensor shapes: {dims.summary()}{agree}", *notes])
    args = source.info.get("training_args", {})
    why_avg = ("MAE args global_pool=True" if args.get("global_pool") is True
               else "no class token" if not dims.class_token
               else "fc_norm after pooling" if dims.fc_norm else None)
    pooled = why_avg is not None
    if pooled:
        evidence += f"; pool avg ({why_avg})"
    return Inference(arch=arch, overrides=overrides, evidence=evidence,
                     pool="avg" if pooled else None, img_size=dims.img_size)


def infer_arch(path: str | Path, source: Source | None = None) -> Inference:
    """The architecture of the checkpoint at ``path`` (``source`` when already opened),
    remembered so that later loads of it can say in their report where it came from."""
    inference = infer_from_source(source or open_source(path))
    _REMEMBERED[str(Path(path).resolve())] = inference
    return inference


def checked_pool(inference: Inference, pool: str, path: str | Path) -> None:
    """Refuse class-token pooling of a checkpoint that has no class token."""
    if pool == "cls" and inference.overrides.get("class_token") is False:
        raise CheckpointError(f"{path}: --arch auto: the checkpoint has no class token; "
                              "pool 'avg' (--pool avg, or pool: avg in the model card)")


def remembered(path: str | Path, arch: str, overrides: dict[str, Any]) -> str | None:
    """The ``arch_source`` line of an earlier ``infer_arch`` on ``path`` when ``arch`` and
    ``overrides`` are what it inferred (other overrides, e.g. drop path, may be added)."""
    inference = _REMEMBERED.get(str(Path(path).resolve()))
    if inference is None or inference.arch != arch:
        return None
    if any(k not in overrides or overrides[k] != v for k, v in inference.overrides.items()):
        return None
    return inference.arch_source()


def card_arch(
    checkpoint: str | None, overrides: dict[str, Any], pool: str | None
) -> tuple[str, dict[str, Any], str]:
    """``(arch, arch_overrides, pool)`` of a model card whose arch is ``auto``.

    The inferred overrides come first, so the card's own ``arch_overrides`` win; ``pool`` is the
    card's, else the one the checkpoint's model used, else ``cls``.
    """
    if checkpoint is None:
        raise CheckpointError("arch auto needs a checkpoint to read the architecture from")
    inference = infer_arch(checkpoint)
    pool = pool or inference.pool or "cls"
    checked_pool(inference, pool, checkpoint)
    return inference.arch, {**inference.overrides, **overrides}, pool
