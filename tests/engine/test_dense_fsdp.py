"""--strategy fsdp for segmentation and detection: the engine's one run loop shards them too.

Two CPU processes under FSDP2 (Lightning's ``ModelParallelStrategy``) train the same model as
the reference run:

- detection (RetinaNet, no BatchNorm, no random sampling): the reference is one process; the
  weights agree to float summation order (each process averages 2 images' losses, FSDP's
  reduce-scatter averages the two; measured 4.3e-7 after 4 AdamW steps);
- segmentation: PyTorch's SyncBatchNorm has no CPU kernel, so two CPU processes keep
  per-process BatchNorm statistics whatever the strategy; the reference is DDP with two
  processes. Compared as the function the weights compute (train-mode logits, measured
  9.5e-7): the last block's ``fc2.bias`` is a per-channel shift that the decoder's BatchNorm
  removes, so its gradient is zero up to rounding and AdamW turns that rounding into
  +-lr steps of no effect on any output.
"""

import os
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "segmentation"))
import test_dense_fsdp_worker as script  # noqa: E402

TOLERANCE = 1e-5


def launched(out: Path, devices: int, strategy: str, kind: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "test_dense_fsdp_worker.py"), str(out), str(devices),
                           strategy, kind], env=env, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return torch.load(out / f"result-{devices}-{strategy}-{kind}.pt", weights_only=False)


def moved(result: dict) -> float:
    return max((result["state"][k].float() - result["init"][k].float()).abs().max().item()
               for k in result["init"])


def test_two_process_fsdp2_detection_finetune_matches_one_process(tmp_path):
    two = launched(tmp_path, 2, "fsdp", "detection")
    script.main(tmp_path, 1, "auto", "detection")  # the one-process reference, in this process
    one = torch.load(tmp_path / "result-1-auto-detection.pt", weights_only=False)
    assert two["world"] == 2 and two["param_types"] == ["DTensor"]  # really sharded
    assert one["param_types"] == ["Parameter"]
    assert sorted(one["state"]) == sorted(two["state"])
    assert moved(one) > 1e-3  # training changed the weights, so agreeing is not trivial
    for k in one["state"]:
        torch.testing.assert_close(two["state"][k], one["state"][k], rtol=0, atol=TOLERANCE, msg=k)
    assert two["hparams"]["batch_size"] == 4 and two["hparams"]["total_steps"] == script.STEPS


def train_mode_logits(state: dict) -> torch.Tensor:
    from seg_helpers import fake_seg_data
    from tiny_models import tiny_vit

    from rsbench.protocols.segmentation import FINETUNE, build_module

    module = build_module(tiny_vit(32), 3, {**FINETUNE.defaults, **script.SEG}, 32, 255, frozen=False,
                          layer_decay=0.9)
    module.load_state_dict(state)
    with torch.no_grad():
        return module.train()(fake_seg_data(size=32, n_train=16, n_test=5).test.images[:4])


def test_two_process_fsdp2_segmentation_finetune_matches_ddp(tmp_path):
    fsdp = launched(tmp_path, 2, "fsdp", "segmentation")
    ddp = launched(tmp_path, 2, "ddp", "segmentation")
    assert fsdp["param_types"] == ["DTensor"] and ddp["param_types"] == ["Parameter"]
    assert sorted(fsdp["state"]) == sorted(ddp["state"])
    assert moved(ddp) > 1e-3
    torch.testing.assert_close(train_mode_logits(fsdp["state"]), train_mode_logits(ddp["state"]),
                               rtol=0, atol=TOLERANCE)
    assert fsdp["hparams"]["recipe"].count("4 iters") == 1  # the recipe text names the run's values
