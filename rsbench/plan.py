"""The plan before the run: host memory, device memory and load time per rank, from shapes alone.

Nothing here reads a tensor. The model's size comes from the registry's closed form (equal to
the meta-device count) or a meta-device build; the device side is ``rsbench.backbones.memory``'s
estimate; the host side is what rsbench's loader holds while it fills an encoder:

- the encoder's weights in the dtype they are loaded in (fp32, or bf16 for frozen protocols
  under ``bf16-true``), plus one tensor in the file's dtype while it is cast (measured bf16
  loads of fp32 safetensors files: ViT-L/16 0.85 GB, ViT-H/14 1.51 GB; planned 0.89 and
  1.56). A memory-mapped torch zip file's pages also show in the resident set while they are
  read (ViT-L/16 in bf16: 2.03 GB), but they are clean page cache, which the kernel reclaims
  and ``MemAvailable`` counts as available, so the plan leaves them out;
- ``LOAD_RUNTIME_BYTES`` above the imports (BENCHMARKS.md, ``load_memory.py``: ViT-L/16 1.47 GB
  for a 1.21 GB file, ViT-H/14 2.79 GB for 2.52 GB: 0.26-0.27 GB above the file both times) and
  ``IMPORTS_BYTES`` per process (peak RSS after importing torch, Lightning, timm and rsbench);
- under ``--strategy fsdp`` (``sharded_load``: the encoder is lazy until it is placed, then
  each rank reads its rows, ``rsbench.engine.sharding.shard_module``) a fine-tune's rank, and a
  frozen pass's when it is placed sharded, holds its ``1/world`` share (measured, 2 CPU ranks,
  safetensors: ViT-L/16 0.63 GB and ViT-H/14 1.29 GB per rank, 0.52x and 0.51x of the file);
- on the CPU the device is host memory: the larger of the load and the run's estimate counts;
- a fine-tune over several ranks without FSDP runs DDP, which holds its gradients twice while
  it rebuilds its buckets after the first step (``data_parallel_estimate``).

Load time is the bytes one rank reads over a stated per-rank read bandwidth (``--read-gbps``).

Frozen feature extraction under ``--strategy fsdp`` shards its encoder only when the plan says
a replicated encoder does not fit one device (``frozen_placement``): whole weights, one
layer's activations and the runtime overhead against 0.9 of the device's memory, the memory
the run was planned for (``--device-memory``, GPU 0's free memory, or on the CPU this node's
available host memory per rank). Otherwise it runs data parallel, each rank a whole encoder.
``plan`` counts a frozen pass the same way, from the ``device_bytes`` it is given.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any

from rsbench.backbones.memory import GIB, MemoryEstimate, Workload, auto_sharding, estimate

GB = 1e9
HEADROOM = 0.9  # of one device's memory a plan may fill (as ``auto_sharding``)
IMPORTS_BYTES = 0.85 * GB  # ru_maxrss after `import torch, lightning, timm, rsbench.runner`
LOAD_RUNTIME_BYTES = 0.27 * GB  # the loader's own peak above the weights (BENCHMARKS.md)
READ_BYTES_PER_S = 1.0 * GB  # default per-rank read bandwidth (a parallel-filesystem client)
DTYPE_BYTES = {"float32": 4, "bfloat16": 2}


@dataclass(frozen=True)
class ModelSize:
    """What the plan needs of an encoder: its size and shape, and its checkpoint's bytes."""

    arch: str
    params: int
    largest: int  # elements of the largest tensor (held twice while it is cast)
    embed_dim: int
    depth: int
    patch: int
    prefix_tokens: int = 1
    file_bytes: int | None = None  # the checkpoint on disk; None: an fp32 file of the encoder

    def tokens(self, img_size: int) -> int:
        return (img_size // self.patch) ** 2 + self.prefix_tokens

    def read_bytes(self) -> int:
        """Bytes the loader reads: the encoder's, at most the file (a training checkpoint
        also carries optimizer states and a decoder, which are never read)."""
        fp32 = 4 * self.params
        return fp32 if self.file_bytes is None else min(fp32, self.file_bytes)


@dataclass(frozen=True)
class Setting:
    """How the run is configured: the flags that change the plan."""

    strategy: str = "auto"  # auto | ddp | fsdp
    devices: int = 1  # ranks per node
    num_nodes: int = 1
    precision: str = "32-true"  # auto: bf16 on a GPU (see ``setting``), fp32 on the CPU
    accelerator: str = "cpu"  # cpu | gpu
    sharding: str = "auto"  # with fsdp: auto | FULL_SHARD | SHARD_GRAD_OP | HYBRID_SHARD
    sharded_load: bool = False  # with fsdp: each rank reads only its shard (load_sharded)

    @property
    def fp32_compute(self) -> bool:
        return self.precision.startswith("32") or (self.precision == "auto" and self.accelerator != "gpu")

    @property
    def world_size(self) -> int:
        return max(1, self.devices) * max(1, self.num_nodes)

    def flags(self) -> str:
        """The command-line flags that give this setting."""
        return (f"--strategy {self.strategy} --devices {self.devices} --num-nodes {self.num_nodes} "
                f"--precision {self.precision}")


@dataclass(frozen=True)
class Plan:
    """Per-rank memory and load time of one protocol under one setting (bytes, seconds)."""

    arch: str
    params: int
    protocol: str  # frozen | finetune
    weights_dtype: str
    setting: Setting
    sharding: str  # what the device estimate assumes: NO_SHARD | FULL_SHARD | ...
    host_bytes: float  # per rank, peak
    device_bytes: float | None  # per rank; None on the CPU (the device is host memory)
    read_bytes: float  # per rank
    load_s: float
    device: MemoryEstimate

    @property
    def node_host_bytes(self) -> float:
        return self.host_bytes * max(1, self.setting.devices)

    def line(self) -> str:
        """One line: ``plan: vit_large_patch16 303.3M params, frozen, ...``."""
        s = self.setting
        dev = "none (CPU)" if self.device_bytes is None else f"{self.device_bytes / GIB:.2f} GiB/rank"
        return (f"plan: {self.arch} {self.params / 1e6:,.1f}M params, {self.protocol}, weights "
                f"{self.weights_dtype}, {s.strategy} x{s.world_size} ({s.devices}/node, "
                f"{self.sharding}): host {self.host_bytes / GB:.2f} GB/rank "
                f"({self.node_host_bytes / GB:.2f} GB/node), device {dev}, "
                f"load {self.read_bytes / GB:.2f} GB in ~{self.load_s:.0f} s")

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(node_host_bytes=self.node_host_bytes, device=self.device.to_dict())
        return out


@lru_cache(maxsize=64)
def model_size(arch: str, img_size: int = 224, overrides: tuple = (), file_bytes: int | None = None
               ) -> ModelSize:
    """``ModelSize`` of ``arch`` with timm ``overrides`` (sorted ``(key, value)`` pairs)."""
    from rsbench.backbones.vit import VIT_ARCHS

    extra = dict(overrides)
    if arch in VIT_ARCHS and set(extra) <= {"depth", "embed_dim", "mlp_dim", "patch_size"}:
        a = replace(VIT_ARCHS[arch], **extra)  # closed form, equal to the meta-device count
        largest = max(a.embed_dim * a.mlp_dim, 3 * a.embed_dim**2)  # fc1 (SwiGLU: each half), qkv
        return ModelSize(arch, a.param_count(img_size), largest, a.embed_dim, a.depth,
                         a.patch_size, 1, file_bytes)
    from rsbench.backbones.factory import build_timm_model
    from rsbench.backbones.input_spec import InputSpec

    model = build_timm_model(arch, InputSpec(img_size=img_size), "cls", device="meta", **extra)
    patch: Any = getattr(getattr(model, "patch_embed", None), "patch_size", (16,))
    width: Any = getattr(model, "embed_dim", 0) or getattr(model, "num_features", 0)
    return ModelSize(arch, sum(p.numel() for p in model.parameters()),
                     max(t.numel() for t in model.state_dict().values()), int(width),
                     len(getattr(model, "blocks", [])) or 1, int(patch[0]),
                     int(getattr(model, "num_prefix_tokens", 1)), file_bytes)


def weights_dtype(protocol: str, s: Setting) -> str:
    """The dtype an encoder is loaded in: bf16 for frozen protocols under ``bf16-true``, or
    under ``auto`` on a GPU (``s.precision`` is ``auto`` there only where the GPU supports
    bf16: ``setting``); fp32 otherwise. A fine-tune keeps fp32 masters (``bf16-true`` training
    is cast by Lightning itself)."""
    bf16 = s.precision == "bf16-true" or (s.precision == "auto" and s.accelerator == "gpu")
    return "bfloat16" if protocol == "frozen" and bf16 else "float32"


def device_estimate(size: ModelSize, protocol: str, s: Setting, batch_size: int, img_size: int,
                    device_bytes: float | None = None) -> tuple[MemoryEstimate, str]:
    """The per-rank device estimate and the sharding it assumes."""
    training = protocol == "finetune"
    w = Workload(params=size.params, embed_dim=size.embed_dim, depth=size.depth,
                 tokens=size.tokens(img_size), batch_size=batch_size, training=training,
                 bytes_per_act=4 if s.fp32_compute else 2,
                 param_bytes=DTYPE_BYTES[weights_dtype(protocol, s)])
    if s.strategy != "fsdp":
        return data_parallel_estimate(w, s.world_size), "NO_SHARD"
    if not training:  # whole on every rank unless a whole encoder does not fit (frozen_placement)
        if device_bytes and frozen_placement(w, device_bytes, "").sharded:
            return estimate(w, s.world_size, "FULL_SHARD"), f"FULL_SHARD group {s.world_size}"
        return estimate(w), "NO_SHARD"
    if s.sharding == "auto" and device_bytes:
        chosen = auto_sharding(w, device_bytes, s.devices, s.num_nodes)
        ckpt = " +act-ckpt" if chosen.activation_checkpointing else ""
        return chosen.memory, f"{chosen.sharding} group {chosen.shard_group}{ckpt}"
    sharding = "FULL_SHARD" if s.sharding == "auto" else s.sharding
    group = s.devices if sharding == "HYBRID_SHARD" else s.world_size
    mem = estimate(w, group, "FULL_SHARD" if sharding == "HYBRID_SHARD" else sharding)
    return mem, f"{sharding} group {group}"


def data_parallel_estimate(w: Workload, world_size: int) -> MemoryEstimate:
    """``estimate`` of ``w`` replicated on ``world_size`` ranks: over several, a fine-tune runs
    under DDP (``rsbench.engine.trainer.data_parallel``), whose gradients are views into its
    all-reduce buckets; DDP re-allocates the buckets once, after the first step, before it
    frees the old ones, so at that moment it holds every gradient twice (ViT-L on 2 CPU
    ranks: 7.16 GB per rank against 6.36 GB in one process, BENCHMARKS.md)."""
    mem = estimate(w)
    return replace(mem, grads=2 * mem.grads) if w.training and world_size > 1 else mem


def plan(size: ModelSize, protocol: str, s: Setting, batch_size: int = 32, img_size: int = 224,
         device_bytes: float | None = None, read_bytes_per_s: float = READ_BYTES_PER_S) -> Plan:
    """The ``Plan`` of ``protocol`` (``frozen`` or ``finetune``) for ``size`` under ``s``.

    ``batch_size`` is per rank; ``device_bytes`` (one device's memory) lets ``--sharding auto``
    choose as the run would.
    """
    dtype = weights_dtype(protocol, s)
    cast = 4 * size.largest if dtype != "float32" else 0  # one fp32 tensor while it is cast
    mem, sharding = device_estimate(size, protocol, s, batch_size, img_size, device_bytes)
    # A sharded load reads a rank's share: a fine-tune's always, a frozen pass's when it is
    # placed sharded (a replicated one reads the whole encoder on every rank).
    share = (s.world_size if s.sharded_load and s.strategy == "fsdp"
             and (protocol == "finetune" or sharding != "NO_SHARD") else 1)
    load = size.params * DTYPE_BYTES[dtype] / share + cast + LOAD_RUNTIME_BYTES + IMPORTS_BYTES
    on_gpu = s.accelerator == "gpu"
    host = load if on_gpu else max(load, mem.total - mem.overhead + IMPORTS_BYTES)
    read = float(size.read_bytes()) / share
    return Plan(arch=size.arch, params=size.params, protocol=protocol, weights_dtype=dtype,
                setting=s, sharding=sharding, host_bytes=host,
                device_bytes=mem.total if on_gpu else None, read_bytes=read,
                load_s=read / read_bytes_per_s, device=mem)


@dataclass(frozen=True)
class Job:
    """One protocol a run executes: what sizes its plan."""

    name: str
    protocol: str  # frozen | finetune
    batch_size: int  # fine-tune: global (split over ranks); frozen: per rank
    img_size: int


def job_plan(size: ModelSize, job: Job, s: Setting, device_bytes: float | None = None,
             read_bytes_per_s: float = READ_BYTES_PER_S) -> Plan:
    """``plan`` of ``job`` under ``s``, with a fine-tune's batch split over the ranks."""
    batch = job.batch_size
    if job.protocol == "finetune":
        batch = -(-batch // s.world_size)
    return plan(size, job.protocol, s, batch, job.img_size, device_bytes, read_bytes_per_s)


_PLANNED: dict[str, tuple[float, str] | None] = {"device": None}  # set once per run


def plan_device_memory(device_bytes: float | None, source: str = "--device-memory") -> None:
    """Remember one device's memory as the run's plan saw it (``rsbench.plan_check``'s
    ``run_memory_plan`` calls this; None: decide from this machine's own memory)."""
    _PLANNED["device"] = None if device_bytes is None else (float(device_bytes), source)


def planned_device_memory(accelerator: str, ranks_per_node: int) -> tuple[float, str]:
    """``(bytes, where from)`` of one device for this run's decisions: the planned memory,
    else GPU 0's total memory, else (CPU) this node's available host memory per rank."""
    if _PLANNED["device"] is not None:
        return _PLANNED["device"]
    if accelerator == "gpu":
        from rsbench.engine.sharding import gpu_memory_bytes

        found = gpu_memory_bytes()
        if found is not None:
            return found, "GPU 0"
    from rsbench.plan_check import host_available

    host, source = host_available()
    ranks = max(1, ranks_per_node)
    return host / ranks, f"{source} / {ranks} ranks"


@dataclass(frozen=True)
class Placement:
    """Where a frozen pass keeps its encoder: whole on every rank, or sharded over them."""

    sharded: bool
    needed_bytes: float  # a replicated encoder's estimate per rank
    device_bytes: float
    source: str  # where ``device_bytes`` comes from

    def line(self) -> str:
        """``replicated: a whole encoder needs 1.75 GiB/rank, within 0.9 x 64.00 GiB
        (--device-memory)``, or ``sharded: ... over ...``."""
        verb = "over" if self.sharded else "within"
        return (f"{'sharded' if self.sharded else 'replicated'}: a whole encoder needs "
                f"{self.needed_bytes / GIB:.2f} GiB/rank, {verb} {HEADROOM:g} x "
                f"{self.device_bytes / GIB:.2f} GiB ({self.source})")


def frozen_placement(w: Workload, device_bytes: float, source: str) -> Placement:
    """``Placement`` of a frozen pass of ``w`` (``training=False``): sharded only when the
    replicated estimate exceeds ``HEADROOM`` of ``device_bytes``."""
    needed = estimate(w).total
    return Placement(needed > HEADROOM * device_bytes, needed, device_bytes, source)
