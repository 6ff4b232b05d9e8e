"""A re-run that the records already answer, decided without importing torch.

A nightly array re-runs whole suites; most of its (task, seed) cells are recorded already. What
names a record (``rsbench.runner.run_inputs``) is plain data: the model card, the checkpoint's
sha256, the task spec's hash, the seed, the overrides and the resolved precision. Each of them
is read here without torch:

- task specs and model cards are YAML (``rsbench.config``);
- the checkpoint's sha256 and an ``arch: auto`` card's inferred architecture are kept by
  ``rsbench.hashcache`` per file version, so only the first job that reads a checkpoint pays;
- ``--precision auto`` is already resolved in the run's ``EngineOptions``, without torch where
  it can be (``rsbench.engine.precision``).

When every (task, seed) has a record, ``rsbench run`` prints them and exits; anything missing,
a first-seen checkpoint or a problem with the command sends it down the full path, which checks
and reports everything as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rsbench import hashcache
from rsbench.config import ModelCard, card_from_dict, read_yaml
from rsbench.errors import UserError

# An ``arch: auto`` resolution is as good as the code that made it: any edit to these modules
# (their file versions are part of the key) makes it a miss.
INFERENCE_CODE = ("checkpoints/infer.py", "checkpoints/vit_shapes.py", "checkpoints/arch_names.py",
                  "checkpoints/hf.py", "checkpoints/sources.py", "backbones/vit.py")


def path_versions(path: Path) -> list[tuple[str, int, int, int]]:
    """File versions of ``path``, or of every file under it when it is a folder."""
    if path.is_file():
        return [hashcache.file_version(path)]
    found = [Path(here) / name for here, _, names in os.walk(path) for name in names]
    return [hashcache.file_version(p) for p in sorted(found) if p.is_file()]


def checkpoint_sha256(path: str | Path) -> str:
    """What ``rsbench.checkpoints.file_sha256`` gives, without torch when it is known.

    A file is hashed by ``rsbench.hashcache`` itself (what the checkpoint digest calls); a
    folder's manifest digest is kept under the versions of all its files.
    """
    path = Path(path)
    if path.is_file():
        return hashcache.file_sha256(path)
    key = hashcache.key_of("checkpoint_sha256", path_versions(path)) if path.is_dir() else None
    found = hashcache.lookup(key) if key else None
    if found is not None:
        return found
    from rsbench.checkpoints import file_sha256

    digest = file_sha256(path)  # raises CheckpointError for a missing path or an empty folder
    return hashcache.store(key, digest) if key else digest


def card_request(model: str, name: str | None = None, arch: str | None = None,
                 pool: str | None = None) -> tuple[dict, str, Path | None]:
    """``(card mapping, where, base folder)`` for ``model``, a card YAML or a checkpoint (then
    ``name``, ``arch`` (default ``auto``) and ``pool`` fill the card)."""
    path = Path(model)
    if path.suffix in (".yaml", ".yml"):
        return read_yaml(path), str(path), path.resolve().parent
    if not path.exists():
        raise UserError(f"--model {path}: no such file or directory")
    data = {"name": name or path.stem, "arch": arch or "auto", "checkpoint": str(path.resolve())}
    if pool:
        data["pool"] = pool
    return data, str(path), None


def arch_key(data: dict, base_dir: Path | None) -> str | None:
    """The ``rsbench.hashcache`` key of an ``arch: auto`` card's resolution (None: not auto)."""
    ckpt = data.get("checkpoint")
    if data.get("arch") != "auto" or not isinstance(ckpt, str):
        return None
    path = Path(ckpt) if base_dir is None or Path(ckpt).is_absolute() else base_dir / ckpt
    if not path.exists():
        return None  # the full path says what is wrong
    code = Path(__file__).resolve().parent
    return hashcache.key_of("card_arch", (path_versions(path), data.get("arch_overrides"),
                                          data.get("pool"), [hashcache.file_version(code / c)
                                                             for c in INFERENCE_CODE]))


def model_card(model: str, name: str | None = None, arch: str | None = None,
               pool: str | None = None) -> ModelCard:
    """The run's model card (see :func:`card_request`); an ``arch: auto`` card reads its
    checkpoint once per version."""
    data, where, base_dir = card_request(model, name, arch, pool)
    key = arch_key(data, base_dir)
    kept = hashcache.lookup(key) if key else None
    if kept is not None:
        data = {**data, **json.loads(kept)}  # the resolved arch, overrides and pool
    card = card_from_dict(data, where, base_dir)
    if key and kept is None:
        hashcache.store(key, json.dumps({"arch": card.arch, "arch_overrides": card.arch_overrides,
                                         "pool": card.pool}))
    return card


def recorded_suite(card: ModelCard, names: list[str], items: list[str], seeds: list[int],
                   options: Callable[[dict, dict], Any]) -> list[dict] | None:
    """Every (task, seed) record of the run, when all of them exist (failed ones count unless
    ``--retry-failed``); None when anything is left to run or the command has a problem.

    ``options(common, per_task)`` builds the run's ``RunOptions`` from its ``--set`` values.
    """
    from dataclasses import replace

    from rsbench.console import log
    from rsbench.loaded_model import LoadedModel
    from rsbench.results import ResultStore
    from rsbench.runner import run_inputs
    from rsbench.usage import grouped_overrides, specs_with_overrides

    try:
        overrides = grouped_overrides(items)
        specs, per_task, problems = specs_with_overrides(names, overrides)
    except UserError:
        return None  # the full path reports it with every other problem
    if problems or not names:
        return None
    if overrides.arch:
        card = replace(card, arch_overrides={**card.arch_overrides, **overrides.arch})
    opts = options(overrides.common, per_task)
    hashcache.remember_in(opts.cache_dir)
    if card.checkpoint is not None and not Path(card.checkpoint).exists():
        return None
    model = LoadedModel(card, opts)  # the sha256 only: nothing is built
    store, records = ResultStore(opts.out), []
    for spec in specs:
        for seed in seeds:
            inputs = run_inputs(model, spec, seed, opts)
            record = store.get(inputs)
            if record is None or not store.done(inputs, retry_failed=opts.retry_failed):
                return None
            records.append(record)
    log(f"{card.name}: all {len(records)} run(s) already recorded under {opts.out}; nothing to run")
    return records
