"""The plan through the command line: printed at the start of a run, refused before loading.

The tiny card is ViT-Tiny cut to 2 blocks with 8 px patches at 32 px: per block 2 LayerNorms
(4*192), qkv (3*192^2 + 3*192), proj (192^2 + 192), fc1 (192*768 + 768), fc2 (768*192 + 192)
= 444,864; patch embedding 3*8*8*192 + 192 = 37,056; class token 192; position embedding
17*192 = 3,264; final norm 384: 930,624 parameters, the largest tensor 768*192.
"""

import json
from pathlib import Path

import pytest
from tiny_models import write_demo_task, write_tiny_card

from rsbench.backbones.memory import GIB
from rsbench.cli import main
from rsbench.plan import IMPORTS_BYTES, LOAD_RUNTIME_BYTES

PARAMS = 2 * 444_864 + 37_056 + 192 + 3_264 + 384
LARGEST = 768 * 192
RUNTIME = LOAD_RUNTIME_BYTES + IMPORTS_BYTES
# frozen kNN on the CPU: the loader's peak is above one layer of 64 images' fp32 activations
# (34 * 17 * 64 * 192 * 2 bytes = 14.2 MB) because RUNTIME is 1.12 GB
FP32_HOST = 4 * PARAMS + RUNTIME
BF16_HOST = 2 * PARAMS + 4 * LARGEST + RUNTIME


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from rsbench.data import make_synthetic_ucmerced

    tmp = tmp_path_factory.mktemp("plan")
    make_synthetic_ucmerced(tmp / "data" / "ucmerced", n_per_class=4, size=32, seed=0)
    return {"tmp": tmp, "card": write_tiny_card(tmp, 32),
            "knn": str(write_demo_task(tmp, "t_knn", "knn", "{k: 3}"))}


def run(world, out, *extra):
    return main(["run", "--model", str(world["card"]), "--tasks", world["knn"], "--seeds", "0",
                 "--out", str(out), "--data-root", str(world["tmp"] / "data"),
                 "--cache-dir", str(world["tmp"] / "cache"), "--accelerator", "cpu", *extra])


@pytest.fixture
def nothing_loads(monkeypatch):
    # (the checkpoint is hashed first, streamed, to find out whether every run is recorded)
    import rsbench.checkpoints

    def never(*args, **kwargs):
        raise AssertionError("the checkpoint was loaded before the plan was checked")

    monkeypatch.setattr(rsbench.checkpoints, "load_backbone", never)


def test_a_plan_over_the_node_is_refused_with_the_flags_that_fit(world, tmp_path, capsys,
                                                                 nothing_loads):
    between = (FP32_HOST + BF16_HOST) / 2 / GIB  # bf16 weights fit, fp32 do not
    assert run(world, tmp_path / "r", "--node-memory", str(between)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rsbench: error: t_knn: plan: vit_tiny_patch16 "
                                               "0.9M params, frozen, weights float32")
    assert f"host {FP32_HOST / 1e9:.2f} GB/node > {between * GIB / 1e9:.2f} GB (--node-memory)" \
        in err[0]
    assert "refused before loading; fits with --precision bf16-true" in err[0]
    assert not (tmp_path / "r").exists()


def test_a_node_nothing_fits_says_so(world, tmp_path, capsys, nothing_loads):
    assert run(world, tmp_path / "r", "--node-memory", "0.001") == 2
    err = capsys.readouterr().err
    assert "host 1.12 GB/node > 0.00 GB (--node-memory)" in err and "no setting tried fits" in err


def test_the_plan_is_the_first_line_of_a_run_and_bf16_true_loads_bf16(world, tmp_path, capsys):
    assert run(world, tmp_path / "r", "--precision", "bf16-true") == 0
    err = capsys.readouterr().err
    plan_line = next(line for line in err.splitlines() if line.startswith("[rsbench] plan:"))
    assert plan_line.startswith("[rsbench] plan: vit_tiny_patch16 0.9M params, frozen, weights "
                                f"bfloat16, auto x1 (1/node, NO_SHARD): host {BF16_HOST / 1e9:.2f}"
                                " GB/rank")
    record = json.loads(next(Path(tmp_path / "r").rglob("*.json")).read_text())
    assert record["model"]["weights_dtype"] == "bfloat16"
    assert record["status"] == "ok"
