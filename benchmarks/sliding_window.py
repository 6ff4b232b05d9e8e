"""Sliding-window segmentation inference: rsbench's batched windows against a plain PyTorch
loop (one forward per window, as mmseg's ``slide_inference`` with batch 1 runs it).

Same model (a seeded ViT + UperNet in eval mode), same images, same window grid; the two
outputs are checked equal before any time is reported.

    python benchmarks/sliding_window.py --arch vit_small_patch16 --image 512 --window 256

Prints one JSON line: images per second of both and the ratio. BENCHMARKS.md records results.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from rsbench.engine.sliding import sliding_logits, window_grid


def plain_loop(model, image: torch.Tensor, window: int, stride: int, num_classes: int) -> torch.Tensor:
    """What a user writes by hand: one forward per window, logits averaged where they overlap."""
    b, _, h, w = image.shape
    logits = torch.zeros(b, num_classes, h, w)
    counts = torch.zeros(1, 1, h, w)
    for y, x in window_grid(h, w, (window, window), (stride, stride)):
        logits[:, :, y:y + window, x:x + window] += model(image[:, :, y:y + window, x:x + window])
        counts[:, :, y:y + window, x:x + window] += 1
    return logits / counts


def images_per_second(fn, images: torch.Tensor, repeats: int) -> tuple[float, torch.Tensor]:
    """Best-of-``repeats`` throughput over the whole set, one image at a time, and the output."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        outs = [fn(images[i:i + 1]) for i in range(len(images))]
        best = min(best, time.perf_counter() - start)
    return len(images) / best, torch.cat(outs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", default="vit_small_patch16")
    p.add_argument("--image", type=int, default=512, help="image side (LoveDA: 1024)")
    p.add_argument("--window", type=int, default=256, help="crop size (RVSA: 512)")
    p.add_argument("--stride", type=int, default=None, help="default: 2/3 of the window")
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--window-batch", type=int, default=8, help="windows per forward for rsbench")
    p.add_argument("--classes", type=int, default=7)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    from rsbench.backbones import InputSpec, build_backbone
    from rsbench.heads.upernet import SegmentationModel, segmentation_head

    stride = args.stride or args.window * 2 // 3
    torch.manual_seed(0)
    backbone = build_backbone(args.arch, InputSpec(img_size=args.window))
    head = segmentation_head("upernet", backbone.embed_dim, args.classes, channels=256)
    model = SegmentationModel(backbone, head).to(args.device).eval()
    images = torch.rand(args.images, 3, args.image, args.image, device=args.device)

    def ours(x):
        return sliding_logits(model, x, args.window, stride, args.classes, args.window_batch)

    def theirs(x):
        return plain_loop(model, x, args.window, stride, args.classes)

    with torch.inference_mode():
        ours(images[:1]), theirs(images[:1])  # warm-up
        ours_ips, a = images_per_second(ours, images, args.repeats)
        theirs_ips, b = images_per_second(theirs, images, args.repeats)
    torch.testing.assert_close(a.cpu(), b.cpu(), rtol=1e-4, atol=1e-4)
    n_windows = len(window_grid(args.image, args.image, (args.window,) * 2, (stride,) * 2))
    print(json.dumps({
        "benchmark": "sliding_window", "arch": args.arch, "decoder": "upernet-256",
        "image": args.image, "window": args.window, "stride": stride, "windows_per_image": n_windows,
        "window_batch": args.window_batch, "rsbench_img_per_s": round(ours_ips, 3),
        "plain_loop_img_per_s": round(theirs_ips, 3), "ratio": round(ours_ips / theirs_ips, 2),
        "device": torch.cuda.get_device_name() if args.device == "cuda" else platform.machine(),
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
