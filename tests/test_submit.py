"""``rsbench submit``: a model card checked once, then registered for the nightly jobs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from rsbench.backbones import InputSpec, build_backbone
from rsbench.checkpoints import file_sha256
from rsbench.cli import main
from rsbench.config import load_card


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    from safetensors.torch import save_file

    tmp = tmp_path_factory.mktemp("submit")
    torch.manual_seed(0)
    state = build_backbone(
        "vit_tiny_patch16", InputSpec(img_size=32), depth=2, patch_size=8
    ).model.state_dict()
    full, partial = tmp / "tiny.safetensors", tmp / "partial.safetensors"
    save_file(state, str(full))
    save_file({k: v for k, v in state.items() if not k.startswith("blocks.1.")}, str(partial))
    return {"full": full, "partial": partial}


def good_card(ckpt: Path, **changes) -> dict:
    card = {
        "name": "tiny",
        "arch": "vit_tiny_patch16",
        "checkpoint": str(ckpt),
        "sha256": file_sha256(ckpt),
        "arch_overrides": {"depth": 2, "patch_size": 8},
        "input_spec": {
            "bands": ["R", "G", "B"],
            "mean": [0.485, 0.456, 0.406],
            "std": [0.229, 0.224, 0.225],
            "img_size": 32,
        },
        "license": "CC-BY-4.0",
        "paper": "https://arxiv.org/abs/0000.00000",
        "contact": "someone@example.org",
    }
    card.update(changes)
    return {k: v for k, v in card.items() if v is not None}


def submit(tmp_path: Path, card: dict, *extra) -> int:
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(card))
    return main(["submit", str(path), "--registry", str(tmp_path / "models"), *extra])


def test_good_card_is_registered_and_loads_as_a_card(ckpts, tmp_path, capsys):
    assert submit(tmp_path, good_card(ckpts["full"])) == 0
    out = capsys.readouterr().out
    assert "keys matched" in out  # the load report is printed
    entry = tmp_path / "models" / "tiny.yaml"
    text = entry.read_text()
    assert "# load report: 100.00% of encoder parameters" in text
    card = load_card(entry)  # a nightly `rsbench run --model models/tiny.yaml` reads it as is
    assert card.checkpoint == str(ckpts["full"].resolve())
    assert card.sha256 == file_sha256(ckpts["full"])
    assert card.arch_overrides == {"depth": 2, "patch_size": 8}
    assert card.meta["license"] == "CC-BY-4.0" and card.meta["contact"] == "someone@example.org"
    assert not list((tmp_path / "models").glob(".*.tmp"))


def test_same_name_needs_replace_unless_identical(ckpts, tmp_path, capsys):
    assert submit(tmp_path, good_card(ckpts["full"])) == 0
    assert submit(tmp_path, good_card(ckpts["full"])) == 0  # identical: a no-op
    assert "already registered (identical)" in capsys.readouterr().out
    other = good_card(ckpts["full"], license="MIT")
    assert submit(tmp_path, other) == 2
    assert "--replace" in capsys.readouterr().err
    assert load_card(tmp_path / "models" / "tiny.yaml").meta["license"] == "CC-BY-4.0"
    assert submit(tmp_path, other, "--replace") == 0
    assert load_card(tmp_path / "models" / "tiny.yaml").meta["license"] == "MIT"


def refused(tmp_path, capsys, card, *needles) -> None:
    assert submit(tmp_path, card) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line
    assert str(tmp_path / "card.yaml") in err
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "models").exists()


def test_hash_mismatch_is_refused(ckpts, tmp_path, capsys):
    refused(tmp_path, capsys, good_card(ckpts["full"], sha256="0" * 64), "'sha256'", "hashes to")


def test_partial_checkpoint_is_refused_with_its_report(ckpts, tmp_path, capsys):
    card = good_card(ckpts["partial"], sha256=file_sha256(ckpts["partial"]))
    assert submit(tmp_path, card) == 2
    captured = capsys.readouterr()
    assert "BELOW 99%" in captured.out  # the load report says why
    assert "'checkpoint'" in captured.err and "blocks.1" in captured.err
    assert not (tmp_path / "models").exists()


@pytest.mark.parametrize(
    "mean, std, why",
    [
        ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375], "0-255"),
        ([1200.0, 1100.0, 1000.0], [300.0, 280.0, 260.0], "sensor-scale"),
    ],
)
def test_unscaled_statistics_are_refused(ckpts, tmp_path, capsys, mean, std, why):
    spec = {"bands": ["R", "G", "B"], "mean": mean, "std": std, "img_size": 32}
    refused(tmp_path, capsys, good_card(ckpts["full"], input_spec=spec), "'input_spec'", why)


def test_missing_license_or_contact_is_refused(ckpts, tmp_path, capsys):
    refused(tmp_path, capsys, good_card(ckpts["full"], license=None), "'license'", "required")
    refused(tmp_path, capsys, good_card(ckpts["full"], contact=""), "'contact'", "required")


@pytest.mark.parametrize(
    "mean, std, why",
    [
        ([0.5, 0.5], [0.2, 0.2, 0.2], "3 bands"),
        ([0.5] * 3, [0.2, 0.0, 0.2], "std must be positive"),
    ],
)
def test_inconsistent_input_spec_is_refused(ckpts, tmp_path, capsys, mean, std, why):
    spec = {"bands": ["R", "G", "B"], "mean": mean, "std": std, "img_size": 32}
    refused(tmp_path, capsys, good_card(ckpts["full"], input_spec=spec), why)


def test_unloadable_checkpoint_is_refused(ckpts, tmp_path, capsys):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    card = good_card(junk, sha256=file_sha256(junk))
    refused(tmp_path, capsys, card, "'checkpoint'", "cannot load")


def test_img_size_not_a_multiple_of_the_patch_is_a_note(ckpts, tmp_path, capsys):
    spec = {"bands": ["R", "G", "B"], "mean": [0.5] * 3, "std": [0.2] * 3, "img_size": 36}
    assert submit(tmp_path, good_card(ckpts["full"], input_spec=spec)) == 0
    assert "not a multiple of the vit_tiny_patch16 patch size 8" in capsys.readouterr().err
