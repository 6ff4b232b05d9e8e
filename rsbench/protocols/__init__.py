"""Evaluation protocols, chosen by ``protocol.name`` in a task YAML.

Each protocol module exposes ``RECIPE`` (the published source), ``DEFAULTS`` (its numbers) and
``run(ctx: ProtocolContext) -> ProtocolResult``.
"""

from rsbench.protocols.base import ProtocolContext, ProtocolResult, resolved_hparams
from rsbench.registry import Registry

PROTOCOLS = Registry("protocol")
for _name in ("linear_probe", "knn", "finetune"):
    PROTOCOLS.register(_name, f"rsbench.protocols.{_name}")

__all__ = ["PROTOCOLS", "ProtocolContext", "ProtocolResult", "resolved_hparams"]
