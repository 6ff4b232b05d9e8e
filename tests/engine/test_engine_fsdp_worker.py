"""Run by test_engine_fsdp.py as ``python test_engine_fsdp_worker.py OUT DEVICES STRATEGY``.

Holds no tests itself; the name keeps it among the engine test files.

A few fine-tuning steps of a tiny ViT on synthetic UC Merced-style images (the generator
``make_synthetic_ucmerced`` writes to disk, used here in memory), at a fixed *global* batch
of 8: 8 per process on one process, 4 per process on two. Rank 0 writes the final full
(unsharded) weights and the test predictions to ``OUT/result-{DEVICES}-{STRATEGY}.pt``
(for fsdp also a second run, blocks activation-checkpointed, to ``...-fsdp-ckpt.pt``).
With ``--strategy fsdp`` on CPU, ``make_trainer`` picks Lightning's ``ModelParallelStrategy``
and ``Finetuner.configure_model`` applies FSDP2 ``fully_shard`` per block, then to the root.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

GLOBAL_BATCH, STEPS, CLASSES, SIZE = 8, 4, 3, 32


def images(n: int, seed: int) -> TensorDataset:
    from rsbench.data.synthetic import synthetic_image

    rng = np.random.default_rng(seed)
    labels = torch.arange(n) % CLASSES
    x = np.stack([synthetic_image(int(k), SIZE, rng) for k in labels])
    return TensorDataset(torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255, labels)


def main(out: Path, devices: int, strategy: str, checkpointing: bool = False) -> None:
    import lightning as L

    from rsbench.backbones import InputSpec, build_backbone
    from rsbench.backbones.memory import module_workload
    from rsbench.engine import EngineOptions, make_trainer
    from rsbench.engine.predict import predict_in_order
    from rsbench.protocols.finetune import DEFAULTS, Finetuner

    L.seed_everything(0, verbose=False)
    backbone = build_backbone("vit_tiny_patch16", InputSpec(img_size=SIZE), depth=2, patch_size=8)
    hp = {**DEFAULTS, "epochs": 1, "warmup_epochs": 0, "mixup": 0.0, "cutmix": 0.0, "drop_path": 0.0}
    module = Finetuner(backbone, CLASSES, hp, total_steps=STEPS, lr=1e-3)
    opts = EngineOptions(accelerator="cpu", devices=devices, strategy=strategy, precision="32-true",
                         progress=False, root_dir=str(out), activation_checkpointing=checkpointing)
    batch = GLOBAL_BATCH // devices
    trainer = make_trainer(opts, max_epochs=1, workload=module_workload(backbone, batch, SIZE, "32-true"))
    # Distributed, Lightning always trains through DistributedSampler(shuffle=True, seed=0):
    # permutation P = randperm(n) seeded 0, rank r taking P[r::2]. Global step k then sees
    # P[8k:8k + 8]; the one-process run reads P in order, so every global batch is the same.
    data = images(GLOBAL_BATCH * STEPS, seed=1)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(0)).tolist()
    train = DataLoader(data, batch_size=batch, drop_last=True, sampler=order if devices == 1 else None)
    init = {k: v.detach().clone() for k, v in module.state_dict().items()}
    trainer.fit(module, train)
    preds, target = predict_in_order(trainer, module, images(11, seed=2), batch)
    if strategy == "fsdp":
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        state = get_model_state_dict(module, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    else:
        state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    kinds = sorted({type(p).__name__ for p in module.parameters()})
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import CheckpointWrapper

    wrapped = sum(isinstance(m, CheckpointWrapper) for m in module.modules())
    if trainer.global_rank == 0:
        torch.save({"state": state, "init": init, "preds": preds, "target": target, "param_types": kinds,
                    "world": trainer.world_size, "step": trainer.global_step,
                    "checkpoint_wrappers": wrapped},
                   out / f"result-{devices}-{strategy}{'-ckpt' if checkpointing else ''}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
    if sys.argv[3] == "fsdp":  # again in the same processes, blocks activation-checkpointed
        main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], checkpointing=True)
