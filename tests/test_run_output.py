"""What a person sees from ``rsbench run``: rsbench's own lines, not the libraries' banners;
under ``--quiet`` only failures and errors.

Whole runs go through a real subprocess, because pytest's own warning filters would hide what a
user sees.
"""

import json
import subprocess
import sys

import pytest
from tiny_models import write_demo_task, write_tiny_card

from rsbench import console
from rsbench.cli import main

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


def run(world, out, *extra) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "rsbench.cli", "run", "--model", str(world["card"]),
           "--tasks", world["tasks"], "--out", str(out),
           "--data-root", str(world["tmp"] / "data"), "--cache-dir", str(world["tmp"] / out.name),
           "--accelerator", "cpu", *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_a_run_prints_rsbench_lines_and_no_library_banners(world):
    done = run(world, world["tmp"] / "plain")
    text = done.stdout + done.stderr
    assert [n for n in NOISE if n in text] == []
    assert text.count("[rsbench] tiny / o_") == 8  # running + score, for each of 4 tasks
    assert "[rsbench] plan: " in done.stderr and "rsbench run" in done.stderr  # and the table


def test_verbose_shows_the_library_output(world):
    done = run(world, world["tmp"] / "verbose", "--verbose")
    assert "GPU available" in done.stdout + done.stderr  # the filter above is what hides it, not the test's setup


def test_a_quiet_run_that_succeeds_prints_nothing_on_stderr(world, tmp_path, capfd):
    # In-process (fast; fd 2 is captured, so a library's own handle on stderr counts too):
    # kNN on frozen features and a Lightning fine-tune, the two paths that print progress.
    tasks = ",".join(t for t in world["tasks"].split(",") if "o_knn" in t or "o_finetune" in t)
    assert main(["run", "--model", str(world["card"]), "--tasks", tasks, "--out", str(tmp_path / "r"),
                 "--data-root", str(world["tmp"] / "data"), "--cache-dir", str(tmp_path / "c"),
                 "--accelerator", "cpu", "--quiet"]) == 0
    captured = capfd.readouterr()
    assert captured.err == ""
    summary = json.loads(captured.out)  # the machine-readable summary is unchanged
    assert (summary["records"], summary["failed"]) == (2, 0)


def test_a_quiet_run_still_shows_its_failures(world, tmp_path, capfd):
    knn = next(t for t in world["tasks"].split(",") if "o_knn" in t)
    code = main(["run", "--model", str(world["card"]), "--tasks", knn, "--out", str(tmp_path / "r"),
                 "--data-root", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path / "c"),
                 "--accelerator", "cpu", "--quiet"])
    assert code == 1
    captured = capfd.readouterr()
    err = captured.err.splitlines()
    assert len(err) == 2, captured.err
    assert err[0].startswith("[rsbench] o_knn seed 0: FAILED: ") and "ucmerced" in err[0].lower()
    assert err[1] == "[rsbench] 1 of 1 run(s) failed: o_knn seed 0"
    assert json.loads(captured.out)["failed"] == 1


def test_quiet_is_read_anywhere_on_the_line_and_only_where_a_command_has_it(world, tmp_path, capfd):
    knn = next(t for t in world["tasks"].split(",") if "o_knn" in t)
    args = ["--model", str(world["card"]), "--tasks", knn, "--out", str(tmp_path / "r"),
            "--data-root", str(tmp_path / "nowhere"), "--cache-dir", str(tmp_path / "c"),
            "--accelerator", "cpu"]
    assert main(["--quiet", "run", *args]) == 1
    assert "FAILED" in capfd.readouterr().err  # still shown, and the progress lines are not:
    assert main(["run", *args, "--retry-failed"]) == 1
    assert "[rsbench] tiny / o_knn / seed 0: running knn" in capfd.readouterr().err
    assert not console.quiet()  # one command's --quiet does not outlive it
    with pytest.raises(SystemExit) as exit_:
        main(["ls", "tasks", "--quiet"])  # ls has no --quiet: argparse's own refusal
    assert exit_.value.code == 2 and "unrecognized arguments: --quiet" in capfd.readouterr().err


def test_console_kinds(capsys):
    with console.quiet_while(True):
        console.log("progress")
        console.note("advice")
        console.warn("x seed 0: FAILED: boom")
        console.error("first\nsecond")
    assert capsys.readouterr().err == ("[rsbench] x seed 0: FAILED: boom\n"
                                       "rsbench: error: first\nrsbench: error: second\n")
    console.log("progress")
    console.note("advice")
    assert capsys.readouterr().err == "[rsbench] progress\nrsbench: note: advice\n"
