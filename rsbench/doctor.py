"""``rsbench doctor``: what this machine offers and what a run here would use.

Each check is one row: what was looked at, what was found, and — when something a run may
need is missing — the one-line fix. Nothing is installed or changed.
"""

from __future__ import annotations

import importlib.util
import os
import platform
from dataclasses import asdict, dataclass

OPTIONAL = {  # module -> (what needs it, how to get it)
    "transformers": ("Hugging Face checkpoint folders", 'pip install -e ".[hf]"'),
    "mmdet": ("detection backend: mmdet", "make setup-mmdet"),
    "rasterio": ("multi-band GeoTIFF datasets (EuroSAT)", "pip install rasterio"),
    "pycocotools": ("the COCO-evaluator cross-check in tests", 'pip install -e ".[dev]"'),
}
SLURM_VARS = ("SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_NNODES", "SLURM_CPUS_PER_TASK",
              "SLURM_GPUS_ON_NODE", "SLURM_RESTART_COUNT")


@dataclass
class Check:
    """One row of the report; ``fix`` is empty when nothing needs doing."""

    name: str
    found: str
    ok: bool = True
    fix: str = ""


def torch_checks() -> list[Check]:
    """The torch build, its devices and what precision and collectives they support."""
    import torch
    import torch.distributed as dist

    hip, cuda = getattr(torch.version, "hip", None), torch.version.cuda
    build = f"ROCm {hip}" if hip else f"CUDA {cuda}" if cuda else "CPU only"
    rows = [Check("torch", f"{torch.__version__} ({build})")]
    if not torch.cuda.is_available():
        fix = ("" if build == "CPU only" else
               "this build sees no GPU: check the driver, CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES")
        rows.append(Check("devices", f"CPU only ({os.cpu_count()} cores); runs use --accelerator cpu",
                          ok=not fix, fix=fix))
        bf16 = torch.backends.mkldnn.is_available()
        rows.append(Check("bf16", "CPU autocast" if bf16 else "not available"))
    else:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            rows.append(Check(f"device {i}", f"{p.name}, {p.total_memory / 2**30:.0f} GiB"))
        rows.append(Check("bf16", "supported: --precision auto uses bf16-mixed"
                          if torch.cuda.is_bf16_supported() else "not supported: fp32"))
    nccl = dist.is_available() and dist.is_nccl_available()
    name = "RCCL" if hip else "NCCL"
    rows.append(Check(name, "available" if nccl else "not in this build",
                      ok=nccl or not torch.cuda.is_available(),
                      fix="" if nccl or not torch.cuda.is_available() else
                      "install a torch build with distributed GPU support"))
    rows.append(Check("gloo", "available" if dist.is_available() and dist.is_gloo_available()
                      else "not available (CPU DDP/FSDP2 need it)"))
    return rows


def memory_checks() -> list[Check]:
    """Host memory a run here can get (what the memory plan checks runs against)."""
    from rsbench.plan_check import host_available

    available, source = host_available()
    return [Check("host memory", f"{available / 2**30:.1f} GiB available ({source}); "
                  "plan another node with --node-memory")]


def slurm_checks() -> list[Check]:
    """The SLURM job this runs in, if any (rsbench reads these to set ranks and resume)."""
    seen = {k: os.environ[k] for k in SLURM_VARS if k in os.environ}
    if not seen:
        return [Check("SLURM", "not inside a job (sbatch slurm/*.sbatch runs suites on a cluster)")]
    return [Check("SLURM", ", ".join(f"{k}={v}" for k, v in seen.items()))]


def extra_checks() -> list[Check]:
    """Optional libraries and what each is for."""
    rows = []
    for module, (purpose, fix) in OPTIONAL.items():
        present = importlib.util.find_spec(module) is not None
        rows.append(Check(module, f"installed ({purpose})" if present else f"missing ({purpose})",
                          ok=present, fix="" if present else fix))
    return rows


def checks() -> list[Check]:
    """Every row of ``rsbench doctor``."""
    from rsbench import __version__

    head = [Check("rsbench", __version__), Check("python", platform.python_version())]
    return head + torch_checks() + memory_checks() + slurm_checks() + extra_checks()


def report(rows: list[Check]) -> str:
    """The rows as an aligned plain-text table with the fixes under it."""
    width = max(len(r.name) for r in rows)
    lines = [f"{'ok ' if r.ok else '-- '}{r.name:<{width}}  {r.found}" for r in rows]
    fixes = [f"  {r.name}: {r.fix}" for r in rows if r.fix]
    return "\n".join(lines + (["", "to fix:", *fixes] if fixes else []))


def as_json(rows: list[Check]) -> list[dict]:
    return [asdict(r) for r in rows]
