"""One checkpoint through a list of tasks and seeds, ending in one record per (task, seed).

The order of work is the order a reader follows the package: load the checkpoint (and refuse a
partial load), pick the task plugin and protocol, run, write the record atomically. A record
that already exists makes its run a no-op, so an interrupted suite resumes where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from rsbench.config import ModelCard, TaskSpec
from rsbench.console import log, warn
from rsbench.engine.trainer import EngineOptions, world_size
from rsbench.loaded_model import LoadedModel


@dataclass
class RunOptions:
    """Where things go and what is allowed, for one ``rsbench run``."""

    out: Path
    data_root: Path = Path("data")
    cache_dir: Path = Path(".rsbench_cache")
    download: bool = False
    allow_partial: bool = False
    retry_failed: bool = False
    engine: EngineOptions = field(default_factory=EngineOptions)
    overrides: dict = field(default_factory=dict)  # ``--set`` for every task
    task_overrides: dict[str, dict] = field(default_factory=dict)  # ``--set TASK:...``
    feature_workers: int | None = None  # frozen-feature loader workers; None: from the job's CPUs
    # Plan another machine's memory (GiB): host per node, one device (rsbench.plan_check)
    node_memory_gib: float | None = None
    device_memory_gib: float | None = None
    # Pre-flight timings of the suite plan's checks, by task spec hash: the first check of a
    # task's files is the one its records report (a run's own later check is a cache hit).
    planned_checks: dict[str, dict] = field(default_factory=dict)

    def overrides_for(self, task: str) -> dict:
        """The ``--set`` values applied to ``task`` (recorded in its inputs)."""
        from rsbench.config import deep_merge

        return deep_merge(self.overrides, self.task_overrides.get(task, {}))


def run_inputs(model: LoadedModel, task: TaskSpec, seed: int, opts: RunOptions) -> dict:
    """Everything that determines a run's outcome; its hash names the record."""
    return {
        "model": model.identity(),
        "task": {"name": task.task, "version": task.version, "spec_hash": task.hash},
        "seed": seed,
        "protocol_overrides": opts.overrides_for(task.task),
        "precision": opts.engine.precision,
    }


def encoder_dtype(task: TaskSpec, eng: EngineOptions):
    """``torch.bfloat16`` for a frozen protocol under bf16 (rsbench.plan.weights_dtype), else None."""
    from rsbench.plan_check import run_weights_dtype

    if run_weights_dtype(task, eng) == "float32":
        return None
    import torch

    return torch.bfloat16


def executed(model: LoadedModel, task: TaskSpec, seeds: list[int], opts: RunOptions) -> dict:
    """Run (task, seed) for each of ``seeds``: each seed's protocol result, or the error that
    ended it (an error of the whole pass propagates). Several seeds run in one pass only where
    the protocol has ``run_seeds`` (:func:`seed_groups`)."""
    from rsbench.protocols import protocol_module

    protocol = protocol_module(task.type, task.protocol_name)
    ctx, checks, bands = run_context(model, task, seeds[0], opts)
    results = protocol.run_seeds(ctx, seeds) if len(seeds) > 1 else {seeds[0]: protocol.run(ctx)}
    for result in results.values():
        if not isinstance(result, Exception):
            result.timings.update({**checks, **opts.planned_checks.get(task.hash, {})})
            result.data["input"] = bands.to_dict()  # which bands fed which, and how
    return results


def seed_groups(task: TaskSpec, seeds: list[int]) -> list[list[int]]:
    """The seeds of ``task`` to run, grouped by pass: all in one where its protocol trains
    every seed's heads at once (``run_seeds``: the linear probe), else one per pass."""
    from rsbench.protocols import protocol_module

    try:
        together = hasattr(protocol_module(task.type, task.protocol_name), "run_seeds")
    except Exception:  # an unknown protocol: each seed's run records the error
        together = False
    return [seeds] if together and len(seeds) > 1 else [[seed] for seed in seeds]


def run_context(model: LoadedModel, task: TaskSpec, seed: int, opts: RunOptions):
    """``(protocol context, pre-flight timings, band plan)`` of one (task, seed); the timings
    fill in when the context first builds its data."""
    from rsbench.checkpoints.sharded import band_subset_later
    from rsbench.engine.features import FeatureCache
    from rsbench.protocols import ProtocolContext
    from rsbench.tasks import plugin as task_plugin

    plugin = task_plugin(task.type)  # tasks were checked against the card by rsbench.usage
    size = task.dataset.image_size
    dtype = encoder_dtype(task, opts.engine)
    model.check(size, dtype)  # load and check the checkpoint before any data is touched
    from rsbench.bands.plan import cache_identity, run_plan

    # Band match, fill and the one normalisation (rsbench.bands); usage checked it can run.
    bands = run_plan(model.card, task, lambda: plugin.build_data(
        task, opts.data_root, opts.cache_dir, opts.download), opts.cache_dir)

    checks: dict[str, float] = {}  # the first pre-flight's timings, merged into the record's

    def make_data(train_transform=None):
        from rsbench import progress
        from rsbench.data.preflight import preflight

        progress.stage("pre-flight")

        data = plugin.build_data(task, opts.data_root, opts.cache_dir, opts.download, train_transform)
        for key, value in preflight(data, task.task, task.primary_metric).items():
            checks.setdefault(key, value)  # every file is checked before any training
        return data

    ctx = ProtocolContext(
        task=task, seed=seed, opts=opts.engine,
        make_backbone=lambda sharded=False, **extra: bands.fitted(band_subset_later(
            model.backbone(size, dtype, sharded, **extra), bands.keep, bands.fill)),
        make_data=make_data, cache=FeatureCache(opts.cache_dir, opts.feature_workers),
        identity={"model": model.identity(), "dataset": task.dataset.name,
                  "precision": opts.engine.precision, **cache_identity(bands),
                  # fp32 weights, what every earlier cache entry was extracted with, add no key
                  **({"weights_dtype": "bfloat16"} if dtype is not None else {})},
        plugin=plugin,
    )
    return ctx, checks, bands


def planned_features(model: LoadedModel, runs: list[tuple[TaskSpec, int]], opts: RunOptions) -> None:
    """Before any head trains, extract every distinct image of the pending frozen runs once
    (all their splits, one pass per feature space); each run then only gathers its rows."""
    from rsbench.checkpoints import CheckpointError
    from rsbench.protocols.frozen_features import FROZEN_PROTOCOLS, prefetched

    def skipped(task: TaskSpec, exc: Exception) -> None:  # its own run records the failure
        log(f"suite plan: {task.task} left to its run ({exc})")

    frozen = {task.hash: (task, seed) for task, seed in runs
              if (task.type, task.protocol_name) in FROZEN_PROTOCOLS}  # features ignore the seed
    contexts = []
    for task, seed in frozen.values() if len(frozen) > 1 else ():  # one run fills its own
        try:
            ctx, checks, _ = run_context(model, task, seed, opts)
            contexts.append(ctx)
            opts.planned_checks[task.hash] = checks  # filled when prefetching builds its data
        except CheckpointError:
            raise  # refused before anything runs, as run_record does
        except Exception as exc:
            skipped(task, exc)
    if contexts:
        start = time.perf_counter()
        counts = prefetched(contexts, on_error=lambda ctx, exc: skipped(ctx.task, exc))
        log(f"suite plan: {len(contexts)} frozen task(s), {counts['distinct_images']} distinct "
            f"image(s), {counts['extracted']} extracted in {counts['spaces']} feature space(s) "
            f"in {counts['features_s']:.1f} s ({time.perf_counter() - start:.1f} s with the "
            "data checks)")


def scored(task: TaskSpec, result) -> None:
    """Refuse a result whose primary metric is missing or not a finite number."""
    from rsbench.errors import MetricUndefined
    from rsbench.results.record import is_finite_number

    value = result.metrics.get(task.primary_metric)
    value = value.tolist() if hasattr(value, "tolist") else value
    if not is_finite_number(value):
        raise MetricUndefined(
            f"{task.task}: primary metric '{task.primary_metric}' is {value!r}: the test split "
            "gave nothing to score (e.g. no labelled pixels or objects); check its labels")


def run_record(model: LoadedModel, task: TaskSpec, seed: int, opts: RunOptions,
               previous: dict | None = None) -> dict:
    """A complete record for one (task, seed): ``ok`` with metrics or ``failed`` with the error."""
    return run_records(model, task, [seed], opts, {seed: previous})[seed]


def run_records(model: LoadedModel, task: TaskSpec, seeds: list[int], opts: RunOptions,
                previous: dict[int, dict | None]) -> dict[int, dict]:
    """A complete record for each (task, seed) of one pass (:func:`seed_groups`).

    Everything after the checkpoint check, building the records included, is inside the guard:
    whatever goes wrong, each run ends as a record and the suite goes on. A seed that fails
    alone fails its record alone.
    """
    from rsbench.checkpoints import CheckpointError

    inputs = {seed: run_inputs(model, task, seed, opts) for seed in seeds}
    start = time.perf_counter()
    try:
        outcomes = executed(model, task, seeds, opts)
    except CheckpointError:
        raise  # a bad checkpoint is refused before anything runs, not scored as failed
    except Exception as exc:  # any failure becomes a visible record, never a dropped run
        outcomes = dict.fromkeys(seeds, exc)
    return {seed: seed_record(model, task, seed, opts, inputs[seed], start, outcomes[seed],
                              previous.get(seed)) for seed in seeds}


def seed_record(model: LoadedModel, task: TaskSpec, seed: int, opts: RunOptions, inputs: dict,
                start: float, outcome, previous: dict | None) -> dict:
    """The record of one seed from its result, or ``failed`` from its error (``outcome``)."""
    from rsbench.checkpoints import CheckpointError
    from rsbench.engine import resume
    from rsbench.results import failure_info

    try:
        if isinstance(outcome, Exception):
            raise outcome
        scored(task, outcome)
        return assembled(model, task, seed, opts, inputs, start, outcome, None, previous)
    except CheckpointError:
        raise
    except Exception as exc:
        if resume.warned():  # the job is being preempted: the requeued job runs this seed
            warn(f"{task.task} seed {seed}: ended by the preemption warning ({exc}); no record")
            raise SystemExit(1) from exc
        error = failure_info(exc)
        warn(f"{task.task} seed {seed}: FAILED: {error['message']}")
        return assembled(model, task, seed, opts, inputs, start, None, error, previous)


def assembled(model: LoadedModel, task: TaskSpec, seed: int, opts: RunOptions, inputs: dict,
              start: float, result, error: dict | None, previous: dict | None) -> dict:
    """The validated record of one run from its result, or from its error when ``result`` is None."""
    from rsbench.results import environment, new_record

    eng = opts.engine
    return new_record(
        inputs,
        status="ok" if error is None else "failed",
        task={"name": task.task, "version": task.version, "type": task.type,
              "spec_hash": task.hash, "path": task.path, "spec": task.raw},
        model={**model.identity(), "checkpoint": model.card.checkpoint,
               "load_report": model.report(task.dataset.image_size),
               "weights_dtype": "bfloat16" if encoder_dtype(task, eng) else "float32",
               **model.card.meta},
        protocol={"name": task.protocol_name, "hparams": result.hparams if result else {}},
        seed=seed,
        data=result.data if result else {},
        metrics=result.metrics if result else {},
        primary_metric=task.primary_metric,
        higher_is_better=task.metrics["higher_is_better"],
        timings={"total_s": time.perf_counter() - start, **(result.timings if result else {})},
        environment=environment(inputs["precision"], eng.strategy, world_size(eng),
                                eng.devices, eng.accelerator),
        error=error,
        previous_attempts=[previous] if previous else None,
    )


def run_suite(card: ModelCard, tasks: list[TaskSpec], seeds: list[int], opts: RunOptions) -> list[dict]:
    """Records for every (task, seed), skipping those already done; returns all of them."""
    from rsbench.plan_check import run_memory_plan
    from rsbench.results import ResultStore

    store = ResultStore(opts.out)
    # Refused here, before any tensor is read, when it cannot fit the node.
    log(run_memory_plan(card, tasks, opts.engine, opts.node_memory_gib,
                        opts.device_memory_gib).line())
    model = LoadedModel(card, opts)
    records: list[dict] = []
    pending = [(t, s) for t in tasks for s in seeds
               if not store.done(run_inputs(model, t, s, opts), opts.retry_failed)]

    from rsbench import progress

    shown_live = progress.wanted(quiet=not opts.engine.progress)
    with progress.live(len(pending), shown_live) as display:
        if display is not None:  # its training stage replaces Lightning's own bar
            opts = replace(opts, engine=replace(opts.engine, progress=False))
            display.start_run("suite plan")
            display.stage("features of every distinct image")
        planned_features(model, pending, opts)
        for task in tasks:
            done: dict[int, dict] = {}
            previous: dict[int, dict | None] = {}
            for seed in seeds:
                inputs = run_inputs(model, task, seed, opts)
                previous[seed] = existing = store.get(inputs)
                if existing is not None and store.done(inputs, retry_failed=opts.retry_failed):
                    log(f"{card.name} / {task.task} / seed {seed}: record exists, skipped")
                    done[seed] = existing
            for group in seed_groups(task, [s for s in seeds if s not in done]):
                label = f"seed{'s' if len(group) > 1 else ''} {','.join(map(str, group))}"
                log(f"{card.name} / {task.task} / {label}: running {task.protocol_name}"
                    + (" (their heads in one pass)" if len(group) > 1 else ""))
                if display is not None:
                    display.start_run(f"{task.task} {label}")
                for seed, record in run_records(model, task, group, opts, previous).items():
                    path = store.write(record)
                    metric = record["metrics"].get(task.primary_metric)
                    shown = f"{task.primary_metric} = {metric:.4f}" if metric is not None else "failed"
                    log(f"{card.name} / {task.task} / seed {seed}: {shown} -> {path}")
                    if display is not None:
                        display.end_run()
                    done[seed] = record
            records.extend(done[seed] for seed in seeds)
    failed = [f"{r['task']['name']} seed {r['seed']}" for r in records if r["status"] != "ok"]
    if failed:
        warn(f"{len(failed)} of {len(records)} run(s) failed: {', '.join(failed)}")
    return records
