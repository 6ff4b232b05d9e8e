"""Frozen encoders in bf16, cast while the file is read: never a full fp32 copy first.

Tolerance of the features, measured on this 2-block ViT-Tiny (timm's init, seed 3), 8 images:
bf16 weights and inputs against fp32 give a largest absolute difference of 1.05% of the largest
feature magnitude (0.036 of 3.48) and a smallest per-image cosine similarity of 0.999934; the
test allows 2% and 0.9999.
"""

import weakref

import pytest
import torch
from ckpt_helpers import ARCH, OVERRIDES, SPEC, images, timm_vit

from rsbench.checkpoints import load_backbone


@pytest.fixture
def fp32_file(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file(timm_vit(seed=3).state_dict(), str(path))
    return path


def test_bf16_load_gives_bf16_parameters_in_their_own_storage(fp32_file):
    backbone = load_backbone(fp32_file, ARCH, SPEC, "cls", dtype=torch.bfloat16, **OVERRIDES)
    params = list(backbone.model.parameters())
    assert {p.dtype for p in params} == {torch.bfloat16}
    # each parameter's storage is its own bf16 bytes: no view into a larger fp32 buffer
    assert sum(p.untyped_storage().nbytes() for p in params) == 2 * sum(p.numel() for p in params)
    reference = timm_vit(seed=3).state_dict()
    for key, value in backbone.model.state_dict().items():
        assert torch.equal(value, reference[key].to(torch.bfloat16)), key


def test_at_most_one_fp32_tensor_is_alive_while_casting(fp32_file, monkeypatch):
    import rsbench.checkpoints.sources as sources

    alive, peak = [0], [0]
    read = sources.read_safetensors

    def counted(path, keys=None):
        out = read(path, keys)
        for tensor in out.values():
            nbytes = tensor.numel() * tensor.element_size()
            alive[0] += nbytes
            peak[0] = max(peak[0], alive[0])
            weakref.finalize(tensor, released, nbytes)
        return out

    def released(nbytes: int) -> None:
        alive[0] -= nbytes

    monkeypatch.setattr(sources, "read_safetensors", counted)
    load_backbone(fp32_file, ARCH, SPEC, "cls", dtype=torch.bfloat16, **OVERRIDES)
    largest = max(v.numel() for v in timm_vit(seed=3).state_dict().values())
    assert peak[0] == 4 * largest  # one fp32 tensor (fc1/fc2: 768 x 192) at a time
    assert alive[0] == 0


def test_fp32_stays_the_default(fp32_file):
    backbone = load_backbone(fp32_file, ARCH, SPEC, "cls", **OVERRIDES)
    assert {p.dtype for p in backbone.model.parameters()} == {torch.float32}


def test_bf16_features_agree_with_fp32_within_the_measured_tolerance(fp32_file):
    fp32 = load_backbone(fp32_file, ARCH, SPEC, "cls", **OVERRIDES).eval()
    bf16 = load_backbone(fp32_file, ARCH, SPEC, "cls", dtype=torch.bfloat16, **OVERRIDES).eval()
    x = images(32, n=8)
    with torch.no_grad():
        ours, ref = bf16.pooled(x.to(torch.bfloat16)).float(), fp32.pooled(x)
    assert (ours - ref).abs().max() <= 0.02 * ref.abs().max()
    assert torch.nn.functional.cosine_similarity(ours, ref).min() >= 0.9999
