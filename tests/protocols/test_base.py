import pytest

from rsbench.config import SpecError
from rsbench.protocols import protocol_module
from rsbench.protocols.base import resolved_hparams, warmup_cosine


def test_unknown_protocol_option_is_an_error_not_ignored():
    with pytest.raises(SpecError, match=r"\['epoch'\] are not used"):
        resolved_hparams({"epochs": 90}, {"name": "linear_probe", "epoch": 5}, "t.yaml")
    assert resolved_hparams({"epochs": 90, "k": 1}, {"name": "x", "epochs": 5}, "t.yaml") == {"epochs": 5, "k": 1}


def test_warmup_then_half_cosine():
    # 10 warm-up steps of 100: linear ramp to 1, then 0.5 * (1 + cos(pi * progress)).
    assert warmup_cosine(0, 10, 100) == pytest.approx(0.1)
    assert warmup_cosine(9, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(10, 10, 100) == pytest.approx(1.0)
    assert warmup_cosine(55, 10, 100) == pytest.approx(0.5)
    assert warmup_cosine(100, 10, 100) == pytest.approx(0.0)


def test_shipped_protocol_fragments_set_only_known_options():
    from rsbench.config import resolve_includes, tasks_dir

    for path in (tasks_dir() / "classification" / "_protocols").glob("*.yaml"):
        proto = resolve_includes(path)["protocol"]
        module = protocol_module("classification", proto["name"])
        # The fragment spells out the whole recipe: every default appears with its value.
        assert set(proto) - {"name", "recipe"} == set(module.DEFAULTS), path
        assert resolved_hparams(module.DEFAULTS, proto, str(path)) == {
            k: v for k, v in proto.items() if k not in ("name", "recipe")}, path
