"""Fixtures shared across test folders."""

from pathlib import Path

import pytest


@pytest.fixture
def tiny_card():
    """``make(folder, img_size) -> card path``: a seeded 2-block ViT-Ti/8 saved as safetensors
    next to a model card that reads it; what the end-to-end tests of every task type score."""
    from tiny_models import write_tiny_card

    return write_tiny_card


@pytest.fixture
def run_one_record():
    """``run(card, task_yaml, folder) -> record``: ``rsbench run`` on CPU for seed 0, data under
    ``folder/data``; asserts the exit code and returns the single record written."""

    def run(card: Path, task: Path, folder: Path) -> dict:
        import json

        from rsbench.cli import main

        out = folder / "out"
        rc = main(["run", "--model", str(card), "--tasks", str(task), "--seeds", "0",
                   "--out", str(out), "--data-root", str(folder / "data"),
                   "--cache-dir", str(folder / "cache"), "--accelerator", "cpu", "--quiet"])
        assert rc == 0
        (record,) = [json.loads(p.read_text()) for p in out.rglob("*.json")]
        assert record["status"] == "ok", record.get("error")
        return record

    return run


@pytest.fixture
def one_thread():
    """One torch thread: a tiny ViT gains nothing from more, and a loaded machine slows it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def in_process_distributed():
    """For a test that runs a distributed strategy in the pytest process itself (one rank):
    afterwards its process group is destroyed and the environment Lightning set for it
    (``MASTER_PORT``...) removed, so a later test's worker processes do not inherit a port
    this process still listens on."""
    import os

    saved = dict(os.environ)
    yield
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()
    os.environ.clear()
    os.environ.update(saved)
