"""Load any checkpoint safely into a flat timm encoder state dict, with a report of what loaded.

Reading (``safe_load``, ``sources``, ``dcp``, ``hf``) never runs code from the file; ``formats``
finds the encoder and renames it; ``adapt`` resamples shapes; ``load`` ties them together and
``report`` says how much of the encoder came from the file.
"""

from rsbench.checkpoints.digest import file_sha256
from rsbench.checkpoints.load import (
    inspect_command,
    load_backbone,
    load_checkpoint,
)
from rsbench.checkpoints.report import THRESHOLD, LoadReport
from rsbench.checkpoints.safe_load import CheckpointError

__all__ = [
    "THRESHOLD",
    "CheckpointError",
    "LoadReport",
    "file_sha256",
    "inspect_command",
    "load_backbone",
    "load_checkpoint",
]
