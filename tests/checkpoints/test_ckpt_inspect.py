"""`rsbench inspect`, the report's JSON form, and content hashes of files and folders."""

from __future__ import annotations

import hashlib
import json
import shutil

import torch
from ckpt_helpers import ARCH, HF_CONFIG, HF_OVERRIDES, OVERRIDES, SPEC, perturbed

from rsbench.checkpoints import LoadReport, file_sha256, load_checkpoint
from rsbench.cli import main

ARCH_SETS = ["--set", "arch.depth=2", "--set", "arch.patch_size=8"]


def inspect(path, *extra):
    return main(["inspect", str(path), "--arch", ARCH, *extra, *ARCH_SETS])


def test_inspect_json_reports_a_complete_load(tmp_path, vit, capsys):
    torch.save({"model": vit.state_dict(), "epoch": 3}, tmp_path / "mae.pth")
    assert inspect(tmp_path / "mae.pth", "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["fraction_loaded"] == 1.0
    assert report["storage"] == "torch-zip" and report["prefix"] == "model."
    assert report["sha256"] == hashlib.sha256((tmp_path / "mae.pth").read_bytes()).hexdigest()
    # the default 224 px target shows that the 32 px position embedding was resampled
    assert report["resampled"] == {"pos_embed": "[1, 17, 192] -> [1, 785, 192]"}


def test_inspect_table_and_img_size_override(tmp_path, vit, capsys):
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    assert inspect(tmp_path / "vit.pth", "--set", "arch.img_size=32") == 0
    out = capsys.readouterr().out
    assert "930,624/930,624 (100.00%)" in out and "resampled" not in out


def test_inspect_bad_file_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "bad.pth").write_bytes(b"")
    assert inspect(tmp_path / "bad.pth", "--json") == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("rsbench: error: ") and captured.err.count("\n") == 1
    assert str(tmp_path / "bad.pth") in captured.err


def test_inspect_partial_load_exits_1(tmp_path, vit, capsys):
    torch.save({k: v for k, v in vit.state_dict().items() if "blocks.1." not in k},
               tmp_path / "partial.pth")
    assert inspect(tmp_path / "partial.pth") == 1
    captured = capsys.readouterr()
    assert "BELOW 99%" in captured.out and "--allow-partial" in captured.err


def test_report_round_trips_through_json(tmp_path, vit):
    torch.save(vit.state_dict(), tmp_path / "vit.pth")
    _, report = load_checkpoint(tmp_path / "vit.pth", ARCH, SPEC, **OVERRIDES)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["fraction_loaded"] == 1.0
    assert LoadReport(**{k: v for k, v in data.items() if k != "fraction_loaded"}) == report


def test_ignored_keys_are_summarised_by_group():
    from rsbench.checkpoints.report import summarise

    keys = [f"optimizer.state.{i}.exp_avg" for i in range(5000)] + ["model.mask_token"]
    assert summarise(keys) == {"optimizer.state.*": 5000, "model.mask_token": 1}
    many = summarise([f"m{i}.w.weight" for i in range(30)], limit=25)
    assert len(many) == 26 and many["(5 more groups)"] == 5


def test_file_sha256_of_file_and_folder(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"abc")
    assert file_sha256(tmp_path / "a.bin") == hashlib.sha256(b"abc").hexdigest()
    folder = tmp_path / "dcp"
    folder.mkdir()
    (folder / ".metadata").write_bytes(b"meta")
    (folder / "__0_0.distcp").write_bytes(b"shard")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "lock").write_bytes(b"volatile")
    first = file_sha256(folder)
    copy = shutil.copytree(folder, tmp_path / "elsewhere")
    (copy / ".cache" / "lock").write_bytes(b"changed")
    assert file_sha256(copy) == first  # relative names and contents only; caches skipped
    (copy / ".metadata").write_bytes(b"other meta")
    assert file_sha256(copy) != first
    (copy / "__1_0.distcp").write_bytes(b"")
    (folder / "__1_0.distcp").write_bytes(b"")
    assert file_sha256(folder) != first


def test_a_shapes_only_read_reports_what_the_full_read_reports(tmp_path, vit):
    """``rsbench inspect`` reads no tensor data: every report field equals the full load's,
    for a prefixed file resampled to 224 px and for an HF folder whose q/k/v are fused."""
    from transformers import ViTConfig, ViTModel

    torch.save({"model": vit.state_dict(), "epoch": 3}, tmp_path / "mae.pth")
    perturbed(ViTModel(ViTConfig(**HF_CONFIG))).save_pretrained(tmp_path / "hf")
    cases = ((tmp_path / "mae.pth", {}, "torch-zip"), (tmp_path / "hf", HF_OVERRIDES, "hf-folder"))
    for path, extra, storage in cases:
        full, report = load_checkpoint(path, ARCH, None, **OVERRIDES, **extra)
        meta, shapes = load_checkpoint(path, ARCH, None, shapes_only=True, **OVERRIDES, **extra)
        assert report.storage == storage and "pos_embed" in report.resampled  # as described
        assert shapes.to_dict() == report.to_dict(), path.name
        assert {k: v.shape for k, v in meta.items()} == {k: v.shape for k, v in full.items()}
        assert {v.device.type for v in meta.values()} == {"meta"}  # nothing was read
