"""Multi-label fine-tuning (BigEarthNet): the loss is binary cross-entropy on the logits, the
recipe is data, and the one engine loop trains a model that scores far above itself untrained."""

import dataclasses
import math

import pytest
import torch
from spectral_fake import spectral_data, spectral_vit
from tiny_models import protocol_context

import rsbench.tasks.multilabel as ml
from rsbench.config import SpecError, find_task
from rsbench.engine.protocol import resolved_hparams
from rsbench.protocols import protocol_module
from rsbench.protocols.multilabel_finetune import FINETUNE, SCHEMA, MultiLabelFinetuner
from rsbench.protocols.recipes import recipe

BANDS, SIZE, LABELS = 12, 32, 4


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def module_with_bias(bias: list[float]) -> MultiLabelFinetuner:
    """A fine-tuner whose logits are ``bias`` for every image (head weights zero)."""
    hp = {**FINETUNE.defaults, "drop_path": 0.0}
    module = MultiLabelFinetuner(spectral_vit(BANDS, SIZE), len(bias), hp, 10, 1e-3, ml.probe_loss)
    with torch.no_grad():
        module.head.weight.zero_()
        module.head.bias.copy_(torch.tensor(bias))
    return module


def test_the_loss_is_binary_cross_entropy_on_the_logits_by_hand():
    # Logits 0, ln 3, -ln 3 for every image: sigmoid 1/2, 3/4, 1/4. Per (image, label) the loss
    # is -ln(p) for a present label and -ln(1 - p) for an absent one, averaged over all 6 pairs.
    module = module_with_bias([0.0, math.log(3), -math.log(3)])
    target = torch.tensor([[1, 1, 0], [0, 0, 1]])
    by_hand = (math.log(2) + math.log(4 / 3) + math.log(4 / 3)
               + math.log(2) + math.log(4) + math.log(4)) / 6
    x = torch.rand(2, BANDS, SIZE, SIZE)
    loss = module.training_step((x, target), 0)
    logits = module(x)
    assert loss.item() == pytest.approx(by_hand, rel=1e-6)
    assert torch.equal(loss, torch.nn.functional.binary_cross_entropy_with_logits(logits, target.float()))
    # SMARTIES' and SSL4EO-S12's BigEarthNet criterion gives the same number.
    soft_margin = torch.nn.MultiLabelSoftMarginLoss()(logits, target.float())
    assert loss.item() == pytest.approx(soft_margin.item(), rel=1e-6)


def test_predictions_are_the_logits_the_plugin_scores():
    module = module_with_bias([2.0, -1.0])
    logits, target = module.predict_step((torch.rand(3, BANDS, SIZE, SIZE), torch.ones(3, 2)), 0)
    assert torch.equal(logits, torch.tensor([[2.0, -1.0]] * 3))  # not probabilities, not 0/1
    assert torch.equal(target, torch.ones(3, 2))


def finetune_scores(tmp_path, epochs: int):
    protocol = {"name": "finetune", "epochs": epochs, "batch_size": 16, "blr": 1e-2,
                "warmup_epochs": 0}
    ctx = protocol_context(tmp_path, "fake_ml", protocol, [], SIZE,
                           spectral_data(BANDS, SIZE, LABELS, multilabel=True), ml)
    ctx.task.dataset.bands = tuple(f"B{i:02d}" for i in range(BANDS))
    ctx = dataclasses.replace(ctx, make_backbone=lambda sharded=False, **kw: spectral_vit(BANDS, SIZE, **kw))
    return protocol_module("multilabel", "finetune").run(ctx)


def test_multilabel_finetune_learns(tmp_path):
    before = finetune_scores(tmp_path, 0).metrics
    result = finetune_scores(tmp_path, 3)
    after = result.metrics
    assert sorted(after) == sorted(ml.METRICS)
    for metric in ("map_macro", "f1_macro", "f1_micro"):  # F1: sigmoid once, then above 0.5
        assert after[metric] > before[metric] + 0.3, (metric, before, after)
    assert result.hparams["lr"] == pytest.approx(1e-2 * 16 / 256)
    assert "augment geometric: random resized crop (scale 0.8-1)" in result.hparams["recipe"]


def test_the_shipped_recipe_is_exactly_the_schema():
    values = recipe("multilabel", "finetune")
    assert sorted(values) == sorted(SCHEMA)
    assert FINETUNE.DEFAULTS == values and values["augment"] == "geometric"
    assert protocol_module("multilabel", "finetune") is FINETUNE


def test_the_bigearthnet_task_resolves_and_refuses_single_label_augmentation(tmp_path):
    task = find_task("bigearthnet_s2_finetune")
    hp = resolved_hparams(FINETUNE.defaults, task.protocol, task.path, FINETUNE.schema)
    assert FINETUNE.validated(hp, task) == hp and len(task.dataset.bands) == 12
    with pytest.raises(SpecError, match=r"protocol.augment is 'rgb_randaug'; expected geometric$"):
        FINETUNE.validated({**hp, "augment": "rgb_randaug"}, task)
    with pytest.raises(SpecError, match=r"protocol option\(s\) \['mixup'\] are not used"):
        resolved_hparams(FINETUNE.defaults, {"mixup": 0.8}, task.path, FINETUNE.schema)
