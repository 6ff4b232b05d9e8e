"""Filling an encoder straight from the file equals copying into a built one, bit for bit.

The reference is the plain route (build the timm model with its random init, then
``load_state_dict`` copies the checkpoint in); rsbench builds on the meta device and takes the
file's tensors as they are.
"""

import pytest
import torch
from ckpt_helpers import ARCH, OVERRIDES, SPEC, timm_vit

from rsbench.backbones import build_backbone
from rsbench.checkpoints import load_backbone


def save(state: dict, path, kind: str) -> None:
    if kind == "safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path, _use_new_zipfile_serialization=kind == "torch-zip")


def copied_into_built(state: dict) -> torch.nn.Module:
    built = build_backbone(ARCH, SPEC, "cls", **OVERRIDES)
    built.model.load_state_dict({k: v.float() for k, v in state.items()})
    return built.model


@pytest.mark.parametrize("kind", ["safetensors", "torch-zip", "torch-legacy"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_filled_from_file_equals_copied_into_a_built_model(tmp_path, kind, dtype):
    state = {k: v.to(dtype) for k, v in timm_vit(seed=3).state_dict().items()}
    path = tmp_path / f"w.{kind}"
    save(state, path, kind)
    filled = load_backbone(path, ARCH, SPEC, "cls", **OVERRIDES).model
    reference = copied_into_built(state)
    ours, theirs = filled.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)
    for key in ours:
        assert ours[key].dtype == torch.float32 and torch.equal(ours[key], theirs[key]), key
    for name, p in filled.named_parameters():
        assert isinstance(p, torch.nn.Parameter) and p.requires_grad and not p.is_meta, name
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(filled.forward_features(x), reference.forward_features(x))


def test_a_fine_tune_step_does_not_write_through_to_the_file(tmp_path):
    path = tmp_path / "w.pth"
    save(timm_vit(seed=3).state_dict(), path, "torch-zip")  # read back memory-mapped
    before = path.read_bytes()
    model = load_backbone(path, ARCH, SPEC, "cls", **OVERRIDES).model
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    model.forward_features(torch.rand(2, 3, 32, 32)).sum().backward()
    opt.step()
    assert path.read_bytes() == before
    again = load_backbone(path, ARCH, SPEC, "cls", **OVERRIDES).model
    assert not torch.equal(again.cls_token, model.cls_token)  # the step changed the copy only


def test_a_partial_load_still_initialises_what_the_file_lacks(tmp_path):
    state = {k: v for k, v in timm_vit(seed=3).state_dict().items() if not k.startswith("blocks.1.")}
    path = tmp_path / "partial.safetensors"
    save(state, path, "safetensors")
    model = load_backbone(path, ARCH, SPEC, "cls", allow_partial=True, **OVERRIDES).model
    assert not any(p.is_meta for p in model.parameters())
    assert torch.equal(model.blocks[0].attn.qkv.weight, state["blocks.0.attn.qkv.weight"])
    assert model.blocks[1].attn.qkv.weight.abs().sum() > 0  # initialised, not left empty


def test_a_checkpoint_is_hashed_once_across_processes(tmp_path, monkeypatch):
    import hashlib

    from rsbench import hashcache
    from rsbench.checkpoints import file_sha256

    path = tmp_path / "w.bin"
    path.write_bytes(b"weights" * 1000)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    hashcache.remember_in(tmp_path / "cache")
    try:
        assert file_sha256(path) == expected
        hashcache.forget_in_memory()  # a new process: only the disk remembers
        monkeypatch.setattr(hashlib, "file_digest", lambda *a: pytest.fail("hashed again"))
        assert file_sha256(path) == expected
        monkeypatch.undo()
        path.write_bytes(b"changed!" * 1000)  # a new version (another size) is hashed anew
        hashcache.forget_in_memory()
        assert file_sha256(path) == hashlib.sha256(b"changed!" * 1000).hexdigest()
    finally:
        hashcache.remember_in(None)


def test_a_dataset_fingerprint_is_computed_once_across_processes(tmp_path, monkeypatch):
    import hashlib

    from rsbench import hashcache
    from rsbench.data.split_files import dataset_fingerprint

    root = tmp_path / "data"
    root.mkdir()
    for name, body in (("b.tif", b"bb"), ("a.tif", b"a")):
        (root / name).write_bytes(body)
    a, b = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"bb").hexdigest()
    expected = hashlib.sha256(f"a.tif\t1\t{a}\nb.tif\t2\t{b}\n".encode()).hexdigest()
    hashcache.remember_in(tmp_path / "cache")
    try:
        assert dataset_fingerprint(root, ["b.tif", "a.tif"]) == expected
        assert len(list((tmp_path / "cache" / "hashes").iterdir())) == 1  # one entry per set
        hashcache.forget_in_memory()
        monkeypatch.setattr(hashlib, "file_digest", lambda *a: pytest.fail("read again"))
        assert dataset_fingerprint(root, ["a.tif", "b.tif"]) == expected
    finally:
        hashcache.remember_in(None)
