"""iSAID semantic masks over prepared patches in the iSAID devkit's layout (fake data)."""

from pathlib import Path

import numpy as np
import pytest
import torch
from fake_data import generator

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound
from rsbench.data.segmentation import build_segmentation_data
from rsbench.data.segmentation.isaid import ISAID_CLASSES, ISAID_PALETTE, ISAIDAdapter


def test_palette_has_16_distinct_colours():
    assert len(ISAID_CLASSES) == 16 and ISAID_CLASSES[0] == "background"
    assert sorted(ISAID_PALETTE.values()) == list(range(16))
    assert ISAID_PALETTE[(0, 0, 0)] == 0 and ISAID_PALETTE[(0, 100, 155)] == 15


def test_reader_and_colour_decoding(tmp_path):
    generator("isaid").make(tmp_path / "data" / "isaid", scenes=3, patches=2, size=32)
    split = {"kind": "official", "val_fraction": 0.34, "seed": 0}
    data = build_segmentation_data(DatasetSpec("isaid", split, 896), tmp_path / "data",
                                   tmp_path / "splits")
    assert data.classes == list(ISAID_CLASSES)
    assert (len(data.train), len(data.val), len(data.test)) == (4, 2, 6)
    assert len({Path(p).name.split("_")[0] for p, _ in data.val.samples}) == 1  # by scene
    image, mask = data.test[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert mask.shape == (32, 32) and mask.dtype == torch.int64
    assert mask[0, 0] == 255  # the off-palette pixel
    assert set(mask.unique().tolist()) <= set(range(16)) | {255}
    hand = np.array([[[0, 0, 0], [0, 0, 63], [0, 100, 155], [1, 2, 3]]], np.uint8)
    from rsbench.data.segmentation.common import colour_to_index

    assert colour_to_index(hand, ISAID_PALETTE).tolist() == [[0, 1, 15, 255]]


def test_missing_data_message(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        ISAIDAdapter().official(tmp_path / "isaid")
    message = str(err.value)
    assert "\n" not in message and "instance_color_RGB" in message and "iSAID" in message
