"""The plan counts what a sharded fill holds: ``--strategy fsdp`` fills a fine-tune's encoder
rank by rank (each reads 1/world of it); a frozen pass that fits one device reads it whole, and
zoo and random-init cards are built whole on every rank."""

from types import SimpleNamespace

from rsbench.engine.trainer import EngineOptions
from rsbench.plan import Job, ModelSize, job_plan
from rsbench.plan_check import reads_sharded, setting

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


def test_only_checkpoints_of_rsbench_architectures_are_read_shard_by_shard():
    fsdp, ddp = EngineOptions(strategy="fsdp"), EngineOptions(strategy="ddp")

    def card(arch="vit_large_patch16", random_init=False):
        return SimpleNamespace(arch=arch, random_init=random_init)

    assert reads_sharded(card(), fsdp)
    assert not reads_sharded(card(), ddp)
    assert not reads_sharded(card("zoo:dofa_base_patch16_224"), fsdp)  # torchgeo's module, whole
    assert not reads_sharded(card(random_init=True), fsdp)  # drawn whole on every rank
