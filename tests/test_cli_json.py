"""Machine-readable listings and ``rsbench doctor``."""

import json

import torch

from rsbench.cli import main


def test_ls_models_json_gives_exact_counts(capsys):
    assert main(["ls", "models", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    # ViT-B/16 headless at 224 px: 85,798,656 parameters (timm's vit_base_patch16_224, no head).
    assert rows["vit_base_patch16"]["params"] == 85_798_656
    assert (rows["vit_base_patch16"]["width"], rows["vit_base_patch16"]["depth"]) == (768, 12)


def test_ls_tasks_json_lists_every_task_file(capsys):
    from rsbench.config import task_files

    assert main(["ls", "tasks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["task"] for r in rows) == sorted(p.stem for p in task_files())
    knn = next(r for r in rows if r["task"] == "ucmerced_8_2_knn")
    assert (knn["type"], knn["protocol"], knn["dataset"]) == ("classification", "knn", "ucmerced")


def test_doctor_reports_this_torch_and_the_fix_for_what_is_missing(capsys, monkeypatch):
    from rsbench import doctor

    monkeypatch.setitem(doctor.OPTIONAL, "no_such_module_xyz", ("a feature", "pip install xyz"))
    monkeypatch.setattr("rsbench.plan_check.host_available", lambda: (12.5 * 2**30, "cgroup limit"))
    assert main(["doctor", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["host memory"]["found"] == ("12.5 GiB available (cgroup limit); "
                                            "plan another node with --node-memory")
    assert rows["torch"]["found"].startswith(torch.__version__)
    assert rows["no_such_module_xyz"] == {"name": "no_such_module_xyz", "found": "missing (a feature)",
                                          "ok": False, "fix": "pip install xyz"}
    assert main(["doctor"]) == 0
    assert "  no_such_module_xyz: pip install xyz" in capsys.readouterr().out


def test_ls_zoo_json_lists_every_zoo_card_arch(capsys):
    from pathlib import Path

    import yaml

    assert main(["ls", "zoo", "--json"]) == 0
    archs = {r["arch"] for r in json.loads(capsys.readouterr().out)}
    cards = Path(__file__).resolve().parents[1] / "models" / "zoo"
    assert {yaml.safe_load(p.read_text())["arch"] for p in cards.glob("*.yaml")} <= archs
    assert "zoo:dofa_base_patch16_224" in archs
