"""A whole ``rsbench run`` checked before anything runs: overrides, tasks, protocols, bands.

Bands are checked by matching the card's bands against the task's (``rsbench.bands``): a band
the model needs that the data lacks is refused here unless the task declares a ``band_fill``.

Usage errors are the user's to fix and say nothing about the model, so they must never become
``failed`` records on a leaderboard. Every problem of the command is collected and reported at
once, one line each, before a checkpoint is read or a dataset opened.

``--set`` forms:

- ``protocol.epochs=2``: every task of the run (refused for a task whose protocol has no
  ``epochs``; name the task instead);
- ``TASK:protocol.epochs=2``: that task only;
- ``arch.depth=2``: the architecture (the model card's ``arch_overrides``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import yaml

from rsbench.errors import UserError


@dataclass
class Overrides:
    """``--set`` values, grouped by where they apply."""

    common: dict = field(default_factory=dict)
    per_task: dict[str, dict] = field(default_factory=dict)
    arch: dict = field(default_factory=dict)


def parse_overrides(items: list[str]) -> dict:
    """``["protocol.epochs=3", ...]`` -> nested dict; values parsed as YAML scalars."""
    out: dict = {}
    for item in items:
        if "=" not in item:
            raise UserError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. protocol.epochs=3")
        key, value = item.split("=", 1)
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return out


def grouped_overrides(items: list[str]) -> Overrides:
    """``--set`` items split into common, per-task (``TASK:key=value``) and ``arch.`` ones."""
    common: list[str] = []
    per_task: dict[str, list[str]] = {}
    arch: list[str] = []
    for item in items:
        key = item.split("=", 1)[0]
        if ":" in key:
            task, rest = item.split(":", 1)
            per_task.setdefault(task, []).append(rest)
        elif key.startswith("arch."):
            arch.append(item)
        else:
            common.append(item)
    return Overrides(common=parse_overrides(common),
                     per_task={t: parse_overrides(v) for t, v in per_task.items()},
                     arch=parse_overrides(arch).get("arch", {}))


def root_problems(overrides: dict, where: str) -> list[str]:
    """Top-level override keys a task file cannot have, with the fix."""
    from rsbench.config import TASK_KEYS

    allowed = sorted(TASK_KEYS - {"task", "type", "include"})
    return [f"--set {where}{key}…: a task has no field '{key}' (allowed: {', '.join(allowed)}; "
            f"the architecture is set with arch.KEY=VALUE)"
            for key in sorted(set(overrides) - set(allowed))]


def specs_with_overrides(names: list[str], overrides: Overrides) -> tuple[list, dict, list[str]]:
    """Task specs for ``names`` with their overrides applied, each task's own overrides by task
    name, and the problems found.

    A per-task override names the task as given on ``--tasks`` or by its ``task:`` name.
    """
    from rsbench.config import SpecError, deep_merge, find_task, task_from_dict

    found, problems = [], root_problems(overrides.common, "")
    for name in names:
        try:
            found.append((name, find_task(name)))
        except SpecError as err:
            problems.append(str(err))
    known = {key for name, spec in found for key in (name, spec.task)}
    problems += [f"--set {t}:…: task {t!r} is not among --tasks ({', '.join(names)})"
                 for t in sorted(set(overrides.per_task) - known)]
    specs, per_task = [], {}
    for name, spec in found:
        own = deep_merge(overrides.per_task.get(spec.task, {}), overrides.per_task.get(name, {}))
        problems += root_problems(own, f"{spec.task}:")
        if own:
            per_task[spec.task] = own
        merged = deep_merge(overrides.common, own)
        if merged and not root_problems(merged, ""):
            try:
                spec = task_from_dict(deep_merge(spec.raw, merged), spec.path or spec.task)
            except SpecError as err:
                problems.append(f"--set for {spec.task}: {err}")
                continue
        specs.append(spec)
    return specs, per_task, problems


def task_problems(card, spec, overrides: Overrides) -> list[str]:
    """Why ``spec`` cannot run with ``card``: unknown protocol, options or metric, other bands."""
    from rsbench.config import SpecError
    from rsbench.protocols import protocol_module, resolved_hparams
    from rsbench.protocols.recipes import schema_of
    from rsbench.tasks import plugin as task_plugin

    plug = task_plugin(spec.type)
    try:
        module = protocol_module(spec.type, spec.protocol_name, spec.task)
    except SpecError as err:
        return [str(err)]
    problems = []
    given = set(overrides.common.get("protocol", {})) - set(module.DEFAULTS) - {"name", "recipe"}
    if given:
        problems.append(f"{spec.task}: --set protocol.{', protocol.'.join(sorted(given))} is not "
                        f"used by its protocol {spec.protocol_name!r}; set it for the tasks that "
                        f"use it with --set TASK:protocol.KEY=VALUE")
    else:
        try:
            hp = resolved_hparams(module.DEFAULTS, spec.protocol, spec.task, schema_of(module))
            if hasattr(module, "validated"):  # a TrainedProtocol's checks from the spec alone
                module.validated(hp, spec)
        except SpecError as err:
            problems.append(str(err))
    if spec.primary_metric not in plug.METRICS:
        problems.append(f"{spec.task}: metrics.primary {spec.primary_metric!r} is not one of "
                        f"{', '.join(plug.METRICS)}")
    return problems + band_problems(card, spec)


def band_problems(card, spec) -> list[str]:
    """Why the card's bands cannot be fed from the task's data (``rsbench.bands``), if they cannot."""
    from rsbench.bands.plan import input_plan
    from rsbench.bands.sensors import BandError
    from rsbench.config import SpecError

    try:
        plan = input_plan(card.input_spec, card.name, spec.dataset)
    except (BandError, SpecError) as err:
        return [f"{spec.task}: {err}"]
    if spec.type not in ("classification", "multilabel") and not plan.plain:
        return [f"{spec.task}: {spec.type} tasks take the model's own bands in its order with "
                f"normalisation: model (band matching, band_fill and other normalisations are "
                f"for classification tasks)"]
    return []


def checked_run(card, names: list[str], items: list[str]):
    """``(card with arch overrides, task specs, overrides)`` for a run, or a ``UserError``
    whose message has one line per problem of the whole command."""
    overrides = grouped_overrides(items)
    if overrides.arch:
        card = replace(card, arch_overrides={**card.arch_overrides, **overrides.arch})
    if not names:
        raise UserError("--tasks is empty; `rsbench ls tasks` lists the available tasks")
    specs, per_task, problems = specs_with_overrides(names, overrides)
    for spec in specs:
        problems += task_problems(card, spec, overrides)
    if problems:
        raise UserError("\n".join(problems))
    return card, specs, replace(overrides, per_task=per_task)
