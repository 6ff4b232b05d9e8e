"""Records of label-efficiency runs: each carries its fraction, its own split hash and counts."""

from pathlib import Path

from tiny_models import write_tiny_card

from rsbench.cli import main
from rsbench.results import ResultStore

REPO = Path(__file__).resolve().parents[1]
TASK = """include: [{root}/tasks/demo/_demo_dataset.yaml, {root}/tasks/classification/_protocols/knn.yaml]
task: {name}
version: 1
dataset: {{image_size: 16, split: {{val_fraction: 0.0, train_fraction: {fraction}}}}}
protocol: {{k: 5}}
"""


def test_records_of_two_fractions_carry_fraction_and_split_hash(tmp_path):
    from rsbench.data import make_synthetic_ucmerced

    data = make_synthetic_ucmerced(tmp_path / "data" / "ucmerced", n_per_class=6, size=16, seed=0)
    card = write_tiny_card(tmp_path, 16)
    tasks = []
    for name, fraction in (("knn_frac50", 0.5), ("knn_frac100", 1.0)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(TASK.format(root=REPO, name=name, fraction=fraction))
        tasks.append(str(path))
    out = tmp_path / "results"
    assert main(["run", "--model", str(card), "--tasks", ",".join(tasks), "--seeds", "0",
                 "--out", str(out), "--data-root", str(data.parent),
                 "--cache-dir", str(tmp_path / "cache"), "--accelerator", "cpu", "--quiet"]) == 0
    records = {r["task"]["name"]: r for r in ResultStore(out).records()}
    half, whole = records["knn_frac50"]["data"], records["knn_frac100"]["data"]
    assert half["split"]["train_fraction"] == 0.5 and whole["split"]["train_fraction"] == 1.0
    assert half["split_hash"] != whole["split_hash"]
    # 6 per class at 0.8 / 0.2, no val: trainval round(4.8) = 5, test 1; 50 % floors 2.5 to 2.
    assert (half["n_train"], half["n_val"], half["n_test"]) == (21 * 2, 0, 21)
    assert (whole["n_train"], whole["n_val"], whole["n_test"]) == (21 * 5, 0, 21)
    assert Path(half["split_file"]).name == "ucmerced_ratio_0.8_0.2_val0.0_seed0_frac0.5.json"
