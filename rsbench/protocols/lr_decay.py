"""Layer-wise learning-rate decay exactly as MAE ``util/lr_decay.py`` defines it for a ViT.

Layer ids: ``cls_token``, ``pos_embed`` and ``patch_embed`` are layer 0, ``blocks.i`` is layer
``i + 1``, everything after the blocks (final norm, head) is layer ``depth + 1``; the lr scale
is ``layer_decay ** (depth + 1 - layer_id)``. timm's ``param_groups_layer_decay`` merges the
final norm into the last block's layer, which would give it one decay step less than MAE (and
the RS papers that reuse MAE's code), hence this module. Weight decay skips 1-d parameters
(biases, norms) and the model's ``no_weight_decay()`` names, as MAE does. Encoders without
``blocks`` (any other ``timm:`` model) use timm's grouping.
"""

from __future__ import annotations

from torch import nn


def vit_layer_id(name: str, num_layers: int) -> int:
    """MAE's ``get_layer_id_for_vit``: 0 for the embedding, i + 1 for block i, else last."""
    if name in ("cls_token", "pos_embed", "reg_token") or name.startswith("patch_embed"):
        return 0
    if name.startswith("blocks."):
        return int(name.split(".")[1]) + 1
    return num_layers


def param_groups_lrd(model: nn.Module, weight_decay: float, layer_decay: float) -> list[dict]:
    """Optimizer groups with ``lr_scale`` and ``weight_decay`` for every trainable parameter."""
    skip = set(getattr(model, "no_weight_decay", set)())
    if not hasattr(model, "blocks"):
        from timm.optim import param_groups_layer_decay

        return param_groups_layer_decay(model, weight_decay=weight_decay, layer_decay=layer_decay,
                                        no_weight_decay_list=skip)
    num_layers = len(model.blocks) + 1
    groups: dict[tuple[int, bool], dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = param.ndim == 1 or name in skip
        layer = vit_layer_id(name, num_layers)
        group = groups.setdefault((layer, no_decay), {
            "params": [], "weight_decay": 0.0 if no_decay else weight_decay,
            "lr_scale": layer_decay ** (num_layers - layer)})
        group["params"].append(param)
    return list(groups.values())
