"""Peak resident memory of every process of whole ``rsbench`` commands, against the file and the plan.

``load_memory.py`` measures the loader alone and ``fsdp_memory.py`` a hand-made training loop;
this script runs the real command line, as a user does: ``rsbench inspect``, then ``rsbench run``
of a frozen protocol (kNN on UC Merced 8:2) and of a fine-tune (one epoch of the MAE recipe),
each with one process, two DDP processes and two FSDP2 processes (gloo, CPU), on a random-weight
fp32 safetensors checkpoint of ``--arch``. The data are the tests' fake UC Merced
(``--per-class`` images per class) at ``--patches`` x ``--patches`` patches, so activations stay
small and the weights and training state dominate.

While a command runs, every process it starts (Lightning starts ranks 1..N-1 from rank 0) is
polled every ``POLL_S`` for its ``VmHWM`` (peak resident set, which exec resets, so a rank does
not inherit its parent's); a process's figure is the last value read before it ended, and a
process that lived under a second (a helper, or a child caught between fork and exec) is left
out. Each
command's row gives the processes' peaks (absolute, imports included, as the plan counts
them), and the largest anonymous resident memory (``RssAnon``) read of each: a frozen
encoder's weights are assigned from the memory-mapped file, so they are clean page cache,
shared by the ranks of a node and reclaimable, which the peak counts and ``RssAnon`` does not; the file's bytes, the larger peak over the file, the per-rank host memory of the plan
the run printed, the wall time, and what the command said when it refused to run (a plan over
this node's memory is refused before anything loads).

A frozen pass under ``--strategy fsdp`` shards its encoder only when a whole one does not fit a
device; on the CPU the device is host memory, so ``--device-memory`` is set below a whole
encoder (``DEVICE_FRACTION`` of the file) to measure the sharded placement.

    python benchmarks/run_memory.py --arch vit_large_patch16 vit_huge_patch14 vit_1b_patch14

One JSON line per command; BENCHMARKS.md records results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the fake-data generators in the datasets' layouts
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_memory import checkpoint  # noqa: E402

GB = 1e9
GIB = 1024**3
POLL_S = 0.1
DEVICE_FRACTION = 0.7  # --device-memory of a sharded frozen pass, as a fraction of the file
SETTINGS = {"1 process": [], "ddp x2": ["--devices", "2", "--strategy", "ddp"],
            "fsdp x2": ["--devices", "2", "--strategy", "fsdp"]}
PROTOCOLS = {"frozen (kNN)": ("ucmerced_8_2_knn", []),
             "fine-tune (1 epoch)": ("ucmerced_8_2_finetune",
                                     ["--set", "protocol.epochs=1", "--set", "protocol.warmup_epochs=0",
                                      "--set", "protocol.batch_size=8"])}


def children(pid: int) -> list[int]:
    """``pid``'s direct children (every thread's list)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return found


def resident(pid: int) -> tuple[int, int] | None:
    """``(VmHWM, RssAnon)`` of ``pid`` in bytes; None once it has ended."""
    try:
        with open(f"/proc/{pid}/status") as f:
            fields = {k: int(v.split()[0]) * 1024 for k, v in
                      (line.split(":", 1) for line in f) if k in ("VmHWM", "RssAnon")}
        return fields["VmHWM"], fields["RssAnon"]
    except (OSError, KeyError):
        return None


def watched(cmd: list[str], timeout: float) -> tuple[subprocess.CompletedProcess, dict[int, tuple[int, int]], float]:
    """Run ``cmd``; its result, the peaks ``(VmHWM, largest RssAnon read)`` of each process of
    its tree (in order of start), and its wall seconds."""
    peaks: dict[int, tuple[int, int]] = {}
    polls: dict[int, int] = {}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            todo = [proc.pid]
            while todo:
                pid = todo.pop()
                value = resident(pid)
                if value is not None:
                    hwm, anon = peaks.get(pid, (0, 0))
                    peaks[pid] = (max(hwm, value[0]), max(anon, value[1]))
                    polls[pid] = polls.get(pid, 0) + 1
                todo += children(pid)
            time.sleep(POLL_S)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        done.set()
        thread.join()
    wall = time.perf_counter() - start
    # A child read between its fork and its exec still shows its parent's peak: only what
    # lived a second or more (a rank, not a helper such as a compiler probe) is kept.
    ranks = {pid: v for pid, v in peaks.items() if pid == proc.pid or polls[pid] * POLL_S >= 1.0}
    return subprocess.CompletedProcess(cmd, proc.returncode, out, ""), ranks, wall


def planned_host_gb(output: str) -> float | None:
    """Host GB per rank of the first plan line the run printed."""
    m = re.search(r"plan: .*?host ([0-9.]+) GB/rank", output)
    return float(m.group(1)) if m else None


def said(output: str) -> str:
    """The command's last error line, or ''."""
    lines = [ln.strip() for ln in output.splitlines() if "rror" in ln or "refus" in ln]
    return lines[-1][:300] if lines else ""


def data_root(args, work: Path) -> Path:
    from fake_data import generator

    root = work / f"data_{args.per_class}"
    if not (root / "ucmerced").exists():
        generator("ucmerced").make(root / "ucmerced", n_per_class=args.per_class, size=64, seed=0)
    return root


def row(args, arch: str, file: Path, what: str, setting: str, cmd: list[str]) -> dict:
    result, peaks, wall = watched(cmd, args.timeout)
    size = file.stat().st_size
    largest = max((hwm for hwm, _ in peaks.values()), default=0)
    out = {"arch": arch, "command": what, "setting": setting, "rc": result.returncode,
           "file_gb": round(size / GB, 3),
           "peak_gb_per_process": [round(hwm / GB, 2) for hwm, _ in peaks.values()],
           "anonymous_peak_gb_per_process": [round(anon / GB, 2) for _, anon in peaks.values()],
           "largest_vs_file": round(largest / size, 2),
           "planned_host_gb_per_rank": planned_host_gb(result.stdout), "wall_s": round(wall, 1),
           "load_avg_1m": round(os.getloadavg()[0], 2)}
    if result.returncode != 0:
        out["said"] = said(result.stdout)
        if args.verbose:
            sys.stderr.write(result.stdout[-4000:])
    print(json.dumps(out), flush=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", nargs="+", default=["vit_large_patch16"])
    p.add_argument("--per-class", type=int, default=5, help="fake UC Merced images per class")
    p.add_argument("--patches", type=int, default=4, help="image side in patches")
    p.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    p.add_argument("--protocols", nargs="+", choices=list(PROTOCOLS), default=list(PROTOCOLS))
    p.add_argument("--no-inspect", action="store_true")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/rsbench_run_memory"))
    p.add_argument("--timeout", type=float, default=1800, help="seconds per command")
    p.add_argument("--verbose", action="store_true", help="print a failed command's output")
    args = p.parse_args()
    rsbench = str(Path(sys.executable).parent / "rsbench")
    work = args.workdir
    data = data_root(args, work)
    from rsbench.backbones.vit import VIT_ARCHS

    for arch in args.arch:
        file = checkpoint(arch, "safetensors", work)
        model = ["--model", str(file), "--arch", arch]
        if not args.no_inspect:
            row(args, arch, file, "inspect", "1 process", [rsbench, "inspect", str(file), "--arch", arch])
        size = args.patches * VIT_ARCHS[arch].patch_size
        for what in args.protocols:
            task, extra = PROTOCOLS[what]
            for setting in args.settings:
                tag = re.sub(r"\W+", "_", f"{arch}_{what}_{setting}")
                for old in (work / "out" / tag, work / "cache" / tag):  # a fresh run each time
                    shutil.rmtree(old, ignore_errors=True)
                cmd = [rsbench, "run", *model, "--tasks", task, "--seeds", "0",
                       "--data-root", str(data), "--out", str(work / "out" / tag),
                       "--cache-dir", str(work / "cache" / tag), "--accelerator", "cpu",
                       "--set", f"dataset.image_size={size}", *extra, *SETTINGS[setting]]
                if setting == "fsdp x2" and what.startswith("frozen"):
                    gib = DEVICE_FRACTION * file.stat().st_size / GIB
                    cmd += ["--device-memory", f"{gib:.2f}"]
                row(args, arch, file, what, setting, cmd)


if __name__ == "__main__":
    main()
