"""Per-device memory estimates for a protocol, computed before anything is allocated.

The numbers are a planning aid (is sharding needed, which FSDP strategy), not a promise:

- Training (fine-tuning) keeps fp32 master parameters, fp32 gradients and AdamW's two fp32
  moments: 16 bytes per parameter, whatever the compute precision. Under full sharding all
  three are divided by the world size; SHARD_GRAD_OP keeps whole parameters and divides
  gradients and optimizer states only.
- Activations follow Korthikanti et al. (2022, "Reducing activation recomputation"): a
  transformer layer stores about ``34 * s * b * h`` bytes at 16-bit (s tokens, b images,
  h width), with fused attention (timm uses ``scaled_dot_product_attention``) so the
  ``5 * a * s^2 * b`` score term is left out; doubled in fp32. Activation checkpointing keeps
  one ``s * b * h`` layer input per block plus one block's full activations.
- Frozen protocols (linear probe, kNN) run the backbone without gradients: parameters as
  stored (fp32 under mixed precision, 2 bytes under ``bf16-true``) plus one layer's activations.
- ``OVERHEAD`` covers the CUDA/ROCm context, allocator fragmentation and workspace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

GIB = 1024**3
OVERHEAD = 1.5 * GIB  # runtime context and fragmentation, per device
ADAMW_BYTES = 16  # fp32 param 4 + fp32 grad 4 + two fp32 moments 8
TRAINING_PROTOCOLS = ("finetune", "segmentation_finetune", "detection_finetune")


@dataclass(frozen=True)
class Workload:
    """What determines memory: model size and shape, batch, numerics, training or not."""

    params: int
    embed_dim: int
    depth: int
    tokens: int  # per image, prefix tokens included
    batch_size: int  # per device
    training: bool = True
    bytes_per_act: int = 2  # 2 for bf16/fp16 compute, 4 for fp32
    activation_checkpointing: bool = False
    param_bytes: int = 4  # stored weights: fp32 under "-mixed" precisions, 2 under bf16/16-true


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per device, by kind."""

    params: float
    grads: float
    optimizer: float
    activations: float
    overhead: float = OVERHEAD

    @property
    def total(self) -> float:
        return self.params + self.grads + self.optimizer + self.activations + self.overhead

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total}

    def describe(self) -> str:
        parts = ", ".join(f"{k} {_size(v)}" for k, v in asdict(self).items())
        return f"{_size(self.total)}/device ({parts})"


def _size(b: float) -> str:
    return f"{b / GIB:.2f} GiB" if b >= 0.1 * GIB else f"{b / 2**20:.1f} MiB"


def activation_bytes(w: Workload) -> float:
    """Stored activations of one forward pass at ``w.batch_size`` (see the module notes)."""
    per_layer = 34 * w.tokens * w.batch_size * w.embed_dim * (w.bytes_per_act / 2)
    if not w.training:
        return per_layer  # no graph is kept: only the layer being computed
    if w.activation_checkpointing:
        return w.depth * w.tokens * w.batch_size * w.embed_dim * w.bytes_per_act + per_layer
    return w.depth * per_layer


def estimate(w: Workload, world_size: int = 1, sharding: str = "NO_SHARD") -> MemoryEstimate:
    """Per-device memory of ``w`` on ``world_size`` devices under an FSDP ``sharding``.

    ``sharding``: NO_SHARD (plain data parallel, also HYBRID_SHARD with a group of 1),
    SHARD_GRAD_OP, FULL_SHARD; for HYBRID_SHARD pass the shard group size as ``world_size``.
    """
    acts = activation_bytes(w)
    if not w.training:
        weights = w.params * w.param_bytes
        if sharding != "FULL_SHARD" or world_size <= 1:
            return MemoryEstimate(weights, 0.0, 0.0, acts)
        # A sharded frozen pass: each rank's shard, plus the block being computed and the
        # next one, which FSDP2 gathers ahead (its forward prefetch).
        return MemoryEstimate(weights / world_size + 2 * weights / max(1, w.depth), 0.0, 0.0, acts)
    n = max(1, int(world_size))
    p, g, o = 4.0 * w.params, 4.0 * w.params, (ADAMW_BYTES - 8.0) * w.params
    if sharding == "FULL_SHARD":
        return MemoryEstimate(p / n, g / n, o / n, acts)
    if sharding == "SHARD_GRAD_OP":
        return MemoryEstimate(p, g / n, o / n, acts)
    return MemoryEstimate(p, g, o, acts)


def vit_workload(arch: str, protocol: str = "finetune", batch_size: int = 32, img_size: int = 224,
                 precision: str = "bf16-mixed", activation_checkpointing: bool = False,
                 **overrides) -> Workload:
    """A ``Workload`` for a registry ViT (or ``timm:`` model), counted on the meta device."""
    from rsbench.backbones.factory import TIMM_PREFIX, param_count
    from rsbench.backbones.vit import VIT_ARCHS

    if arch in VIT_ARCHS and set(overrides) <= {"depth", "embed_dim", "patch_size"}:
        params = replace(VIT_ARCHS[arch], **overrides).param_count(img_size)  # closed form: instant
    else:
        params = param_count(arch, img_size, **overrides)
    if arch.startswith(TIMM_PREFIX):
        from rsbench.backbones.factory import build_timm_model
        from rsbench.backbones.input_spec import InputSpec

        model = build_timm_model(arch, InputSpec(img_size=img_size), "cls", device="meta", **overrides)
        found: Any = getattr(model, "embed_dim", 0) or getattr(model, "num_features", 0)
        patch_size: Any = getattr(getattr(model, "patch_embed", None), "patch_size", (16,))
        width, depth = int(found), len(getattr(model, "blocks", [])) or 1
        patch = int(patch_size[0])
    else:
        a = VIT_ARCHS[arch]
        width = overrides.get("embed_dim", a.embed_dim)
        depth = overrides.get("depth", a.depth)
        patch = overrides.get("patch_size", a.patch_size)
    return Workload(params=params, embed_dim=width, depth=depth, tokens=(img_size // patch) ** 2 + 1,
                    batch_size=batch_size, training=protocol in TRAINING_PROTOCOLS,
                    bytes_per_act=4 if precision.startswith("32") else 2,
                    activation_checkpointing=activation_checkpointing, param_bytes=_param_bytes(precision))


def module_workload(backbone, batch_size: int, img_size: int, precision: str, training: bool = True,
                    activation_checkpointing: bool = False) -> Workload:
    """A ``Workload`` for an already built ``Backbone`` (parameters may live on any device)."""
    model = backbone.model
    patch = getattr(getattr(model, "patch_embed", None), "patch_size", (16,))
    tokens = (img_size // int(patch[0])) ** 2 + int(getattr(model, "num_prefix_tokens", 1))
    return Workload(params=sum(p.numel() for p in backbone.parameters()), embed_dim=backbone.embed_dim,
                    depth=backbone.depth, tokens=tokens, batch_size=batch_size, training=training,
                    bytes_per_act=4 if precision.startswith("32") else 2,
                    activation_checkpointing=activation_checkpointing, param_bytes=_param_bytes(precision))


def _param_bytes(precision: str) -> int:
    return 2 if precision in ("bf16-true", "16-true") else 4


@dataclass(frozen=True)
class ShardingPlan:
    """An FSDP decision: strategy, shard group size, and the per-device estimate behind it."""

    sharding: str  # HYBRID_SHARD | SHARD_GRAD_OP | FULL_SHARD
    shard_group: int  # devices one model copy is sharded over (HYBRID_SHARD); world for others
    world_size: int
    gpus_needed: int
    memory: MemoryEstimate
    fits: bool
    reason: str
    activation_checkpointing: bool = False

    def describe(self) -> str:
        fit = "" if self.fits else "  WARNING: estimate exceeds device memory"
        ckpt = ", activation checkpointing" if self.activation_checkpointing else ""
        return (f"fsdp plan: {self.sharding} (shard group {self.shard_group}{ckpt}) on world size "
                f"{self.world_size}; {self.reason}; memory {self.memory.describe()}{fit}")


def auto_sharding(w: Workload, device_bytes: float, devices_per_node: int, num_nodes: int = 1,
                  headroom: float = 0.9) -> ShardingPlan:
    """FSDP policy from the Frontier study (Tsaris et al. 2024; REFERENCE.md).

    With ``g`` the fewest devices a fully sharded copy of the model fits on:

    - ``g == 1`` (fits one device): HYBRID_SHARD with a shard group of 1, i.e. plain data
      parallel;
    - a few devices (``g`` at most a quarter of a node, at least 2): HYBRID_SHARD, sharded
      within the node and replicated across nodes;
    - ``g`` at most half a node and SHARD_GRAD_OP fits: SHARD_GRAD_OP over all devices;
    - otherwise FULL_SHARD over all devices.

    When even FULL_SHARD over every device does not fit, activation checkpointing on the
    blocks is switched on and the decision repeated. ``device_bytes`` is one device's memory
    (``torch.cuda.get_device_properties(i).total_memory``, which ROCm reports too).
    """
    world = max(1, devices_per_node * num_nodes)
    budget = headroom * device_bytes

    def fits(m: MemoryEstimate) -> bool:
        return m.total <= budget

    needed = next((g for g in range(1, world + 1) if fits(estimate(w, g, "FULL_SHARD"))), None)
    if needed is None and not w.activation_checkpointing and w.training:
        return auto_sharding(replace(w, activation_checkpointing=True), device_bytes,
                             devices_per_node, num_nodes, headroom)
    ckpt = w.activation_checkpointing
    if needed == 1:
        m = estimate(w, 1, "NO_SHARD")
        return ShardingPlan("HYBRID_SHARD", 1, world, 1, m, True,
                            "fits one device: data parallel (shard group 1)", ckpt)
    few = max(2, devices_per_node // 4)
    if needed is not None and needed <= min(few, devices_per_node):
        m = estimate(w, devices_per_node, "FULL_SHARD")
        return ShardingPlan("HYBRID_SHARD", devices_per_node, world, needed, m, fits(m),
                            f"needs {needed} devices: shard within the node, replicate across nodes", ckpt)
    m = estimate(w, world, "SHARD_GRAD_OP")
    if needed is not None and needed <= max(1, devices_per_node // 2) and fits(m):
        return ShardingPlan("SHARD_GRAD_OP", world, world, needed, m, True,
                            f"needs {needed} devices (half a node): shard gradients and optimizer", ckpt)
    m = estimate(w, world, "FULL_SHARD")
    why = f"needs {needed} devices" if needed else f"does not fit {world} devices"
    return ShardingPlan("FULL_SHARD", world, world, needed or 0, m, fits(m),
                        f"{why}: shard parameters, gradients and optimizer", ckpt)


def plan_table(devices: int = 8, num_nodes: int = 1, device_gib: float = 64.0, batch_size: int = 32,
               img_size: int = 224, precision: str = "bf16-mixed") -> str:
    """``rsbench ls models --plan``: per-device memory of each registry ViT and its FSDP plan.

    Columns: parameters; fine-tuning on one device (params, grads, AdamW, activations);
    frozen-feature protocols (linear probe, kNN: inference only); then the ``auto`` FSDP plan
    for fine-tuning on ``devices`` x ``num_nodes`` devices of ``device_gib`` each, with its
    per-device estimate. ``batch_size`` is per device.
    """
    from rsbench.backbones.vit import VIT_ARCHS

    lines = [f"memory plan: batch {batch_size}/device, {img_size} px, {precision}, "
             f"{devices} x {num_nodes} devices of {device_gib:g} GiB (estimates, GiB/device)",
             f"{'name':<20} {'params':>8} {'finetune':>9} {'frozen':>7}  fsdp auto plan"]
    for name in VIT_ARCHS:
        train = vit_workload(name, "finetune", batch_size, img_size, precision)
        frozen = vit_workload(name, "linear_probe", batch_size, img_size, precision)
        plan = auto_sharding(train, device_gib * GIB, devices, num_nodes)
        ckpt = " +act-ckpt" if plan.activation_checkpointing else ""
        fit = "" if plan.fits else " DOES NOT FIT"
        lines.append(f"{name:<20} {train.params / 1e6:>7,.0f}M {estimate(train).total / GIB:>9.1f} "
                     f"{estimate(frozen).total / GIB:>7.1f}  {plan.sharding} group {plan.shard_group}"
                     f"{ckpt}: {plan.memory.total / GIB:.1f}{fit}")
    return "\n".join(lines)
