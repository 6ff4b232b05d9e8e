"""rsbench's own lines only: the libraries' chatter is hidden unless ``--verbose`` asks for it.

Lightning, torch and timm print banners, tips and warnings that say nothing about the run
("GPU available: False", "💡 Tip: …", "`Trainer.fit` stopped: `max_epochs=90` reached." once per
probe head, "Found N module(s) in eval mode", a ``_pytree`` deprecation). Buried among them,
rsbench's own lines (what runs, each score, each failure) are easy to miss. Warnings that
matter (a partial checkpoint, a skipped record) are rsbench's own and stay.
"""

from __future__ import annotations

import logging
import warnings

# Loggers whose INFO lines are banners, not findings. Named down to the module that logs:
# importing Lightning resets the level of its package logger, not of these children.
LIBRARY_LOGGERS = tuple(f"{package}.{module}"
                        for package in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning",
                                        "lightning_fabric")
                        for module in ("utilities.rank_zero", "accelerators.cuda",
                                       "utilities.distributed", "trainer.connectors.signal_connector",
                                       # "`weights_only` was not set": Lightning reading back a
                                       # checkpoint it wrote itself (the demo's pretraining);
                                       # user checkpoints are only read with weights_only=True
                                       "trainer.connectors.checkpoint_connector")
                        ) + ("torch.distributed", "timm")

# Library warnings that fire on every correct run; matched by message, so nothing else is lost.
ROUTINE_WARNINGS = (
    r".*module\(s\) in eval mode.*",                      # frozen encoders are eval on purpose
    r".*predict returned None.*",                         # predict steps that store outputs
    r".*isinstance\(treespec, LeafSpec\).*",              # Lightning on torch's _pytree
    r".*does not have many workers.*",                    # workers are the user's --workers
    r".*The number of training batches .* is smaller than the logging interval.*",
    r".*`training_step` returned `None`.*",
    r".*You are using a CUDA device .* that has Tensor Cores.*",
    r".*Checkpoint directory .* exists and is not empty.*",
    r".*custom batch sampler.*",
    r".*The `srun` command is available on your system but is not used.*",  # a local run
)


def quiet_libraries(verbose: bool = False) -> None:
    """Hide routine library output in this process (DDP children re-run the CLI, and so this)."""
    if verbose:
        return
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern in ROUTINE_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern)
