"""Lightning plumbing: the Trainer factory and the feature cache."""

from rsbench.engine.trainer import EngineOptions, make_trainer, resolved_precision

__all__ = ["EngineOptions", "make_trainer", "resolved_precision"]
