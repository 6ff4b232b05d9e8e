"""``rsbench slurm plan`` without SLURM: pending vs done records, deterministic output."""

from __future__ import annotations

import os
import re
import subprocess

from rsbench.cli import main


def plan(world, out, *extra):
    return main(["slurm", "plan", "--suite", str(world["suite"]), "--models", str(world["models"]),
                 "--results", str(out / "results"), "--out", str(out / "plan"),
                 "--template", "local", "--data-root", str(world["data_root"]),
                 "--cache-dir", str(out / "cache"), *extra])


def run_one(world, out, card, seed):
    return main(["run", "--model", str(world["models"] / f"{card}.yaml"),
                 "--tasks", str(world["tasks"]["knn"]), "--seeds", str(seed),
                 "--out", str(out / "results"), "--data-root", str(world["data_root"]),
                 "--cache-dir", str(out / "cache"), "--accelerator", "cpu",
                 "--precision", "32-true", "--quiet"])


def test_plan_lists_every_run_then_skips_done_records(slurm_world, tmp_path, capsys):
    assert plan(slurm_world, tmp_path) == 0
    manifest = (tmp_path / "plan" / "manifest.tsv").read_text().splitlines()
    assert len(manifest) == 4  # 2 cards x 1 task x 2 seeds
    card, task, seed = manifest[0].split("\t")
    assert card.endswith("tiny_a.yaml") and task == str(slurm_world["tasks"]["knn"]) and seed == "0"
    commands = capsys.readouterr().out.splitlines()
    assert commands[0].startswith("sbatch --parsable --array=0-3 ")
    assert "--dependency=afterany:ARRAY_JOB" in commands[1]

    # A record written by `rsbench run` has exactly the id the plan computed: it drops out.
    assert run_one(slurm_world, tmp_path, "tiny_b", 1) == 0
    capsys.readouterr()
    assert plan(slurm_world, tmp_path) == 0
    pending = (tmp_path / "plan" / "manifest.tsv").read_text().splitlines()
    assert len(pending) == 3 and not any(line.startswith(str(slurm_world["models"] / "tiny_b.yaml")) and line.endswith("\t1")
                                   for line in pending)
    assert "--array=0-2" in capsys.readouterr().out


def test_plan_output_is_deterministic_and_scripts_are_filled(slurm_world, tmp_path):
    assert plan(slurm_world, tmp_path / "a") == 0
    assert plan(slurm_world, tmp_path / "b", "--seeds", "1") == 0
    assert plan(slurm_world, tmp_path / "a2") == 0
    for name in ("manifest.tsv", "array.sbatch", "leaderboard.sbatch"):
        a = (tmp_path / "a" / "plan" / name).read_text()
        a2 = (tmp_path / "a2" / "plan" / name).read_text().replace(str(tmp_path / "a2"), str(tmp_path / "a"))
        assert a == a2, name
    assert len((tmp_path / "b" / "plan" / "manifest.tsv").read_text().splitlines()) == 2
    for name in ("array.sbatch", "leaderboard.sbatch"):
        text = (tmp_path / "a" / "plan" / name).read_text()
        assert "@@" not in text
        subprocess.run(["bash", "-n", str(tmp_path / "a" / "plan" / name)], check=True)
    board = (tmp_path / "a" / "plan" / "leaderboard.sbatch").read_text()
    assert f"leaderboard build --suite {slurm_world['suite']}" in board


def test_gpu_templates_record_bf16_and_name_their_launch(slurm_world, tmp_path):
    for template in ("cuda", "frontier"):
        out = tmp_path / template
        assert main(["slurm", "plan", "--suite", str(slurm_world["suite"]), "--models",
                     str(slurm_world["models"]), "--results", str(out / "r"), "--out", str(out),
                     "--template", template, "--run-arg=--strategy=fsdp"]) == 0
        text = (out / "array.sbatch").read_text()
        assert "RSBENCH_PRECISION=bf16-mixed" in text and "EXTRA_ARGS=(--strategy=fsdp)" in text
        subprocess.run(["bash", "-n", str(out / "array.sbatch")], check=True)
    frontier = (tmp_path / "frontier" / "array.sbatch").read_text()
    for needle in ("module load PrgEnv-gnu rocm", "MIOPEN_USER_DB_PATH", "NCCL_SOCKET_IFNAME=hsn0",
                   "FI_CXI_ATS=0", "#SBATCH --gpus-per-node=8", "--gpus-per-node=8 --gpu-bind=none",
                   "--cpu-bind=mask_cpu:", "#SBATCH --signal=B:USR1@"):
        assert needle in frontier
    # Lightning's devices=8 needs all 8 GCDs visible in every task: no per-task GPU binding.
    code = [line for line in frontier.splitlines() if not line.lstrip().startswith("#")]
    assert not any("--gpus-per-task" in line or "--gpu-bind=closest" in line for line in code)
    # Task i runs on GCD i's L3 region (OLCF's table), less the core `-S 8` reserves in each.
    masks = re.search(r"--cpu-bind=mask_cpu:([0-9a-fx,]+)", frontier).group(1).split(",")
    region = {4: 0, 5: 8, 2: 16, 3: 24, 6: 32, 7: 40, 0: 48, 1: 56}  # GCD -> first core of its L3
    assert [{c for c in range(64) if int(m, 16) >> c & 1} for m in masks] == \
        [set(range(region[gcd] + 1, region[gcd] + 8)) for gcd in range(8)]


def test_submit_chains_the_leaderboard_after_the_array(slurm_world, tmp_path, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "sbatch"  # records its arguments, answers like `sbatch --parsable`
    fake.write_text(f'#!/bin/bash\necho "$@" >> {tmp_path}/calls\n'
                    f'n=$(wc -l < {tmp_path}/calls); echo "$((100 + n));cluster"\n')
    fake.chmod(0o755)
    old = os.environ["PATH"]
    os.environ["PATH"] = f"{bin_dir}:{old}"
    try:
        assert plan(slurm_world, tmp_path, "--submit") == 0
    finally:
        os.environ["PATH"] = old
    assert capsys.readouterr().out.split() == ["101", "102"]
    calls = (tmp_path / "calls").read_text().splitlines()
    assert "--array=0-3" in calls[0] and "--dependency=afterany:101" in calls[1]
