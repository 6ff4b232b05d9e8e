"""Hugging Face ``transformers`` ViT / ViTMAE weights → timm ViT names.

Two HF naming schemes exist. Files on the Hub (and ``save_pretrained`` output) use the
original one, ``encoder.layer.N.attention.attention.{query,key,value}``; transformers 5 names
modules ``layers.N.attention.{q,k,v}_proj`` in memory, so a raw ``torch.save(model.state_dict())``
carries those. Both map onto timm's pre-norm block; query, key and value are concatenated into
timm's fused ``qkv`` in that order, which is exactly how timm splits heads (``[3, H, head_dim]``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import torch

from rsbench.checkpoints.safe_load import CheckpointError

CONFIG_FILE = "config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
# The key that identifies an HF ViT-family encoder, whatever wraps it (``vit.``, ``model.``...).
SIGNATURE = "embeddings.patch_embeddings.projection.weight"
CONFIG_FIELDS = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
                 "intermediate_size", "patch_size", "image_size", "num_channels",
                 "layer_norm_eps", "qkv_bias", "hidden_act")

# transformers' ViTConfig / ViTMAEConfig defaults for fields a config.json may omit.
HF_DEFAULTS = {"layer_norm_eps": 1e-12, "hidden_act": "gelu"}
HF_ACTS = {  # transformers' hidden_act -> timm's act_layer name for the same function
    "gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh", "quick_gelu": "quick_gelu", "relu": "relu", "silu": "silu",
    "swish": "silu",
}

EMBEDDINGS = {
    "embeddings.cls_token": "cls_token",
    "embeddings.position_embeddings": "pos_embed",
    "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "layernorm.weight": "norm.weight",
    "layernorm.bias": "norm.bias",
}
BLOCK = re.compile(r"^(?:encoder\.layer|layers)\.(\d+)\.(.+)\.(weight|bias)$")
BLOCK_PARTS = {  # HF module path inside a block → (timm module, qkv slot or None)
    "attention.attention.query": ("attn.qkv", 0), "attention.q_proj": ("attn.qkv", 0),
    "attention.attention.key": ("attn.qkv", 1), "attention.k_proj": ("attn.qkv", 1),
    "attention.attention.value": ("attn.qkv", 2), "attention.v_proj": ("attn.qkv", 2),
    "attention.output.dense": ("attn.proj", None), "attention.o_proj": ("attn.proj", None),
    "intermediate.dense": ("mlp.fc1", None), "mlp.fc1": ("mlp.fc1", None),
    "output.dense": ("mlp.fc2", None), "mlp.fc2": ("mlp.fc2", None),
    "layernorm_before": ("norm1", None), "layernorm_after": ("norm2", None),
}


def is_hf_folder(path: Path) -> bool:
    """True for a ``save_pretrained`` folder: ``config.json`` next to weights or a shard index."""
    return (path.is_dir() and (path / CONFIG_FILE).is_file()
            and any((path / n).is_file() for n in WEIGHT_FILES + INDEX_FILES))


def read_config(path: Path) -> dict[str, Any]:
    """The architecture fields of ``config.json`` (JSON: nothing executable)."""
    try:
        config = json.loads((path / CONFIG_FILE).read_text())
    except (OSError, ValueError) as err:
        raise CheckpointError(f"{path / CONFIG_FILE}: unreadable config ({err})") from None
    return {k: config[k] for k in CONFIG_FIELDS if k in config}


def weight_files(path: Path) -> list[Path]:
    """The weight files of an HF folder: the single file, or every shard its index names."""
    for name in WEIGHT_FILES:
        if (path / name).is_file():
            return [path / name]
    index = next(path / n for n in INDEX_FILES if (path / n).is_file())
    try:
        weight_map = json.loads(index.read_text())["weight_map"]
    except (OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"{index}: unreadable shard index ({err})") from None
    return [path / name for name in sorted(set(weight_map.values()))]


def hf_prefix(keys: list[str]) -> str | None:
    """What precedes ``embeddings.`` in an HF ViT state dict (``""``, ``"vit."``...), or None."""
    for key in keys:
        if key.endswith(SIGNATURE):
            return key[: -len(SIGNATURE)]
    return None


def timm_name(hf_key: str) -> tuple[str, int | None] | None:
    """The timm key (and qkv slot 0/1/2 for query/key/value) an HF encoder key becomes.

    ``hf_key`` is relative to the encoder (prefix stripped); None for anything that is not
    encoder weight (pooler, classifier, MAE decoder, mask token).
    """
    if hf_key in EMBEDDINGS:
        return EMBEDDINGS[hf_key], None
    match = BLOCK.match(hf_key)
    if match is None or match.group(2) not in BLOCK_PARTS:
        return None
    index, part, kind = match.groups()
    module, slot = BLOCK_PARTS[part]
    return f"blocks.{index}.{module}.{kind}", slot


def hf_to_timm(state_dict: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Convert an HF ViT/ViTMAE encoder state dict (prefix stripped) to timm names.

    Returns:
        The timm state dict, and the HF keys that have no timm counterpart.
    """
    out: dict[str, torch.Tensor] = {}
    parts: dict[str, dict[int, torch.Tensor]] = {}
    leftover = []
    for key, value in state_dict.items():
        name = timm_name(key)
        if name is None:
            leftover.append(key)
        elif name[1] is None:
            out[name[0]] = value
        else:
            parts.setdefault(name[0], {})[name[1]] = value
    for key, slots in parts.items():
        if sorted(slots) != [0, 1, 2]:
            raise CheckpointError(f"HF attention weights for {key} lack query, key or value")
        out[key] = torch.cat([slots[0], slots[1], slots[2]], dim=0)
        joined = tuple(getattr(slots[i], "rsbench_key", None) for i in range(3))
        if all(isinstance(part, str) for part in joined):  # shapes-only reads (sources.tagged)
            out[key].rsbench_key = joined  # type: ignore[attr-defined]  # what it joins, in order
    return out, leftover


def source_keys_for(timm_keys: set[str], hf_keys: list[str], prefix: str) -> list[str]:
    """The full HF keys that must be read to produce ``timm_keys`` (q, k and v for a qkv)."""
    wanted = []
    for key in hf_keys:
        name = timm_name(key[len(prefix):]) if key.startswith(prefix) else None
        if name is not None and name[0] in timm_keys:
            wanted.append(key)
    return wanted


def config_value(config: dict[str, Any], name: str) -> Any:
    """A ``config.json`` field, or transformers' ViTConfig default when the file omits it."""
    return config.get(name, HF_DEFAULTS.get(name))


def config_warnings(
    config: dict[str, Any], target: dict[str, tuple[int, ...]], eps: float = 1e-6,
    act: str = "gelu",
) -> list[str]:
    """Where ``config.json`` disagrees with the timm target (a wrong ``--arch`` is the usual cause).

    Args:
        config: the architecture fields of ``config.json``.
        target: the target's state-dict shapes.
        eps: the target's LayerNorm epsilon.
        act: the target's MLP activation, as a timm ``act_layer`` name.
    """
    warns = []
    patch = target.get("patch_embed.proj.weight")
    depth = len({k.split(".")[1] for k in target if k.startswith("blocks.")})
    checks = [
        ("hidden_size", patch[0] if patch else None),
        ("patch_size", patch[-1] if patch else None),
        ("num_channels", patch[1] if patch else None),
        ("num_hidden_layers", depth or None),
    ]
    for field, want in checks:
        have = config.get(field)
        if have is not None and want is not None and have != want:
            warns.append(f"config.json {field}={have} but the target model has {want}")
    have_eps = float(config_value(config, "layer_norm_eps"))
    if abs(have_eps - eps) > 1e-3 * eps:
        warns.append(f"config.json layer_norm_eps={have_eps:g}; the target uses {eps:g}, so "
                     "features differ slightly from the Hugging Face model's (--arch auto "
                     "builds the config's)")
    have_act = config_value(config, "hidden_act")
    if HF_ACTS.get(have_act) != act:
        warns.append(f"config.json hidden_act={have_act}; the target uses {act}, so "
                     "features differ from the Hugging Face model's")
    if config.get("qkv_bias") is False and "blocks.0.attn.qkv.bias" in target:
        warns.append("config.json qkv_bias=false; the target expects qkv biases (left at init)")
    return warns
