"""``--strategy fsdp``: the FSDP plan and the Lightning strategy that carries it out.

One path on every accelerator: FSDP2 under Lightning's ``ModelParallelStrategy(
data_parallel_size=N, tensor_parallel_size=1)``. The LightningModule's ``configure_model``
calls :func:`shard_module`, which applies ``fully_shard`` to every transformer block and then
to the root, and fills a lazy encoder from its file shard by shard, each rank allocating and
reading only its own rows, on its own device. So no rank ever holds a whole encoder, on GPUs
(CUDA, and ROCm, which presents as ``cuda`` with RCCL behind the ``nccl`` backend) as on the
CPU, where the same code is tested on gloo ranks.

The plan (``rsbench.backbones.memory.auto_sharding``, the Frontier study's policy, or
``--sharding``) maps onto FSDP2 as: ``FULL_SHARD`` reshards after forward; ``SHARD_GRAD_OP``
keeps gathered parameters between forward and backward (``reshard_after_forward=False``);
``HYBRID_SHARD`` with shard group ``g`` shards over a 2-D mesh (``world / g`` replicas x ``g``
shards, HSDP), ``g = 1`` being plain replication. bf16 mixed precision is FSDP2's
``MixedPrecisionPolicy`` (bf16 parameters, fp32 gradient reduction); blocks are
activation-checkpointed when asked for or when the plan needs it. FSDP2 prefetches the next
block's all-gather in forward and backward by itself (FSDP1's ``BACKWARD_PRE`` and
``limit_all_gathers`` have no FSDP2 counterpart to set).

On the CPU large blocks are mmapped from then on (``fixed_mmap_threshold``), so freed ones
leave the resident set. Only ``torch.cuda.is_available`` / ``device_count`` /
``get_device_properties`` are used, which ROCm builds of PyTorch implement; nothing here names
NCCL or CUDA-only features.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lightning.pytorch.utilities.rank_zero import rank_zero_info

from rsbench.backbones.memory import ShardingPlan, Workload, auto_sharding, estimate

if TYPE_CHECKING:
    from torch import nn

    from rsbench.backbones.base import Backbone


def block_classes() -> set[type[nn.Module]]:
    """The transformer block types to wrap / shard / checkpoint one by one."""
    from timm.models.vision_transformer import Block

    return {Block}


def device_count(opts, accelerator: str) -> int:
    """Devices per node for ``opts.devices`` (``auto``: visible GPUs, else 1)."""
    if opts.devices != "auto":
        return int(opts.devices)
    import torch

    return max(1, torch.cuda.device_count()) if accelerator == "gpu" else 1


def gpu_memory_bytes() -> float | None:
    """Memory of GPU 0 (CUDA or ROCm), or None without one."""
    import torch

    if not torch.cuda.is_available():
        return None
    return float(torch.cuda.get_device_properties(0).total_memory)


def plan_for(opts, accelerator: str, workload: Workload | None,
             device_bytes: float | None = None) -> ShardingPlan:
    """The sharding plan for this run; ``opts.sharding`` other than ``auto`` is obeyed."""
    per_node = device_count(opts, accelerator)
    world = per_node * int(opts.num_nodes)
    w = workload or Workload(params=0, embed_dim=0, depth=0, tokens=0, batch_size=0)
    if opts.activation_checkpointing:
        from dataclasses import replace

        w = replace(w, activation_checkpointing=True)
    if accelerator == "gpu" and device_bytes is None:
        device_bytes = gpu_memory_bytes()
    if opts.sharding == "auto" and accelerator == "gpu" and workload is not None and device_bytes:
        return auto_sharding(w, device_bytes, per_node, int(opts.num_nodes))
    sharding = "FULL_SHARD" if opts.sharding == "auto" else opts.sharding
    why = ("CPU: FSDP2 fully_shard (no device memory to plan for)" if accelerator != "gpu"
           else "set by EngineOptions.sharding" if opts.sharding != "auto" else "no workload given")
    group = per_node if sharding == "HYBRID_SHARD" else world
    mem = estimate(w, group, "FULL_SHARD" if sharding == "HYBRID_SHARD" else sharding)
    fits = device_bytes is None or mem.total <= 0.9 * device_bytes
    return ShardingPlan(sharding, group, world, 0, mem, fits, why, w.activation_checkpointing)


def fsdp_strategy(opts, accelerator: str, workload: Workload | None, device_bytes: float | None = None):
    """A Lightning ``ModelParallelStrategy`` (FSDP2) for ``--strategy fsdp``, tagged with the
    plan ``shard_module`` carries out; prints the plan on rank 0."""
    from lightning.pytorch.strategies import ModelParallelStrategy

    plan = plan_for(opts, accelerator, workload, device_bytes)
    rank_zero_info(f"rsbench ModelParallelStrategy (FSDP2): {plan.describe()}")
    if accelerator != "gpu":
        fixed_mmap_threshold()
    strategy = ModelParallelStrategy(data_parallel_size=plan.world_size, tensor_parallel_size=1)
    strategy.rsbench_plan = plan  # type: ignore[attr-defined]  # our tag, read by shard_module
    return strategy


def shard_mesh(strategy, plan: ShardingPlan | None):
    """The device mesh ``fully_shard`` shards over: the strategy's data-parallel mesh, or for
    ``HYBRID_SHARD`` with a shard group smaller than the world a 2-D (replicas x shard group)
    mesh, made once per strategy (HSDP)."""
    mesh = strategy.device_mesh["data_parallel"]
    if plan is None or plan.sharding != "HYBRID_SHARD" or plan.shard_group >= plan.world_size:
        return mesh
    made = getattr(strategy, "rsbench_hybrid_mesh", None)
    if made is None:
        from torch.distributed.device_mesh import init_device_mesh

        made = init_device_mesh(strategy.root_device.type,
                                (plan.world_size // plan.shard_group, plan.shard_group),
                                mesh_dim_names=("replicate", "shard"))
        strategy.rsbench_hybrid_mesh = made
    return made


MMAP_THRESHOLD = 1 << 20  # bytes; see fixed_mmap_threshold
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)


def fixed_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Have glibc serve every block of ``threshold`` bytes or more by ``mmap`` from now on.

    glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB), so
    the 1-32 MiB tensors a CPU FSDP2 step allocates and frees (gathered weights, gradients
    before their reduce-scatter, optimizer temporaries) come from the heap, where freed
    blocks stay resident. A fixed threshold returns them to the system when freed: on 2
    ranks, ViT-L's peak per rank above its 2313 MiB of tracked shards fell from 975 to
    289 MiB, ViT-B's from 1550-1740 to 181 MiB (BENCHMARKS.md). The price is a page fault per
    page of every large block (ViT-B steps about 1.5x slower on the CPU). Only where the
    memory goes changes, never a number. Returns False where there is no glibc.
    """
    import ctypes

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # the process's own C library
    return bool(mallopt is not None and mallopt(M_MMAP_THRESHOLD, threshold))


def shard_module(module) -> None:
    """FSDP2 for ``configure_model``: ``fully_shard`` each transformer block, then the root.

    Blocks are activation-checkpointed first when the plan says so (``--strategy fsdp`` with
    ``EngineOptions(activation_checkpointing=True)``, or when the auto plan needs it).

    A lazy encoder (``rsbench.checkpoints.sharded.lazy_backbone``: on the meta device, a
    ``shard_fill`` pending) is filled once sharded, each rank allocating and reading only its
    shards (over :func:`shard_mesh`) on its own device; heads and decoders arrive initialised
    and are sharded as they are (FSDP2 moves them to the mesh's device). Blocks already
    sharded are left as they are.

    The encoder is not an FSDP unit of its own: a ``Backbone`` runs it through methods
    (``forward_features``), not its ``__call__``, so its hooks would never gather it.

    Does nothing unless the trainer's strategy is Lightning's ``ModelParallelStrategy``
    (``--strategy fsdp``), or when the module is already sharded (``configure_model``
    runs again for ``predict`` after ``fit``).
    """
    from lightning.pytorch.strategies import ModelParallelStrategy
    from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard

    from rsbench.checkpoints.sharded import filled, pending_fill

    trainer = getattr(module, "_trainer", None)
    if trainer is None or not isinstance(trainer.strategy, ModelParallelStrategy):
        return
    if isinstance(module, FSDPModule):
        return
    import torch

    plan = getattr(trainer.strategy, "rsbench_plan", None)
    # SHARD_GRAD_OP keeps parameters gathered between forward and backward.
    reshard = plan is None or plan.sharding != "SHARD_GRAD_OP"
    mesh = shard_mesh(trainer.strategy, plan)
    mp = (MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
          if str(trainer.precision).startswith("bf16-mixed") else MixedPrecisionPolicy())
    blocks = tuple(block_classes())
    targets: list[nn.Module] = [m for m in module.modules()
                                if isinstance(m, blocks) and not isinstance(m, FSDPModule)]
    if plan is not None and plan.activation_checkpointing:
        # Wrap first, then shard the wrappers (torchtitan's order). The wrapper strips its
        # prefix from parameter and state-dict names, so optimizer groups and checkpoints
        # see the same names as without it.
        from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
            CheckpointWrapper,
            apply_activation_checkpointing,
        )

        apply_activation_checkpointing(module, check_fn=lambda m: isinstance(m, blocks))
        targets = [m for m in module.modules() if isinstance(m, CheckpointWrapper)]
    for sub in targets:
        fully_shard(sub, mesh=mesh, reshard_after_forward=reshard, mp_policy=mp)
    # The root takes the encoder's tensors outside the blocks too (a meta tensor shards as
    # one: FSDP2 keeps meta and real parameters in one group), so only then is all of a lazy
    # encoder sharded and can its shards be allocated and filled.
    fully_shard(module, mesh=mesh, reshard_after_forward=reshard, mp_policy=mp)
    for backbone in encoders(module):
        if pending_fill(backbone) is not None:
            how = filled(backbone, trainer.strategy.root_device)
            rank_zero_info(f"rsbench: encoder filled shard by shard ({how})")


def encoders(module: nn.Module) -> list[Backbone]:
    """The ``Backbone``s inside ``module`` (a protocol's LightningModule holds one)."""
    from rsbench.backbones.base import Backbone

    return [m for m in module.modules() if isinstance(m, Backbone)]


def fills_sharded(opts) -> bool:
    """Whether an encoder is read lazily, to be filled shard by shard in ``configure_model``
    (``shard_module``) or whole once a frozen pass is placed (``engine.features``):
    ``--strategy fsdp``, on any accelerator."""
    return opts.strategy == "fsdp"


def lazy_args(opts) -> dict:
    """``make_backbone`` arguments asking for a lazy encoder when :func:`fills_sharded`."""
    return {"sharded": True} if fills_sharded(opts) else {}
