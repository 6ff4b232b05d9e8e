"""Input plans that must not run are refused with one line naming the field and the way out."""

from dataclasses import replace

import pytest
from bands_helpers import s2_spec

from rsbench.backbones import InputSpec
from rsbench.bands.plan import input_plan
from rsbench.bands.sensors import BandError
from rsbench.config import DatasetSpec, SpecError, task_from_dict
from rsbench.usage import band_problems

RGB = DatasetSpec(name="ucmerced", split={"kind": "official"}, image_size=8)


def test_dataset_normalisation_cannot_invent_statistics_for_filled_bands():
    with pytest.raises(BandError, match="normalisation 'dataset' has no statistics for the "
                                        "filled band.s. B01, B05"):
        input_plan(s2_spec(), "s2", replace(RGB, band_fill="zero", normalisation="dataset"))
    plan = input_plan(s2_spec(), "s2", replace(RGB, band_fill="slice", normalisation="dataset"))
    assert plan.keep == (1, 2, 3)


def test_unknown_fill_normalisation_and_band_names_are_spec_errors():
    base = {"task": "t", "version": 1, "type": "classification", "protocol": {"name": "knn"},
            "metrics": {"primary": "overall_accuracy", "higher_is_better": True}}
    ds = {"name": "ucmerced", "split": {"kind": "official"}, "image_size": 8}
    with pytest.raises(SpecError, match="t.yaml: dataset: field 'band_fill' is 'repeat'; "
                                        "allowed: zero, mean, slice, adapt"):
        task_from_dict({**base, "dataset": {**ds, "band_fill": "repeat"}}, "t.yaml")
    with pytest.raises(BandError, match="model m: input_spec.bands: unknown band 'B13'"):
        input_plan(InputSpec(bands=("B13",), mean=(0.0,), std=(1.0,), sensor="s2_l1c"), "m", RGB)
    with pytest.raises(BandError, match="shares no band with dataset ucmerced"):
        input_plan(InputSpec(bands=("VV",), mean=(0.0,), std=(1.0,), sensor="s1"), "m",
                   replace(RGB, band_fill="zero"))


def test_dense_tasks_take_only_the_models_own_bands():
    card = type("Card", (), {"input_spec": InputSpec(img_size=8), "name": "rgb"})()
    seg = type("Task", (), {"task": "seg", "type": "segmentation",
                            "dataset": replace(RGB, name="loveda", bands=("B", "G", "R"))})()
    assert band_problems(card, seg) == [
        "seg: segmentation tasks take the model's own bands in its order with normalisation: "
        "model (band matching, band_fill and other normalisations are for classification tasks)"]
    same = type("Task", (), {"task": "seg", "type": "segmentation",
                             "dataset": replace(RGB, name="loveda")})()
    assert band_problems(card, same) == []
