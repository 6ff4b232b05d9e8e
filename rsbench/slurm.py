"""Plan a suite refresh as a SLURM job array: one array task per pending (model, task, seed).

``rsbench slurm plan`` reads a suite's tasks and seeds and every model card in a folder,
computes each run's record id exactly as ``rsbench run`` does (:func:`rsbench.runner.run_inputs`
over :meth:`rsbench.loaded_model.LoadedModel.identity`; only the checkpoint's sha256 is read, no
backbone is built), drops the runs whose ok record is already in the result store, and writes:

- ``manifest.tsv``: one pending run a line, ``card<TAB>task<TAB>seed``;
- ``array.sbatch``: a template from ``slurm/`` filled in, running line ``$SLURM_ARRAY_TASK_ID``;
- ``leaderboard.sbatch``: ``rsbench leaderboard build --suite S``, submitted with
  ``--dependency=afterany:<array job>`` so it runs once the array has finished, failed or not.

The job precision is resolved here (``auto`` on a GPU template is ``bf16-mixed``) and passed
explicitly to every job, so that the ids planned here are the ids the jobs write.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rsbench.errors import InputNotFound
from rsbench.results.provenance import source_root

TEMPLATES = {"cuda": "gpu", "frontier": "gpu", "local": "cpu"}  # template -> accelerator
MANIFEST, ARRAY, LEADERBOARD = "manifest.tsv", "array.sbatch", "leaderboard.sbatch"


@dataclass(frozen=True)
class PlannedRun:
    """One (model, task, seed) and the id of the record it will write.

    ``task_ref`` is the task as the suite names it (a name, or a YAML path), for ``--tasks``.
    """

    card: Path
    model: str
    task: str
    seed: int
    record_id: str
    task_ref: str


@dataclass
class Plan:
    """What a refresh has to do: pending runs, and how many were found already done."""

    suite: str
    suite_ref: str = ""
    pending: list[PlannedRun] = field(default_factory=list)
    done: list[PlannedRun] = field(default_factory=list)


def slurm_dir() -> Path:
    """The shipped sbatch templates and cron script: ``slurm/`` at the checkout root."""
    return source_root() / "slurm"


def planned_precision(precision: str, template: str) -> str:
    """The precision jobs from ``template`` will record: ``auto`` resolved for their device."""
    if precision != "auto":
        return precision
    return "bf16-mixed" if TEMPLATES[template] == "gpu" else "32-true"


def card_paths(models: Path) -> list[Path]:
    """Every model card YAML in ``models`` (a folder) or ``models`` itself, sorted."""
    if models.is_file():
        return [models]
    if not models.is_dir():
        raise InputNotFound(f"--models {models}: no such folder of model card YAMLs")
    paths = sorted([*models.glob("*.yaml"), *models.glob("*.yml")])
    if not paths:
        raise InputNotFound(f"--models {models}: no *.yaml model cards in it")
    return paths


def make_plan(suite_name: str, models: Path, results: Path, seeds: list[int] | None = None,
              precision: str = "32-true", retry_failed: bool = False) -> Plan:
    """Pending and done runs of ``suite_name`` for every card in ``models``.

    Args:
        suite_name: a suite in ``leaderboards/`` or a suite YAML path.
        models: a folder of model card YAMLs (or one card).
        results: the result store root the jobs write to.
        seeds: seeds to run (default: the suite's pre-registered seeds).
        precision: the resolved precision the jobs will run at (part of the record id).
        retry_failed: plan runs whose record is ``failed`` again.
    """
    from rsbench.config import find_task, load_card
    from rsbench.engine import EngineOptions
    from rsbench.leaderboard import load_suite
    from rsbench.loaded_model import LoadedModel
    from rsbench.results import ResultStore, record_id
    from rsbench.runner import RunOptions, run_inputs

    suite = load_suite(suite_name)
    tasks = [(ref, find_task(ref)) for ref in suite.tasks]
    opts = RunOptions(out=results, engine=EngineOptions(accelerator="cpu", precision=precision))
    ref = str(Path(suite_name).resolve()) if Path(suite_name).suffix in (".yaml", ".yml") else suite_name
    store, plan = ResultStore(results), Plan(suite.name, ref)
    for path in card_paths(models):
        model = LoadedModel(load_card(path), opts)  # hashes the checkpoint, builds nothing
        for ref, task in tasks:
            for seed in seeds if seeds is not None else suite.seeds:
                inputs = run_inputs(model, task, seed, opts)
                run = PlannedRun(path.resolve(), model.card.name, task.task, seed,
                                 record_id(inputs), ref)
                done = store.done(inputs, retry_failed=retry_failed)
                (plan.done if done else plan.pending).append(run)
    return plan


def manifest_text(plan: Plan) -> str:
    """The manifest: ``card<TAB>task<TAB>seed`` per pending run, in plan order."""
    return "".join(f"{r.card}\t{r.task_ref}\t{r.seed}\n" for r in plan.pending)


def filled(template: str, values: dict[str, object], raw: tuple[str, ...] = ("EXTRA_ARGS",)) -> str:
    """``template`` with every ``@@KEY@@`` replaced: shell-quoted, except ``raw`` keys (already
    shell words)."""
    for key, value in values.items():
        text = str(value) if key in raw else shlex.quote(str(value))
        template = template.replace(f"@@{key}@@", text)
    if "@@" in template:
        raise ValueError(f"template placeholder left unfilled: {template[template.index('@@'):][:40]}")
    return template


def write_plan(plan: Plan, out: Path, template: str, results: Path, leaderboard_out: Path,
               precision: str, data_root: Path, cache_dir: Path, rsbench: str = "rsbench",
               extra_args: list[str] | None = None) -> dict[str, Path]:
    """Write the manifest and the two sbatch scripts into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    values = {"MANIFEST": (out / MANIFEST).resolve(), "RESULTS": results.resolve(),
              "PRECISION": precision, "DATA_ROOT": data_root.resolve(),
              "CACHE_DIR": cache_dir.resolve(), "RSBENCH": rsbench, "SUITE": plan.suite_ref,
              "LEADERBOARD_OUT": leaderboard_out.resolve(),
              "EXTRA_ARGS": shlex.join(extra_args or []), "SLURM_DIR": slurm_dir()}
    (out / "logs").mkdir(exist_ok=True)
    paths = {"manifest": out / MANIFEST, "array": out / ARRAY, "leaderboard": out / LEADERBOARD}
    paths["manifest"].write_text(manifest_text(plan))
    array_text = (slurm_dir() / f"{template}.sbatch").read_text()
    paths["array"].write_text(filled(array_text, values))
    paths["leaderboard"].write_text(filled((slurm_dir() / "leaderboard.sbatch").read_text(), values))
    return paths


def sbatch_commands(plan: Plan, paths: dict[str, Path]) -> list[list[str]]:
    """The two ``sbatch`` calls; ``ARRAY_JOB`` stands for the array's job id in the second."""
    commands, logs = [], paths["array"].parent.resolve() / "logs"
    if plan.pending:
        commands.append(["sbatch", "--parsable", f"--array=0-{len(plan.pending) - 1}",
                         f"--output={logs}/%A_%a.out", str(paths["array"])])
        commands.append(["sbatch", "--parsable", "--dependency=afterany:ARRAY_JOB",
                         f"--output={logs}/leaderboard-%j.out", str(paths["leaderboard"])])
    else:  # nothing to run: rebuild the board anyway (cards or suite may have changed)
        commands.append(["sbatch", "--parsable", f"--output={logs}/leaderboard-%j.out",
                         str(paths["leaderboard"])])
    return commands


def submitted(commands: list[list[str]]) -> list[str]:
    """Run the ``sbatch`` commands in order, chaining the array id; returns the job ids."""
    ids: list[str] = []
    for cmd in commands:
        cmd = [c.replace("ARRAY_JOB", ids[0]) if ids else c for c in cmd]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        ids.append(done.stdout.strip().split(";")[0])
    return ids


def plan_command(args) -> int:
    """``rsbench slurm plan``: write the plan, print (or submit) its sbatch commands."""
    seeds = [int(s) for s in args.seeds.split(",") if s] if args.seeds else None
    precision = planned_precision(args.precision, args.template)
    results, out = Path(args.results), Path(args.out)
    plan = make_plan(args.suite, Path(args.models), results, seeds, precision, args.retry_failed)
    board_out = Path(args.leaderboard_out or out / "leaderboard")
    paths = write_plan(plan, out, args.template, results, board_out, precision,
                       Path(args.data_root), Path(args.cache_dir), args.rsbench,
                       args.run_arg)
    print(f"[rsbench] {plan.suite}: {len(plan.pending)} pending, {len(plan.done)} done; "
          f"manifest {paths['manifest']}", file=sys.stderr)
    commands = sbatch_commands(plan, paths)
    if not args.submit:
        for cmd in commands:
            print(shlex.join(cmd))
        return 0
    for job in submitted(commands):
        print(job)
    return 0


def add_slurm_parser(sub) -> None:
    """The ``slurm`` subcommand group (``sub``: the CLI's subparsers)."""
    sl = sub.add_parser("slurm", help="plan (and submit) a suite refresh as a SLURM job array")
    actions = sl.add_subparsers(dest="action", required=True)
    p = actions.add_parser("plan", help="pending runs -> manifest + array and leaderboard sbatch scripts")
    p.add_argument("--suite", required=True, help="suite name in leaderboards/ or a suite YAML")
    p.add_argument("--models", required=True, help="folder of model card YAMLs (e.g. models/)")
    p.add_argument("--results", required=True, help="result store the jobs write to")
    p.add_argument("--out", required=True, help="where the manifest, scripts and logs go")
    p.add_argument("--template", choices=sorted(TEMPLATES), default="cuda",
                   help="cuda (generic NVIDIA), frontier (OLCF, ROCm), local (CPU, CI)")
    p.add_argument("--seeds", help="comma-separated seeds (default: the suite's)")
    p.add_argument("--precision", default="auto", help="job precision; auto: bf16-mixed on GPU templates")
    p.add_argument("--data-root", default="data")
    p.add_argument("--cache-dir", default=".rsbench_cache")
    p.add_argument("--leaderboard-out", help="leaderboard folder (default: OUT/leaderboard)")
    p.add_argument("--rsbench", default="rsbench", help="the rsbench executable on compute nodes")
    p.add_argument("--run-arg", action="append", metavar="ARG",
                   help="extra words for every `rsbench run` (e.g. --run-arg=--strategy=fsdp)")
    p.add_argument("--retry-failed", action="store_true", help="plan runs with a failed record again")
    p.add_argument("--submit", action="store_true", help="submit with sbatch instead of printing")
    p.set_defaults(func=plan_command)
