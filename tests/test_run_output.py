"""What a person sees from ``rsbench run``: rsbench's own lines, not the libraries' banners.

Run as a real subprocess, because pytest's own warning filters would hide what a user sees.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from tiny_models import write_tiny_card

REPO = Path(__file__).resolve().parents[1]
TASK = """include: [{root}/tasks/demo/_demo_dataset.yaml, {root}/tasks/classification/_protocols/{proto}.yaml]
task: o_{proto}
version: 1
dataset: {{image_size: 32}}
protocol: {protocol}
"""
SEG = """include: [{root}/tasks/demo/demo_loveda_frozen.yaml]
task: o_seg
dataset: {{image_size: 32}}
protocol: {{iterations: 3, batch_size: 4, slide_stride: 16}}
"""
PROTOCOLS = {"knn": "{k: 3}", "linear_probe": "{epochs: 2, blr_grid: [0.1, 1.0]}",
             "finetune": "{epochs: 1, batch_size: 16, warmup_epochs: 0, mixup: 0.0, cutmix: 0.0}"}
NOISE = ("GPU available", "TPU available", "Tip:", "litlogger", "Trainer.fit` stopped",
         "module(s) in eval mode", "predict returned None", "LeafSpec", "weights_only", "/-2")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from rsbench.data import make_synthetic_ucmerced
    from rsbench.data.segmentation import make_synthetic_loveda

    tmp = tmp_path_factory.mktemp("output")
    make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=6, size=32, seed=0)
    make_synthetic_loveda(tmp / "data" / "loveda", 4, 32, 0)
    tasks = []
    for proto, protocol in PROTOCOLS.items():
        (tmp / f"o_{proto}.yaml").write_text(TASK.format(root=REPO, proto=proto, protocol=protocol))
        tasks.append(str(tmp / f"o_{proto}.yaml"))
    (tmp / "o_seg.yaml").write_text(SEG.format(root=REPO))
    tasks.append(str(tmp / "o_seg.yaml"))
    return {"tmp": tmp, "card": write_tiny_card(tmp, 32), "tasks": ",".join(tasks)}


def run(world, out, *extra) -> str:
    cmd = [sys.executable, "-m", "rsbench.cli", "run", "--model", str(world["card"]),
           "--tasks", world["tasks"], "--out", str(out), "--data-root", str(world["tmp"] / "data"),
           "--cache-dir", str(world["tmp"] / out.name), "--accelerator", "cpu", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def test_a_run_prints_rsbench_lines_and_no_library_banners(world):
    text = run(world, world["tmp"] / "quiet")
    assert [n for n in NOISE if n in text] == []
    assert text.count("[rsbench] tiny / o_") == 8  # running + score, for each of 4 tasks


def test_verbose_shows_the_library_output(world):
    text = run(world, world["tmp"] / "verbose", "--verbose")
    assert "GPU available" in text  # the filter above is what hides it, not the test's setup
