"""Peak memory and time to first forward of loading a checkpoint, rsbench against plain timm.

For each architecture a checkpoint of random weights is written once (safetensors and a torch
zip file, fp32, under ``--workdir``; tensors drawn directly, no model is built for it). Each
configuration then runs in a fresh process and reports its peak resident set size (``VmHWM``)
minus the one after imports, and the seconds from the start of loading to the end of a first
forward pass on one image:

- ``inspect``: ``rsbench.checkpoints.load_checkpoint(..., shapes_only=True)``, what ``rsbench
  inspect`` runs (the target built on the meta device, no tensor data read);
- ``rsbench``: ``load_backbone``, then one forward (what a run does);
- ``rsbench_bf16``: the same with ``dtype=torch.bfloat16`` (frozen protocols under bf16): each
  tensor cast as it is read, then one bf16 forward;
- ``fsdp_2_ranks``: ``rsbench.checkpoints.sharded.load_sharded`` on 2 gloo ranks, each reading
  only its FSDP2 shard's rows (the figure is the larger rank's); with ``--format dcp`` (a DCP
  folder saved by 2 ranks, each tensor as 2 row chunks) each rank reads the saved chunks its
  shards overlap, and the bytes each rank read are reported twice: as DCP's reader counts
  them and as the kernel does (``rchar`` of ``/proc/self/io``, every read() of the load, after
  the checkpoint's sha256, which ``rsbench run`` computes once per file version); with
  ``--format hf`` (a Hugging Face ViT folder: HF names, query, key and value apart) each rank
  reads its rows of every tensor and of the fused qkv; ``--format dcp-hf`` is a DCP folder of
  those HF names saved by 2 ranks (as an FSDP run of a Hugging Face model saves it);
- ``rsbench_two_runs``: ``rsbench.loaded_model.LoadedModel`` handing out the encoder of two runs in
  turn (the first run's encoder released before the second's is read), as a suite does;
- ``timm``: what a user writes otherwise: ``timm.create_model`` (random initialisation), the
  file read with ``safetensors.torch.load_file`` / ``torch.load``, ``load_state_dict``, forward.

    python benchmarks/load_memory.py --arch vit_large_patch16 vit_huge_patch14 --format safetensors

Prints one JSON line per configuration. BENCHMARKS.md records results.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fsdp_memory import max_rss_bytes  # noqa: E402

MODES = ("inspect", "rsbench", "rsbench_bf16", "rsbench_two_runs", "fsdp_2_ranks", "timm")
MARK = "RSBENCH_LOAD_MEMORY "
GB = 1e9


def checkpoint(arch: str, fmt: str, workdir: Path) -> Path:
    """A checkpoint of ``arch`` with random fp32 weights, written once."""
    import torch

    from rsbench.backbones import InputSpec
    from rsbench.backbones.factory import build_timm_model

    suffix = {"safetensors": "safetensors", "dcp": "dcp", "dcp-hf": "dcphf", "hf": "hf"}.get(fmt, "pth")
    path = workdir / f"{arch}.{suffix}"
    if path.exists():
        return path
    if fmt in ("dcp", "dcp-hf"):
        return dcp_checkpoint(arch, path, hf=fmt == "dcp-hf")
    meta = build_timm_model(arch, InputSpec(), "cls", device="meta")
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=g) * 0.02 for k, v in meta.state_dict().items()}
    workdir.mkdir(parents=True, exist_ok=True)
    if fmt == "hf":
        return hf_folder(arch, state, path)
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


def hf_folder(arch: str, state: dict, path: Path) -> Path:
    """``state`` (timm names) as a Hugging Face ``save_pretrained`` ViT folder: HF's names,
    query, key and value as three tensors, and a ``config.json`` of the same model."""
    from safetensors.torch import save_file

    from rsbench.backbones.factory import VIT_ARCHS

    kw = VIT_ARCHS[arch].timm_kwargs()
    width = kw["embed_dim"]
    path.mkdir(parents=True)
    save_file(hf_named(arch, state), str(path / "model.safetensors"))
    config = {"model_type": "vit", "hidden_size": width, "num_hidden_layers": kw["depth"],
              "num_attention_heads": kw["num_heads"],
              "intermediate_size": int(width * kw.get("mlp_ratio", 4.0)),
              "patch_size": kw["patch_size"], "image_size": 224, "num_channels": 3,
              "layer_norm_eps": 1e-6, "qkv_bias": True, "hidden_act": "gelu"}
    (path / "config.json").write_text(json.dumps(config))
    return path


def hf_named(arch: str, state: dict) -> dict:
    """``state`` (timm names) under Hugging Face ViT names, qkv split into query, key, value."""
    from rsbench.backbones.factory import VIT_ARCHS
    from rsbench.checkpoints import hf

    width = VIT_ARCHS[arch].timm_kwargs()["embed_dim"]
    named = {timm: key for key, timm in hf.EMBEDDINGS.items()}
    parts = {module: part for part, (module, _) in hf.BLOCK_PARTS.items()
             if not part.endswith("_proj") and not part.startswith("mlp.")}
    out = {}
    for key, value in state.items():
        if key in named:
            out[named[key]] = value
            continue
        _, index, rest = key.split(".", 2)
        module, kind = rest.rsplit(".", 1)
        if module == "attn.qkv":
            for n, name in enumerate(("query", "key", "value")):
                out[f"encoder.layer.{index}.attention.attention.{name}.{kind}"] = \
                    value[n * width:(n + 1) * width].clone()
        else:
            out[f"encoder.layer.{index}.{parts[module]}.{kind}"] = value
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dcp_rank(rank: int, arch: str, path: str, port: int, hf: bool = False) -> None:
    """One of two ranks saving random fp32 weights of ``arch`` as FSDP2 shards (dim-0 rows,
    ``torch.chunk``'s split) with DCP, under HF names with ``hf``; each rank draws only its
    own rows."""
    import os

    import torch
    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Shard

    from rsbench.backbones import InputSpec
    from rsbench.backbones.factory import build_timm_model
    from rsbench.checkpoints.rows import row_range

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    mesh = init_device_mesh("cpu", (2,))
    g = torch.Generator().manual_seed(rank)
    state = {}
    metas = build_timm_model(arch, InputSpec(), "cls", device="meta").state_dict()
    for key, meta in (hf_named(arch, metas) if hf else metas).items():
        start, stop = row_range(meta.shape[0], 2, rank)
        local = torch.randn((stop - start, *meta.shape[1:]), generator=g) * 0.02
        state[key] = DTensor.from_local(local, mesh, [Shard(0)], run_check=False,
                                        shape=meta.shape, stride=meta.stride())
    dcp.save({"model": state}, checkpoint_id=path)
    dist.destroy_process_group()


def dcp_checkpoint(arch: str, path: Path, hf: bool = False) -> Path:
    """A DCP folder of ``arch`` saved by 2 ranks (``dcp_rank``), written once."""
    import torch.multiprocessing as mp

    mp.spawn(dcp_rank, args=(arch, str(path), free_port(), hf), nprocs=2)
    return path


def read_chars() -> int:
    """Bytes this process has read through read() and friends (``rchar``; 0 off Linux)."""
    try:
        with open("/proc/self/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("rchar:"))
    except OSError:
        return 0


def sharded_rank(rank: int, arch: str, path: str, port: int, results) -> None:
    """One of two ranks of ``fsdp_2_ranks``: its peak above imports and the bytes it read."""
    import os

    import torch.distributed as dist

    from rsbench.backbones import InputSpec
    from rsbench.checkpoints.digest import file_sha256
    from rsbench.checkpoints.sharded import load_sharded

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    # The record's sha256 reads the whole checkpoint once per file version (rsbench run keeps
    # it in --cache-dir across processes); hashed first, so rchar counts the load's own reads.
    file_sha256(path)
    base, start, chars = max_rss_bytes(), time.perf_counter(), read_chars()
    backbone = load_sharded(path, arch, InputSpec())
    results.put((rank, max_rss_bytes() - base, time.perf_counter() - start,
                 backbone.sharded_bytes_read, read_chars() - chars))
    dist.destroy_process_group()


def sharded_mode(arch: str, path: Path) -> dict:
    """Peak bytes of the larger rank, seconds of the slower, and per rank the bytes read
    (DCP's count, None for other formats; the kernel's ``rchar``) of a 2-rank sharded load."""
    import torch.multiprocessing as mp

    results = mp.get_context("spawn").SimpleQueue()
    mp.spawn(sharded_rank, args=(arch, str(path), free_port(), results), nprocs=2)
    rows = sorted(results.get() for _ in range(2))
    return {"peak_rss_gb": max(r[1] for r in rows) / GB,
            "seconds_to_first_forward": max(r[2] for r in rows),
            "peak_rss_gb_per_rank": [r[1] / GB for r in rows],
            "dcp_bytes_read_gb_per_rank": [None if r[3] is None else r[3] / GB for r in rows],
            "rchar_gb_per_rank": [r[4] / GB for r in rows]}


def size_bytes(path: Path) -> int:
    """Bytes of a checkpoint file, or of every file in a checkpoint folder."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() \
        else path.stat().st_size


def run_mode(mode: str, arch: str, path: Path) -> dict:
    """One configuration in this process; returns its measurements."""
    import torch

    if mode == "fsdp_2_ranks":
        return {"mode": mode, "arch": arch, "file": path.name, "file_gb": size_bytes(path) / GB,
                **sharded_mode(arch, path)}

    from rsbench.backbones import InputSpec

    base = max_rss_bytes()
    x = torch.rand(1, 3, 224, 224)
    start = time.perf_counter()
    if mode == "inspect":
        from rsbench.checkpoints import load_checkpoint

        load_checkpoint(path, arch, shapes_only=True)  # as rsbench inspect reads it
    elif mode == "rsbench":
        from rsbench.checkpoints import load_backbone

        with torch.no_grad():
            load_backbone(path, arch, InputSpec())(x)
    elif mode == "rsbench_bf16":
        from rsbench.checkpoints import load_backbone

        with torch.no_grad():
            load_backbone(path, arch, InputSpec(), dtype=torch.bfloat16)(x.to(torch.bfloat16))
    elif mode == "rsbench_two_runs":
        from rsbench.config import card_from_dict
        from rsbench.loaded_model import LoadedModel
        from rsbench.runner import RunOptions

        card = card_from_dict({"name": arch, "arch": arch, "checkpoint": str(path)}, "bench")
        loaded = LoadedModel(card, RunOptions(out=path.parent / "out", cache_dir=path.parent))
        loaded.check(224)
        for _ in range(2):
            with torch.no_grad():
                loaded.backbone(224)(x)
    else:
        import timm

        from rsbench.backbones.factory import VIT_ARCHS

        kw = {**VIT_ARCHS[arch].timm_kwargs(), "num_classes": 0, "img_size": 224}
        model = timm.models.vision_transformer.VisionTransformer(**kw)
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        with torch.no_grad():
            model.forward_features(x)
    seconds = time.perf_counter() - start
    return {"mode": mode, "arch": arch, "file": path.name, "file_gb": size_bytes(path) / GB,
            "peak_rss_gb": (max_rss_bytes() - base) / GB, "seconds_to_first_forward": seconds}


def rounded(value):
    """Floats (also in lists) to 3 decimals, for the printed rows."""
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return round(value, 3) if isinstance(value, float) else value


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", nargs="+", default=["vit_large_patch16", "vit_huge_patch14"])
    p.add_argument("--format", choices=["safetensors", "torch", "dcp", "dcp-hf", "hf"],
                   default="safetensors")
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    p.add_argument("--workdir", type=Path, default=Path("/tmp/rsbench_load_memory"))
    p.add_argument("--child", nargs=3, metavar=("MODE", "ARCH", "PATH"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        mode, arch, path = args.child
        print(MARK + json.dumps(run_mode(mode, arch, Path(path))), flush=True)
        return
    for arch in args.arch:
        path = checkpoint(arch, args.format, args.workdir)
        for mode in args.modes:
            out = subprocess.run([sys.executable, __file__, "--child", mode, arch, str(path)],
                                 capture_output=True, text=True, check=True).stdout
            row = json.loads(next(line for line in out.splitlines() if line.startswith(MARK))[len(MARK):])
            row["peak_over_file"] = row["peak_rss_gb"] / row["file_gb"]
            print(json.dumps({k: rounded(v) for k, v in row.items()}), flush=True)


if __name__ == "__main__":
    main()
