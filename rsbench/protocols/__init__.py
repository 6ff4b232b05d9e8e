"""Evaluation protocols, chosen by ``protocol.name`` in a task YAML.

A protocol exposes ``DEFAULTS`` (its recipe's values, read from the shipped
``tasks/<type>/_protocols/<name>.yaml``) and ``run(ctx: ProtocolContext) -> ProtocolResult``:
a module (knn, linear_probe, finetune) or a ``TrainedProtocol`` object (segmentation's and
detection's ``FROZEN`` / ``FINETUNE``). Which one runs a name depends on the task type: its
plugin's ``PROTOCOLS`` maps names to ``"module"`` or ``"module:object"``, so ``finetune`` can
mean MAE's classification recipe for one type and an UperNet schedule for another.
"""

from __future__ import annotations

from typing import Any

from rsbench.config import SpecError
from rsbench.protocols.base import ProtocolContext, ProtocolResult, resolved_hparams


def protocol_module(task_type: str, name: str, where: str | None = None) -> Any:
    """What implements protocol ``name`` for ``task_type`` (a module, or a ``TrainedProtocol``
    object: either has ``DEFAULTS`` and ``run(ctx)``); otherwise a one-line error that starts
    with ``where`` (a task or its file). The one place that says which protocols a type has."""
    from rsbench.tasks import plugin

    registry = plugin(task_type).PROTOCOLS
    if name not in registry:
        raise SpecError(f"{where + ': ' if where else ''}protocol {name!r} is not available for "
                        f"{task_type}; use one of {', '.join(registry)}")
    return registry.get(name)


__all__ = ["ProtocolContext", "ProtocolResult", "protocol_module", "resolved_hparams"]
