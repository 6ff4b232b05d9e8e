"""Against a real one-node SLURM cluster (tests/slurm/conftest.py): a job array of `rsbench run`
jobs plus the dependent leaderboard job, a two-process `srun -n 2` run, and a preemption
(USR1 -> save, requeue, resume) whose metrics equal an uninterrupted run's."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from rsbench.cli import main
from rsbench.engine.resume import CKPT_NAME

if shutil.which("slurmctld") is None:
    pytest.skip("SLURM not installed (make setup-slurm)", allow_module_level=True)

RSBENCH = str(Path(sys.executable).with_name("rsbench"))


def sh(env, *cmd, check=True, timeout=150) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert not check or done.returncode == 0, f"{cmd[0]}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done.stdout


def job_field(env, job: str, key: str) -> str | None:
    out = sh(env, "scontrol", "show", "job", job, check=False)
    found = re.search(rf"\b{key}=(\S+)", out)
    return found.group(1) if found else None


def wait_gone(env, jobs: list[str], timeout: float = 150) -> None:
    """Until none of ``jobs`` (ids, array ids included) is pending or running."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not sh(env, "squeue", "-h", "-j", ",".join(jobs), check=False).strip():
            return
        time.sleep(0.5)
    raise TimeoutError(f"jobs {jobs} still queued after {timeout} s")


def records(results: Path) -> dict:
    from rsbench.results import ResultStore

    return {(r["model"]["name"], r["task"]["name"], r["seed"]): r for r in ResultStore(results).records()}


def finetune_suite(world, folder: Path, kind: str = "finetune") -> tuple[Path, Path, Path]:
    """A fine-tune task (``finetune``: classification, ``seg_finetune``), a one-task suite of
    it and a model card: what preemption runs."""
    task = world["tasks"][kind]
    suite = folder / "ft_suite.yaml"
    suite.write_text(yaml.safe_dump({"suite": "ft", "version": 1, "tasks": [str(task)], "seeds": [0],
                                     "baselines": {str(task): {"low": 0.0, "high": 1.0}}}))
    return task, suite, world["models"] / "tiny_a.yaml"


def wait_checkpoint(env, resume_root: Path, job: str, timeout: float) -> None:
    """Until the first epoch-end checkpoint exists: training is under way."""
    end = time.monotonic() + timeout
    while not list(resume_root.glob(f"*/{CKPT_NAME}")):
        assert time.monotonic() < end, sh(env, "scontrol", "show", "job", job)
        time.sleep(0.2)


def wait_requeued(env, job: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while job_field(env, job, "Restarts") in (None, "0"):
        assert time.monotonic() < end, "job was not requeued"
        time.sleep(0.3)


def submit_plan(env, world, out, suite, models, *extra) -> list[str]:
    cmd = [RSBENCH, "slurm", "plan", "--suite", str(suite), "--models", str(models),
           "--results", str(out / "results"), "--out", str(out / "plan"), "--template", "local",
           "--data-root", str(world["data_root"]), "--cache-dir", str(out / "cache"),
           "--rsbench", RSBENCH, "--submit", *extra]
    return sh(env, *cmd).split()


def test_job_array_writes_a_record_per_run_then_builds_the_board(slurm_cluster, slurm_world, tmp_path):
    env, start = slurm_cluster, time.monotonic()
    array, board = submit_plan(env, slurm_world, tmp_path, slurm_world["suite"],
                               slurm_world["models"], "--seeds", "0")
    assert job_field(env, board, "Dependency") in (f"afterany:{array}_*(unfulfilled)",
                                                   f"afterany:{array}_*", "(null)")
    wait_gone(env, [array, board])
    found = records(tmp_path / "results")
    logs = "\n".join(p.read_text() for p in (tmp_path / "plan" / "logs").glob("*.out"))
    assert sorted(found) == [("tiny_a", "sl_knn", 0), ("tiny_b", "sl_knn", 0)], logs
    assert all(r["status"] == "ok" for r in found.values())
    assert {r["environment"]["slurm"]["array_job_id"] for r in found.values()} == {array}
    # launch.sh: one intra-op thread per allocated core (local.sbatch asks for one)
    assert [r["environment"]["cpu_threads"] for r in found.values()] == [1, 1]
    assert (tmp_path / "plan" / "leaderboard" / "leaderboard.md").exists(), logs
    print(f"array of 2 + leaderboard: {time.monotonic() - start:.1f} s "
          f"(cluster start {env['RSBENCH_SLURM_START_S']} s)")


def test_srun_two_processes_match_one(slurm_cluster, slurm_world, tmp_path):
    env, start = slurm_cluster, time.monotonic()
    card = slurm_world["models"] / "tiny_a.yaml"
    common = ["run", "--model", str(card), "--tasks", str(slurm_world["tasks"]["knn"]), "--seeds", "0",
              "--data-root", str(slurm_world["data_root"]), "--accelerator", "cpu",
              "--precision", "32-true", "--quiet"]
    # A job named "bash" would hide SLURM from Lightning (its interactive-session rule), and
    # Lightning refuses --ntasks without --ntasks-per-node.
    out = sh(env, "srun", "-J", "rsbench", "-n", "2", "--ntasks-per-node=2", "--kill-on-bad-exit=1", "bash", "-c",
             'echo "procid=$SLURM_PROCID"; exec "$@"', "_", RSBENCH, *common,
             "--out", str(tmp_path / "two"), "--cache-dir", str(tmp_path / "c2"),
             "--devices", "2", "--strategy", "ddp")
    assert sorted(re.findall(r"procid=(\d)", out)) == ["0", "1"]
    assert main([*common, "--out", str(tmp_path / "one"), "--cache-dir", str(tmp_path / "c1")]) == 0
    (two,), (one,) = records(tmp_path / "two").values(), records(tmp_path / "one").values()
    assert two["environment"]["world_size"] == 2 and one["environment"]["world_size"] == 1
    assert two["record_id"] == one["record_id"] and two["metrics"] == one["metrics"]
    print(f"srun -n 2 vs 1 process: {time.monotonic() - start:.1f} s")


@pytest.mark.parametrize(("kind", "length", "warning"), [
    ("finetune", "protocol.epochs=40", True), ("finetune", "protocol.epochs=40", False),
    ("seg_finetune", "protocol.iterations=120", True)],
    ids=["usr1-warning", "no-warning", "segmentation-usr1-warning"])
def test_preempted_finetune_requeues_resumes_and_matches(slurm_cluster, slurm_world, tmp_path, kind,
                                                         length, warning):
    """With a warning the job saves at the epoch end and requeues itself; without one
    (``scontrol requeue`` kills it at once) it resumes from the last periodic checkpoint.
    Segmentation trains by iterations through the same engine loop, so it resumes the same way."""
    env, start = slurm_cluster, time.monotonic()
    task, suite, card = finetune_suite(slurm_world, tmp_path, kind)
    array, board = submit_plan(env, slurm_world, tmp_path, suite, card, f"--run-arg=--set={length}")
    job = f"{array}_0"
    resume_root = tmp_path / "cache" / "resume"
    wait_checkpoint(env, resume_root, job, timeout=90)
    signalled = time.monotonic()
    if warning:
        sh(env, "scancel", "--batch", "--signal=USR1", job)
    else:
        sh(env, "scontrol", "requeue", job)
    wait_requeued(env, job)
    requeued = time.monotonic()
    wait_gone(env, [array, board], timeout=300)  # 40 CPU epochs, twice started: slow on a busy node
    log = "\n".join(p.read_text() for p in (tmp_path / "plan" / "logs").glob(f"{array}_*.out"))
    assert "resumed from" in log and ("scontrol requeue" in log) == warning, log
    assert "restart 1" in log, log
    (resumed,) = records(tmp_path / "results").values()
    assert resumed["status"] == "ok", log
    assert not any(resume_root.iterdir()), "checkpoint folder left behind"

    done = time.monotonic()
    straight = tmp_path / "straight"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # what launch.sh gives the job: --cpus-per-task=1 in local.sbatch
    try:
        assert main(["run", "--model", str(card), "--tasks", str(task), "--seeds", "0",
                     "--out", str(straight), "--data-root", str(slurm_world["data_root"]),
                     "--cache-dir", str(tmp_path / "c0"), "--accelerator", "cpu",
                     "--precision", "32-true", "--quiet", "--set", length]) == 0
    finally:
        torch.set_num_threads(threads)
    (uninterrupted,) = records(straight).values()
    assert uninterrupted["record_id"] == resumed["record_id"]
    assert uninterrupted["metrics"] == resumed["metrics"]
    print(f"{kind} preemption (warning={warning}): signal after {signalled - start:.1f} s, requeued after "
          f"{requeued - signalled:.1f} s, resumed job done {done - requeued:.1f} s later; "
          f"uninterrupted run {time.monotonic() - done:.1f} s")


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_preempted_two_process_finetune_requeues_resumes_and_matches(slurm_cluster, slurm_world, tmp_path,
                                                                      strategy):
    """Two ranks on the node: both get the warning through srun, agree to stop at the same epoch
    end, save (DDP: one file; FSDP2: a folder of shards), requeue and resume with each rank's own
    random states, so the record equals an uninterrupted two-process run's."""
    # One thread per process in both runs: Lightning's own launcher (the reference) sets that,
    # srun does not, and a different thread count changes CPU float results.
    env, start = {**slurm_cluster, "OMP_NUM_THREADS": "1"}, time.monotonic()
    task, suite, card = finetune_suite(slurm_world, tmp_path)
    epochs = "protocol.epochs=16"
    plan = tmp_path / "plan"
    sh(env, RSBENCH, "slurm", "plan", "--suite", str(suite), "--models", str(card),
       "--results", str(tmp_path / "results"), "--out", str(plan), "--template", "local",
       "--data-root", str(slurm_world["data_root"]), "--cache-dir", str(tmp_path / "cache"),
       "--rsbench", RSBENCH, f"--run-arg=--set={epochs}", f"--run-arg=--strategy={strategy}")
    # Command-line options override the template's single task; launch.sh turns
    # SLURM_NTASKS_PER_NODE into --devices.
    array = sh(env, "sbatch", "--parsable", "--array=0", "--ntasks=2", "--ntasks-per-node=2",
               f"--output={plan / 'logs'}/%A_%a.out", str(plan / "array.sbatch")).strip().split(";")[0]
    job = f"{array}_0"
    resume_root = tmp_path / "cache" / "resume"
    wait_checkpoint(env, resume_root, job, timeout=120)
    signalled = time.monotonic()
    sh(env, "scancel", "--batch", "--signal=USR1", job)
    wait_requeued(env, job)
    requeued = time.monotonic()
    wait_gone(env, [array], timeout=240)
    log = (plan / "logs" / f"{array}_0.out").read_text()
    assert log.count("resumed from") == 2 and "scontrol requeue" in log, log  # once per rank
    assert "restart 1" in log and "restart 2" not in log, log
    (resumed,) = records(tmp_path / "results").values()
    assert resumed["status"] == "ok" and resumed["environment"]["world_size"] == 2, log
    assert not any(resume_root.iterdir()), "checkpoint folder left behind"

    done = time.monotonic()
    # The reference runs outside SLURM (Lightning starts the second process), so the preemption
    # machinery cannot make both runs wrong the same way (say, a prediction after fit that
    # reloads a checkpoint).
    straight = tmp_path / "straight"
    plain = {k: v for k, v in env.items() if not k.startswith("SLURM_")}
    sh(plain, RSBENCH, "run", "--model", str(card), "--tasks", str(task), "--seeds", "0",
       "--out", str(straight), "--data-root", str(slurm_world["data_root"]),
       "--cache-dir", str(tmp_path / "c0"), "--accelerator", "cpu", "--precision", "32-true",
       "--quiet", "--set", epochs, "--devices", "2", "--strategy", strategy, timeout=240)
    (uninterrupted,) = records(straight).values()
    assert uninterrupted["environment"]["world_size"] == 2
    assert uninterrupted["record_id"] == resumed["record_id"]
    assert uninterrupted["metrics"] == resumed["metrics"]
    print(f"two-process {strategy} preemption: signal after {signalled - start:.1f} s, requeued after "
          f"{requeued - signalled:.1f} s, resumed job done {done - requeued:.1f} s later; "
          f"uninterrupted 2-process run {time.monotonic() - done:.1f} s")
