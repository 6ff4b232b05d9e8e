"""``--precision auto`` resolved once, when a run's ``EngineOptions`` is made.

``auto`` means bf16 mixed precision where the GPU supports it and full fp32 elsewhere. The
answer names every record (it is one of a run's inputs), so it must be known before anything
runs, and a re-run that the records already answer must know it without importing torch
(``rsbench.recorded``): on a machine without GPU device files it is ``32-true``; otherwise the
first process that asks torch keeps the answer in ``rsbench.hashcache`` per host, visible device
set and torch version. ``EngineOptions.__post_init__`` calls :func:`run_precision`, so no code
downstream ever sees ``auto``.
"""

from __future__ import annotations

import os
import socket

from rsbench import hashcache

GPU_DEVICE_FILES = ("nvidia", "kfd", "dxg")  # CUDA, ROCm, WSL: no such file, no GPU for torch
VISIBILITY = ("CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES")


def torch_precision(precision: str, accelerator: str) -> str:
    """``precision`` with ``auto`` resolved by asking torch about the GPU."""
    if precision != "auto":
        return precision
    import torch

    from rsbench.engine.trainer import accelerator_name

    if accelerator_name(accelerator) == "gpu" and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def gpu_device_files() -> list[str]:
    """The GPU device files of this machine (empty: torch can see no GPU here)."""
    try:
        return sorted(n for n in os.listdir("/dev") if n.startswith(GPU_DEVICE_FILES))
    except OSError:
        return ["unknown"]  # cannot tell: never conclude there is no GPU


def run_precision(precision: str, accelerator: str) -> str:
    """:func:`torch_precision`'s answer, without torch where it is sure or already known."""
    if precision != "auto" or accelerator == "cpu":
        return "32-true" if precision == "auto" else precision
    devices = gpu_device_files()
    if not devices and accelerator == "auto":
        return "32-true"  # no GPU: what torch_precision answers on a CPU machine
    from importlib.metadata import PackageNotFoundError, version

    try:
        torch_version = version("torch")
    except PackageNotFoundError:
        torch_version = None
    key = hashcache.key_of("precision", (precision, accelerator, socket.gethostname(), devices,
                                         [os.environ.get(v) for v in VISIBILITY], torch_version))
    kept = hashcache.lookup(key)
    if kept is not None:
        return kept
    return hashcache.store(key, torch_precision(precision, accelerator))
