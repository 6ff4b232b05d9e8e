import subprocess
import sys

from fake_data import generator

from rsbench.cli import main, parse_overrides


def test_validate_passes_on_every_shipped_task(capsys):
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert " 0 invalid" in out


def test_validate_reports_a_bad_file_and_fails(tmp_path, capsys):
    bad = tmp_path / "bad_task.yaml"
    bad.write_text("task: other_name\nversion: 1\ntype: classification\n"
                   "dataset: {name: ucmerced, split: {kind: official}, image_size: 224}\n"
                   "protocol: {name: knn, k: 5, kk: 1}\n"
                   "metrics: {primary: overall_accuracy, higher_is_better: true}\n")
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "['kk'] are not used" in err and str(bad) in err


def test_ls_models_prints_exact_counts_without_allocating(capsys):
    assert main(["ls", "models"]) == 0
    out = capsys.readouterr().out
    # ViT-B/16 headless at 224 px: 85,798,656 parameters (timm's vit_base_patch16_224, no head).
    assert "85,798,656" in out and "vit_15b_patch14" in out


def test_ls_tasks_lists_shipped_tasks(capsys):
    assert main(["ls", "tasks"]) == 0
    assert "ucmerced_8_2_linear_probe" in capsys.readouterr().out


def test_overrides_parse_as_yaml_scalars():
    assert parse_overrides(["protocol.epochs=3", "protocol.blr_grid=[0.1, 1]"]) == {
        "protocol": {"epochs": 3, "blr_grid": [0.1, 1]}}


def test_help_does_not_import_torch():
    code = "import sys, rsbench.cli as c\ntry:\n c.main(['--help'])\nexcept SystemExit: pass\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("False")


def test_data_prepare_cuts_fake_potsdam_and_reports_its_manifest(tmp_path, capsys):
    import json

    raw = generator("potsdam").make(tmp_path / "raw", height=100, width=80, seed=0)
    args = ["data", "prepare", "potsdam", "--src", str(raw), "--dst", str(tmp_path / "potsdam"),
            "--patch", "64", "--stride", "32"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    # 100 x 80 tile, patch 64, mmseg's grid: rows at 0, 36 (64 pulled back), cols at 0, 16 -> 4.
    assert summary["n_tiles"] == 38 and summary["n_train"] + summary["n_test"] == 38 * 4
    assert (tmp_path / "potsdam" / "manifest.json").is_file()


def test_data_prepare_without_raw_data_is_one_line(tmp_path, capsys):
    assert main(["data", "prepare", "vaihingen", "--src", str(tmp_path), "--dst", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "requested by hand" in err


def test_data_prepare_tiles_dota_and_refuses_flags_it_does_not_use(tmp_path, capsys):
    import json

    raw = generator("dota").make(tmp_path / "raw", seed=0)
    dst = tmp_path / "dota"
    assert main(["data", "prepare", "dota", "--src", str(raw), "--dst", str(dst),
                 "--stride", "10"]) == 2
    assert "--stride not used" in capsys.readouterr().err
    assert main(["data", "prepare", "dota", "--src", str(raw), "--dst", str(dst),
                 "--patch", "256", "--overlap", "64"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (dst / "manifest.json").is_file() and summary


def test_a_non_finite_override_is_refused_before_anything_runs(tmp_path, capsys):
    """A record holds finite numbers only, so ``.inf`` in a spec is refused up front, naming the
    field, instead of failing when the finished run's record is written."""
    card = tmp_path / "card.yaml"
    card.write_text("name: tiny\narch: vit_tiny_patch16\nrandom_init: true\n")
    rc = main(["run", "--model", str(card), "--tasks", "ucmerced_8_2_linear_probe",
               "--out", str(tmp_path / "out"), "--data-root", str(tmp_path / "nothing"),
               "--set", "protocol.blr_grid=[0.1, .inf]"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "field 'protocol.blr_grid[1]' is not a finite number" in err
    assert not (tmp_path / "out").exists()
