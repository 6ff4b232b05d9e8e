"""rsbench: downstream evaluation of remote-sensing foundation models."""

__version__ = "0.1.0"
