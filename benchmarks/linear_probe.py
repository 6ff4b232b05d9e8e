"""Linear probe wall time: rsbench (features once, head on the cache) against torchgeo's
``ClassificationTask(freeze_backbone=True)`` (frozen backbone run every epoch), side by side.

Both get the same images (synthetic data in UC Merced's on-disk layout, resized to 224 px),
the same backbone weights (a seeded ``vit_tiny_patch16_224``), the same number of epochs and
one CPU process in fp32. rsbench runs its full protocol: the blr sweep on validation
(``--grid`` values), the refit on train+val and the test score; torchgeo trains one head on
train. The ratio therefore understates rsbench's advantage per fitted head.

    python benchmarks/linear_probe.py --epochs 100 --images-per-class 10

Prints one JSON line with both wall times and the ratio; BENCHMARKS.md records the results.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
import yaml

IMAGE_SIZE = 224
TIMM_NAME = "vit_tiny_patch16_224"


def make_checkpoint(path: Path, seed: int) -> dict[str, torch.Tensor]:
    """A seeded headless ViT-Ti/16 saved as safetensors; returns its state dict."""
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    state = timm.create_model(TIMM_NAME, pretrained=False, num_classes=0).state_dict()
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return state


def rsbench_probe(root: Path, ckpt: Path, data_root: Path, epochs: int, grid: list[float],
                  batch_size: int) -> dict:
    """Wall time and record of rsbench's linear-probe protocol on a cold feature cache."""
    from rsbench.config import card_from_dict, load_task
    from rsbench.engine import EngineOptions
    from rsbench.runner import RunOptions, run_suite

    repo = Path(__file__).resolve().parents[1]
    task_file = root / "bench_ucmerced_linear_probe.yaml"
    task_file.write_text(yaml.safe_dump({
        "include": [str(repo / "tasks/classification/_datasets/ucmerced_8_2.yaml"),
                    str(repo / "tasks/classification/_protocols/linear_probe.yaml")],
        "task": "bench_ucmerced_linear_probe", "version": 1,
        "protocol": {"epochs": epochs, "blr_grid": grid, "batch_size": batch_size,
                     "warmup_epochs": min(10, epochs // 10)},
    }))
    card = card_from_dict({"name": "vit-ti", "arch": "vit_tiny_patch16", "checkpoint": str(ckpt)},
                          "bench")
    engine = EngineOptions(accelerator="cpu", precision="32-true", progress=False,
                           root_dir=str(root / "rs_cache"))
    opts = RunOptions(out=root / "rs_results", data_root=data_root, cache_dir=root / "rs_cache",
                      engine=engine)
    start = time.perf_counter()
    (record,) = run_suite(card, [load_task(task_file)], [0], opts)
    seconds = time.perf_counter() - start
    if record["status"] != "ok":
        raise RuntimeError(f"rsbench probe failed: {record['error']}")
    return {"seconds": seconds, "timings": record["timings"],
            "overall_accuracy": record["metrics"]["overall_accuracy"],
            "n_train": record["data"]["n_train"] + record["data"]["n_val"]}


class DictBatches(torch.utils.data.Dataset):
    """torchgeo trainers take ``{"image", "label"}`` samples."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict:
        image, label = self.dataset[i]
        return {"image": image, "label": torch.as_tensor(label)}


def torchgeo_probe(root: Path, state: dict, data_root: Path, epochs: int, batch_size: int) -> dict:
    """Wall time of ``ClassificationTask(freeze_backbone=True)`` for ``epochs`` on train+val."""
    import lightning as L
    from torchgeo.trainers import ClassificationTask

    from rsbench.config import DatasetSpec
    from rsbench.data import build_classification_data

    spec = DatasetSpec(name="ucmerced", image_size=IMAGE_SIZE,
                       split={"kind": "ratio", "train": 0.8, "test": 0.2, "val_fraction": 0.1,
                              "seed": 0})
    data = build_classification_data(spec, data_root, root / "tg_splits")
    train = torch.utils.data.ConcatDataset([DictBatches(data.train), DictBatches(data.val)])
    loader = torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    class NoPlateau(ClassificationTask):
        # torchgeo pairs AdamW with ReduceLROnPlateau on val_loss; without a validation loop
        # (which would only add to torchgeo's time) keep the AdamW alone.
        def configure_optimizers(self):
            return torch.optim.AdamW(self.parameters(), lr=self.hparams["lr"])

    task = NoPlateau(model=TIMM_NAME, weights=None, in_channels=3,
                     num_classes=len(data.classes), freeze_backbone=True)
    missing, _ = task.model.load_state_dict(state, strict=False)
    assert set(missing) <= {"head.weight", "head.bias"}, missing
    trainer = L.Trainer(accelerator="cpu", devices=1, max_epochs=epochs, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=str(root / "tg"))
    start = time.perf_counter()
    trainer.fit(task, loader)
    return {"seconds": time.perf_counter() - start, "n_train": len(train)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--images-per-class", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--grid", default="0.01,0.03,0.1,0.3,1.0,3.0", help="rsbench blr grid")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from rsbench.data import make_synthetic_ucmerced

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data_dir = make_synthetic_ucmerced(root / "data" / "ucmerced", args.images_per_class, 256,
                                           seed=0)
        state = make_checkpoint(root / "vit_ti.safetensors", seed=0)
        grid = [float(x) for x in args.grid.split(",")]
        ours = rsbench_probe(root, root / "vit_ti.safetensors", data_dir.parent, args.epochs, grid,
                             args.batch_size)
        theirs = torchgeo_probe(root, state, data_dir.parent, args.epochs, args.batch_size)
    print(json.dumps({
        "benchmark": "linear_probe", "epochs": args.epochs, "image_size": IMAGE_SIZE,
        "backbone": TIMM_NAME, "train_images": theirs["n_train"], "blr_grid": grid,
        "rsbench_s": round(ours["seconds"], 2), "rsbench_timings": ours["timings"],
        "torchgeo_s": round(theirs["seconds"], 2),
        "speedup": round(theirs["seconds"] / ours["seconds"], 1),
        "cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
