"""Can the extraction loader keep a model busy? Decode throughput against model throughput.

Images in the shipped classification datasets' on-disk formats and sizes (UC Merced: 256 px
uncompressed TIFF; AID: 600 px JPEG; NWPU-RESISC45: 256 px JPEG; smooth random content, so the
JPEG files are of realistic size) are read as a frozen extraction reads them: ``SceneDataset``
with ``RGBReader`` and the antialiased resize to ``--size``, batched by a ``DataLoader`` with
rsbench's own loader options (``rsbench.engine.features.loader_options``: pinned memory on a
GPU, persistent workers) at each ``--workers`` count. A loader is timed over its second pass
(its workers already started, as in a suite's later tasks). Then the frozen forward pass of
each ``--arch`` (random weights, batch 64, inference mode; fp32 on the CPU, bf16 autocast on
a GPU) is timed on the same machine, with its FLOPs per image (``FlopCounterMode``), the
TFLOP/s reached and, given ``--peak-tflops``, the fraction of the device's peak.

The last row divides: how many decoding processes each model needs to be fed at its measured
rate (model img/s over one worker's img/s). On a GPU that count is what ``num_workers`` must
reach (``extraction_workers`` gives every CPU of the job but one).

    python benchmarks/loader_throughput.py --workers 0 1 2 --arch vit_small_patch16 vit_base_patch16 vit_large_patch16

Prints one JSON line per measurement; BENCHMARKS.md records results.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

FORMATS = {"ucmerced_tif_256": ("tif", 256), "aid_jpg_600": ("jpg", 600),
           "resisc45_jpg_256": ("jpg", 256)}


def emit(row: dict) -> None:
    print(json.dumps({**row, "load_avg_1m": round(os.getloadavg()[0], 2),
                      "cpus": len(os.sched_getaffinity(0))}), flush=True)


def written(root: Path, kind: str, n: int) -> list[Path]:
    """``n`` images of ``kind`` under ``root``: smooth random fields plus a little noise."""
    import numpy as np
    from PIL import Image

    ext, size = FORMATS[kind]
    rng = np.random.default_rng(0)
    (root / kind).mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        coarse = Image.fromarray(rng.integers(0, 256, (size // 16, size // 16, 3), dtype=np.uint8))
        smooth = np.asarray(coarse.resize((size, size), Image.BILINEAR), dtype=np.int16)
        pixels = np.clip(smooth + rng.integers(-12, 13, smooth.shape), 0, 255).astype(np.uint8)
        path = root / kind / f"{i:05d}.{ext}"
        Image.fromarray(pixels).save(path, **({"quality": 95} if ext == "jpg" else {}))
        files.append(path)
    return files


def loader_row(kind: str, files: list[Path], workers: int, size: int, accelerator: str) -> dict:
    import torch

    from rsbench.data.dataset import SceneDataset
    from rsbench.data.decode import RGBReader
    from rsbench.engine import EngineOptions
    from rsbench.engine.features import loader_options

    data = SceneDataset(Path("/"), [(str(f), 0) for f in files], RGBReader(), size)
    options = loader_options(workers, EngineOptions(accelerator=accelerator))
    loader = torch.utils.data.DataLoader(data, batch_size=64, num_workers=workers, **options)
    for _ in loader:  # the first pass starts the workers
        pass
    start = time.perf_counter()
    for _ in loader:
        pass
    seconds = time.perf_counter() - start
    return {"row": "decode", "format": kind, "workers": workers, "images": len(files),
            "size": size, "img_per_s": round(len(files) / seconds, 1),
            "mean_file_kb": round(sum(f.stat().st_size for f in files) / len(files) / 1024, 1),
            **options}


def model_row(arch: str, size: int, device: str, batches: int, peak_tflops: float | None) -> dict:
    import torch

    from rsbench.backbones import InputSpec, build_backbone

    torch.manual_seed(0)
    backbone = build_backbone(arch, InputSpec(img_size=size)).eval().to(device)
    images = torch.rand(64, 3, size, size, device=device)
    autocast = torch.autocast("cuda", torch.bfloat16) if device == "cuda" else torch.autocast(
        "cpu", enabled=False)

    def run() -> None:
        with torch.inference_mode(), autocast:
            backbone.pooled(images)
        if device == "cuda":
            torch.cuda.synchronize()

    run()  # warm-up
    start = time.perf_counter()
    for _ in range(batches):
        run()
    seconds = time.perf_counter() - start
    rate = 64 * batches / seconds
    flops = image_flops(backbone, size, device)
    row = {"row": "model", "arch": arch, "device": device, "size": size,
           "dtype": "bf16 autocast" if device == "cuda" else "fp32",
           "threads": torch.get_num_threads(), "img_per_s": round(rate, 1),
           "gflop_per_image": round(flops / 1e9, 2), "achieved_tflop_s": round(rate * flops / 1e12, 2)}
    if peak_tflops:
        row["fraction_of_peak"] = round(rate * flops / 1e12 / peak_tflops, 3)
    if device == "cuda":
        row["gpu"] = torch.cuda.get_device_name(0)
        row["torch"] = torch.__version__
    return row


def image_flops(backbone, size: int, device: str) -> float:
    """FLOPs of one image's forward pass, as torch's ``FlopCounterMode`` counts them (matrix
    products and convolutions: 2 per multiply-add)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        backbone.pooled(torch.rand(1, 3, size, size, device=device))
    return float(counter.get_total_flops())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arch", nargs="+", default=["vit_small_patch16", "vit_base_patch16",
                                                  "vit_large_patch16"])
    p.add_argument("--images", type=int, default=256, help="per format")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batches", type=int, default=3, help="timed model batches of 64")
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--peak-tflops", type=float, default=None,
                   help="the device's dense peak (bf16 on a GPU) for fraction_of_peak")
    p.add_argument("--no-decode", action="store_true", help="model rows only")
    args = p.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    accelerator = "gpu" if device == "cuda" else "cpu"
    per_worker: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in () if args.no_decode else FORMATS:
            files = written(Path(tmp), kind, args.images)
            for workers in args.workers:
                row = loader_row(kind, files, workers, args.size, accelerator)
                emit(row)
                if workers == 1:
                    per_worker[kind] = row["img_per_s"]
    models = {}
    for arch in args.arch:
        row = model_row(arch, args.size, device, args.batches, args.peak_tflops)
        emit(row)
        models[arch] = row["img_per_s"]
    if per_worker:
        emit({"row": "workers_needed", "device": device,
              "per_model": {arch: {kind: round(rate / per_worker[kind], 2) for kind in per_worker}
                            for arch, rate in models.items()}})


if __name__ == "__main__":
    main()
