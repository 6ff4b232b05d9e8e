"""Memory estimates and the automatic FSDP policy, checked by hand with fake GPU sizes."""


import pytest

from rsbench.backbones.memory import (
    GIB,
    OVERHEAD,
    Workload,
    auto_sharding,
    estimate,
    plan_table,
    vit_workload,
)
from rsbench.engine import EngineOptions
from rsbench.engine.sharding import fsdp_strategy, plan_for

B = 1_000_000_000


def test_training_estimate_by_hand():
    # 1B params, fp32 master + grad + two AdamW moments = 16 GB; activations 34*s*b*h*depth
    # bytes at bf16 = 34 * 10 * 2 * 100 * 3.
    w = Workload(params=B, embed_dim=100, depth=3, tokens=10, batch_size=2)
    m = estimate(w)
    assert (m.params, m.grads, m.optimizer) == (4 * B, 4 * B, 8 * B)
    assert m.activations == 34 * 10 * 2 * 100 * 3
    assert m.total == 16 * B + 204_000 + OVERHEAD
    full = estimate(w, 4, "FULL_SHARD")
    assert (full.params, full.grads, full.optimizer) == (B, B, 2 * B)
    sgo = estimate(w, 4, "SHARD_GRAD_OP")  # parameters stay whole
    assert (sgo.params, sgo.grads, sgo.optimizer) == (4 * B, B, 2 * B)
    ckpt = estimate(Workload(params=B, embed_dim=100, depth=3, tokens=10, batch_size=2,
                             activation_checkpointing=True))
    assert ckpt.activations == 3 * 10 * 2 * 100 * 2 + 34 * 10 * 2 * 100


def test_frozen_protocols_hold_only_weights_and_one_layer():
    w = vit_workload("vit_base_patch16", "linear_probe", batch_size=8)
    m = estimate(w)
    assert m.grads == m.optimizer == 0 and m.params == 4 * w.params  # fp32 weights, mixed precision
    # Sharded over 8 ranks: a rank's 1/8, and the computed and the prefetched block (2 of 12).
    assert estimate(w, 8, "FULL_SHARD").params == 4 * w.params / 8 + 2 * 4 * w.params / 12
    assert estimate(vit_workload("vit_base_patch16", "knn", precision="bf16-true")).params == 2 * w.params
    assert vit_workload("vit_base_patch16", "finetune").training


def test_vit_workload_counts_like_the_meta_device_model():
    from rsbench.backbones import param_count

    w = vit_workload("vit_base_patch16")
    assert w.params == param_count("vit_base_patch16") and w.tokens == 14 * 14 + 1
    assert vit_workload("vit_tiny_patch16", img_size=32, depth=2, patch_size=8).params == param_count(
        "vit_tiny_patch16", 32, depth=2, patch_size=8)


@pytest.mark.parametrize(("arch", "gib", "per_node", "nodes", "sharding", "group", "ckpt"), [
    # fits one 64 GB GPU: the study's data parallel (HYBRID_SHARD, shard group 1)
    ("vit_base_patch16", 64, 8, 1, "HYBRID_SHARD", 1, False),
    ("vit_1b_patch14", 64, 8, 4, "HYBRID_SHARD", 1, False),
    # 3B needs ~70 GB: two GPUs -> shard within the node, replicate across nodes
    ("vit_3b_patch14", 64, 8, 4, "HYBRID_SHARD", 8, False),
    # on an 80 GB GPU it fits one device again
    ("vit_3b_patch14", 80, 8, 1, "HYBRID_SHARD", 1, False),
    # 15B: 234 GB of weights and optimizer states, 68 GB of activations at batch 32 -> FULL_SHARD,
    # with activation checkpointing because even that does not fit otherwise
    ("vit_15b_patch14", 64, 8, 1, "FULL_SHARD", 8, True),
    ("vit_15b_patch14", 64, 8, 4, "FULL_SHARD", 32, True),
])
def test_auto_policy_decisions(arch, gib, per_node, nodes, sharding, group, ckpt):
    plan = auto_sharding(vit_workload(arch, batch_size=32), gib * GIB, per_node, nodes)
    assert (plan.sharding, plan.shard_group, plan.activation_checkpointing) == (sharding, group, ckpt)
    assert plan.fits and plan.world_size == per_node * nodes
    assert plan.memory.total <= 0.9 * gib * GIB


def test_half_a_node_gives_shard_grad_op():
    # 8.5B params, small activations: fully sharded it needs 3 of 8 GPUs (136 GB / 57.6 GB),
    # more than a quarter of the node, and whole parameters (34 GB) + 1/8 of the rest fit.
    w = Workload(params=8_500_000_000, embed_dim=1024, depth=8, tokens=197, batch_size=4)
    plan = auto_sharding(w, 64 * GIB, 8, 1)
    assert (plan.sharding, plan.gpus_needed, plan.shard_group) == ("SHARD_GRAD_OP", 3, 8)
    assert plan.memory.params == 4 * w.params and plan.memory.grads == 4 * w.params / 8


def test_gpu_fsdp_is_fsdp2_carrying_the_plan():
    from lightning.pytorch.strategies import ModelParallelStrategy

    opts = EngineOptions(accelerator="gpu", devices=8, num_nodes=4, strategy="fsdp")

    def planned(arch):
        strategy = fsdp_strategy(opts, "gpu", vit_workload(arch), device_bytes=64 * GIB)
        assert isinstance(strategy, ModelParallelStrategy)  # one FSDP2 path, as on the CPU
        assert strategy._data_parallel_size == 32 and strategy._tensor_parallel_size == 1
        plan = strategy.rsbench_plan
        return plan.sharding, plan.shard_group, plan.activation_checkpointing

    assert planned("vit_base_patch16") == ("HYBRID_SHARD", 1, False)  # replicate: fits one GPU
    assert planned("vit_3b_patch14") == ("HYBRID_SHARD", 8, False)  # shard in a node, replicate over 4
    assert planned("vit_15b_patch14") == ("FULL_SHARD", 32, True)  # blocks checkpointed
    forced = plan_for(EngineOptions(strategy="fsdp", devices=8, sharding="SHARD_GRAD_OP"), "gpu",
                      vit_workload("vit_base_patch16"), device_bytes=64 * GIB)
    assert forced.sharding == "SHARD_GRAD_OP"


def test_cpu_fsdp_is_fsdp2_under_model_parallel_strategy():
    from lightning.pytorch.strategies import ModelParallelStrategy

    strategy = fsdp_strategy(EngineOptions(accelerator="cpu", devices=2, strategy="fsdp"), "cpu", None)
    assert isinstance(strategy, ModelParallelStrategy)
    assert strategy.rsbench_plan.sharding == "FULL_SHARD" and strategy.rsbench_plan.world_size == 2


def test_ls_models_plan(capsys):
    from rsbench.cli import main

    assert main(["ls", "models", "--plan", "--devices", "8", "--device-memory", "64"]) == 0
    out = capsys.readouterr().out
    assert "vit_15b_patch14" in out and "FULL_SHARD group 8 +act-ckpt" in out
    assert "memory plan: batch 32/device" in plan_table()


def test_fsdp_without_a_workload_runs_ddp():
    # A module that does not shard itself (linear-probe head, feature extraction) must not land
    # under ModelParallelStrategy, where its gradients would not be synchronised.
    from lightning.pytorch.strategies import DDPStrategy, ModelParallelStrategy

    from rsbench.engine import make_trainer

    opts = EngineOptions(accelerator="cpu", devices=2, strategy="fsdp", progress=False)
    assert isinstance(make_trainer(opts).strategy, DDPStrategy)
    w = vit_workload("vit_tiny_patch16", img_size=32)
    assert isinstance(make_trainer(opts, workload=w).strategy, ModelParallelStrategy)


def test_fp16_mixed_precision_under_fsdp_is_refused_in_one_line():
    import pytest

    from rsbench.errors import UserError

    with pytest.raises(UserError) as err:
        EngineOptions(accelerator="gpu", strategy="fsdp", precision="16-mixed")
    assert str(err.value) == (
        "--precision 16-mixed does not run under --strategy fsdp (Lightning's "
        "ModelParallelStrategy, FSDP2, does not support it); use bf16-mixed, or 16-mixed with "
        "--strategy ddp")
    assert EngineOptions(accelerator="gpu", strategy="ddp", precision="16-mixed").precision == "16-mixed"
