"""Where a run happened: software versions, source revision, device, launch settings.

Everything here is best effort: a probe that fails (no git, no GPU, no /proc) records ``None``
rather than failing the run whose result it describes. Package versions are read from the
installed metadata, so nothing heavy is imported just to describe the environment.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import rsbench

PACKAGES = ("torch", "torchvision", "lightning", "torchmetrics", "timm", "torchgeo", "numpy")
SLURM_VARS = {
    "job_id": "SLURM_JOB_ID",
    "array_job_id": "SLURM_ARRAY_JOB_ID",
    "array_task_id": "SLURM_ARRAY_TASK_ID",
    "num_nodes": "SLURM_JOB_NUM_NODES",
}
GIT_TIMEOUT_S = 5


def source_root() -> Path:
    """The directory holding the ``rsbench`` package (a checkout's root in development)."""
    return Path(rsbench.__file__).resolve().parent.parent


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_revision(root: Path | None = None) -> dict | None:
    """``{"sha", "dirty"}`` of the rsbench source tree, or ``None`` if it is not a checkout.

    The checkout must have ``root`` as its top level: an rsbench installed into the
    site-packages of a virtualenv that happens to sit inside some other repository must not
    report that repository's commit. ``dirty`` counts modified tracked files only, so results
    or caches written into an untracked folder of the checkout do not mark every run dirty.
    """
    root = (root or source_root()).resolve()
    top = _git(["rev-parse", "--show-toplevel"], root)
    if top is None or Path(top).resolve() != root:
        return None
    sha = _git(["rev-parse", "HEAD"], root)
    status = _git(["status", "--porcelain", "--untracked-files=no"], root)
    if sha is None or status is None:
        return None
    return {"sha": sha, "dirty": bool(status)}


def package_versions() -> dict[str, str | None]:
    """Installed version of each package in :data:`PACKAGES` (``None`` if not installed)."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def accelerator_device(accelerator: str) -> dict:
    """``{"kind", "name", "count", "runtime"}`` of the device the run used.

    ``kind`` is ``"cuda"``, ``"rocm"`` (a HIP build of torch, as on Frontier) or ``"cpu"``.
    """
    cpu = {"kind": "cpu", "name": cpu_model(), "count": os.cpu_count(), "runtime": None}
    if accelerator == "cpu":
        return cpu
    try:
        import torch  # lazily: describing a CPU run, or a run without torch, must stay cheap

        if not torch.cuda.is_available():
            return cpu
        hip = getattr(torch.version, "hip", None)
        return {
            "kind": "rocm" if hip else "cuda",
            "name": torch.cuda.get_device_name(0),
            "count": torch.cuda.device_count(),
            "runtime": hip or torch.version.cuda,
        }
    except Exception:  # a broken driver or runtime must not fail the record it describes
        return cpu


def slurm_info() -> dict | None:
    """SLURM job and array ids from the environment, or ``None`` outside SLURM."""
    found = {key: os.environ[var] for key, var in SLURM_VARS.items() if os.environ.get(var)}
    return found or None


def environment(
    precision: str, strategy: str, world_size: int, devices: int | str, accelerator: str
) -> dict:
    """The environment section of a run record.

    Args:
        precision: Lightning precision string, e.g. ``"bf16-mixed"``.
        strategy: Lightning strategy name, e.g. ``"ddp"``.
        world_size: number of processes that took part.
        devices: devices per node as given to the Trainer.
        accelerator: ``"cpu"``, ``"gpu"``, ``"cuda"``, ``"auto"``...

    Returns:
        rsbench version and git revision, python, platform, hostname, package versions,
        device, the launch settings, and SLURM ids. Never raises.
    """
    return {
        "rsbench": rsbench.__version__,
        "git": git_revision(),
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "packages": package_versions(),
        "device": accelerator_device(accelerator),
        "accelerator": accelerator,
        "precision": precision,
        "strategy": strategy,
        "world_size": world_size,
        "devices": devices,
        # CPU float reductions depend on the intra-op thread count: two launchers that differ
        # only here (srun vs Lightning's own, which sets cores / processes) differ in results.
        "cpu_threads": cpu_threads(),
        "slurm": slurm_info(),
    }


def cpu_threads() -> int | None:
    """torch's intra-op thread count in this process."""
    try:
        import torch

        return int(torch.get_num_threads())
    except Exception:  # never raises: provenance must not fail a finished run
        return None
