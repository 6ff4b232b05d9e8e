"""Fine-tuning on more than 3 bands (EuroSAT's 13): ``augment: geometric`` crops and flips every
band alike and keeps them all; RandAugment (RGB only) is refused with the key named."""

import dataclasses

import pytest
import torch
from spectral_fake import spectral_data, spectral_vit
from tiny_models import protocol_context

import rsbench.tasks.classification as cls_plugin
from rsbench.config import SpecError, find_task
from rsbench.engine.protocol import resolved_hparams
from rsbench.protocols import finetune

BANDS, SIZE, CLASSES = 13, 32, 4
GEOMETRIC = {**finetune.DEFAULTS, "augment": "geometric", "reprob": 0.0}


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def hand_image(side: int = 16) -> torch.Tensor:
    """13 bands; band ``b`` is ``b + base``, ``base`` a different value at every pixel."""
    base = torch.arange(side * side, dtype=torch.float32).reshape(side, side) / (side * side)
    return torch.stack([base + b for b in range(BANDS)])


def test_a_flip_moves_every_band_s_pixel_to_the_mirrored_column_exactly():
    # Crop scale 1..1 on a square image is the whole image; the flip with p = 1 then maps pixel
    # (i, j) of every band to (i, 15 - j), with the float values unchanged (no uint8 round trip).
    image = hand_image()
    out = finetune.train_transform(16, {**GEOMETRIC, "min_crop_scale": 1.0, "hflip": 1.0})(image)
    assert out.shape == (BANDS, 16, 16) and out.dtype == torch.float32
    for b in range(BANDS):
        for i in range(16):
            for j in range(16):
                assert out[b, i, j] == image[b, i, 15 - j], (b, i, j)


@pytest.mark.parametrize("seed", range(5))
def test_a_random_crop_is_the_same_on_every_band(seed):
    # Bands differ by a constant, so the same crop and resize keeps band b - band 0 == b at
    # every output pixel; a crop drawn per band would not (base differs at every pixel).
    image = hand_image()
    torch.manual_seed(seed)
    out = finetune.train_transform(16, {**GEOMETRIC, "min_crop_scale": 0.08})(image)
    assert out.shape == (BANDS, 16, 16)
    assert not torch.allclose(out[0], image[0])  # it did crop (and maybe flip)
    for b in range(BANDS):
        assert torch.allclose(out[b] - out[0], torch.full((16, 16), float(b)), atol=1e-5), b


def context(tmp_path, protocol: dict, bands: int = BANDS):
    ctx = protocol_context(tmp_path, "fake_ms", {"name": "finetune", **protocol}, [], SIZE,
                           spectral_data(bands, SIZE, CLASSES, multilabel=False), cls_plugin)
    ctx.task.dataset.bands = tuple(f"B{i:02d}" for i in range(bands))
    return dataclasses.replace(ctx, make_backbone=lambda sharded=False, **kw: spectral_vit(bands, SIZE, **kw))


def test_randaugment_on_13_bands_is_refused_before_any_data_or_model(tmp_path):
    ctx = dataclasses.replace(context(tmp_path, {"augment": "rgb_randaug"}),
                              make_data=None, make_backbone=None)  # calling either would fail
    with pytest.raises(SpecError) as err:
        finetune.FINETUNE.run(ctx)
    assert str(err.value) == (
        "fake.yaml: protocol.augment is 'rgb_randaug' but the data has 13 bands; RandAugment "
        "is defined on 3-band RGB images: set protocol.augment: geometric (crop and flip alike "
        "on every band)")


def test_augment_values_are_checked(tmp_path):
    rgb = context(tmp_path, {}, bands=3)
    assert finetune.checked_augment(finetune.DEFAULTS, rgb.task) == finetune.DEFAULTS  # RGB: allowed
    with pytest.raises(SpecError, match=r"^fake.yaml: protocol.augment is 'autoaug'; expected "
                                        r"rgb_randaug or geometric$"):
        finetune.checked_augment({**finetune.DEFAULTS, "augment": "autoaug"}, rgb.task)
    with pytest.raises(SpecError, match=r"protocol.augment is 3; expected text"):
        resolved_hparams(finetune.DEFAULTS, {"augment": 3}, "fake.yaml", finetune.SCHEMA)


def test_the_eurosat13_task_fine_tunes_with_geometric_augmentation(tmp_path):
    task = find_task("eurosat13_official_finetune")
    hp = resolved_hparams(finetune.DEFAULTS, task.protocol, task.path, finetune.SCHEMA)
    assert (hp["augment"], hp["min_crop_scale"], hp["reprob"]) == ("geometric", 0.2, 0.0)
    assert finetune.checked_augment(hp, task) == hp and len(task.dataset.bands) == 13
    rgb = find_task("eurosat_official_finetune")
    assert resolved_hparams(finetune.DEFAULTS, rgb.protocol, rgb.path, finetune.SCHEMA)["augment"] == "rgb_randaug"


def accuracy(tmp_path, epochs: int) -> dict:
    # The EuroSAT-13 recipe's augmentation, mixup and cutmix on 13 bands; a short schedule.
    protocol = {"epochs": epochs, "batch_size": 16, "blr": 1e-2, "warmup_epochs": 0,
                "augment": "geometric", "min_crop_scale": 0.2, "reprob": 0.0}
    return finetune.FINETUNE.run(context(tmp_path, protocol)).metrics


def test_13_band_finetune_learns(tmp_path):
    before, after = accuracy(tmp_path, 0), accuracy(tmp_path, 3)
    assert after["overall_accuracy"] > before["overall_accuracy"] + 0.5, (before, after)
