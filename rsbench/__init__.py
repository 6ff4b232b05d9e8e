"""rsbench: downstream evaluation of remote-sensing foundation models."""

__version__ = "0.1.0"

__all__ = ["__version__", "load_backbone"]


def __getattr__(name: str):
    # Lazy, so that `import rsbench` (and `rsbench --help`) does not pull in torch and timm.
    if name == "load_backbone":
        from rsbench.checkpoints import load_backbone

        return load_backbone
    raise AttributeError(f"module 'rsbench' has no attribute {name!r}")
