"""``rsbench run`` end to end on synthetic DIOR with the demo task (real data path, record)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_run_on_synthetic_dior_writes_a_detection_record(tmp_path, tiny_card, run_one_record):
    from rsbench.data.detection import make_synthetic_dior

    make_synthetic_dior(tmp_path / "data" / "dior", 4, 64, 0)
    task = tmp_path / "det_e2e.yaml"
    task.write_text(f"include: [{REPO}/tasks/demo/demo_dior_frozen.yaml]\ntask: det_e2e\n"
                    "dataset: {image_size: 64}\nprotocol: {iterations: 2, channels: 32}\n")
    record = run_one_record(tiny_card(tmp_path, 64), task, tmp_path)
    m = record["metrics"]
    assert 0.0 <= m["map50"] <= 1.0 and "ap50_airplane" in m and record["primary_metric"] == "map50"
    assert record["data"]["split_hash"] and record["protocol"]["hparams"]["detector"] == "faster_rcnn"
