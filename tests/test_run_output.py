"""What a person sees from ``rsbench run``: rsbench's own lines, not the libraries' banners.

Run as a real subprocess, because pytest's own warning filters would hide what a user sees.
"""

import subprocess
import sys

import pytest
from tiny_models import write_demo_task, write_tiny_card

PROTOCOLS = {"knn": "{k: 3}", "linear_probe": "{epochs: 2, blr_grid: [0.1, 1.0]}",
             "finetune": "{epochs: 1, batch_size: 16, warmup_epochs: 0, mixup: 0.0, cutmix: 0.0}",
             "seg": "{iterations: 3, batch_size: 4, slide_stride: 16}"}
NOISE = ("GPU available", "TPU available", "Tip:", "litlogger", "Trainer.fit` stopped",
         "module(s) in eval mode", "predict returned None", "LeafSpec", "weights_only", "/-2")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from rsbench.data import make_synthetic_ucmerced
    from rsbench.data.segmentation import make_synthetic_loveda

    tmp = tmp_path_factory.mktemp("output")
    make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=6, size=32, seed=0)
    make_synthetic_loveda(tmp / "data" / "loveda", 4, 32, 0)
    tasks = [str(write_demo_task(tmp, f"o_{proto}", proto, overrides))
             for proto, overrides in PROTOCOLS.items()]
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
