"""``rsbench verify``: a record re-run from itself alone, on a tiny ViT and synthetic data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tiny_models import write_tiny_card

from rsbench.cli import main

REPO = Path(__file__).resolve().parents[1]
TASK = """include: [{root}/tasks/demo/_demo_dataset.yaml, {root}/tasks/classification/_protocols/knn.yaml]
task: verify_knn
version: 1
dataset: {{image_size: 32}}
protocol: {{k: 5}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):

    from rsbench.data import make_synthetic_ucmerced

    tmp = tmp_path_factory.mktemp("verify")
    data = make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=6, size=32, seed=0)
    card = write_tiny_card(tmp, 32)
    ckpt = tmp / "tiny.safetensors"
    task = tmp / "verify_knn.yaml"
    task.write_text(TASK.format(root=REPO))
    out = tmp / "results"
    code = main(
        [
            "run",
            "--model",
            str(card),
            "--tasks",
            str(task),
            "--seeds",
            "0",
            "--out",
            str(out),
            "--data-root",
            str(data.parent),
            "--accelerator",
            "cpu",
            "--cache-dir",
            str(tmp / "cache"),
            "--quiet",
        ]
    )
    assert code == 0
    (record,) = out.rglob("*.json")
    return {"tmp": tmp, "data_root": data.parent, "record": record, "ckpt": ckpt, "out": out}


def verify(world, record: Path, *extra, data_root: Path | None = None) -> int:
    return main(
        [
            "verify",
            str(record),
            "--data-root",
            str(data_root or world["data_root"]),
            "--json",
            *extra,
        ]
    )


def printed_json(capsys) -> dict:
    out = capsys.readouterr().out
    return json.loads(out[out.index("{") :])


def copied(world, tmp_path: Path, edit) -> Path:
    """A copy of the world's record, edited by ``edit(record)``, outside the results folder."""
    record = json.loads(world["record"].read_text())
    edit(record)
    path = tmp_path / f"record-{edit.__name__}.json"
    path.write_text(json.dumps(record))
    return path


def test_reproduces_bit_identically_on_cpu_and_writes_nothing(world, capsys):
    before = sorted((p, p.stat().st_mtime_ns) for p in world["out"].rglob("*"))
    assert verify(world, world["record"]) == 0
    result = printed_json(capsys)
    assert result["ok"] and result["error"] is None
    assert {m["metric"] for m in result["metrics"]} == {"overall_accuracy", "average_accuracy"}
    assert all(m["difference"] == 0.0 for m in result["metrics"])
    assert all(m["recorded"] == m["reproduced"] for m in result["metrics"])
    if not result["environment"]:  # same code, packages and CPU: bit-identity is required
        assert all(m["tolerance"] == 0.0 for m in result["metrics"])
    assert result["hparams"] == []
    assert sorted((p, p.stat().st_mtime_ns) for p in world["out"].rglob("*")) == before


def test_tampered_metric_is_out_of_tolerance(world, tmp_path, capsys):
    original = json.loads(world["record"].read_text())["metrics"]["overall_accuracy"]
    tampered = original + 0.25

    def tamper(record):
        record["metrics"]["overall_accuracy"] = tampered

    path = copied(world, tmp_path, tamper)
    assert verify(world, path) == 1
    result = printed_json(capsys)
    (row,) = [m for m in result["metrics"] if m["metric"] == "overall_accuracy"]
    assert not row["ok"] and row["difference"] == abs(original - tampered)
    assert row["difference"] == pytest.approx(0.25)
    assert not result["ok"]
    # a tolerance wider than the tampering accepts it; a negative one is unusable
    assert verify(world, path, "--tolerance", "0.3") == 0
    assert verify(world, path, "--tolerance", "-1") == 2

    def declare(record):  # a record may declare its own tolerance, per metric
        tamper(record)
        record["tolerance"] = {"overall_accuracy": 0.3}

    assert verify(world, copied(world, tmp_path, declare)) == 0
    capsys.readouterr()
    assert main(["verify", str(path), "--data-root", str(world["data_root"])]) == 1
    text = capsys.readouterr().out
    assert "OUT OF TOLERANCE" in text and "NOT REPRODUCED" in text


def test_changed_checkpoint_is_refused(world, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    moved = tmp_path / "tiny.safetensors"
    shutil.copy(world["ckpt"], moved)

    def point_at_copy(record):
        record["model"]["checkpoint"] = str(moved)

    path = copied(world, tmp_path, point_at_copy)
    state = load_file(str(moved))
    state["norm.weight"] = state["norm.weight"] + 1.0
    save_file(state, str(moved))
    assert verify(world, path) == 2
    err = capsys.readouterr().err
    assert "sha256" in err and "weights changed" in err and str(path) in err


def test_changed_data_is_refused(world, tmp_path, capsys):
    data_root = tmp_path / "data"
    shutil.copytree(world["data_root"], data_root)
    image = sorted(
        p
        for p in (data_root / "ucmerced").rglob("*")
        if p.is_file() and p.suffix.lower() in (".tif", ".tiff", ".png", ".jpg")
    )[0]
    image.write_bytes(image.read_bytes() + b"\0" * 64)  # the image rewritten with other bytes
    assert verify(world, world["record"], data_root=data_root) == 2
    err = capsys.readouterr().err
    assert "data changed" in err and "fingerprint" in err


def test_failed_or_invalid_records_are_unusable(world, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert verify(world, bad) == 2

    def edit_inputs(record):
        record["inputs"]["seed"] = 7  # no longer hashes to record_id

    assert verify(world, copied(world, tmp_path, edit_inputs)) == 2
    assert "record_id" in capsys.readouterr().err
