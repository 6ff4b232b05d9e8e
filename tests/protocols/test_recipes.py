"""Recipes as data: the shipped _protocols YAMLs hold the numbers, each protocol's schema the
allowed keys and types; a task's values are checked against the schema."""

import importlib

import pytest

from rsbench.config import SpecError
from rsbench.engine.protocol import resolved_hparams
from rsbench.protocols.recipes import recipe

# (task type, protocol name, module, schema attribute path)
PROTOCOLS = [
    ("classification", "finetune", "rsbench.protocols.finetune", "SCHEMA"),
    ("classification", "linear_probe", "rsbench.protocols.linear_probe", "SCHEMA"),
    ("classification", "knn", "rsbench.protocols.knn", "SCHEMA"),
    ("multilabel", "linear_probe", "rsbench.protocols.linear_probe", "SCHEMA"),
    ("multilabel", "knn", "rsbench.protocols.knn", "SCHEMA"),
    ("multilabel", "finetune", "rsbench.protocols.multilabel_finetune", "SCHEMA"),
]


def schema_of(task_type: str, name: str):
    if task_type in ("segmentation", "detection"):
        module = importlib.import_module(f"rsbench.protocols.{task_type}")
        from rsbench.protocols.recipes import ENCODER_TRAINING_SCHEMA

        extra = ENCODER_TRAINING_SCHEMA if name == "finetune" else {}
        return {**module.COMMON_SCHEMA, **extra}
    return next(getattr(importlib.import_module(m), a) for t, n, m, a in PROTOCOLS
                if (t, n) == (task_type, name))


@pytest.mark.parametrize(("task_type", "name"), [
    *[(t, n) for t, n, _, _ in PROTOCOLS],
    ("segmentation", "frozen"), ("segmentation", "finetune"),
    ("detection", "frozen"), ("detection", "finetune")])
def test_every_shipped_recipe_gives_exactly_its_schema(task_type, name):
    values = recipe(task_type, name)
    schema = schema_of(task_type, name)
    assert sorted(values) == sorted(schema)  # no number only in code, no key the code ignores
    assert resolved_hparams(values, {}, "recipe", schema) == values


def test_protocol_defaults_are_the_recipe_files():
    from rsbench.protocols import detection, segmentation
    from rsbench.protocols.finetune import DEFAULTS

    assert DEFAULTS == recipe("classification", "finetune") and DEFAULTS["blr"] == 1e-3
    assert segmentation.FINETUNE.defaults["lr"] == 6e-5  # RVSA's, as the YAML comment cites
    assert detection.FINETUNE.defaults["lr_steps"] == [8, 11]


def test_a_value_of_the_wrong_type_names_the_key():
    from rsbench.protocols.knn import DEFAULTS, SCHEMA

    with pytest.raises(SpecError, match=r"task.yaml: protocol.k is 'x'; expected an integer$"):
        resolved_hparams(DEFAULTS, {"k": "x"}, "task.yaml", SCHEMA)
    with pytest.raises(SpecError, match=r"protocol.k is '20'; expected an integer; YAML reads 20"):
        resolved_hparams(DEFAULTS, {"k": "20"}, "task.yaml", SCHEMA)
    with pytest.raises(SpecError, match=r"protocol.temperature is True"):
        resolved_hparams(DEFAULTS, {"temperature": True}, "task.yaml", SCHEMA)
    assert resolved_hparams(DEFAULTS, {"temperature": 1}, "t", SCHEMA)["temperature"] == 1
    with pytest.raises(SpecError, match=r"\['kk'\] are not used"):
        resolved_hparams(DEFAULTS, {"kk": 3}, "task.yaml", SCHEMA)


def test_a_mistyped_override_is_refused_before_anything_runs(tmp_path, capsys):
    """--set protocol.temperature=5e-3 is text to YAML 1.1: one line up front, no record."""
    from tiny_models import write_demo_task, write_tiny_card

    from rsbench.cli import main

    card = write_tiny_card(tmp_path, 32)
    task = write_demo_task(tmp_path, "t_knn", "knn", "{k: 3}")
    rc = main(["run", "--model", str(card), "--tasks", str(task), "--out", str(tmp_path / "out"),
               "--data-root", str(tmp_path / "data"), "--set", "protocol.temperature=5e-3"])
    assert rc == 2 and not (tmp_path / "out").exists()
    assert "protocol.temperature is '5e-3'; expected a number; YAML reads 5e-3 as text" in \
        capsys.readouterr().err
