"""The resume plumbing without SLURM: nothing changes outside a job; inside, the trainer gets
the preemption callback, its own folder and Lightning's SLURM environment without auto-requeue."""

from __future__ import annotations

import torch

from rsbench.engine import EngineOptions, make_trainer
from rsbench.engine.resume import CKPT_NAME, Preemption, checkpoint_path, resume_dir


def test_outside_slurm_the_trainer_is_unchanged(tmp_path, monkeypatch):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    opts = EngineOptions(accelerator="cpu", progress=False, root_dir=str(tmp_path))
    plain = make_trainer(opts, max_epochs=1)
    with_dir = make_trainer(opts, max_epochs=1, resume_dir=tmp_path / "r")
    for trainer in (plain, with_dir):
        assert not any(isinstance(c, Preemption) for c in trainer.callbacks)
        assert trainer.default_root_dir == str(tmp_path)


def test_inside_slurm_the_run_checkpoints_into_its_own_folder(tmp_path, monkeypatch):
    for var in ("SLURM_NTASKS", "SLURM_NTASKS_PER_NODE", "SLURM_JOB_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    folder = resume_dir(tmp_path, "abc")
    gen = torch.Generator().manual_seed(0)
    opts = EngineOptions(accelerator="cpu", progress=False, root_dir=str(tmp_path))
    trainer = make_trainer(opts, max_epochs=1, resume_dir=folder, resume_generator=gen)
    (cb,) = [c for c in trainer.callbacks if isinstance(c, Preemption)]
    assert cb.generator is gen and trainer.default_root_dir == str(folder)
    assert checkpoint_path(folder) is None
    folder.mkdir(parents=True)
    (folder / CKPT_NAME).write_bytes(b"x")
    assert checkpoint_path(folder) == str(folder / CKPT_NAME)
    knn_like = make_trainer(opts, max_epochs=1)  # no folder: no checkpoints, shared root untouched
    assert not any(isinstance(c, Preemption) for c in knn_like.callbacks)
