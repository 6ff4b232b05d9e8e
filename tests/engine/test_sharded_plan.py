"""The plan counts what a sharded fill holds: ``--strategy fsdp`` on the CPU fills a fine-tune's
encoder rank by rank (each reads 1/world of it); frozen passes and GPU ranks read it whole."""

from rsbench.engine.trainer import EngineOptions
from rsbench.plan import Job, ModelSize, job_plan
from rsbench.plan_check import setting

# ViT-L/16-like shape; 300M parameters keep the hand arithmetic exact.
SIZE = ModelSize("vit_large_patch16", params=300_000_000, largest=4096 * 1024, embed_dim=1024,
                 depth=24, patch=16)


def test_fsdp_on_the_cpu_plans_a_sharded_fine_tune_and_a_whole_frozen_pass():
    s = setting(EngineOptions(accelerator="cpu", devices=2, strategy="fsdp"))
    assert s.sharded_load and s.world_size == 2
    assert not setting(EngineOptions(accelerator="cpu", devices=2, strategy="ddp")).sharded_load
    finetune = job_plan(SIZE, Job("ft", "finetune", 32, 224), s)
    frozen = job_plan(SIZE, Job("knn", "frozen", 64, 224), s)
    assert finetune.read_bytes == 4 * 300_000_000 / 2  # fp32 encoder, half per rank
    assert frozen.read_bytes == 4 * 300_000_000  # read whole by every rank
