"""Recognise a checkpoint's convention by its keys and convert it to a flat timm encoder state dict.

In the spirit of timm's ``checkpoint_filter_fn``: pure functions over key names decide what a file
is. The encoder inside a container is found by matching against the *target* model's keys: every
dotted prefix of every source key is a candidate (``model.``, ``module.``, ``state_dict.model.
backbone.``...), and the one under which most target keys appear wins. So Lightning modules,
DDP/FSDP wrappers, MAE's ``{'model': ...}`` and DCP's flattened keys need no per-format prefix list.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import torch

from rsbench.checkpoints import hf
from rsbench.checkpoints.sources import Source

# Inserted by wrappers at any depth (FSDP1, activation checkpointing, torch.compile); never real.
WRAPPER_INFIXES = ("_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod.")
# Weights that belong to pretraining or task heads, not the encoder: reported as 'ignored'
# (``fc`` at the root: the classifier of timm's and torchvision's ResNets).
NON_ENCODER = re.compile(
    r"(^|\.)(decoder\w*|mask_token|head\w*|fc_norm|pooler|classifier|predictor|projector|"
    r"prototypes|dino_head|ibot_head|target_encoder_head)(\.|$)|^fc\."
)


@dataclass
class Converted:
    """The encoder found in a checkpoint, in timm names, before any resampling.

    Attributes:
        state_dict: timm-named tensors the target has keys for.
        format: the convention: ``timm``, ``mae``, ``lightning``, ``hf-vit`` or ``hf-vitmae``.
        prefix: what was stripped to reach the encoder's keys.
        ignored: source keys deliberately not loaded (heads, decoders, other modules, optimizer).
        unexpected: source keys under the encoder prefix that fit nothing in the target.
        warnings: facts the user should see (architecture disagreements, ambiguous prefixes).
    """

    state_dict: dict[str, torch.Tensor]
    format: str
    prefix: str
    ignored: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def strip_wrappers(key: str) -> str:
    """``key`` without wrapper infixes such as ``_fsdp_wrapped_module.``."""
    for infix in WRAPPER_INFIXES:
        key = key.replace(infix, "")
    return key


def prefix_counts(keys: list[str], target_keys: set[str]) -> Counter:
    """For every dotted prefix, how many keys become a target key once it is stripped."""
    counts: Counter = Counter()
    for key in keys:
        parts = key.split(".")
        for i in range(len(parts)):
            if ".".join(parts[i:]) in target_keys:
                counts[".".join(parts[:i]) + ("." if i else "")] += 1
    return counts


def best_prefix(keys: list[str], target_keys: set[str]) -> tuple[str, list[str]]:
    """The prefix that uncovers the most target keys (shortest on ties), and any equal rivals."""
    counts = prefix_counts(keys, target_keys)
    if not counts:
        return "", []
    ranked = sorted(counts, key=lambda p: (-counts[p], len(p), p))
    best = ranked[0]
    return best, [p for p in ranked[1:] if counts[p] == counts[best]]


def convention(source: Source, keys: list[str], prefix: str) -> str:
    """Name the convention a (non-HF) checkpoint follows, from its structure and keys."""
    if "lightning_version" in source.info:
        return "lightning"
    inside = [k[len(prefix):] for k in keys if k.startswith(prefix)]
    if source.info.get("has_training_args") or any(
        k.startswith(("decoder_", "mask_token")) for k in inside
    ):
        return "mae"
    return "timm"


def split_unused(keys: list[str], prefix: str, target_keys: set[str]) -> tuple[list[str], list[str]]:
    """Source keys the target will not take: (ignored, unexpected).

    Outside the encoder prefix, or recognisably a head/decoder → ignored; anything else under the
    prefix that matches no target key → unexpected (a sign of the wrong ``arch``).
    """
    ignored: list[str] = []
    unexpected: list[str] = []
    for key in keys:
        inside = key.startswith(prefix)
        rest = key[len(prefix):] if inside else key
        if inside and rest in target_keys:
            continue
        (ignored if not inside or NON_ENCODER.search(rest) else unexpected).append(key)
    return ignored, unexpected


def convert_plain(source: Source, target_keys: set[str], clean: dict[str, str]) -> Converted:
    """timm / torchgeo / MAE / Lightning / DCP: strip the best prefix, keep target keys."""
    keys = list(clean)
    prefix, rivals = best_prefix(keys, target_keys)
    wanted = [k for k in keys if k.startswith(prefix) and k[len(prefix):] in target_keys]
    tensors = source.read([clean[k] for k in wanted])
    ignored, unexpected = split_unused(keys, prefix, target_keys)
    warnings = []
    if rivals:
        warnings.append(f"encoder prefix {prefix!r} chosen; {', '.join(map(repr, rivals))} "
                        "match as many keys")
    return Converted(
        state_dict={k[len(prefix):]: tensors[clean[k]] for k in wanted},
        format=convention(source, keys, prefix), prefix=prefix,
        ignored=[clean[k] for k in ignored], unexpected=[clean[k] for k in unexpected],
        warnings=warnings,
    )


def convert_hf(source: Source, target_keys: set[str], clean: dict[str, str], prefix: str) -> Converted:
    """Hugging Face ViT / ViTMAE: rename to timm and fuse query/key/value into ``qkv``."""
    keys = list(clean)
    wanted = hf.source_keys_for(target_keys, keys, prefix)
    tensors = source.read([clean[k] for k in wanted])
    state_dict, _ = hf.hf_to_timm({k[len(prefix):]: tensors[clean[k]] for k in wanted})
    ignored: list[str] = []
    unexpected: list[str] = []
    for key in keys:
        if key in wanted:
            continue
        rest = key[len(prefix):] if key.startswith(prefix) else None
        name = hf.timm_name(rest) if rest is not None else None
        is_unexpected = name is not None or (rest is not None and not NON_ENCODER.search(rest))
        (unexpected if is_unexpected else ignored).append(clean[key])
    config = source.info.get("hf_config", {})
    mae = config.get("model_type") == "vit_mae" or any(".decoder_" in k for k in keys)
    return Converted(state_dict=state_dict, format="hf-vitmae" if mae else "hf-vit",
                     prefix=prefix, ignored=ignored, unexpected=unexpected)


def to_timm(source: Source, target_keys: set[str]) -> Converted:
    """Find the encoder in ``source`` and return it under timm names (shapes not yet adapted).

    Args:
        source: the opened checkpoint.
        target_keys: state-dict keys of the target encoder (heads excluded).
    """
    clean = {strip_wrappers(k): k for k in source.shapes}
    prefix = hf.hf_prefix(list(clean))
    if prefix is not None and not any(k.endswith("patch_embed.proj.weight") for k in clean):
        return convert_hf(source, target_keys, clean, prefix)
    return convert_plain(source, target_keys, clean)
