"""The one preparation driver (rsbench.data.preparation) and the datasets plugged into it."""

import json
import os

import pytest
from fake_data import generator

from rsbench.data.detection.prepare import prepare_dota
from rsbench.data.detection.xview_prepare import prepare_xview
from rsbench.data.errors import PrepareError
from rsbench.data.preparation import (
    MANIFEST,
    UNFINISHED,
    choose_units,
    cut_units,
    manifest_bytes,
    remove_listed,
    run_cuts,
)

TILING = {"tile": 64, "overlap": 16}


def cut_with_pid(dst, name, n):
    """A cut writing ``n`` bytes under out/; its facts say which process ran it."""
    path = dst / "out" / f"{name}.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(n))
    return {f"out/{name}.bin": str(n)}, {"n": n, "pid": os.getpid()}


def failing_cut(dst, name):
    raise RuntimeError(f"cannot cut {name}")


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("raw")
    return {"dota": generator("dota").make(tmp / "dota"),
            "xview": generator("xview").make_scenes(tmp / "xview")}


def test_choose_units_names_the_unknown_and_reports_a_subset():
    units = [("train", "2_10"), ("train", "5_15"), ("test", "6_7")]
    assert choose_units(units, None, lambda u: u[1], "tiles") == (units, False)
    assert choose_units(units, ["6_7", "2_10"], lambda u: u[1], "tiles") == (
        [("train", "2_10"), ("test", "6_7")], True)
    assert choose_units(units, ["6_7", "5_15", "2_10"], lambda u: u[1], "tiles") == (units, False)
    with pytest.raises(PrepareError, match=r"^--tiles: 9_9 not official tiles; e\.g\. 2_10, 6_7$"):
        choose_units(units, ["2_10", "9_9"], lambda u: u[1], "official tiles")
    with pytest.raises(PrepareError, match="^--tiles: empty not"):
        choose_units(units, [], lambda u: u[1], "tiles")


def test_manifest_bytes_are_canonical():
    assert manifest_bytes({"b": 1, "a": [2]}) == (
        b'{\n "a": [\n  2\n ],\n "b": 1,\n "format": "rsbench-prepared/2"\n}\n')


def test_remove_listed_deletes_only_listed_files_in_the_output_folders(tmp_path):
    for rel in ("images/a.png", "images/keep.png", "raw/b.png", "c.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    listed = {"images/a.png": "", "raw/b.png": "", "c.png": "", "images/../c.png": ""}
    (tmp_path / MANIFEST).write_text(json.dumps({"files": listed}))
    remove_listed(tmp_path, outputs=("images",))
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["c.png", "images/keep.png", "raw/b.png"]


def test_workers_give_the_cuts_in_job_order(tmp_path):
    jobs = {f"u{n}": (tmp_path, f"u{n}", n) for n in range(6)}
    one = run_cuts(cut_with_pid, list(jobs.values()), workers=1)
    files, facts = cut_units(tmp_path, cut_with_pid, jobs, workers=3, outputs=("out",))
    assert list(facts) == list(jobs) and [f["n"] for f in facts.values()] == list(range(6))
    assert files == {k: v for unit_files, _ in one for k, v in unit_files.items()}
    assert {f["pid"] for f in facts.values()} != {os.getpid()}  # really cut elsewhere
    assert (tmp_path / UNFINISHED).is_file()  # until the manifest is written


def test_a_failed_cut_leaves_the_folder_marked_and_without_manifest(tmp_path):
    (tmp_path / MANIFEST).write_text(json.dumps({"files": {}}))
    with pytest.raises(RuntimeError, match="cannot cut a"):
        cut_units(tmp_path, failing_cut, {"a": (tmp_path, "a")}, workers=1, outputs=("out",))
    assert (tmp_path / UNFINISHED).is_file() and not (tmp_path / MANIFEST).exists()


@pytest.mark.parametrize(("name", "prepare", "units"), [
    ("dota", prepare_dota, ["P0001"]),
    ("xview", prepare_xview, ["200", "203"]),
])
def test_tiles_cut_a_subset_equal_to_the_same_units_of_the_whole(raw, tmp_path, name, prepare,
                                                                  units):
    whole = prepare(raw[name], tmp_path / "whole", **TILING)
    part = prepare(raw[name], tmp_path / "part", tiles=units, **TILING)
    assert (whole["subset"], part["subset"]) == (False, True)
    full = json.loads((tmp_path / "whole" / MANIFEST).read_text())
    sub = json.loads((tmp_path / "part" / MANIFEST).read_text())
    assert "subset" not in full and sub["subset"] is True
    from_units = {rel: sha for rel, sha in full["files"].items()
                  if rel.split("/")[-1].split("__")[0] in units}
    assert sub["files"] == from_units and 0 < len(from_units) < len(full["files"])
    with pytest.raises(PrepareError, match="^--tiles: nope not raw"):
        prepare(raw[name], tmp_path / "bad", tiles=["nope"], **TILING)
    assert not (tmp_path / "bad").exists()


def test_preparing_again_removes_the_tiles_of_the_older_preparation(raw, tmp_path):
    prepare_dota(raw["dota"], tmp_path / "d", tile=64, overlap=16)
    before = {p for p in (tmp_path / "d").rglob("*.png")}
    prepare_dota(raw["dota"], tmp_path / "d", tile=48, overlap=8)
    after = {p for p in (tmp_path / "d").rglob("*.png")}
    listed = json.loads((tmp_path / "d" / MANIFEST).read_text())["files"]
    assert before - after and after == {tmp_path / "d" / rel for rel in listed
                                        if rel.endswith(".png")}


def test_one_table_names_what_each_task_type_prepares(tmp_path):
    from rsbench.data.preparation import preparable, prepare_raw

    assert preparable("segmentation") == ["isaid", "potsdam", "vaihingen"]
    assert preparable("detection") == ["dota", "xview"]
    with pytest.raises(PrepareError, match=r"^dataset 'dota' needs no preparation or is unknown "
                                           r"\(preparable: isaid, potsdam, vaihingen\)$"):
        prepare_raw("segmentation", "dota", tmp_path, tmp_path)
    with pytest.raises(PrepareError, match="^overlap: not an option of preparing isaid$"):
        prepare_raw("segmentation", "isaid", tmp_path, tmp_path, overlap=3)
    assert not any(tmp_path.iterdir())
