"""Feature-extraction loaders: workers from the job's CPUs on a GPU, none on a CPU, same rows."""

from __future__ import annotations

import torch
from tiny_models import tiny_vit

from rsbench.data import make_synthetic_ucmerced
from rsbench.data.dataset import SceneDataset
from rsbench.data.decode import RGBReader
from rsbench.engine import features
from rsbench.engine.trainer import EngineOptions

CPU = EngineOptions(accelerator="cpu", progress=False)


def test_given_workers_are_used_as_given_and_a_cpu_decodes_in_process():
    assert features.extraction_workers(3, CPU) == 3
    assert features.extraction_workers(0, EngineOptions(accelerator="gpu")) == 0
    assert features.extraction_workers(None, CPU) == 0
    assert features.loader_options(0, CPU) == {"pin_memory": False, "persistent_workers": False}


def test_a_gpu_run_takes_its_workers_from_the_job_cpus(monkeypatch):
    monkeypatch.setattr(features, "accelerator_name", lambda _: "gpu")
    gpu = EngineOptions(accelerator="gpu", devices=4)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "6")  # per task, i.e. per rank: 6 - 1
    assert features.job_cpus() == 6 and features.extraction_workers(None, gpu) == 5
    monkeypatch.delenv("SLURM_CPUS_PER_TASK")
    monkeypatch.setattr(features.os, "sched_getaffinity", lambda _: set(range(32)))
    assert features.extraction_workers(None, gpu) == 32 // 4 - 1  # four ranks share the node
    assert features.extraction_workers(None, EngineOptions(accelerator="gpu")) == 16  # cap
    monkeypatch.setattr(features.os, "sched_getaffinity", lambda _: {0})
    assert features.extraction_workers(None, gpu) == 1  # at least one, even on one CPU
    assert features.loader_options(5, gpu) == {"pin_memory": True, "persistent_workers": True}


def test_worker_processes_give_the_same_rows_in_the_same_order(tmp_path):
    root = make_synthetic_ucmerced(tmp_path / "ucm", n_per_class=1, size=32, seed=0)
    samples = [(p.relative_to(root).as_posix(), i) for i, p in enumerate(sorted(root.rglob("*.tif")))]
    data = SceneDataset(root, samples, RGBReader(), 32)
    backbone = tiny_vit(32)
    before = features.forwarded_images()
    x0, y0 = features.extracted_features(backbone, data, CPU, batch_size=8, workers=0)
    x2, y2 = features.extracted_features(backbone, data, CPU, batch_size=8, workers=2)
    assert torch.equal(x0, x2) and torch.equal(y0, y2) and y0.tolist() == list(range(21))
    assert features.forwarded_images() - before == 2 * 21
