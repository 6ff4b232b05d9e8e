"""Whether a plan fits this node, what would fit instead, and the plan of a whole run.

A run's plan is checked before anything is loaded or hashed: host memory per node against
``MemAvailable`` (or the cgroup's remaining limit, when lower), device memory per rank against
the free memory of GPU 0, or both against ``--node-memory`` / ``--device-memory`` when planning
another machine. A refusal is one line: the plan, what exceeds the node, and flags that fit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from rsbench.backbones.memory import GIB
from rsbench.errors import RsbenchError
from rsbench.plan import GB, Job, ModelSize, Plan, Setting, job_plan, model_size

SHORT = {"float32": "fp32", "bfloat16": "bf16"}


class PlanError(RsbenchError):
    """The plan of a run exceeds the node's memory; nothing has been loaded."""


@dataclass(frozen=True)
class NodeMemory:
    """What one node offers: host bytes available and one device's free bytes."""

    host_bytes: float
    host_source: str
    device_bytes: float | None = None
    device_source: str = ""


def host_available() -> tuple[float, str]:
    """Bytes a new allocation can get here: MemAvailable, or the cgroup's remaining limit."""
    found = [(_meminfo_available(), "MemAvailable")]
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None and cap < 2**60:  # "max" or 2**63: no limit
            found.append((float(cap - used), "cgroup limit"))
    return min((b, s) for b, s in found if b is not None)


def _meminfo_available() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def node_memory(host_gib: float | None = None, device_gib: float | None = None,
                gpu: bool = False) -> NodeMemory:
    """This node's memory, or the ``--node-memory`` / ``--device-memory`` overrides (GiB)."""
    if host_gib is not None:
        host, host_source = host_gib * GIB, "--node-memory"
    else:
        host, host_source = host_available()
    if device_gib is not None:
        return NodeMemory(host, host_source, device_gib * GIB, "--device-memory")
    if gpu:
        import torch

        if torch.cuda.is_available():
            return NodeMemory(host, host_source, float(torch.cuda.mem_get_info(0)[0]),
                              "free on GPU 0")
    return NodeMemory(host, host_source)


def shortfalls(p: Plan, node: NodeMemory) -> list[str]:
    """What in ``p`` exceeds ``node`` (empty when it fits)."""
    out = []
    if p.node_host_bytes > node.host_bytes:
        out.append(f"host {p.node_host_bytes / GB:.2f} GB/node > {node.host_bytes / GB:.2f} GB "
                   f"({node.host_source})")
    if p.device_bytes is not None and node.device_bytes is not None \
            and p.device_bytes > node.device_bytes:
        out.append(f"device {p.device_bytes / GIB:.2f} GiB/rank > {node.device_bytes / GIB:.2f} "
                   f"GiB ({node.device_source})")
    return out


def alternatives(s: Setting, protocol: str) -> list[Setting]:
    """Settings to try when ``s`` does not fit, fewest changes first."""
    out = []
    if protocol == "frozen" and s.precision != "bf16-true":
        out.append(replace(s, precision="bf16-true"))
    if protocol == "finetune":
        if s.fp32_compute:
            out.append(replace(s, precision="bf16-mixed"))
        precision = "bf16-mixed" if s.accelerator == "gpu" and s.fp32_compute else s.precision
        grid = [(d, 1) for d in (2, 4, 8)] + [(8, n) for n in (2, 4, 8, 16, 32, 64)]
        out += [replace(s, strategy="fsdp", devices=d, num_nodes=n, precision=precision)
                for d, n in grid if d * n > s.world_size]
    return out


def changed_flags(old: Setting, new: Setting) -> str:
    """The flags of ``new`` that differ from ``old``, as typed on the command line."""
    pairs = zip(old.flags().split(" --"), new.flags().split(" --"), strict=True)
    return " ".join(f"--{b.lstrip('-')}" for a, b in pairs if a != b)


def fitting(size: ModelSize, job: Job, s: Setting, node: NodeMemory, most: int = 2) -> list[str]:
    """Up to ``most`` flag sets under which ``job`` fits ``node``."""
    fits = [alt for alt in alternatives(s, job.protocol)
            if not shortfalls(job_plan(size, job, alt, node.device_bytes), node)]
    return [changed_flags(s, alt) for alt in fits[:most]]


def checked(size_for: Callable[[int], ModelSize], jobs: list[Job], s: Setting,
            node: NodeMemory) -> Plan:
    """The largest plan among ``jobs`` (host per node, then device per rank) if all fit.

    ``size_for`` gives the model's size at an image size (position embeddings grow with it).

    Raises:
        PlanError: one line with the plan, what exceeds the node, and settings that fit.
    """
    plans = [(job_plan(size_for(j.img_size), j, s, node.device_bytes), j) for j in jobs]
    bad = [(p, j) for p, j in plans if shortfalls(p, node)]
    worst, job = (bad or sorted(plans, key=lambda pj: (pj[0].node_host_bytes,
                                                       pj[0].device_bytes or 0)))[-1]
    short = shortfalls(worst, node)
    if short:
        fits = fitting(size_for(job.img_size), job, s, node)
        hint = f"fits with {' or '.join(fits)}" if fits else "no setting tried fits"
        raise PlanError(f"{job.name}: {worst.line()}; {'; '.join(short)}: refused before loading; "
                        f"{hint} (--node-memory / --device-memory plan for another machine)")
    return worst


def task_job(task) -> Job:
    """The ``Job`` of a task spec: fine-tunes train with the task's batch, frozen protocols
    run the encoder at the feature-extraction batch (64) or the decoder's batch."""
    finetune = task.protocol_name == "finetune"
    default = 32 if finetune else 64
    probe = task.type in ("classification", "multilabel")
    batch = int(task.protocol.get("batch_size", default)) if not probe \
        or finetune else default  # a classification probe's batch is the head's, not the encoder's
    return Job(task.task, "finetune" if finetune else "frozen", batch, task.dataset.image_size)


def setting(engine) -> Setting:
    """The ``Setting`` of a run's ``EngineOptions`` on this machine."""
    from rsbench.engine.sharding import fills_sharded
    from rsbench.engine.trainer import accelerator_name

    accelerator = accelerator_name(engine.accelerator)
    devices = engine.devices
    if devices == "auto":
        import torch

        devices = max(1, torch.cuda.device_count()) if accelerator == "gpu" else 1
    return Setting(engine.strategy, int(devices), int(engine.num_nodes), engine.precision, accelerator,
                   engine.sharding, sharded_load=fills_sharded(engine))


def reads_sharded(card, engine) -> bool:
    """Whether ``card``'s encoder is read lazily, each rank its own rows, under ``engine``:
    ``--strategy fsdp`` with a checkpoint of rsbench's own architectures. Zoo encoders
    (torchgeo's modules in their released layouts) and random-init cards are built whole on
    every rank, then sharded. ``rsbench.loaded_model.LoadedModel`` reads by this rule."""
    from rsbench.engine.sharding import fills_sharded
    from rsbench.zoo import is_zoo

    return fills_sharded(engine) and not card.random_init and not is_zoo(card.arch)


def card_sizer(card) -> Callable[[int], ModelSize]:
    """``img_size -> ModelSize`` of a model card (its MLP variant as the checkpoint's keys say)."""
    from pathlib import Path

    arch, file_bytes = card.arch, None
    if card.checkpoint and not card.random_init:
        from rsbench.checkpoints.load import checkpoint_arch

        arch = checkpoint_arch(card.checkpoint, card.arch)
        path = Path(card.checkpoint)
        files = [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]
        file_bytes = sum(f.stat().st_size for f in files)
    # model_size is cached on its arguments: a YAML list (Swin's depths) becomes a tuple.
    extra = tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                         for k, v in card.arch_overrides.items()))
    return lambda img_size: model_size(arch, img_size, extra, file_bytes)


def run_memory_plan(card, tasks: list, engine, host_gib: float | None = None,
             device_gib: float | None = None) -> Plan:
    """The checked plan of ``rsbench run`` for ``card`` over ``tasks`` (``TaskSpec``) under
    ``engine`` (``EngineOptions``); raises ``PlanError`` when it exceeds the node."""
    from rsbench.plan import plan_device_memory

    s = replace(setting(engine), sharded_load=reads_sharded(card, engine))
    node = node_memory(host_gib, device_gib, gpu=s.accelerator == "gpu")
    plan_device_memory(node.device_bytes, node.device_source)  # what later choices assume
    return checked(card_sizer(card), [task_job(t) for t in tasks], s, node)


def zoo_rows(s: Setting, node: NodeMemory, jobs: list[Job], archs: list[str] | None = None,
             read_bytes_per_s: float = 1e9) -> list[dict]:
    """``rsbench ls models --plan``: one row per architecture and job (``--json``)."""
    from rsbench.backbones.vit import VIT_ARCHS

    rows = []
    for arch in archs or list(VIT_ARCHS):
        for job in jobs:
            p = job_plan(model_size(arch, job.img_size), job, s, node.device_bytes,
                         read_bytes_per_s)
            rows.append({"job": job.name, **p.to_dict(), "shortfalls": shortfalls(p, node)})
    return rows


def zoo_table(rows: list[dict], s: Setting, node: NodeMemory) -> str:
    """The rows of ``zoo_rows`` as a table, headed by the setting and the node."""
    dev = f", {node.device_bytes / GIB:g} GiB/device" if node.device_bytes else ""
    lines = [f"plan: {s.flags()} on {s.accelerator}; node {node.host_bytes / GIB:g} GiB host "
             f"({node.host_source}){dev}; fp32 checkpoints of the encoder read at "
             "the stated bandwidth",
             f"{'name':<22} {'job':<25} {'params':>8} {'weights':>8} {'host/rank':>10} "
             f"{'host/node':>10} {'device/rank':>12}  {'sharding':<26} {'load':>14}  fits"]
    for r in rows:
        device = "-" if r["device_bytes"] is None else f"{r['device_bytes'] / GIB:.1f} GiB"
        load = f"{r['read_bytes'] / GB:.1f} GB {r['load_s']:.0f} s"
        fits = "yes" if not r["shortfalls"] else "NO: " + "; ".join(r["shortfalls"])
        lines.append(f"{r['arch']:<22} {r['job']:<25} {r['params'] / 1e6:>7,.0f}M "
                     f"{SHORT[r['weights_dtype']]:>8} {r['host_bytes'] / GB:>7.1f} GB "
                     f"{r['node_host_bytes'] / GB:>7.1f} GB {device:>12}  {r['sharding']:<26} "
                     f"{load:>14}  {fits}")
    return "\n".join(lines)


def run_weights_dtype(task, engine) -> str:
    """The dtype a run of ``task`` under ``engine`` loads its encoder in (``weights_dtype``)."""
    from rsbench.plan import weights_dtype

    return weights_dtype(task_job(task).protocol, setting(engine))


def planned_rows(s: Setting, node: NodeMemory, tasks: list[str], img_size: int, batch_size: int,
                 archs: list[str] | None, read_gbps: float) -> list[dict]:
    """``rsbench ls models --plan``'s rows: the plan of every registry ViT (or ``archs``) under
    ``s`` on ``node``, for the generic frozen and fine-tune jobs at ``img_size`` (fine-tune:
    ``batch_size`` per rank), or for the named ``tasks``."""
    if tasks:
        from rsbench.config import find_task

        jobs = [task_job(find_task(name)) for name in tasks]
    else:
        jobs = [Job("frozen (batch 64/rank)", "frozen", 64, img_size),
                Job(f"finetune (batch {batch_size}/rank)", "finetune", batch_size * s.world_size,
                    img_size)]
    return zoo_rows(s, node, jobs, archs or None, read_gbps * GB)
