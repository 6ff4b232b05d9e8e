"""Lightning plumbing: the Trainer factory and the feature cache."""

from rsbench.engine.trainer import EngineOptions, make_trainer

__all__ = ["EngineOptions", "make_trainer"]
