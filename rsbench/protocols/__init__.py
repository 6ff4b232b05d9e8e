"""Evaluation protocols, chosen by ``protocol.name`` in a task YAML.

Each protocol module exposes ``RECIPE`` (the published source), ``DEFAULTS`` (its numbers) and
``run(ctx: ProtocolContext) -> ProtocolResult``. Which module runs a name depends on the task
type: its plugin's ``PROTOCOLS`` maps names to modules, so ``finetune`` can mean MAE's
classification recipe for one type and an UperNet schedule for another.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from rsbench.config import SpecError
from rsbench.protocols.base import ProtocolContext, ProtocolResult, resolved_hparams


def protocol_module(task_type: str, name: str) -> ModuleType:
    """The module implementing protocol ``name`` for ``task_type``; one-line error otherwise."""
    from rsbench.tasks import plugin

    modules = plugin(task_type).PROTOCOLS
    if name not in modules:
        raise SpecError(f"protocol {name!r} is not available for {task_type}; "
                         f"use one of {', '.join(modules)}")
    return importlib.import_module(modules[name])


__all__ = ["ProtocolContext", "ProtocolResult", "protocol_module", "resolved_hparams"]
