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
    num_layers = len(model.blocks) + 1  # type: ignore[arg-type]  # a timm ViT's nn.Sequential
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


def encoder_and_head_groups(encoder: nn.Module, head_params: list[nn.Parameter], weight_decay: float,
                            layer_decay: float | None) -> list[dict]:
    """MAE layer-decayed groups for ``encoder`` (none when it is frozen: ``layer_decay`` None)
    plus the task head's at lr scale 1, weight decay on matrices only; empty groups dropped."""
    groups = param_groups_lrd(encoder, weight_decay, layer_decay) if layer_decay is not None else []
    head = [p for p in head_params if p.requires_grad]
    groups += [{"params": [p for p in head if p.ndim > 1], "weight_decay": weight_decay, "lr_scale": 1.0},
               {"params": [p for p in head if p.ndim <= 1], "weight_decay": 0.0, "lr_scale": 1.0}]
    return [g for g in groups if g["params"]]


def adamw_stepwise(groups: list[dict], lr: float, factor) -> dict:
    """AdamW over ``groups`` (each lr = ``lr`` x its ``lr_scale``) with the per-step lr
    ``factor(step)``, in Lightning's ``configure_optimizers`` form."""
    import torch

    for g in groups:
        g["lr"] = lr * g.pop("lr_scale", 1.0)
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
