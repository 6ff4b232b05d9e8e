"""``rsbench run`` with bands that differ: selected and recorded, or refused before anything runs."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from bands_helpers import S2, S2_MEAN, S2_STD
from tiny_models import write_demo_task, write_tiny_card

from rsbench.cli import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory, eurosat_root):
    from rsbench.data import make_synthetic_ucmerced

    tmp = tmp_path_factory.mktemp("bands_run")
    data = tmp / "data"
    data.mkdir()
    (data / "eurosat").symlink_to(eurosat_root, target_is_directory=True)
    make_synthetic_ucmerced(data / "ucmerced", n_per_class=4, size=16, seed=0)
    eurosat13 = tmp / "e13_knn.yaml"
    eurosat13.write_text(
        f"include: [{REPO}/tasks/classification/_datasets/eurosat13_official.yaml, "
        f"{REPO}/tasks/classification/_protocols/knn.yaml]\n"
        "task: e13_knn\nversion: 1\ndataset: {image_size: 16}\nprotocol: {k: 3}\n")
    torch.manual_seed(0)
    s2_card = tmp / "s2_card.yaml"
    s2_card.write_text(yaml.safe_dump({
        "name": "s2tiny", "arch": "vit_tiny_patch16", "random_init": True,
        "arch_overrides": {"depth": 1, "patch_size": 8},
        "input_spec": {"sensor": "s2_l1c", "bands": list(S2), "mean": list(S2_MEAN),
                       "std": list(S2_STD), "img_size": 16}}))
    return {"tmp": tmp, "data": data, "rgb_card": write_tiny_card(tmp, 16), "s2_card": s2_card,
            "e13": eurosat13, "rgb_task": write_demo_task(tmp, "rgb_knn", "knn", "{k: 3}")}


def run(world, card, task, out, *extra):
    return main(["run", "--model", str(card), "--tasks", str(task), "--seeds", "0",
                 "--out", str(out), "--data-root", str(world["data"]),
                 "--cache-dir", str(world["tmp"] / "cache"), "--accelerator", "cpu", "--quiet",
                 *extra])


def record(out):
    (path,) = Path(out).rglob("*.json")
    return json.loads(path.read_text())


def test_rgb_card_on_eurosat13_is_fed_b04_b03_b02_and_the_record_says_so(world, tmp_path):
    assert run(world, world["rgb_card"], world["e13"], tmp_path / "r") == 0
    rec = record(tmp_path / "r")
    assert rec["status"] == "ok"
    inp = rec["data"]["input"]
    assert inp["encoder_bands"] == ["rgb:R", "rgb:G", "rgb:B"]
    assert [(m["model"], m["data"], m["index"]) for m in inp["mapping"]] == [
        ("rgb:R", "s2_l1c:B04", 3), ("rgb:G", "s2_l1c:B03", 2), ("rgb:B", "s2_l1c:B02", 1)]
    assert inp["normalisation"] == "model" and inp["band_fill"] is None
    assert inp["value_scale"] == {"data": 10000.0, "model": 1.0}
    assert inp["mean"] == [0.485, 0.456, 0.406] and inp["std"] == [0.229, 0.224, 0.225]


def test_s2_card_on_rgb_data_is_refused_naming_the_bands_and_the_fills(world, tmp_path, capsys):
    assert run(world, world["s2_card"], world["rgb_task"], tmp_path / "r") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "rsbench: error: rgb_knn: task bands ['R', 'G', 'B'] differ from model s2tiny's input "
        "bands ['B01', 'B02', 'B03', 'B04', 'B05', 'B06', 'B07', 'B08', 'B09', 'B10', 'B11', "
        "'B12', 'B8A']: dataset ucmerced lacks B01, B05, B06, B07, B08, B09, B10, B11, B12, B8A "
        "(matched by name, common name, wavelength within 20 nm); set dataset.band_fill to one "
        "of zero, mean, slice, adapt to run it anyway"]
    assert not (tmp_path / "r").exists()


def test_s2_card_on_rgb_data_runs_with_an_explicit_slice(world, tmp_path):
    assert run(world, world["s2_card"], world["rgb_task"], tmp_path / "r",
               "--set", "dataset.band_fill=slice", "--set", "dataset.image_size=16") == 0
    inp = record(tmp_path / "r")["data"]["input"]
    assert inp["band_fill"] == "slice" and inp["missing"] == [
        f"s2_l1c:{b}" for b in ("B01", "B05", "B06", "B07", "B08", "B09", "B10", "B11", "B12",
                                "B8A")]
    assert inp["encoder_bands"] == ["s2_l1c:B02", "s2_l1c:B03", "s2_l1c:B04"]
    assert inp["patch_embed"] == "slice: 13 -> 3 input channels (model bands [1, 2, 3])"
    assert inp["mean"] == [S2_MEAN[1], S2_MEAN[2], S2_MEAN[3]]


def test_dataset_normalisation_in_a_linear_probe_uses_the_train_split_statistics(world, tmp_path):
    probe = world["tmp"] / "e13_probe.yaml"
    probe.write_text(
        f"include: [{REPO}/tasks/classification/_datasets/eurosat13_official.yaml, "
        f"{REPO}/tasks/classification/_protocols/linear_probe.yaml]\n"
        "task: e13_probe\nversion: 1\ndataset: {image_size: 16, normalisation: dataset}\n"
        "protocol: {epochs: 2, blr_grid: [0.1], warmup_epochs: 0}\n")
    assert run(world, world["rgb_card"], probe, tmp_path / "r") == 0
    inp = record(tmp_path / "r")["data"]["input"]
    stats = inp["statistics"]
    assert inp["normalisation"] == "dataset" and stats["images"] == 10 and len(stats["mean"]) == 13
    # The encoder's R, G, B are normalised with the train split's B04, B03, B02 statistics.
    assert inp["mean"] == [stats["mean"][i] for i in (3, 2, 1)]
    assert inp["std"] == [stats["std"][i] for i in (3, 2, 1)]
