"""Re-run exactly what a record describes and say whether its numbers come back.

``rsbench verify RECORD`` rebuilds the run from the record alone: the task spec it stored, the
model identity it pinned (arch, overrides, pooling, input spec, checkpoint and its sha256), the
seed and the precision. Before anything runs it refuses a checkpoint whose bytes changed and data
whose split file hash or fingerprint differ from the record's. It then runs through
:mod:`rsbench.runner` (the same code path as ``rsbench run``) into a temporary folder, so the
user's results directory is never touched, and compares every metric within a tolerance.

Tolerance: the ``--tolerance`` given, else the record's own ``tolerance`` (a number, or a mapping
metric -> number), else 0 (bit-identical) for a CPU run in an identical environment, else
:data:`DEFAULT_TOLERANCE`.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rsbench.errors import RsbenchError

DEFAULT_TOLERANCE = 1e-6
ENV_FIELDS = (
    "rsbench",
    "git.sha",
    "git.dirty",
    "python",
    "device.kind",
    "device.name",
    "accelerator",
    "precision",
    "strategy",
    "world_size",
    "cpu_threads",
)


class VerifyError(RsbenchError, ValueError):
    """A record that cannot be verified as given; one line naming the file and the reason."""


@dataclass
class Verification:
    """The outcome of re-running one record.

    Attributes:
        record: the record file.
        task, model, seed: what was re-run.
        metrics: one row per metric: name, recorded, reproduced, difference, tolerance, ok.
        environment: fields of the environment that differ: field, recorded, current.
        hparams: resolved hyper-parameters that differ: name, recorded, current.
        notes: anything else a reader should know (inputs that differ, a dirty tree...).
        tolerance_source: where the tolerance came from.
        error: the re-run's error when it failed.
    """

    record: str
    task: str
    model: str
    seed: int
    metrics: list[dict] = field(default_factory=list)
    environment: list[dict] = field(default_factory=list)
    hparams: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tolerance_source: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the re-run succeeded and every metric is within its tolerance."""
        return self.error is None and bool(self.metrics) and all(m["ok"] for m in self.metrics)

    def to_dict(self) -> dict:
        """JSON-ready form (``rsbench verify --json``)."""
        return {
            "record": self.record,
            "task": self.task,
            "model": self.model,
            "seed": self.seed,
            "ok": self.ok,
            "tolerance_source": self.tolerance_source,
            "error": self.error,
            "metrics": self.metrics,
            "environment": self.environment,
            "hparams": self.hparams,
            "notes": self.notes,
        }

    def to_text(self) -> str:
        """A table for people."""
        lines = [
            f"verify {self.record}: {self.model} / {self.task} / seed {self.seed}",
            f"tolerance: {self.tolerance_source}",
            "",
            f"{'metric':<24} {'recorded':>22} {'reproduced':>22} {'difference':>12} "
            f"{'tolerance':>10}  result",
        ]
        for m in self.metrics:
            lines.append(
                f"{m['metric']:<24} {_num(m['recorded']):>22} {_num(m['reproduced']):>22} "
                f"{_num(m['difference'], 3):>12} {m['tolerance']:>10.3g}  "
                f"{'ok' if m['ok'] else 'OUT OF TOLERANCE'}"
            )
        if self.error:
            lines.append(f"re-run FAILED: {self.error}")
        for title, rows, keys in (
            ("environment differs", self.environment, ("field",)),
            ("hyper-parameters differ", self.hparams, ("name",)),
        ):
            if rows:
                lines += ["", f"{title}:"]
                lines += [f"  {r[keys[0]]}: {r['recorded']!r} -> {r['current']!r}" for r in rows]
        if self.notes:
            lines += ["", "notes:"] + [f"  {n}" for n in self.notes]
        lines += ["", "REPRODUCED" if self.ok else "NOT REPRODUCED"]
        return "\n".join(lines)


def _num(x, digits: int = 17) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _get(d: dict | None, dotted: str):
    for part in dotted.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


def environment_differences(recorded: dict, current: dict) -> list[dict]:
    """Fields of :data:`ENV_FIELDS` and package versions whose values differ."""
    names = [
        *ENV_FIELDS,
        *(
            f"packages.{p}"
            for p in sorted(
                set(recorded.get("packages") or {}) | set(current.get("packages") or {})
            )
        ),
    ]
    return [
        {"field": n, "recorded": _get(recorded, n), "current": _get(current, n)}
        for n in names
        if _get(recorded, n) != _get(current, n)
    ]


def tolerance_for(record: dict, override: float | None, identical_cpu: bool):
    """``(metric -> tolerance function, description)`` by the precedence in the module doc."""
    if override is not None:
        if override < 0 or not math.isfinite(override):
            raise VerifyError(f"--tolerance {override}: must be a finite number >= 0")
        return (lambda _m: override), f"{override:g} (--tolerance)"
    declared = record.get("tolerance")
    values = declared.values() if isinstance(declared, dict) else [declared]
    if declared is not None and not all(
        isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < math.inf for v in values
    ):
        raise VerifyError(f"record tolerance {declared!r}: give a number >= 0 or metric -> number")
    if isinstance(declared, int | float):
        return (lambda _m: float(declared)), f"{declared:g} (declared by the record)"
    default = 0.0 if identical_cpu else DEFAULT_TOLERANCE
    why = (
        "0, bit-identical (CPU run, identical environment)"
        if identical_cpu
        else f"{DEFAULT_TOLERANCE:g} (environment differs or not a CPU run)"
    )
    if isinstance(declared, dict):
        return (lambda m: float(declared.get(m, default))), f"per metric as declared, else {why}"
    return (lambda _m: default), why


def metric_rows(recorded: dict, reproduced: dict, tol) -> list[dict]:
    """Every recorded metric next to its reproduction and the absolute difference."""
    rows = []
    for name, old in recorded.items():
        new = reproduced.get(name)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (old, new))
        diff = abs(new - old) if numeric else None
        ok = diff <= tol(name) if numeric else (old == new and name in reproduced)
        rows.append(
            {
                "metric": name,
                "recorded": old,
                "reproduced": new,
                "difference": diff,
                "tolerance": tol(name),
                "ok": bool(ok),
            }
        )
    return rows


def usable_record(path: Path) -> dict:
    """The record at ``path`` if it can be verified (valid, ok, with a stored task spec)."""
    from rsbench.results import load_record

    record = load_record(path)  # RecordError (a ValueError) names the file
    if record["status"] != "ok":
        raise VerifyError(
            f"{path}: status {record['status']!r}: only ok records have numbers to verify"
        )
    if not isinstance(record["task"].get("spec"), dict):
        raise VerifyError(f"{path}: task.spec is missing; the record does not say what was run")
    return record


def task_of(record: dict, path: Path):
    """The task spec stored in the record, checked against the record's spec hash."""
    from rsbench.config import task_from_dict

    task = task_from_dict(record["task"]["spec"], f"{path}: task.spec")
    if task.hash != record["task"].get("spec_hash"):
        raise VerifyError(
            f"{path}: task.spec hashes to {task.hash[:12]}…, not the recorded "
            f"spec_hash {str(record['task'].get('spec_hash'))[:12]}… (edited record)"
        )
    return task


def card_of(record: dict, path: Path, checkpoint: str | None = None):
    """The model card the record describes; ``checkpoint`` replaces a moved file's path."""
    from rsbench.backbones import InputSpec
    from rsbench.config import ModelCard

    m = record["model"]
    random_init = bool(m.get("random_init"))
    ckpt = checkpoint or m.get("checkpoint")
    if not random_init and not ckpt:
        raise VerifyError(f"{path}: model.checkpoint is missing; pass --checkpoint")
    meta = {k: m[k] for k in ("license", "paper", "contact", "description") if k in m}
    return ModelCard(
        name=m["name"],
        arch=m["arch"],
        checkpoint=None if random_init else str(ckpt),
        input_spec=InputSpec.from_dict(m.get("input_spec")),
        pool=m.get("pool", "cls"),
        arch_overrides=dict(m.get("arch_overrides") or {}),
        sha256=m.get("checkpoint_sha256"),
        random_init=random_init,
        meta=meta,
    )


def check_checkpoint(card, path: Path) -> None:
    """Refuse weights whose bytes differ from the record's ``checkpoint_sha256``."""
    if card.random_init:
        return
    from rsbench.checkpoints import file_sha256

    if not Path(card.checkpoint).exists():
        raise VerifyError(
            f"{path}: checkpoint {card.checkpoint} not found; pass --checkpoint "
            "with the file's new location"
        )
    sha = file_sha256(card.checkpoint)
    if card.sha256 and sha != card.sha256:
        raise VerifyError(
            f"{path}: checkpoint {card.checkpoint} has sha256 {sha[:16]}…, the "
            f"record's model.checkpoint_sha256 is {card.sha256[:16]}…: the weights "
            "changed, refusing to verify"
        )


def check_data(task, record: dict, path: Path, opts) -> None:
    """Refuse data whose split file hash or fingerprint differ from the record's."""
    from rsbench.tasks import plugin

    try:
        built = plugin(task.type).build_data(task, opts.data_root, opts.cache_dir, False)
    except Exception as err:
        raise VerifyError(
            f"{path}: cannot build the task's data under {opts.data_root}: "
            f"{' '.join(str(err).split())}"
        ) from None
    recorded = record["data"]
    for key, now in (("split_hash", built.split_hash), ("fingerprint", built.fingerprint)):
        if recorded.get(key) != now:
            raise VerifyError(
                f"{path}: the data changed: data.{key} is {now[:16]}… under "
                f"{opts.data_root}, the record's is {str(recorded.get(key))[:16]}…"
            )


def run_options(record: dict, data_root: Path, cache_dir: Path, accelerator: str | None):
    """``RunOptions`` for the re-run: the record's precision, strategy and overrides, one process."""
    from rsbench.engine import EngineOptions
    from rsbench.runner import RunOptions

    env = record["environment"]
    engine = EngineOptions(
        accelerator=accelerator or env.get("accelerator") or "auto",
        devices=1,
        num_nodes=1,
        strategy=env.get("strategy") or "auto",
        precision=record["inputs"].get("precision") or "auto",
        num_workers=0,
        progress=False,
        root_dir=str(cache_dir),
    )
    return RunOptions(
        out=cache_dir / "records",
        data_root=Path(data_root),
        cache_dir=cache_dir,
        engine=engine,
        overrides=record["inputs"].get("protocol_overrides") or {},
    )


def dict_differences(recorded: dict, current: dict) -> list[dict]:
    """Keys whose values differ between two flat mappings."""
    keys = sorted(set(recorded) | set(current))
    return [
        {"name": k, "recorded": recorded.get(k), "current": current.get(k)}
        for k in keys
        if recorded.get(k) != current.get(k)
    ]


def verify_record(
    path: Path | str,
    data_root: Path | str = "data",
    cache_dir: Path | str | None = None,
    tolerance: float | None = None,
    checkpoint: str | None = None,
    accelerator: str | None = None,
) -> Verification:
    """Re-run the record at ``path`` and compare.

    Args:
        path: a record file written by ``rsbench run``.
        data_root: where the datasets live.
        cache_dir: split files and feature cache; a fresh temporary folder when omitted, so
            nothing cached by earlier runs (features, splits) stands in for a real re-run.
        tolerance: overrides the record's or the default tolerance.
        checkpoint: the checkpoint's path when it moved since the record was written.
        accelerator: overrides the record's accelerator.

    Raises:
        VerifyError: the record cannot be verified (changed checkpoint or data, bad record).
        RecordError: the file is not a valid record.
    """
    path = Path(path)
    record = usable_record(path)
    tolerance_for(record, tolerance, False)  # an unusable tolerance is refused before any run
    task, card = task_of(record, path), card_of(record, path, checkpoint)
    check_checkpoint(card, path)
    with tempfile.TemporaryDirectory(prefix="rsbench-verify-") as tmp:
        opts = run_options(record, Path(data_root), Path(cache_dir or tmp), accelerator)
        check_data(task, record, path, opts)
        rerun = rerun_record(card, task, record, opts)
    return compare(record, rerun, path, tolerance)


def rerun_record(card, task, record: dict, opts) -> dict:
    """The fresh record of the same run, through :func:`rsbench.runner.run_record`."""
    from rsbench.loaded_model import LoadedModel
    from rsbench.runner import run_record

    # A partial load the original run was explicitly allowed is allowed again; else refused.
    opts.allow_partial = bool((record["model"].get("load_report") or {}).get("allow_partial"))
    return run_record(LoadedModel(card, opts), task, record["seed"], opts)


def compare(record: dict, rerun: dict, path: Path, tolerance: float | None) -> Verification:
    """The verification of ``record`` by its re-run ``rerun``."""
    env_diffs = environment_differences(record["environment"], rerun["environment"])
    cpu = (
        _get(record["environment"], "device.kind")
        == "cpu"
        == _get(rerun["environment"], "device.kind")
    )
    tol, source = tolerance_for(record, tolerance, cpu and not env_diffs)
    out = Verification(
        record=str(path),
        task=record["task"]["name"],
        model=record["model"]["name"],
        seed=record["seed"],
        environment=env_diffs,
        tolerance_source=source,
    )
    if rerun["status"] != "ok":
        out.error = f"{rerun['error']['type']}: {rerun['error']['message']}"
    out.metrics = metric_rows(record["metrics"], rerun["metrics"], tol)
    out.hparams = dict_differences(
        record["protocol"].get("hparams") or {}, rerun["protocol"].get("hparams") or {}
    )
    if rerun["record_id"] != record["record_id"]:
        diffs = dict_differences(record["inputs"], rerun["inputs"])
        out.notes.append(
            "run inputs differ from the record's: " + ", ".join(d["name"] for d in diffs)
        )
    if _get(record["environment"], "git.dirty") or _get(rerun["environment"], "git.dirty"):
        out.notes.append(
            "the source tree was dirty (uncommitted changes): equal git shas do "
            "not prove equal code"
        )
    if any(d["field"] in ("rsbench", "git.sha") for d in env_diffs):
        out.notes.append("code version differs from the record's")
    return out
