"""The ``rsbench`` command line. Heavy libraries are imported inside commands so that
``rsbench --help`` and ``rsbench ls`` stay fast."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from rsbench import __version__
from rsbench.errors import RsbenchError, UserError
from rsbench.usage import parse_overrides

if TYPE_CHECKING:
    from rsbench.config import ModelCard


def card_from_args(args) -> ModelCard:
    """A model card from ``--model CARD.yaml``, or from ``--model CKPT [--arch A]`` (``auto``,
    the default: the architecture the checkpoint carries, resolved into the card)."""
    from rsbench.recorded import model_card

    return model_card(args.model, args.name, args.arch, args.pool)


def engine_from_args(args):
    from rsbench import progress
    from rsbench.engine import EngineOptions

    return EngineOptions(accelerator=args.accelerator, devices=args.devices, num_nodes=args.num_nodes,
                         strategy=args.strategy, precision=args.precision, num_workers=args.workers or 0,
                         sharding=args.sharding, activation_checkpointing=args.activation_checkpointing,
                         progress=progress.wanted(args.quiet), root_dir=str(args.cache_dir))


def cmd_run(args) -> int:
    from rsbench import hashcache
    from rsbench.recorded import recorded_suite
    from rsbench.runner import RunOptions, run_suite
    from rsbench.usage import checked_run

    seeds = seeds_from_args(args.seeds)
    names = [n for n in args.tasks.split(",") if n]
    hashcache.remember_in(args.cache_dir)  # checkpoint sha256 and arch auto: once per version

    def options(common: dict, per_task: dict) -> RunOptions:
        return RunOptions(out=Path(args.out), data_root=Path(args.data_root),
                          cache_dir=Path(args.cache_dir), download=args.download,
                          allow_partial=args.allow_partial, retry_failed=args.retry_failed,
                          engine=engine_from_args(args), overrides=common, task_overrides=per_task,
                          feature_workers=args.workers)

    card = card_from_args(args)
    # All recorded: answered from the records, without torch (rsbench/recorded.py).
    records = recorded_suite(card, names, args.set or [], seeds, options)
    if records is None:
        card, tasks, overrides = checked_run(card, names, args.set or [])
        opts = replace(options(overrides.common, overrides.per_task), node_memory_gib=args.node_memory,
                       device_memory_gib=args.device_memory)  # plan another node's memory
        records = run_suite(card, tasks, seeds, opts)
    from rsbench.run_summary import print_table, summary_rows

    rows = summary_rows(records, Path(args.out))
    if not args.quiet:
        print_table(rows)
    failed = [r for r in rows if r["status"] != "ok"]
    print(json.dumps({"records": len(records), "failed": len(failed), "out": str(Path(args.out)),
                      "results": rows}))
    return 1 if failed else 0


def seeds_from_args(text: str) -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``, or a one-line error."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip() != ""]
    except ValueError:
        raise UserError(f"--seeds {text!r}: expected comma-separated integers, e.g. 0,1,2") from None
    if not seeds:
        raise UserError("--seeds is empty; give e.g. --seeds 0,1,2")
    return seeds


def model_rows() -> list[dict]:
    """One mapping per registered ViT: dimensions, exact parameter count, the paper's count."""
    from rsbench.backbones import VIT_ARCHS, param_count

    return [{"name": name, "width": a.embed_dim, "depth": a.depth, "mlp": a.mlp_dim,
             "heads": a.num_heads, "patch": a.patch_size, "params": param_count(name),
             "paper_params_m": a.paper_params_m} for name, a in VIT_ARCHS.items()]


def task_rows() -> list[dict]:
    """One mapping per shipped task file."""
    from rsbench.config import load_task, task_files

    rows = []
    for path in task_files():
        spec = load_task(path)
        rows.append({"task": spec.task, "version": spec.version, "type": spec.type,
                     "protocol": spec.protocol_name, "dataset": spec.dataset.name,
                     "primary_metric": spec.primary_metric, "spec_hash": spec.hash,
                     "path": str(path)})
    return rows


def ls_plan(args) -> int:
    """``rsbench ls models --plan``: every registry ViT's (or ``--arch``'s) memory plan for the
    generic frozen and fine-tune jobs or for ``--tasks``, as a table or ``--json``."""
    from rsbench.plan_check import GIB, NodeMemory, Setting, planned_rows, zoo_table

    s = Setting(args.strategy, args.devices, args.num_nodes, args.precision, args.accelerator,
                args.sharding, sharded_load=args.strategy == "fsdp")
    node = NodeMemory(args.node_memory * GIB, "--node-memory", args.device_memory * GIB,
                      "--device-memory")
    plans = planned_rows(s, node, [t for t in (args.tasks or "").split(",") if t], args.img_size,
                         args.batch_size, args.arch, args.read_gbps)
    print(json.dumps(plans, indent=1) if args.json else zoo_table(plans, s, node))
    return 0


def model_line(r: dict) -> str:
    paper = f"{r['paper_params_m']:,.0f}M" if r["paper_params_m"] else ""
    return (f"{r['name']:<20} {r['width']:>6} {r['depth']:>6} {r['mlp']:>6} {r['heads']:>6} "
            f"{r['patch']:>6} {r['params']:>16,}  {paper}")


LISTINGS: dict[str, tuple[str | None, Callable[[dict], str], str | None]] = {  # header, line, footer
    "models": (f"{'name':<20} {'width':>6} {'depth':>6} {'mlp':>6} {'heads':>6} {'patch':>6} "
               f"{'params':>16}  paper", model_line,
               "plus any timm model as timm:<name>; counts at 224 px, 3 bands, no head"),
    "zoo": (None, lambda z: f"{z['arch']:<34} {z['conditioning']:<11} {z['weights']}.{z['default_weights']}",
            "cards: models/zoo/*.yaml; weights: the file torchgeo's weights URL names, read locally"),
    "tasks": (None, lambda r: f"{r['task']:<36} v{r['version']:<3} {r['type']:<15} {r['protocol']:<13} "
              f"{r['dataset']}", None),
}


def cmd_ls(args) -> int:
    if args.what == "models" and args.plan:
        return ls_plan(args)
    if args.what == "zoo":
        from rsbench.zoo import zoo_rows

        rows = zoo_rows()
    else:
        rows = model_rows() if args.what == "models" else task_rows()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    header, line, footer = LISTINGS[args.what]
    print("\n".join([*([header] if header else []), *map(line, rows), *([footer] if footer else [])]))
    return 0


def cmd_validate(args) -> int:
    from rsbench.config import SpecError, load_task, task_files, tasks_dir
    from rsbench.tasks import plugin

    paths = [Path(p) for p in args.paths] or task_files()
    bad, names = 0, dict[str, Path]()
    for path in paths:
        try:
            spec = load_task(path)
            from rsbench.protocols import protocol_module, resolved_hparams
            from rsbench.protocols.recipes import schema_of

            module = protocol_module(spec.type, spec.protocol_name, str(path))
            plug = plugin(spec.type)
            if spec.primary_metric not in plug.METRICS:
                raise SpecError(f"{path}: metrics.primary {spec.primary_metric!r}; allowed {plug.METRICS}")
            resolved_hparams(module.DEFAULTS, spec.protocol, str(path), schema_of(module))
            if spec.task != path.stem:
                raise SpecError(f"{path}: task name {spec.task!r} must equal the file name {path.stem!r}")
            if spec.task in names:
                raise SpecError(f"{path}: task {spec.task!r} also defined in {names[spec.task]}")
            names[spec.task] = path
        except Exception as err:  # report every bad file, not just the first
            bad += 1
            print(f"INVALID {err}", file=sys.stderr)
    print(f"{len(paths) - bad} valid, {bad} invalid task file(s) under {tasks_dir() if not args.paths else 'given paths'}")
    return 1 if bad else 0


def cmd_inspect(args) -> int:
    from rsbench.checkpoints import inspect_command

    return inspect_command(args.path, args.arch, args.json, parse_overrides(args.set or []).get("arch", {}))


def cmd_leaderboard(args) -> int:
    from rsbench.leaderboard import leaderboard_table, render_markdown, write_tables
    from rsbench.results import ResultStore

    results = Path(args.results)
    if not results.is_dir():
        raise UserError(f"--results {results}: directory does not exist; point it at where `rsbench run --out` wrote records")
    if args.action == "build" and not args.suite:
        raise UserError("leaderboard build: --suite is required (a name in leaderboards/, e.g. classification, or a YAML path)")
    if args.suite:
        return cmd_leaderboard_suite(args)
    table = leaderboard_table(ResultStore(results).records())
    paths = write_tables(table, Path(args.out), title="rsbench leaderboard")
    print(render_markdown(table))
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}", file=sys.stderr)
    return 0


def cmd_leaderboard_suite(args) -> int:
    import dataclasses

    from rsbench.leaderboard import load_suite, render_suite_markdown, write_suite_leaderboard

    suite = load_suite(args.suite)
    if args.n_boot is not None:
        if args.n_boot < 1:
            raise UserError(f"--n-boot {args.n_boot}: must be at least 1")
        suite = dataclasses.replace(suite, n_boot=args.n_boot)
    board, paths = write_suite_leaderboard(suite, Path(args.results), Path(args.out))
    print(render_suite_markdown(board))
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}", file=sys.stderr)
    return 0


PREPARE_OPTIONS = {  # CLI flag -> keyword of each family's prepare function
    "segmentation": {"patch": "patch", "stride": "stride", "workers": "workers",
                     "variant": "variant", "tiles": "tiles"},
    "detection": {"patch": "tile", "overlap": "overlap", "workers": "workers",
                  "variant": "variant", "tiles": "tiles"},
}


def cmd_data_prepare(args) -> int:
    from rsbench.data.preparation import PREPARERS, prepare_raw

    # The task type comes from the preparers' table; an unknown name gets its error there.
    family = PREPARERS.get(args.name).task_type if args.name in PREPARERS else "segmentation"
    options = {}
    for flag, keyword in PREPARE_OPTIONS[family].items():
        value = getattr(args, flag)
        if value is not None:
            options[keyword] = value
    if options.get("tiles") is not None:
        options["tiles"] = [t for t in options["tiles"].split(",") if t]
    unused = [f"--{f}" for f in ("patch", "stride", "overlap", "workers", "variant", "tiles")
              if getattr(args, f) is not None and f not in PREPARE_OPTIONS[family]]
    if unused:
        raise UserError(f"{', '.join(unused)} not used when preparing {args.name}")
    summary = prepare_raw(family, args.name, Path(args.src), Path(args.dst), **options)
    print(json.dumps(summary, indent=2, default=str))
    return 0


def cmd_doctor(args) -> int:
    from rsbench.doctor import as_json, checks, report

    rows = checks()
    print(json.dumps(as_json(rows), indent=1) if args.json else report(rows))
    return 0


def cmd_cache(args) -> int:
    from rsbench.engine.feature_store import pruned, store_report

    root = Path(args.cache_dir)
    if args.action == "prune":
        removed = pruned(root, args.older_than)
        print(json.dumps({"removed": [str(p) for p in removed]}, indent=1))
        return 0
    rows = store_report(root)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        print(f"{r['space']}  {r['images']:>8,} images  {r['chunks']:>4} chunks  {r['bytes'] / 2**20:>9.1f} MiB")
    print(f"{len(rows)} feature space(s), {sum(r['bytes'] for r in rows) / 2**20:.1f} MiB under {root / 'features'}")
    return 0


def cmd_demo(args) -> int:
    from rsbench.demo import run_demo

    return run_demo(Path(args.out), quiet=args.quiet)


def cmd_verify(args) -> int:
    """``rsbench verify``: print the comparison; 0 reproduced, 1 out of tolerance."""
    from rsbench.verify import verify_record

    result = verify_record(args.record, args.data_root, args.cache_dir, args.tolerance,
                           args.checkpoint, args.accelerator)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result.to_text())
    return 0 if result.ok else 1


def cmd_submit(args) -> int:
    """``rsbench submit``: 0 registered, 2 refused (raised to the one-line handler)."""
    from rsbench.submit import submit

    submit(args.card, args.registry, args.replace)
    return 0


def cmd_drift(args) -> int:
    """``rsbench drift``: Markdown (or JSON) report; exit 1 when any cell drifted."""
    from rsbench.leaderboard.drift import compare_builds

    report = compare_builds(args.old, args.new)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_markdown(), end="")
    if args.json:
        print()
    return 1 if report.any else 0


def add_plan_args(p) -> None:
    """Flags of ``rsbench ls models --plan`` (an ``argparse`` parser)."""
    g = p.add_argument_group("memory plan (ls models --plan)")
    g.add_argument("--plan", action="store_true",
                   help="host memory, device memory and load time per rank of each model")
    g.add_argument("--arch", action="append", help="plan only this model (repeatable)")
    g.add_argument("--tasks", help="comma-separated tasks to plan (default: generic frozen and fine-tune)")
    g.add_argument("--strategy", default="fsdp", help="ddp | fsdp")
    g.add_argument("--sharding", default="auto", help="auto | FULL_SHARD | SHARD_GRAD_OP | HYBRID_SHARD")
    g.add_argument("--precision", default="auto",
                   help="auto (bf16 frozen weights on the GPU) | 32-true | bf16-mixed | bf16-true")
    g.add_argument("--accelerator", default="gpu", help="gpu | cpu")
    g.add_argument("--devices", type=int, default=8, help="ranks per node")
    g.add_argument("--num-nodes", type=int, default=1)
    g.add_argument("--device-memory", type=float, default=64.0, help="GiB per device (MI250X GCD: 64)")
    g.add_argument("--node-memory", type=float, default=512.0, help="host GiB per node (Frontier: 512)")
    g.add_argument("--read-gbps", type=float, default=1.0, help="read bandwidth per rank, GB/s")
    g.add_argument("--batch-size", type=int, default=32, help="per device (the Frontier study's 32)")
    g.add_argument("--img-size", type=int, default=224)


def add_engine_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument("--accelerator", default="auto", help="auto | cpu | gpu (ROCm GPUs count as gpu)")
    g.add_argument("--devices", default=1, type=lambda s: s if s == "auto" else int(s))
    g.add_argument("--num-nodes", default=1, type=int)
    g.add_argument("--strategy", default="auto",
                   help="auto | ddp | fsdp (GPU: FSDP with the automatic sharding plan, printed "
                        "before training; CPU: FSDP2 under ModelParallelStrategy)")
    g.add_argument("--sharding", default="auto",
                   help="with --strategy fsdp: auto (the Frontier policy, see `rsbench ls models --plan`) "
                        "| FULL_SHARD | SHARD_GRAD_OP | HYBRID_SHARD")
    g.add_argument("--activation-checkpointing", action="store_true",
                   help="with --strategy fsdp: recompute each block's activations in backward")
    g.add_argument("--precision", default="auto",
                   help="auto (bf16-mixed on GPUs that support it, else 32-true) | 32-true | bf16-mixed | 16-mixed")
    g.add_argument("--workers", type=int,
                   help="data loader worker processes (default: 0 for training; frozen-feature "
                        "extraction on a GPU: from the job's CPUs, on a CPU: 0)")
    g.add_argument("--quiet", action="store_true",
                   help="only errors and failures: no progress lines, bars or summary table")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rsbench", description="Score remote-sensing foundation-model checkpoints.")
    p.add_argument("--version", action="version", version=f"rsbench {__version__}")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of any error")
    p.add_argument("--verbose", action="store_true", help="show the libraries' own output too")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="score a model on tasks and seeds, writing one record each")
    r.add_argument("--model", required=True, help="model card YAML, or a checkpoint file/folder with --arch")
    r.add_argument("--arch", help="backbone name when --model is a checkpoint (rsbench ls models); "
                   "default auto: inferred from the checkpoint's metadata and tensor shapes")
    r.add_argument("--name", help="model name in records when --model is a checkpoint")
    r.add_argument("--pool", choices=["cls", "avg"], help="feature pooling when --model is a checkpoint")
    r.add_argument("--tasks", required=True, help="comma-separated task names or YAML paths")
    r.add_argument("--seeds", default="0", help="comma-separated seeds, e.g. 0,1,2")
    r.add_argument("--out", required=True, help="results directory")
    r.add_argument("--data-root", default="data", help="where datasets live (one folder each)")
    r.add_argument("--cache-dir", default=".rsbench_cache", help="split files and feature cache")
    r.add_argument("--download", action="store_true", help="download datasets torchgeo can fetch")
    r.add_argument("--allow-partial", action="store_true",
                   help="run even if under 99%% of encoder parameters loaded (recorded in the report)")
    r.add_argument("--retry-failed", action="store_true", help="re-run seeds whose record is failed")
    r.add_argument("--set", action="append", metavar="[TASK:]KEY=VALUE",
                   help="override a task field for every task (protocol.epochs=5), for one task "
                   "(ucmerced_8_2_finetune:protocol.epochs=5), or the architecture (arch.depth=2)")
    r.add_argument("--node-memory", type=float, metavar="GIB",
                   help="plan for a node of this much host memory instead of this one's")
    r.add_argument("--device-memory", type=float, metavar="GIB",
                   help="plan for devices of this much memory instead of GPU 0's free memory")
    add_engine_args(r)
    r.set_defaults(func=cmd_run)

    ls = sub.add_parser("ls", help="list models, the RS model zoo or tasks")
    ls.add_argument("what", choices=["models", "zoo", "tasks"])
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    add_plan_args(ls)
    ls.set_defaults(func=cmd_ls)

    v = sub.add_parser("validate", help="check task YAMLs against the code (default: all shipped)")
    v.add_argument("paths", nargs="*")
    v.set_defaults(func=cmd_validate)

    i = sub.add_parser("inspect", help="load a checkpoint and print its load report")
    i.add_argument("path")
    i.add_argument("--arch", default="auto",
                   help="backbone name (rsbench ls models); default auto: inferred from the "
                   "checkpoint's metadata and tensor shapes, shown as 'arch source'")
    i.add_argument("--json", action="store_true")
    i.add_argument("--set", action="append", metavar="arch.KEY=VALUE", help="arch override, e.g. arch.depth=2")
    i.set_defaults(func=cmd_inspect)

    lb = sub.add_parser("leaderboard", help="build Markdown and CSV tables (and, for a suite, an HTML page) from records")
    lb.add_argument("action", nargs="?", choices=["build"], help="build a suite leaderboard (needs --suite)")
    lb.add_argument("--suite", help="suite name in leaderboards/ (e.g. classification, demo) or a suite YAML path")
    lb.add_argument("--results", required=True)
    lb.add_argument("--out", required=True)
    lb.add_argument("--n-boot", type=int, help="bootstrap resamples (default: the suite's, else 10000)")
    lb.set_defaults(func=cmd_leaderboard)

    data = sub.add_parser("data", help="dataset utilities").add_subparsers(dest="action", required=True)
    prep = data.add_parser("prepare", help="cut raw ISPRS / iSAID / DOTA / xView images into patches with a hashed manifest")
    prep.add_argument("name", help="potsdam | vaihingen | isaid | dota | xview")
    prep.add_argument("--src", required=True, help="the raw download, as extracted")
    prep.add_argument("--dst", required=True, help="where the patches go (data root / name; xview: data root / xview_tiles)")
    prep.add_argument("--patch", type=int, help="patch size in pixels (ISPRS 512, iSAID 896, DOTA 1024, xView 800)")
    prep.add_argument("--stride", type=int, help="ISPRS: mmseg's --stride_size (origins stay 512 apart; "
                      "PANGAEA variant: the step, 384); iSAID: step between patches (512)")
    prep.add_argument("--overlap", type=int, help="DOTA / xView: overlap between tiles (default 200)")
    prep.add_argument("--workers", type=int, help="processes, one tile each")
    prep.add_argument("--variant", help="the reference preparation to reproduce (default: the "
                      "dataset's reference; see README, 'Which protocol matches which paper')")
    prep.add_argument("--tiles", help="ISPRS tiles / iSAID, DOTA (P0000) or xView (104) image names, "
                      "comma-separated: a subset for smoke tests "
                      "(marked in the manifest; suites refuse it)")
    prep.set_defaults(func=cmd_data_prepare)

    d = sub.add_parser("demo", help="offline end-to-end demo on synthetic UC Merced-layout data")
    d.add_argument("--out", default="demo_out")
    d.add_argument("--quiet", action="store_true", help="only errors and failures")
    d.set_defaults(func=cmd_demo)

    ver = sub.add_parser("verify", help="re-run a record exactly and compare its metrics (0 reproduced, "
                                        "1 out of tolerance, 2 unusable)")
    ver.add_argument("record", help="a record JSON written by `rsbench run`")
    ver.add_argument("--data-root", default="data", help="where datasets live (one folder each)")
    ver.add_argument("--cache-dir", help="split files and feature cache (default: a fresh temporary folder)")
    ver.add_argument("--tolerance", type=float,
                     help="max |difference| per metric (default: the record's, else 0 on CPU in an "
                          "identical environment, else 1e-6)")
    ver.add_argument("--checkpoint", help="the checkpoint's path if it moved (its sha256 must still match)")
    ver.add_argument("--accelerator", help="override the record's accelerator (cpu | gpu)")
    ver.add_argument("--json", action="store_true", help="print the comparison as JSON")
    ver.set_defaults(func=cmd_verify)

    sm = sub.add_parser("submit", help="validate a model card and register it for nightly runs")
    sm.add_argument("card", help="model card YAML (name, arch, checkpoint, sha256, input_spec, license, contact)")
    sm.add_argument("--registry", default="models", help="registry folder (default: models/)")
    sm.add_argument("--replace", action="store_true", help="overwrite a different card of the same name")
    sm.set_defaults(func=cmd_submit)

    dr = sub.add_parser("drift", help="compare two leaderboard builds; exit 1 when a cell drifted")
    dr.add_argument("--old", required=True, help="previous build: output folder or its cells.csv")
    dr.add_argument("--new", required=True, help="new build: output folder or its cells.csv")
    dr.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    dr.set_defaults(func=cmd_drift)

    ca = sub.add_parser("cache", help="the per-image feature store: sizes (ls) or removal (prune)")
    ca.add_argument("action", choices=["ls", "prune"])
    ca.add_argument("--cache-dir", default=".rsbench_cache", help="as given to rsbench run")
    ca.add_argument("--older-than", type=float, metavar="DAYS", help="prune: only spaces unused this long")
    ca.add_argument("--json", action="store_true", help="ls: machine-readable output")
    ca.set_defaults(func=cmd_cache)

    doc = sub.add_parser("doctor", help="what this machine offers (torch build, devices, bf16, NCCL/RCCL, SLURM, extras)")
    doc.add_argument("--json", action="store_true", help="machine-readable output")
    doc.set_defaults(func=cmd_doctor)

    from rsbench.slurm import add_slurm_parser

    add_slurm_parser(sub)  # rsbench slurm plan: a suite refresh as a SLURM job array
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command; a bad input prints one line per problem and exits 2 (``--debug``: raise)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Accepted anywhere on the line, not only before the command (--quiet: where it exists).
    debug, verbose, quiet = "--debug" in argv, "--verbose" in argv, "--quiet" in argv
    p = parser()
    args = p.parse_args([a for a in argv if a not in ("--debug", "--verbose", "--quiet")])
    if quiet:
        if not hasattr(args, "quiet"):
            p.error("unrecognized arguments: --quiet")
        args.quiet = True
    from rsbench import console
    from rsbench.engine.quiet import quiet_libraries

    quiet_libraries(verbose)
    with console.quiet_while(quiet):
        try:
            return int(args.func(args) or 0)
        except BrokenPipeError:  # `rsbench ls tasks | head`: the reader left, nothing is wrong
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - kept open until exit
            return 0
        except RsbenchError as err:
            # Only rsbench's own errors: a bug (a bare ValueError, KeyError, ...) keeps its
            # traceback. --debug shows where an rsbench error came from too.
            if debug:
                raise
            console.error(str(err) or type(err).__name__)
            return 2


if __name__ == "__main__":
    sys.exit(main())
