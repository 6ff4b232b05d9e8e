"""--strategy fsdp: two sharded CPU processes train the same model as one process."""

import os
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import test_engine_fsdp_worker as script  # noqa: E402

# Not bit-identical: one process reduces the loss over 8 images in one sum; two processes
# each average 4 and FSDP's reduce-scatter averages the two gradients, a different float
# summation order (~1e-7 relative); AdamW then carries it through 4 steps. Measured: 6.8e-7.
TOLERANCE = 1e-5


def logits(state: dict) -> torch.Tensor:
    from rsbench.backbones import InputSpec, build_backbone
    from rsbench.protocols.finetune import DEFAULTS, Finetuner

    backbone = build_backbone("vit_tiny_patch16", InputSpec(img_size=script.SIZE), depth=2, patch_size=8)
    module = Finetuner(backbone, script.CLASSES, {**DEFAULTS, "mixup": 0.0, "cutmix": 0.0}, 1, 1e-3)
    module.load_state_dict(state)
    with torch.no_grad():
        return module.eval()(script.images(11, seed=2).tensors[0])


def test_two_process_fsdp2_finetune_matches_one_process(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "test_engine_fsdp_worker.py"), str(tmp_path), "2", "fsdp"],
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert "fsdp plan: FULL_SHARD (shard group 2) on world size 2" in log  # printed before training
    assert "fsdp plan: FULL_SHARD (shard group 2, activation checkpointing) on world size 2" in log
    script.main(tmp_path, 1, "auto")  # the one-process reference, in this process
    one = torch.load(tmp_path / "result-1-auto.pt")
    two = torch.load(tmp_path / "result-2-fsdp.pt")
    assert two["world"] == 2 and two["param_types"] == ["DTensor"]  # really sharded
    assert one["step"] == two["step"] == script.STEPS
    assert sorted(one["state"]) == sorted(two["state"])
    moved = max((one["state"][k] - one["init"][k]).abs().max().item() for k in one["state"])
    assert moved > 1e-3  # training changed the weights, so agreeing is not trivial
    for k in one["state"]:
        torch.testing.assert_close(two["state"][k], one["state"][k], rtol=0, atol=TOLERANCE, msg=k)
    torch.testing.assert_close(logits(two["state"]), logits(one["state"]), rtol=0, atol=TOLERANCE)
    assert torch.equal(one["preds"], two["preds"]) and torch.equal(one["target"], two["target"])
    # Activation-checkpointed blocks recompute the same forward: same weights, same names.
    ckpt = torch.load(tmp_path / "result-2-fsdp-ckpt.pt")
    assert ckpt["checkpoint_wrappers"] == 2 and two["checkpoint_wrappers"] == 0
    assert sorted(ckpt["state"]) == sorted(two["state"])
    for k in two["state"]:
        torch.testing.assert_close(ckpt["state"][k], two["state"][k], rtol=0, atol=TOLERANCE, msg=k)
