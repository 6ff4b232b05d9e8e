"""Submit a model card: check it thoroughly once, then register it for the nightly jobs.

``rsbench submit CARD`` refuses, with one line naming the file and the field, anything that would
let a nightly run score the wrong thing: a card without license or contact, a checkpoint whose
bytes differ from the card's sha256, a checkpoint that fills under 99% of the encoder, and input
statistics that are not for [0, 1]-scaled images (raw 0-255 or sensor-scale numbers would feed
the backbone garbage without any error). A card that passes is written atomically to
``<registry>/<name>.yaml`` as a plain model card (so ``rsbench run --model`` reads it as is), with
its load report summarised in a comment header.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from rsbench import console
from rsbench.errors import RsbenchError

REQUIRED = ("name", "arch", "checkpoint", "sha256", "input_spec", "license", "contact")
RECOMMENDED = ("paper",)
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SubmitError(RsbenchError, ValueError):
    """A card that cannot be registered; the message names the file and the field."""


def required_fields(data: dict, where: str) -> None:
    """Refuse a card missing a field a submission needs (or holding an empty one)."""
    for key in REQUIRED:
        value = data.get(key)
        if value is None or (isinstance(value, str | dict | list) and not value):
            raise SubmitError(f"{where}: field '{key}' is required for submission")
    if data.get("random_init"):
        raise SubmitError(f"{where}: field 'random_init': a random baseline is not a submission")
    if not isinstance(data["sha256"], str) or not SHA256.match(data["sha256"].lower()):
        raise SubmitError(f"{where}: field 'sha256' must be 64 hex digits, got {data['sha256']!r}")


def statistics_problem(mean: tuple[float, ...], std: tuple[float, ...]) -> str | None:
    """Why ``mean``/``std`` are not statistics of [0, 1]-scaled images, or None when they are."""
    values = [*mean, *std]
    if max(values) > 255:
        return (
            "look like sensor-scale statistics (e.g. reflectance x 10000); rsbench feeds "
            "[0, 1]-scaled images: give the statistics on that scale"
        )
    if max(values) > 1:
        return (
            "look like raw 0-255 statistics; rsbench feeds [0, 1]-scaled images: divide "
            "mean and std by 255"
        )
    if min(mean) < 0:
        return "has a negative mean, impossible for [0, 1]-scaled images"
    return None


def patch_size_of(card) -> int | None:
    """The arch's patch size (overrides included), from a meta-device model when need be."""
    if "patch_size" in card.arch_overrides:
        return int(card.arch_overrides["patch_size"])
    from rsbench.backbones import VIT_ARCHS

    if card.arch in VIT_ARCHS:
        return VIT_ARCHS[card.arch].patch_size
    try:
        from rsbench.backbones.factory import build_timm_model

        model = build_timm_model(
            card.arch, card.input_spec, card.pool, device="meta", **card.arch_overrides
        )
        size: Any = model.patch_embed.patch_size  # type: ignore[union-attr]  # a timm ViT's attribute: untyped
        return int(size[0] if isinstance(size, tuple | list) else size)
    except Exception:  # not a patch model (a CNN): nothing to check
        return None


def check_input_spec(card, where: str) -> list[str]:
    """Refuse impossible input statistics; return warnings for things that only need a note."""
    spec = card.input_spec
    problem = statistics_problem(spec.mean, spec.std)
    if problem:
        raise SubmitError(
            f"{where}: field 'input_spec' mean {list(spec.mean)} / std {list(spec.std)} {problem}"
        )
    notes = []
    patch = patch_size_of(card)
    if patch and spec.img_size % patch:
        notes.append(
            f"{where}: input_spec.img_size {spec.img_size} is not a multiple of the "
            f"{card.arch} patch size {patch}: position embeddings cover "
            f"{spec.img_size // patch}x{spec.img_size // patch} patches and are "
            "resampled to each task's image size"
        )
    return notes


def check_checkpoint(card, where: str):
    """The checkpoint's load report, after checking its hash; refuses a partial load."""
    from rsbench.checkpoints import CheckpointError, file_sha256, load_checkpoint

    path = Path(card.checkpoint)
    if not path.exists():
        raise SubmitError(f"{where}: field 'checkpoint': {path} does not exist")
    sha = file_sha256(path)
    if sha != card.sha256.lower():
        raise SubmitError(
            f"{where}: field 'sha256' is {card.sha256[:16]}… but {path} hashes to "
            f"{sha[:16]}…; the file changed or the card is wrong"
        )
    try:
        _, report = load_checkpoint(
            path, card.arch, card.input_spec, card.pool, **card.arch_overrides
        )
    except (CheckpointError, TypeError, ValueError, RuntimeError) as err:
        raise SubmitError(
            f"{where}: field 'checkpoint': cannot load {path} as {card.arch} with arch_overrides "
            f"{card.arch_overrides}: {' '.join(str(err).split())}"
        ) from None
    print(report.to_text())
    if not report.complete:
        missing = ", ".join(report.largest_missing()) or "nothing missing"
        raise SubmitError(
            f"{where}: field 'checkpoint': {path} fills only "
            f"{report.fraction_loaded:.1%} of the {card.arch} encoder parameters "
            f"({report.params_loaded:,}/{report.params_total:,}; missing {missing}); "
            "a submission must load at least 99%"
        )
    return report


def registry_card(card, data: dict) -> dict:
    """The card as registered: validated fields, the checkpoint as an absolute path."""
    out = {
        "name": card.name,
        "arch": card.arch,
        "checkpoint": str(Path(card.checkpoint).resolve()),
        "sha256": card.sha256.lower(),
        "input_spec": card.input_spec.to_dict(),
        "pool": card.pool,
    }
    if card.arch_overrides:
        out["arch_overrides"] = card.arch_overrides
    out.update({k: data[k] for k in ("license", "paper", "contact", "description") if k in data})
    return out


def report_header(report) -> str:
    """The load report summary as YAML comments (a model card has no field for it)."""
    lines = [
        f"registered by rsbench submit on {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"load report: {report.fraction_loaded:.2%} of encoder parameters "
        f"({report.params_loaded:,}/{report.params_total:,}), keys {report.matched}/"
        f"{report.total_keys}, {report.storage} / {report.format}, sha256 {report.sha256}",
        *(f"load warning: {w}" for w in report.warnings),
    ]
    return "".join(f"# {line}\n" for line in lines)


def register(
    card_dict: dict, header: str, registry: Path, replace: bool, where: str
) -> tuple[Path, bool]:
    """Write the entry atomically; ``(path, written)``, ``written`` false for an identical one."""
    from rsbench.results import atomic_write_text, safe_name

    path = Path(registry) / f"{safe_name(card_dict['name'])}.yaml"
    if path.exists():
        try:
            existing = yaml.safe_load(path.read_text())
        except yaml.YAMLError:
            existing = None
        if existing == card_dict:
            return path, False
        if not replace:
            raise SubmitError(
                f"{where}: field 'name': {path} already registers a different card "
                f"named {card_dict['name']!r}; pass --replace to overwrite it"
            )
    body = yaml.safe_dump(card_dict, sort_keys=False, allow_unicode=True)
    return atomic_write_text(path, header + body), True


def submit(card_path: Path | str, registry: Path | str = "models", replace: bool = False) -> Path:
    """Validate ``card_path`` and register it; returns the registry entry's path.

    Raises:
        SubmitError, SpecError: the card is refused (one line naming file and field).
    """
    from rsbench.config import card_from_dict, read_yaml

    card_path = Path(card_path)
    where = str(card_path)
    data = read_yaml(card_path)
    required_fields(data, where)
    card = card_from_dict(data, where, base_dir=card_path.resolve().parent)
    from rsbench.backbones.factory import check_arch

    try:
        check_arch(card.arch)
    except ValueError as err:
        raise SubmitError(f"{where}: field 'arch': {err}") from None
    for note in check_input_spec(card, where):
        console.note(note)
    report = check_checkpoint(card, where)
    for key in RECOMMENDED:
        if key not in data:
            console.note(f"{where}: field '{key}' is recommended")
    path, written = register(
        registry_card(card, data), report_header(report), Path(registry), replace, where
    )
    print(f"{'registered' if written else 'already registered (identical)'} {card.name} -> {path}")
    return path
