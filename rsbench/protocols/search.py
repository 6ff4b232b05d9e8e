"""Hyper-parameter search on the validation split (``protocol.search``), with optuna.

A task turns it on with, e.g.::

    protocol:
      search: {trials: 20, params: {blr: {low: 1.0e-3, high: 10.0, log: true},
                                    weight_decay: {low: 0.0, high: 0.1}},
               pruner: median, sampler_seed: 0, storage: journal}

Every trial trains on train and is scored on val with the task's primary metric; the objective
is handed only those two splits, so the test split cannot leak into the choice. The protocol
then trains once more with the best trial's values and scores test (the probe refits on
train+val as without search).

Storage. ``journal`` (default) keeps the study in an append-only optuna journal file under
``<cache dir>/search/<key>.journal``, locked with ``JournalFileOpenLock`` (an ``O_EXCL`` lock
file, safe on NFSv3+/Lustre), so SLURM jobs of the same run share and resume one study while a
finished study is reused without new trials. ``key`` hashes the task spec hash (which includes
the search settings), the model/data identity and the seed: different runs never mix.
``memory`` keeps the study in the process (no resume).

Pruning. Each trial reports its val score after every epoch and a ``median`` pruner (optuna
``MedianPruner``) stops trials below the median of earlier ones at the same epoch; a trial whose
loss becomes non-finite is recorded as pruned (user attribute ``diverged``). Trials of one
study run in one process: the search refuses multi-process (DDP/FSDP) runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch

from rsbench.config import SpecError, spec_hash

SEARCH_DEFAULTS = {"trials": 20, "params": None, "pruner": "median", "sampler_seed": 0,
                   "storage": "journal"}
PRUNER_DEFAULTS = {"name": "median", "n_startup_trials": 5, "n_warmup_steps": 0}
STORAGES = ("journal", "memory")
PRUNERS = ("median", "none")
PARAM_KEYS = {"low", "high", "log"}


def search_spec(search: dict, allowed: tuple[str, ...], where: str | None) -> dict:
    """``search`` checked against ``allowed`` parameter names and completed with defaults."""
    if not isinstance(search, dict):
        raise SpecError(f"{where}: protocol.search must be a mapping or null, got {search!r}")
    unknown = sorted(set(search) - set(SEARCH_DEFAULTS))
    if unknown:
        raise SpecError(f"{where}: protocol.search option(s) {unknown} unknown; "
                        f"allowed: {sorted(SEARCH_DEFAULTS)}")
    spec = {**SEARCH_DEFAULTS, **search}
    params = spec["params"]
    if not isinstance(params, dict) or not params:
        raise SpecError(f"{where}: protocol.search.params must name at least one of {list(allowed)}")
    for name, rng in params.items():
        if name not in allowed:
            raise SpecError(f"{where}: protocol.search.params.{name} cannot be searched; "
                            f"allowed: {list(allowed)}")
        if not isinstance(rng, dict) or not {"low", "high"} <= set(rng) <= PARAM_KEYS:
            raise SpecError(f"{where}: protocol.search.params.{name} must be "
                            "{low: ..., high: ..., log: true|false}")
        if not float(rng["low"]) <= float(rng["high"]) or (rng.get("log") and float(rng["low"]) <= 0):
            raise SpecError(f"{where}: protocol.search.params.{name}: need 0 < low <= high with "
                            "log, low <= high without")
    if not isinstance(spec["trials"], int) or spec["trials"] < 1:
        raise SpecError(f"{where}: protocol.search.trials must be a positive integer")
    if spec["storage"] not in STORAGES:
        raise SpecError(f"{where}: protocol.search.storage {spec['storage']!r}; allowed: {STORAGES}")
    pruner = spec["pruner"] if isinstance(spec["pruner"], dict) else {"name": spec["pruner"] or "none"}
    if pruner.get("name") not in PRUNERS or not set(pruner) <= set(PRUNER_DEFAULTS):
        raise SpecError(f"{where}: protocol.search.pruner must be one of {PRUNERS} or "
                        f"{{name: median, n_startup_trials: .., n_warmup_steps: ..}}, got {spec['pruner']!r}")
    spec["pruner"] = {**PRUNER_DEFAULTS, **pruner} if pruner["name"] == "median" else {"name": "none"}
    return spec


def study_key(ctx) -> str:
    """Names a run's study: task spec hash (search settings included), model/data identity, seed."""
    return spec_hash({"task": ctx.task.hash, "identity": ctx.identity, "seed": ctx.seed})[:24]


def journal_path(ctx) -> Path:
    """``<cache dir>/search/<key>.journal`` (the cache dir is the feature cache's parent)."""
    return Path(ctx.cache.dir).parent / "search" / f"{study_key(ctx)}.journal"


def study_for(ctx, spec: dict):
    """The run's optuna study (created, or loaded when another job already made it) and its path."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage, path = None, None
    if spec["storage"] == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        path = journal_path(ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        storage = JournalStorage(JournalFileBackend(str(path), JournalFileOpenLock(str(path))))
    pr = spec["pruner"]
    pruner = (optuna.pruners.MedianPruner(pr["n_startup_trials"], pr["n_warmup_steps"])
              if pr["name"] == "median" else optuna.pruners.NopPruner())
    study = optuna.create_study(
        storage=storage, sampler=optuna.samplers.TPESampler(seed=spec["sampler_seed"]),
        pruner=pruner, study_name=study_key(ctx), direction="maximize", load_if_exists=True)
    return study, path


def finished(study) -> list:
    """Trials that count towards ``trials``: completed or pruned (a killed job's are not)."""
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))


def processes() -> int:
    """Processes in this run (an initialised process group, or a launcher's ``WORLD_SIZE``)."""
    import os

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def searched(ctx, spec: dict, objective: Callable[[Any, dict], float]) -> tuple[dict, dict]:
    """``(best params, summary)`` after running the study up to ``spec["trials"]`` trials.

    ``objective(trial, params)`` trains with ``params`` and returns the val score; it may raise
    ``optuna.TrialPruned``; a ``FloatingPointError`` (divergence) is recorded as pruned.
    """
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    if processes() > 1:
        raise SpecError(f"{ctx.task.task}: protocol.search runs its trials in one process "
                         f"(this run has {processes()}); run the search with --devices 1")
    study, path = study_for(ctx, spec)
    before = len(finished(study))

    def trial_score(trial) -> float:
        params = {name: trial.suggest_float(name, float(r["low"]), float(r["high"]),
                                            log=bool(r.get("log", False)))
                  for name, r in spec["params"].items()}
        try:
            value = float(objective(trial, params))
        except FloatingPointError as exc:
            trial.set_user_attr("diverged", str(exc))
            raise optuna.TrialPruned(f"diverged: {exc}") from exc
        return value if math.isfinite(value) else 0.0

    if before < spec["trials"]:
        counted = (TrialState.COMPLETE, TrialState.PRUNED)
        study.optimize(trial_score, n_trials=spec["trials"] - before,
                       callbacks=[MaxTrialsCallback(spec["trials"], states=counted)])
    trials = finished(study)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    if not complete:
        raise SpecError(f"{ctx.task.task}: every search trial was pruned or diverged; "
                         "widen or move protocol.search.params")
    best = max(complete, key=lambda t: (t.value, -t.number))  # ties: the earliest trial
    summary = {
        "trials": spec["trials"], "params": spec["params"], "pruner": spec["pruner"],
        "sampler": "tpe", "sampler_seed": spec["sampler_seed"], "storage": spec["storage"],
        "storage_path": str(path) if path else None, "study": study.study_name,
        "n_trials": len(trials), "n_complete": len(complete), "n_pruned": len(trials) - len(complete),
        "n_diverged": sum("diverged" in t.user_attrs for t in trials),
        "n_new_trials": len(trials) - before,
        "best_trial": best.number, "best_value": best.value, "best_params": dict(best.params),
    }
    return dict(best.params), summary


class ValPruning(L.Callback):
    """Reports ``score(module)`` (the val score) to ``trial`` after every training epoch.

    When the pruner says so, training stops and ``pruned`` is set (raise ``TrialPruned`` after
    ``fit``: raising inside Lightning's loop would go through its interrupt handling).
    The module is scored in eval mode under ``no_grad`` and put back, so reporting changes
    neither weights nor random streams.
    """

    def __init__(self, trial, score: Callable[[L.LightningModule], float]) -> None:
        self.trial, self.score, self.pruned = trial, score, False
        self.values: list[float] = []

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        was_training = pl_module.training
        pl_module.eval()
        with torch.no_grad():
            value = float(self.score(pl_module))
        pl_module.train(was_training)
        value = value if math.isfinite(value) else 0.0
        self.values.append(value)
        self.trial.report(value, trainer.current_epoch)
        if self.trial.should_prune():
            self.pruned = True
            trainer.should_stop = True

    def raise_if_pruned(self) -> None:
        import optuna

        if self.pruned:
            raise optuna.TrialPruned(f"pruned after epoch {len(self.values)}: val {self.values[-1]:.4f}")


def dataset_score(ctx, dataset, batch: int, num_classes: int) -> Callable[[L.LightningModule], float]:
    """Primary metric of a classifier module over ``dataset`` (in order, on the module's device)."""
    from torch.utils.data import DataLoader

    def score(module: L.LightningModule) -> float:
        # Own generator: iterating a loader must not draw from the global RNG training uses.
        loader = DataLoader(dataset, batch_size=batch, shuffle=False, num_workers=ctx.opts.num_workers,
                            generator=torch.Generator().manual_seed(0))
        preds, target = [], []
        context = module.trainer.precision_plugin.forward_context()
        with context:
            for x, y in loader:
                preds.append(module(x.to(module.device)).argmax(dim=1).cpu())
                target.append(torch.as_tensor(y))
        scores = ctx.plugin.scores(torch.cat(preds), torch.cat(target), num_classes)
        return scores[ctx.task.primary_metric]

    return score


def searched_finetune(ctx, hp: dict) -> tuple[dict, dict]:
    """``(hp with the best values and ``search`` the summary, summary)`` for fine-tuning.

    Builds its own data (so the caller's random streams start where a run without search
    starts) and hands the trials only its train and val splits.
    """
    from rsbench.protocols.finetune import train_transform

    spec = search_spec(hp["search"], ("blr", "weight_decay"), ctx.task.path)
    data = ctx.make_data(train_transform=train_transform(ctx.task.dataset.image_size, hp))
    best, summary = finetune_trials(ctx, hp, spec, data.train, data.val, len(data.classes))
    return {**hp, **best, "search": summary}, summary


def finetune_trials(ctx, hp: dict, spec: dict, train, val, num_classes: int) -> tuple[dict, dict]:
    """``searched`` over fine-tuning runs on ``train`` scored on ``val`` (no test split here)."""
    from dataclasses import replace

    from torch.utils.data import DataLoader

    from rsbench.backbones.memory import module_workload
    from rsbench.engine.trainer import make_trainer
    from rsbench.protocols.finetune import Finetuner, learning_rate

    if len(val) == 0:
        raise SpecError(f"{ctx.task.task}: protocol.search needs a validation split; "
                         "raise dataset.split.val_fraction")
    batch = hp["batch_size"]
    if len(train) < batch:
        raise SpecError(f"{ctx.task.task}: batch_size {batch} exceeds the {len(train)} training images")

    def objective(trial, params: dict) -> float:
        trial_hp = {**hp, **params}
        L.seed_everything(ctx.seed, workers=True, verbose=False)
        backbone = ctx.make_backbone(drop_path_rate=hp["drop_path"])
        loader = DataLoader(train, batch_size=batch, shuffle=True, drop_last=True,
                            generator=torch.Generator().manual_seed(ctx.seed),
                            num_workers=ctx.opts.num_workers)
        workload = module_workload(backbone, batch, ctx.task.dataset.image_size,
                                   ctx.opts.precision)
        pruning = ValPruning(trial, dataset_score(ctx, val, batch, num_classes))
        trainer = make_trainer(replace(ctx.opts, progress=False), max_epochs=hp["epochs"],
                               workload=workload, callbacks=[pruning])
        if trainer.world_size > 1:
            raise SpecError(f"{ctx.task.task}: protocol.search runs its trials in one process; "
                             "run the search with --devices 1")
        module = Finetuner(backbone, num_classes, trial_hp, len(loader) * hp["epochs"],
                           learning_rate(trial_hp))
        trainer.fit(module, loader)
        pruning.raise_if_pruned()
        return pruning.values[-1]

    return searched(ctx, spec, objective)
