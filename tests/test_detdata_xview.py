"""xView: GeoJSON parsing, type_id mapping, rsbench's own seeded split by image."""

import json
from pathlib import Path

import pytest
import torch
from fake_data import generator

from rsbench.config import DatasetSpec
from rsbench.data import DatasetNotFound, SplitSpecError
from rsbench.data.detection import (
    XVIEW_CLASSES,
    XVIEW_TYPE_IDS,
    build_detection_data,
    parse_xview_geojson,
)

SPLIT = {"kind": "ratio", "train": 0.8, "test": 0.2, "val_fraction": 0.25, "seed": 0}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("xview_data")
    generator("xview").make(base / "xview")
    return base


def xview_spec(**split) -> DatasetSpec:
    return DatasetSpec(name="xview", split={**SPLIT, **split}, image_size=64)


def test_type_ids_map_to_60_contiguous_labels():
    assert len(XVIEW_TYPE_IDS) == len(XVIEW_CLASSES) == 60
    assert len(set(XVIEW_CLASSES)) == 60 and list(XVIEW_TYPE_IDS) == sorted(XVIEW_TYPE_IDS)
    assert XVIEW_TYPE_IDS[0] == 11 and XVIEW_CLASSES[0] == "Fixed-wing Aircraft"
    assert XVIEW_CLASSES[XVIEW_TYPE_IDS.index(73)] == "Building"
    assert XVIEW_TYPE_IDS[-1] == 94 and 75 not in XVIEW_TYPE_IDS and 82 not in XVIEW_TYPE_IDS


def test_geojson_by_hand(tmp_path):
    def feat(image_id, bounds, type_id):
        return {"type": "Feature", "properties": {"image_id": image_id, "type_id": type_id,
                                                  "bounds_imcoords": bounds}}
    doc = {"type": "FeatureCollection", "features": [
        feat("5.tif", "10,20,30,40", 73), feat("5.tif", "1,2,3,4", 75),
        feat("6.tif", "0,0,5,6", 11), feat("6.tif", "bad", 11)]}
    (tmp_path / "g.geojson").write_text(json.dumps(doc))
    index = parse_xview_geojson(tmp_path / "g.geojson")
    assert sorted(index) == ["5.tif", "6.tif"]
    assert index["5.tif"].boxes.tolist() == [[10, 20, 30, 40]]
    assert index["5.tif"].labels.tolist() == [XVIEW_TYPE_IDS.index(73)]
    assert index["6.tif"].labels.tolist() == [0]
    assert index["6.tif"].difficult.tolist() == [False]


def test_seeded_split_by_image_is_rsbenchs_own_and_deterministic(data_root, tmp_path):
    data = build_detection_data(xview_spec(), data_root, tmp_path / "splits")
    # 10 images: trainval round(8) -> val round(2) -> 6 / 2 / 2
    assert (len(data.train), len(data.val), len(data.test)) == (6, 2, 2)
    doc = json.loads(data.split_file.read_text())
    assert data.split_file.name == "xview_ratio_0.8_0.2_val0.25_seed0.json"
    assert "rsbench's own" in doc["split"]["note"] and doc["split"]["seed"] == 0
    rows = doc["train"] + doc["val"] + doc["test"]
    assert sorted(r[0] for r in rows) == [f"train_images/{100 + n}.tif" for n in range(10)]
    assert {r[1] for r in rows} == {"xView_train.geojson"}
    again = build_detection_data(xview_spec(), data_root, tmp_path / "other_splits")
    assert again.split_file.read_bytes() == data.split_file.read_bytes()
    assert again.split_hash == data.split_hash and again.fingerprint == data.fingerprint
    seeds = {tuple(img for img, _ in build_detection_data(
        xview_spec(seed=s), data_root, tmp_path / "s").test.samples) for s in range(5)}
    assert len(seeds) > 1


def test_targets_skip_unknown_types_and_clip(data_root, tmp_path):
    data = build_detection_data(xview_spec(), data_root, tmp_path / "splits")
    everything = [getattr(data, s) for s in ("train", "val", "test")]
    found = False
    for ds in everything:
        for index, (img, _) in enumerate(ds.samples):
            image, target = ds[index]
            assert image.dtype == torch.float32 and image.shape == (3, 48, 48)
            assert all(0 <= k < 60 for k in target["labels"].tolist())
            if img.endswith("/100.tif"):
                found = True
                # type_id 75 skipped; the Building box 40,30,60,44 clipped to the 48 px image
                building = XVIEW_TYPE_IDS.index(73)
                assert [40, 30, 48, 44] in target["boxes"].tolist()
                assert target["labels"].tolist()[-1] == building
                assert len(target["labels"]) == len(target["boxes"])
            if img.endswith("/109.tif"):
                assert target["boxes"].shape == (0, 4)
    assert found
    coco = data.coco_ground_truth("test")
    assert all((i["width"], i["height"]) == (48, 48) for i in coco["images"])
    assert len(coco["categories"]) == 60


def test_split_kind_and_missing_data(data_root, tmp_path):
    spec = DatasetSpec(name="xview", split={"kind": "official"}, image_size=64)
    with pytest.raises(SplitSpecError, match="no official split"):
        build_detection_data(spec, data_root, tmp_path / "s")
    with pytest.raises(DatasetNotFound) as err:
        build_detection_data(xview_spec(), tmp_path, tmp_path / "s")
    message = str(err.value)
    assert "\n" not in message and "xView_train.geojson" in message
    assert "train_images/*.tif" in message and "xviewdataset.org" in message
