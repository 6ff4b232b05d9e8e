"""Checkpoints are untrusted input: nothing in them runs, and every bad file gets one clear line."""

from __future__ import annotations

import argparse
import collections
import os
import pathlib
import pickle
import zipfile

import pytest
import torch
from ckpt_helpers import ARCH, OVERRIDES, SPEC

from rsbench.checkpoints import CheckpointError, load_backbone, load_checkpoint
from rsbench.checkpoints.safe_load import read_torch


class Exploit:
    """Unpickling this would run ``touch <marker>`` through ``os.system``."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def load(path):
    return load_backbone(path, ARCH, input_spec=SPEC, **OVERRIDES)


def one_line_error(path) -> str:
    with pytest.raises(CheckpointError) as err:
        load(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message, message
    return message


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_malicious_pickle_refused_naming_the_global(tmp_path, vit, zipped):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pth"
    torch.save({"model": vit.state_dict(), "payload": Exploit(marker)}, path,
               _use_new_zipfile_serialization=zipped)
    message = one_line_error(path)
    assert f"'{os.system.__module__}.system'" in message  # posix.system
    assert not marker.exists()


def test_malicious_dcp_metadata_refused(tmp_path):
    marker = tmp_path / "PWNED"
    folder = tmp_path / "dcp"
    folder.mkdir()
    (folder / ".metadata").write_bytes(pickle.dumps(Exploit(marker)))
    (folder / "__0_0.distcp").write_bytes(b"\0" * 16)
    message = one_line_error(folder)
    assert "system" in message and "not allowed" in message
    assert not marker.exists()


def test_harmless_globals_real_checkpoints_carry_are_allowed(tmp_path):
    import numpy as np
    from lightning.fabric.utilities.data import AttributeDict

    obj = {"state_dict": {"w": torch.ones(2)}, "best_acc": np.float64(0.5),
           "hparams": AttributeDict(lr=0.1), "args": argparse.Namespace(lr=0.1),
           "out": pathlib.PosixPath("/runs/x"), "order": collections.OrderedDict(a=1)}
    torch.save(obj, tmp_path / "x.pth")
    back = read_torch(tmp_path / "x.pth")
    assert back["best_acc"] == 0.5 and back["hparams"]["lr"] == 0.1 and back["args"].lr == 0.1
    assert str(back["out"]) == "/runs/x" and torch.equal(back["state_dict"]["w"], torch.ones(2))


def truncated(path: pathlib.Path) -> pathlib.Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_bad_file(kind: str, tmp_path: pathlib.Path, vit) -> pathlib.Path:
    path = tmp_path / ("model.safetensors" if "safetensors" in kind else "model.pth")
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        torch.save(vit.state_dict(), path)
        truncated(path)
    elif kind == "truncated-legacy":
        torch.save(vit.state_dict(), path, _use_new_zipfile_serialization=False)
        truncated(path)
    elif kind == "truncated-safetensors":
        from safetensors.torch import save_file

        save_file(vit.state_dict(), path)
        truncated(path)
    elif kind == "png":
        from PIL import Image

        Image.new("RGB", (4, 4)).save(path, format="PNG")
    elif kind == "text":
        path.write_text("model weights are on the shared drive\n")
    elif kind == "lfs-pointer":
        path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 9\n")
    elif kind == "tensor":
        torch.save(torch.ones(3), path)
    elif kind == "torchscript":
        torch.jit.save(torch.jit.trace(torch.nn.Linear(2, 2), torch.ones(1, 2)), path)
    elif kind == "zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("notes.txt", "not weights")
    return path


@pytest.mark.parametrize("kind,words", [
    ("empty", "empty file"),
    ("truncated", "truncated or corrupt"),
    ("truncated-legacy", "truncated or corrupt"),
    ("truncated-safetensors", "corrupt safetensors"),
    ("png", "a PNG image"),
    ("text", "a text file"),
    ("lfs-pointer", "git lfs pull"),
    ("tensor", "not a state dict"),
    ("torchscript", "TorchScript archive"),
    ("zip", "not a torch.save file"),
])
def test_bad_file_gives_one_line_naming_it(tmp_path, vit, kind, words):
    message = one_line_error(make_bad_file(kind, tmp_path, vit))
    assert words in message


def test_missing_path_and_unrecognised_folder(tmp_path):
    assert "no such file" in one_line_error(tmp_path / "nope.pth")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "notes.txt").write_text("hi")
    assert "neither a DCP checkpoint" in one_line_error(tmp_path / "folder")


def test_checkpoint_without_encoder_keys_is_refused(tmp_path):
    torch.save({"optimizer": {"w": torch.ones(3)}}, tmp_path / "other.pth")
    message = one_line_error(tmp_path / "other.pth")
    assert "0.0%" in message and "--allow-partial" in message
    _, report = load_checkpoint(tmp_path / "other.pth", ARCH, SPEC, **OVERRIDES)
    assert report.fraction_loaded == 0.0 and any("no checkpoint key" in w for w in report.warnings)


def test_no_code_path_turns_safe_loading_off():
    package = pathlib.Path(__file__).parents[2] / "rsbench" / "checkpoints"
    for source in package.glob("*.py"):
        text = source.read_text()
        assert "weights_only=False" not in text, source
        assert "pickle.load(" not in text and "pickle.loads(" not in text, source
