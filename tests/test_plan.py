"""The plan's arithmetic, each figure computed by hand from the architecture's dimensions."""

import pytest

from rsbench.backbones.memory import GIB, OVERHEAD
from rsbench.plan import (
    IMPORTS_BYTES,
    LOAD_RUNTIME_BYTES,
    Job,
    Setting,
    job_plan,
    model_size,
    plan,
)

# ViT-L/16 at 224 px, headless: per block 2 LayerNorms (4*1024), qkv (3*1024^2 + 3*1024),
# proj (1024^2 + 1024), fc1 (1024*4096 + 4096), fc2 (4096*1024 + 1024) = 12,596,224; 24 blocks
# = 302,309,376; patch embedding 3*16*16*1024 + 1024 = 787,456; class token 1024; position
# embedding 197*1024 = 201,728; final norm 2048.
VIT_L = 302_309_376 + 787_456 + 1024 + 201_728 + 2048
RUNTIME = LOAD_RUNTIME_BYTES + IMPORTS_BYTES
GPU = Setting(strategy="ddp", devices=1, precision="bf16-mixed", accelerator="gpu")


def test_vit_l_count_is_timm_minus_its_classifier():
    import timm
    import torch

    assert VIT_L == 303_301_632
    with torch.device("meta"):
        timm_model = timm.create_model("vit_large_patch16_224", pretrained=False)
    # timm's count includes its 1000-class head (1024*1000 + 1000); the encoder has none
    assert sum(p.numel() for p in timm_model.parameters()) == 304_326_632 == VIT_L + 1_025_000
    assert model_size("vit_large_patch16").params == VIT_L


def test_meta_build_counts_like_the_closed_form():
    meta = model_size("vit_large_patch16", 224, (("drop_path_rate", 0.1),))  # meta-device build
    assert (meta.params, meta.largest, meta.embed_dim, meta.depth, meta.patch) == (
        VIT_L, 4096 * 1024, 1024, 24, 16)
    assert model_size("vit_large_patch16").largest == 4096 * 1024


def test_frozen_fp32_on_a_gpu():
    p = plan(model_size("vit_large_patch16"), "frozen", GPU, batch_size=64)
    assert p.weights_dtype == "float32"
    assert p.host_bytes == 4 * VIT_L + RUNTIME  # the loader holds the fp32 weights once
    acts = 34 * 197 * 64 * 1024  # one layer at bf16 compute, no graph kept
    assert p.device_bytes == 4 * VIT_L + acts + OVERHEAD
    assert p.read_bytes == 4 * VIT_L and p.load_s == pytest.approx(4 * VIT_L / 1e9)


def test_frozen_bf16_true_holds_half_the_weights_and_one_fp32_tensor():
    s = Setting(strategy="ddp", precision="bf16-true", accelerator="gpu")
    p = plan(model_size("vit_large_patch16"), "frozen", s, batch_size=64)
    assert p.weights_dtype == "bfloat16"
    assert p.host_bytes == 2 * VIT_L + 4 * 4096 * 1024 + RUNTIME
    assert p.device_bytes == 2 * VIT_L + 34 * 197 * 64 * 1024 + OVERHEAD
    auto = plan(model_size("vit_large_patch16"), "frozen", Setting(precision="auto",
                                                                    accelerator="gpu"))
    assert auto.weights_dtype == "bfloat16"  # auto on a bf16 GPU
    cpu = plan(model_size("vit_large_patch16"), "frozen", Setting(precision="auto"))
    assert cpu.weights_dtype == "float32"  # the CPU keeps fp32 unless told


def test_finetune_adamw_and_activations_on_one_gpu():
    p = plan(model_size("vit_large_patch16"), "finetune", GPU, batch_size=32)
    assert p.weights_dtype == "float32"
    m = p.device
    # fp32 weights and grads, AdamW's two fp32 moments
    assert (m.params, m.grads, m.optimizer) == (4 * VIT_L, 4 * VIT_L, 8 * VIT_L)
    assert m.activations == 24 * 34 * 197 * 32 * 1024  # every layer kept for backward
    assert p.device_bytes == 16 * VIT_L + 24 * 34 * 197 * 32 * 1024 + OVERHEAD
    assert p.host_bytes == 4 * VIT_L + RUNTIME


def test_finetune_fsdp_on_8_ranks_shards_the_device_not_the_load():
    s = Setting(strategy="fsdp", devices=8, precision="bf16-mixed", accelerator="gpu",
                sharding="FULL_SHARD")
    p = job_plan(model_size("vit_large_patch16"), Job("ft", "finetune", 256, 224), s)
    m = p.device
    assert (m.params, m.grads, m.optimizer) == (4 * VIT_L / 8, 4 * VIT_L / 8, 8 * VIT_L / 8)
    assert m.activations == 24 * 34 * 197 * 32 * 1024  # 256 images over 8 ranks: 32 each
    assert p.sharding == "FULL_SHARD group 8"
    assert p.host_bytes == 4 * VIT_L + RUNTIME  # every rank still reads the whole encoder
    assert p.node_host_bytes == 8 * (4 * VIT_L + RUNTIME)


def test_on_the_cpu_the_run_is_host_memory():
    s = Setting(strategy="ddp", precision="32-true", accelerator="cpu")
    p = plan(model_size("vit_large_patch16"), "finetune", s, batch_size=8)
    acts = 24 * 34 * 197 * 8 * 1024 * 2  # fp32 activations: twice the 16-bit bytes
    assert p.device_bytes is None
    assert p.host_bytes == 16 * VIT_L + acts + IMPORTS_BYTES


def test_a_ddp_fine_tune_holds_its_gradients_twice_while_ddp_rebuilds_its_buckets():
    # Over 2 ranks DDP's buckets (the gradients, as views) are re-allocated once after the
    # first step before the old are freed: 4 B of weights, 2 x 4 B of gradients, 8 B of AdamW.
    acts = 24 * 34 * 197 * 8 * 1024 * 2  # fp32 activations of 8 images per rank
    ddp = plan(model_size("vit_large_patch16"), "finetune",
               Setting(strategy="ddp", devices=2, precision="32-true", accelerator="cpu"), batch_size=8)
    assert (ddp.device.params, ddp.device.grads, ddp.device.optimizer) == (4 * VIT_L, 8 * VIT_L, 8 * VIT_L)
    assert ddp.host_bytes == 20 * VIT_L + acts + IMPORTS_BYTES
    assert ddp.node_host_bytes == 2 * ddp.host_bytes
    # One process runs without DDP, and a frozen pass has no gradients at all.
    one = plan(model_size("vit_large_patch16"), "finetune",
               Setting(strategy="ddp", devices=1, precision="32-true", accelerator="cpu"), batch_size=8)
    assert one.device.grads == 4 * VIT_L
    frozen = plan(model_size("vit_large_patch16"), "frozen",
                  Setting(strategy="ddp", devices=2, precision="32-true", accelerator="cpu"))
    assert frozen.device.grads == 0.0


def test_read_bytes_are_the_encoders_at_most_the_file():
    bf16_file = model_size("vit_large_patch16", file_bytes=2 * VIT_L + 1000)
    assert plan(bf16_file, "frozen", GPU).read_bytes == 2 * VIT_L + 1000
    training_ckpt = model_size("vit_large_patch16", file_bytes=12 * VIT_L)  # + AdamW moments
    assert plan(training_ckpt, "frozen", GPU, read_bytes_per_s=2e9).load_s == 4 * VIT_L / 2e9


def test_vit_15b_frozen_bf16_fits_one_64_gib_device():
    s = Setting(strategy="ddp", precision="auto", accelerator="gpu")
    p = plan(model_size("vit_15b_patch14"), "frozen", s, batch_size=64)
    params = model_size("vit_15b_patch14").params
    assert params == 14_638_745_520
    assert p.device_bytes == 2 * params + 34 * 257 * 64 * 5040 + OVERHEAD < 64 * GIB


def test_a_sharded_load_holds_and_reads_the_ranks_share():
    s = Setting(strategy="fsdp", devices=8, precision="bf16-mixed", accelerator="gpu",
                sharding="FULL_SHARD", sharded_load=True)
    p = job_plan(model_size("vit_large_patch16"), Job("ft", "finetune", 256, 224), s)
    assert p.host_bytes == 4 * VIT_L / 8 + RUNTIME
    assert p.read_bytes == 4 * VIT_L / 8


def test_a_frozen_pass_under_fsdp_is_planned_sharded_only_when_a_whole_encoder_does_not_fit():
    # ViT-L/16 in fp32 at batch 64: 4 * VIT_L of weights, one layer's activations
    # (34 x 197 tokens x 64 x 1024 x 2 B, fp32 compute) and the runtime overhead = 3.22 GiB.
    s = Setting(strategy="fsdp", devices=8, precision="32-true", accelerator="gpu", sharded_load=True)
    acts = 34 * 197 * 64 * 1024 * 2
    whole = plan(model_size("vit_large_patch16"), "frozen", s, 64, device_bytes=80 * GIB)
    assert whole.sharding == "NO_SHARD"
    assert whole.device_bytes == 4 * VIT_L + acts + OVERHEAD
    assert whole.host_bytes == 4 * VIT_L + RUNTIME and whole.read_bytes == 4 * VIT_L
    # On 3 GiB devices (0.9 x 3 = 2.7 GiB < 3.22 GiB) each of the 8 ranks holds and reads 1/8,
    # and gathers the block it computes and the next (2/24 of the weights).
    split = plan(model_size("vit_large_patch16"), "frozen", s, 64, device_bytes=3 * GIB)
    assert split.sharding == "FULL_SHARD group 8"
    assert split.device_bytes == 4 * VIT_L / 8 + 2 * 4 * VIT_L / 24 + acts + OVERHEAD
    assert split.host_bytes == 4 * VIT_L / 8 + RUNTIME and split.read_bytes == 4 * VIT_L / 8
    # Data parallel never shards, whatever the device.
    ddp = plan(model_size("vit_large_patch16"), "frozen", Setting(strategy="ddp", devices=8,
               precision="32-true", accelerator="gpu"), 64, device_bytes=3 * GIB)
    assert ddp.sharding == "NO_SHARD" and ddp.read_bytes == 4 * VIT_L
