"""Helpers for the checkpoint tests: a 2-block ViT-Tiny at 32 px with 8 px patches.

A uniquely named module (not ``conftest``) so that ``from ckpt_helpers import ...`` cannot pick
up another folder's conftest.
"""

from __future__ import annotations

import torch

from rsbench.backbones import InputSpec

ARCH = "vit_tiny_patch16"
OVERRIDES = {"depth": 2, "patch_size": 8}
SPEC = InputSpec(img_size=32)


def timm_vit(seed: int = 0, img_size: int = 32, **kw) -> torch.nn.Module:
    """The originating library's model: timm's ViT-Tiny cut to two blocks, eval mode."""
    import timm

    torch.manual_seed(seed)
    kwargs = {"img_size": img_size, "patch_size": 8, "depth": 2, "num_classes": 0, **kw}
    return timm.create_model("vit_tiny_patch16_224", pretrained=False, **kwargs).eval()


# A transformers ViT of the same cut (2 blocks, 8 px patches at 32 px), width 64 over 4 heads.
HF_CONFIG = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "intermediate_size": 256, "patch_size": 8, "image_size": 32, "layer_norm_eps": 1e-6}
HF_OVERRIDES = {"embed_dim": 64, "num_heads": 4}


def perturbed(model: torch.nn.Module) -> torch.nn.Module:
    """HF initialises biases and norms to constants; noise makes every mix-up visible (a
    q/k/v in the wrong order among them)."""
    torch.manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def images(size: int = 32, n: int = 2, seed: int = 1, chans: int = 3) -> torch.Tensor:
    """[0, 1] images, as datasets hand them to a backbone."""
    return torch.rand(n, chans, size, size, generator=torch.Generator().manual_seed(seed))


def assert_same_features(backbone, reference, size: int = 32) -> None:
    """``backbone.forward_features`` equals ``reference`` on the normalised input within 1e-4."""
    x = images(size)
    backbone.eval()
    with torch.no_grad():
        ours = backbone.forward_features(x)
        theirs = reference(backbone.normalize(x))
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max().item() < 1e-4


def free_port() -> int:
    """A TCP port nobody listens on, for a local process group."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hf_vit() -> torch.nn.Module:
    """A Hugging Face ``ViTModel`` of ``HF_CONFIG``, the same weights in every process."""
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(0)
    return perturbed(ViTModel(ViTConfig(**HF_CONFIG)))


def save_sharded_dcp(rank: int, path: str, port: int, world_size: int, hf: bool = False) -> None:
    """One rank of a gloo job saving ``timm_vit()`` (``hf``: ``hf_vit()``, query, key and value
    apart) sharded on dim 0 (as FSDP2 does) with DCP."""
    import os

    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_tensor

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        mesh = init_device_mesh("cpu", (world_size,))
        model = hf_vit() if hf else timm_vit()
        state = {k: distribute_tensor(v, mesh, [Shard(0)]) for k, v in model.state_dict().items()}
        dcp.save({"model": state, "step": 11}, checkpoint_id=path)
    finally:
        dist.destroy_process_group()
