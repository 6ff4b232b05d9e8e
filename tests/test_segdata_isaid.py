"""iSAID over prepared patches in mmsegmentation's layout (fake data, no manifest: mmseg's)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from fake_data import generator
from PIL import Image

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound
from rsbench.data.segmentation import build_segmentation_data
from rsbench.data.segmentation.isaid import (
    ISAID_CLASSES,
    ISAID_PALETTE,
    ISAIDAdapter,
    read_index_mask,
)

# mmseg 1.2.2's iSAIDDataset palette, in class-index order (background first, 16 classes).
MMSEG_PALETTE = [(0, 0, 0), (0, 0, 63), (0, 63, 63), (0, 63, 0), (0, 63, 127), (0, 63, 191),
                 (0, 63, 255), (0, 127, 63), (0, 127, 127), (0, 0, 127), (0, 0, 191),
                 (0, 0, 255), (0, 191, 127), (0, 127, 191), (0, 127, 255), (0, 100, 155)]


def test_palette_and_class_order_are_mmseg_s():
    assert {colour: i for i, colour in enumerate(MMSEG_PALETTE)} == ISAID_PALETTE
    assert len(ISAID_CLASSES) == 16 and ISAID_CLASSES[0] == "background"
    assert ISAID_CLASSES[1:3] == ("ship", "storage_tank") and ISAID_CLASSES[14] == "plane"


def test_reader_on_an_mmseg_folder(tmp_path):
    generator("isaid").make(tmp_path / "data" / "isaid", scenes=3, patches=2, size=32)
    split = {"kind": "official", "val_fraction": 0.34, "seed": 0}
    data = build_segmentation_data(DatasetSpec("isaid", split, 896), tmp_path / "data",
                                   tmp_path / "splits")
    assert data.classes == list(ISAID_CLASSES)
    assert (len(data.train), len(data.val), len(data.test)) == (4, 2, 6)
    assert len({Path(p).name.split("_")[0] for p, _ in data.val.samples}) == 1  # by scene
    assert data.test.samples[0] == ("img_dir/val/P1000_0_32_0_32.png",
                                    "ann_dir/val/P1000_0_32_0_32_instance_color_RGB.png")
    image, mask = data.test[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert mask.shape == (32, 32) and mask.dtype == torch.int64
    stored = np.asarray(Image.open(tmp_path / "data" / "isaid" / data.test.samples[0][1]))
    assert mask.tolist() == stored.tolist() and mask[0, 0] == 255  # indices as stored
    assert data.summary()["prepared"] == {"source": "mmseg converter folder (no manifest.json)",
                                          "variant": "mmseg", "variant_verified": False}


def test_index_masks_p_mode_and_bad_values(tmp_path):
    arr = np.array([[0, 1, 15], [255, 7, 0]], np.uint8)
    p_mode = Image.frombytes("P", (3, 2), arr.tobytes())
    p_mode.putpalette([v for i in range(256) for v in (i, i, i)])  # 8-bit, as mmseg saved
    p_mode.save(tmp_path / "p.png")
    assert read_index_mask(tmp_path / "p.png").tolist() == arr.tolist()
    # mmseg's converter under Pillow >= 8.3 saves its P labels at 1 bit: every class > 0 -> 1
    p_mode.save(tmp_path / "one_bit.png", bits=1)
    with pytest.raises(ValueError, match="one_bit.png: a P;1 label cannot hold 16 classes"):
        read_index_mask(tmp_path / "one_bit.png")
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "rgb.png")
    with pytest.raises(ValueError, match="rgb.png: iSAID label patches hold class indices"):
        read_index_mask(tmp_path / "rgb.png")
    Image.fromarray(np.array([[0, 16]], np.uint8)).save(tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"bad.png: label value 16 is neither a class"):
        read_index_mask(tmp_path / "bad.png")


def test_missing_data_and_old_manifest_messages(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        ISAIDAdapter().official(tmp_path / "isaid")
    message = str(err.value)
    assert "\n" not in message and "ann_dir/{train,val}" in message and "iSAID" in message
    assert "rsbench data prepare isaid" in message
    root = generator("isaid").make(tmp_path / "old", scenes=1, patches=1, size=8)
    (root / "manifest.json").write_text(json.dumps({"format": "rsbench-prepared/1",
                                                    "dataset": "isaid", "files": {}}))
    with pytest.raises(DatasetNotFound, match="prepare it again"):
        ISAIDAdapter().official(root)
    (root / "manifest.json").unlink()
    label = next((root / "ann_dir" / "val").glob("*.png"))
    Image.open(label).convert("P").save(label, bits=1)  # as mmseg's converter under new Pillow
    with pytest.raises(ValueError, match="P;1 label cannot hold 16 classes"):
        ISAIDAdapter().official(root)
