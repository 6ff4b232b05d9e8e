import pytest

from rsbench.config import SpecError, card_from_dict, load_task, spec_hash, task_files, tasks_dir

BASE = """type: classification
dataset: {name: ucmerced, split: {kind: ratio, train: 0.8, test: 0.2, seed: 0}, image_size: 64}
metrics: {primary: overall_accuracy, higher_is_better: true}
protocol: {name: linear_probe, epochs: 90}
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_include_merges_deeply_and_own_keys_win(tmp_path):
    write(tmp_path, "_base.yaml", BASE)
    task = load_task(write(tmp_path, "t.yaml", "include: _base.yaml\ntask: t\nversion: 2\nprotocol: {epochs: 5}\n"))
    assert task.protocol == {"name": "linear_probe", "epochs": 5}
    assert task.dataset.image_size == 64 and task.version == 2


def test_spec_hash_ignores_key_order():
    assert spec_hash({"a": 1, "b": [1, 2]}) == spec_hash({"b": [1, 2], "a": 1})
    assert spec_hash({"a": 1}) != spec_hash({"a": 2})


@pytest.mark.parametrize("text,match", [
    ("type: nope", "field 'type' is 'nope'"),
    ("protocol: {name: lin}", "protocol.name is 'lin'"),
    ("extra_field: 1", r"unknown field\(s\) \['extra_field'\]"),
    ("dataset: {split: {kind: random}}", "split.kind must be"),
])
def test_bad_task_names_file_and_field(tmp_path, text, match):
    write(tmp_path, "_base.yaml", BASE)
    path = write(tmp_path, "bad.yaml", f"include: _base.yaml\ntask: bad\nversion: 1\n{text}\n")
    with pytest.raises(SpecError, match=match) as err:
        load_task(path)
    assert "bad.yaml" in str(err.value)


def test_include_cycle_is_an_error(tmp_path):
    write(tmp_path, "a.yaml", "include: b.yaml\n")
    write(tmp_path, "b.yaml", "include: a.yaml\n")
    with pytest.raises(SpecError, match="include cycle"):
        load_task(tmp_path / "a.yaml")


def test_missing_file_and_bad_yaml_are_one_line(tmp_path):
    with pytest.raises(SpecError, match="file not found"):
        load_task(tmp_path / "none.yaml")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_task(write(tmp_path, "x.yaml", "a: [1,\n"))


def test_every_shipped_task_file_loads_and_fragments_are_skipped():
    files = task_files()
    assert len(files) >= 27
    assert not any("_datasets" in str(p) or p.name.startswith("_") for p in files)
    for path in files:
        assert load_task(path).task == path.stem
    assert tasks_dir().name == "tasks"


def test_model_card_requires_checkpoint_unless_random_init():
    with pytest.raises(SpecError, match="checkpoint"):
        card_from_dict({"name": "m", "arch": "vit_base_patch16"}, "card.yaml")
    card = card_from_dict({"name": "m", "arch": "vit_base_patch16", "random_init": True}, "card.yaml")
    assert card.random_init and card.checkpoint is None


def test_model_card_input_spec_must_match_band_count():
    with pytest.raises(SpecError, match="one value per band"):
        card_from_dict({"name": "m", "arch": "a", "checkpoint": "x",
                        "input_spec": {"bands": ["R", "G"], "mean": [0.5], "std": [0.2, 0.2]}}, "c.yaml")
