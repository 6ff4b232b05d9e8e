"""``rsbench demo``: the whole path offline, on synthetic data in UC Merced's on-disk layout.

Two checkpoints come from one short supervised pretraining of a small ViT on a separately seeded
synthetic set: the one after the first epoch (saved as ``.safetensors``) and the final one
(saved as a Lightning ``.ckpt``). Both are scored with linear probe, kNN and a short fine-tune
over two seeds, plus frozen-encoder segmentation (synthetic data in LoveDA's layout) and detection
(DIOR's layout). The segmentation and detection classes are the pretraining's scene textures
(stripe orientation and frequency) in palettes unrelated to the class, so only an encoder that
has learnt them helps its decoder. The demo fails (exit 1) when the first-epoch checkpoint ranks
above the final one on any task, and says so when the final one wins a task by no more than the
seeds' spread (detection, with its short frozen schedule, can land there).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from rsbench.console import log, warn
from rsbench.progress import wanted  # bars on a terminal only

ARCH = "vit_tiny_patch16"
ARCH_OVERRIDES: dict[str, Any] = {"depth": 4, "patch_size": 8}
IMAGE_SIZE = 64
SEEDS = [0, 1]
TASKS = ["demo_ucmerced_linear_probe", "demo_ucmerced_knn", "demo_ucmerced_finetune",
         "demo_loveda_frozen", "demo_dior_frozen"]
LOVEDA_IMAGES_PER_SPLIT = 64  # 16 leave the per-patch decoder too few examples
DIOR_IMAGES_PER_SPLIT = 48  # more examples per texture class, at no extra training cost
PRETRAIN: dict[str, int] = {"epochs": 12, "batch_size": 32, "images_per_class": 40, "seed": 1}
EVAL_IMAGES_PER_CLASS = 30
# The synthetic classes differ by stripe angle (45 vs 135 degrees: mirror images) and frequency
# (which strong zoom changes), so the demo keeps only label-preserving augmentation.
DEMO_AUGMENT = {"mixup": 0.0, "cutmix": 0.0, "randaug_ops": 0, "reprob": 0.0, "hflip": 0.0,
                "min_crop_scale": 0.5}


def pretrained_checkpoints(ckpt_dir: Path, data_dir: Path, quiet: bool) -> dict[str, Path]:
    """Pretrain a small ViT; save its first-epoch and final weights in two formats."""
    import lightning as L
    import torch
    from safetensors.torch import save_file
    from torch.utils.data import DataLoader

    from rsbench.backbones import InputSpec, build_backbone
    from rsbench.config import DatasetSpec
    from rsbench.data import build_classification_data
    from rsbench.engine import EngineOptions, make_trainer
    from rsbench.protocols.finetune import DEFAULTS, Finetuner, train_transform

    ckpt_dir.mkdir(parents=True, exist_ok=True)
    early, final = ckpt_dir / "early.safetensors", ckpt_dir / "final.ckpt"
    if early.exists() and final.exists():
        return {"early": early, "final": final}
    L.seed_everything(PRETRAIN["seed"], workers=True, verbose=False)
    spec = DatasetSpec(name="ucmerced", split={"kind": "ratio", "train": 0.9, "test": 0.1,
                       "val_fraction": 0.0, "seed": 0}, image_size=IMAGE_SIZE,
                       root=str(data_dir.resolve()))
    hp = {**DEFAULTS, **DEMO_AUGMENT, "epochs": PRETRAIN["epochs"], "warmup_epochs": 1,
          "drop_path": 0.0, "blr": 2e-3, "layer_decay": 1.0}
    data = build_classification_data(spec, data_dir, ckpt_dir / "splits",
                                     train_transform=train_transform(IMAGE_SIZE, hp))
    backbone = build_backbone(ARCH, InputSpec(img_size=IMAGE_SIZE), "cls", **ARCH_OVERRIDES)
    loader = DataLoader(data.train, batch_size=PRETRAIN["batch_size"], shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(PRETRAIN["seed"]))
    lr = hp["blr"] * PRETRAIN["batch_size"] / 256
    module = Finetuner(backbone, len(data.classes), hp, len(loader) * PRETRAIN["epochs"], lr)

    class SaveFirstEpoch(L.Callback):
        def on_train_epoch_end(self, trainer, pl_module):
            if trainer.current_epoch == 0:
                save_file({k: v.contiguous() for k, v in pl_module.backbone.model.state_dict().items()},
                          str(early))

    trainer = make_trainer(EngineOptions(accelerator="cpu", precision="32-true", progress=wanted(quiet),
                                         root_dir=str(ckpt_dir)),
                           max_epochs=PRETRAIN["epochs"], callbacks=[SaveFirstEpoch()])
    trainer.fit(module, loader)
    trainer.save_checkpoint(final)
    return {"early": early, "final": final}


def card_name(stage: str) -> str:
    """The model card name of checkpoint ``stage`` (``early`` or ``final``)."""
    return f"demo-vit-{stage}"


def model_cards(cards_dir: Path, ckpts: dict[str, Path]) -> dict[str, Path]:
    """One model card YAML per checkpoint."""
    cards_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stage, path in ckpts.items():
        card = {
            "name": card_name(stage),
            "arch": ARCH,
            "arch_overrides": ARCH_OVERRIDES,
            "checkpoint": str(path.resolve()),
            "pool": "cls",
            "input_spec": {"bands": ["R", "G", "B"], "img_size": IMAGE_SIZE,
                           "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
            "description": f"small ViT, {'1 epoch' if stage == 'early' else str(PRETRAIN['epochs']) + ' epochs'} "
                           "of supervised pretraining on synthetic data",
            "license": "CC0-1.0",
        }
        paths[stage] = cards_dir / f"{card['name']}.yaml"
        paths[stage].write_text(yaml.safe_dump(card, sort_keys=False))
    return paths


def run_demo(out: Path, quiet: bool = False) -> int:
    """Build data, checkpoints and cards under ``out``; score both; print the leaderboard."""
    from rsbench.config import find_task, load_card
    from rsbench.data import make_synthetic_ucmerced
    from rsbench.data.detection import make_synthetic_dior
    from rsbench.data.segmentation import make_synthetic_loveda
    from rsbench.engine import EngineOptions
    from rsbench.leaderboard import leaderboard_table, render_markdown, write_tables
    from rsbench.runner import RunOptions, run_suite

    start = time.perf_counter()
    out = Path(out)
    log(f"writing synthetic UC Merced-layout data under {out / 'data'}")
    eval_root = make_synthetic_ucmerced(out / "data" / "ucmerced", EVAL_IMAGES_PER_CLASS, IMAGE_SIZE, seed=0)
    log(f"writing synthetic LoveDA-layout data under {out / 'data' / 'loveda'}")
    make_synthetic_loveda(out / "data" / "loveda", LOVEDA_IMAGES_PER_SPLIT, IMAGE_SIZE, seed=0,
                          classes_by="texture")
    log(f"writing synthetic DIOR-layout data under {out / 'data' / 'dior'}")
    make_synthetic_dior(out / "data" / "dior", DIOR_IMAGES_PER_SPLIT, 128, seed=0, classes_by="texture")
    pre_root = make_synthetic_ucmerced(out / "pretrain_data", PRETRAIN["images_per_class"], IMAGE_SIZE,
                                       seed=PRETRAIN["seed"])
    log("pretraining a small ViT to make two checkpoints (first epoch, final)")
    ckpts = pretrained_checkpoints(out / "checkpoints", pre_root, quiet)
    cards = model_cards(out / "models", ckpts)
    tasks = [find_task(t) for t in TASKS]
    engine = EngineOptions(accelerator="cpu", precision="32-true", progress=wanted(quiet),
                           root_dir=str(out / "cache"))
    opts = RunOptions(out=out / "results", data_root=eval_root.parent, cache_dir=out / "cache",
                      engine=engine)
    records = [r for card_path in cards.values()
               for r in run_suite(load_card(card_path), tasks, SEEDS, opts)]
    from rsbench.results import ResultStore

    table = leaderboard_table(ResultStore(out / "results").records())
    title = "rsbench demo leaderboard"
    paths = write_tables(table, out / "leaderboard", title=title)
    print(render_markdown(table, title=title))
    from rsbench.leaderboard import load_suite, write_suite_leaderboard

    _, suite_paths = write_suite_leaderboard(load_suite("demo"), out / "results", out / "suite")
    log(f"leaderboard: {', '.join(str(p) for p in paths.values())}")
    log(f"suite leaderboard with bootstrap CIs (open in a browser): {suite_paths['html']}")
    log(f"demo finished in {time.perf_counter() - start:.0f} s")
    failed = [f"{r['model']['name']}/{r['task']['name']}/seed {r['seed']}" for r in records
              if r["status"] != "ok"]
    if failed:  # shown in the table too; a demo with a failed run must not pass as working
        warn(f"{len(failed)} run(s) failed: {', '.join(failed)}")
        return 1
    early, final = card_name("early"), card_name("final")
    close = misranked_tasks(records, early=early, final=final)
    wrong = misranked_tasks(records, early=early, final=final, margin="none")
    if close and close != wrong:
        warn(f"the final checkpoint wins by no more than the seeds' spread on: "
             f"{'; '.join(c for c in close if c not in wrong)}")
    if wrong:  # the demo's one claim: more pretraining, better numbers on every task
        warn(f"the first-epoch checkpoint ranks first on: {'; '.join(wrong)}")
        return 1
    return 0


def primary_scores(records: list[dict], model: str) -> dict[str, list[float]]:
    """Task name -> the primary metric of ``model``'s records, one value per seed."""
    out: dict[str, list[float]] = {}
    for r in records:
        if r["model"]["name"] == model:
            out.setdefault(r["task"]["name"], []).append(float(r["metrics"][r["primary_metric"]]))
    return out


def misranked_tasks(records: list[dict], early: str, final: str, margin: str = "spread") -> list[str]:
    """Tasks where ``final``'s mean does not exceed ``early``'s by more than the larger spread
    (max - min over seeds) of the two (``margin="none"``: does not exceed it at all), each as
    ``"task: final MEAN vs early MEAN (spread S)"``.

    All tasks here are higher-is-better. A task only one of them has is reported too.
    """
    a, b = primary_scores(records, early), primary_scores(records, final)
    wrong = []
    for task in sorted(set(a) | set(b)):
        if task not in a or task not in b:
            wrong.append(f"{task}: scored for one checkpoint only")
            continue
        spread = max(max(v) - min(v) for v in (a[task], b[task]))
        gap = sum(b[task]) / len(b[task]) - sum(a[task]) / len(a[task])
        if gap <= (spread if margin == "spread" else 0.0):
            wrong.append(f"{task}: final {sum(b[task]) / len(b[task]):.4f} vs early "
                         f"{sum(a[task]) / len(a[task]):.4f} (spread {spread:.4f})")
    return wrong
