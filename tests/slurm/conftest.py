"""Fixtures for the SLURM tests: a tiny scoring world, and a real one-node SLURM cluster.

The cluster (slurmctld + slurmd + munged, Debian's SLURM 22.05, see /work/shared/ENV.md) is
started from a slurm.conf in a temp dir and stopped by PID; tests that use it are skipped when
SLURM is not installed (``make setup-slurm`` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TASK = """include: [{root}/tasks/demo/_demo_dataset.yaml, {root}/tasks/classification/_protocols/{proto}.yaml]
task: {name}
version: 1
dataset: {{image_size: 32}}
"""
FAST = {"knn": "protocol: {k: 5}\n",
        "finetune": "protocol: {epochs: 4, batch_size: 16, warmup_epochs: 1, blr: 2.0e-2, mixup: 0.0, cutmix: 0.0}\n"}

# Segmentation fine-tuning by iterations (8 training images, batch 4: 2 steps per epoch), with
# scale jitter and flips on, so the resumed run must restore the augmentation's random state.
SEG_TASK = """include: [{root}/tasks/segmentation/_protocols/finetune.yaml]
task: sl_seg_finetune
version: 1
type: segmentation
dataset:
  name: loveda
  split: {{kind: official, name: val-as-test}}
  image_size: 32
  bands: [R, G, B]
metrics: {{primary: miou, higher_is_better: true}}
protocol: {{decoder: linear, iterations: 120, batch_size: 4, lr: 1.0e-3, warmup_iters: 2,
           slide_stride: 32}}
"""


@pytest.fixture(scope="session")
def slurm_world(tmp_path_factory):
    """Synthetic UC Merced, a tiny ViT card, kNN and fine-tune task files and a suite of them."""
    from safetensors.torch import save_file
    from tiny_models import tiny_vit

    from rsbench.data import make_synthetic_ucmerced
    from rsbench.data.segmentation import make_synthetic_loveda

    tmp = tmp_path_factory.mktemp("slurm_world")
    data = make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=6, size=32, seed=0)
    save_file(tiny_vit(32).model.state_dict(), str(tmp / "tiny.safetensors"))
    models = tmp / "models"
    models.mkdir()
    for name in ("tiny_a", "tiny_b"):
        (models / f"{name}.yaml").write_text(yaml.safe_dump({
            "name": name, "arch": "vit_tiny_patch16", "checkpoint": str(tmp / "tiny.safetensors"),
            "arch_overrides": {"depth": 2, "patch_size": 8}, "input_spec": {"img_size": 32}}))
    tasks = {}
    for proto in ("knn", "finetune"):
        path = tmp / f"sl_{proto}.yaml"
        path.write_text(TASK.format(root=REPO, proto=proto, name=f"sl_{proto}") + FAST[proto])
        tasks[proto] = path
    make_synthetic_loveda(tmp / "data" / "loveda", n_per_split=8, size=32, seed=0)
    tasks["seg_finetune"] = tmp / "sl_seg_finetune.yaml"
    tasks["seg_finetune"].write_text(SEG_TASK.format(root=REPO))
    suite = tmp / "sl_suite.yaml"
    suite.write_text(yaml.safe_dump({
        "suite": "sl_suite", "version": 1, "tasks": [str(tasks["knn"])], "seeds": [0, 1],
        "baselines": {str(tasks["knn"]): {"low": 0.0476, "high": 1.0}}}))
    return {"tmp": tmp, "data_root": data.parent, "models": models, "tasks": tasks, "suite": suite}


SLURM_CONF = """ClusterName=rsbenchci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerParameters=sched_interval=2,bf_interval=1
MailProg=/bin/true
ReturnToService=2
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldPort={port}
SlurmdPort={port1}
NodeName=localhost {node} RealMemory={mem} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _node_line() -> tuple[str, int]:
    """CPUs/sockets/cores/threads from ``slurmd -C``, and its RealMemory."""
    out = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout
    first = out.splitlines()[0]
    keep = [w for w in first.split() if w.split("=")[0] in
            ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")]
    mem = int(re.search(r"RealMemory=(\d+)", first).group(1))
    return " ".join(keep), max(1, mem - 512)


def _own_session_dying_with_parent() -> None:
    """In the child before exec: a new session, and SIGTERM when pytest dies (even killed)."""
    import ctypes

    os.setsid()
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.3)
    raise TimeoutError(f"SLURM: {what} not reached in {timeout:.0f} s")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running one-node SLURM cluster; yields the environment to run its commands with."""
    if shutil.which("slurmctld") is None or shutil.which("munged") is None:
        pytest.skip("SLURM not installed (make setup-slurm)")
    if os.geteuid() != 0:
        pytest.skip("the test SLURM cluster runs its daemons as root")
    d = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool"):
        (d / sub).mkdir()
    node, mem = _node_line()
    port = 16817 + os.getpid() % 1000 * 2
    (d / "slurm.conf").write_text(SLURM_CONF.format(d=d, node=node, mem=mem, port=port, port1=port + 1))
    env = {**os.environ, "SLURM_CONF": str(d / "slurm.conf")}
    for var in [v for v in env if v.startswith(("SLURM_", "SBATCH_", "SRUN_")) and v != "SLURM_CONF"]:
        del env[var]  # a pytest run inside a SLURM job must not leak its own job into these
    start = time.monotonic()
    Path("/run/munge").mkdir(parents=True, exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    munged_pid = None
    if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
        subprocess.run(["runuser", "-u", "munge", "--", "/usr/sbin/munged"], check=True)
        munged_pid = int(Path("/run/munge/munged.pid").read_text().split()[0])
    procs = [subprocess.Popen(cmd, env=env, preexec_fn=_own_session_dying_with_parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for cmd in (["slurmctld", "-D", "-i"], ["slurmd", "-D", "-N", "localhost"])]
    try:
        def idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True)
            return out.stdout.strip() == "idle"

        _wait(idle, 60, "node idle")
        env["RSBENCH_SLURM_START_S"] = f"{time.monotonic() - start:.1f}"
        yield env
    finally:
        subprocess.run(["scancel", "--full", "-u", "root"], env=env, capture_output=True)
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if munged_pid is not None:  # only the munged this fixture started
            os.kill(munged_pid, signal.SIGTERM)
