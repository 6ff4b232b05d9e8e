"""What the fault-injection tests share: defects applied to generated data, tiny tasks, the CLI.

Each defect is one small function on a file or folder; each dataset family gets a clean copy
from the existing fake-data generators, one defect, and ``rsbench`` through its command line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from rsbench.cli import main

REPO = Path(__file__).resolve().parents[2]
#: Task YAML per family: the shipped dataset spec, the cheapest protocol, tiny sizes.
TASKS = {
    "ucmerced": """include: [{root}/tasks/classification/_protocols/knn.yaml]
task: {name}
version: 1
type: classification
dataset: {{name: ucmerced, split: {{kind: official, name: torchgeo}}, image_size: 32,
          bands: [R, G, B]}}
metrics: {{primary: overall_accuracy, higher_is_better: true}}
protocol: {{k: 3}}
""",
    "aid": """include: [{root}/tasks/classification/_protocols/knn.yaml]
task: {name}
version: 1
type: classification
dataset: {{name: aid, split: {{kind: ratio, train: 0.5, test: 0.5, seed: 0}}, image_size: 32,
          bands: [R, G, B]}}
metrics: {{primary: overall_accuracy, higher_is_better: true}}
protocol: {{k: 1}}
""",
    "loveda": """include: [{root}/tasks/demo/demo_loveda_frozen.yaml]
task: {name}
dataset: {{image_size: 32}}
protocol: {{iterations: 1, batch_size: 2, slide_stride: 32}}
""",
    "potsdam": """include: [{root}/tasks/segmentation/_datasets/potsdam_6cls.yaml,
          {root}/tasks/demo/demo_loveda_frozen.yaml]
task: {name}
dataset: {{name: potsdam, variant: rgb-eroded-6cls, split: {{kind: official, name: mmseg}},
          image_size: 32}}
protocol: {{iterations: 1, batch_size: 2, slide_stride: 32}}
""",
    "isaid": """include: [{root}/tasks/segmentation/_datasets/isaid.yaml,
          {root}/tasks/demo/demo_loveda_frozen.yaml]
task: {name}
dataset: {{name: isaid, split: {{kind: official, name: val-as-test}}, image_size: 32}}
protocol: {{iterations: 1, batch_size: 2, slide_stride: 32}}
""",
    "dior": """include: [{root}/tasks/demo/demo_dior_frozen.yaml]
task: {name}
dataset: {{image_size: 64}}
protocol: {{channels: 16, iterations: 1, batch_size: 2, eval_batch_size: 2, warmup_iters: 1,
            box_batch_size_per_image: 16}}
""",
}


def write_task(folder: Path, family: str, name: str) -> Path:
    """``folder/<name>.yaml``: a tiny task of ``family`` named ``name``."""
    path = folder / f"{name}.yaml"
    path.write_text(TASKS[family].format(root=REPO, name=name))
    return path


def run(card: Path, data_root: Path, out: Path, tasks: list[Path], cache: Path) -> int:
    """``rsbench run`` of ``tasks`` (seed 0, CPU, quiet); returns the exit code."""
    return main(["run", "--model", str(card), "--tasks", ",".join(map(str, tasks)),
                 "--seeds", "0", "--out", str(out), "--data-root", str(data_root),
                 "--cache-dir", str(cache), "--accelerator", "cpu", "--quiet"])


def records(out: Path) -> dict[str, dict]:
    """The records under ``out`` by task name."""
    found = (json.loads(p.read_text()) for p in Path(out).rglob("*.json"))
    return {r["task"]["name"]: r for r in found}


def prepare(name: str, src: Path, dst: Path, *extra: str) -> int:
    """``rsbench data prepare NAME --src --dst ...``; returns the exit code."""
    return main(["data", "prepare", name, "--src", str(src), "--dst", str(dst), *extra])


def errors(err: str) -> list[str]:
    """The ``rsbench: error:`` lines of captured stderr."""
    return [line for line in err.splitlines() if line.startswith("rsbench: error: ")]


# -- defects ---------------------------------------------------------------------------------

def truncate(path: Path) -> Path:
    """Keep the first half of the file's bytes (an interrupted copy or download)."""
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    return path


def zero_bytes(path: Path) -> Path:
    """Empty the file (a failed write)."""
    path.write_bytes(b"")
    return path


def greyscale(path: Path) -> Path:
    """Rewrite an image with one band instead of three, in the same format."""
    with Image.open(path) as img:
        grey = img.convert("L")
        fmt = img.format
    grey.save(path, format=fmt)
    return path


def write_mask(path: Path, value: int) -> Path:
    """Overwrite a single-band label with ``value`` everywhere (same size, same mode)."""
    with Image.open(path) as img:
        size, mode = img.size, img.mode
    Image.fromarray(np.full(size[::-1], value, np.uint8), mode="L").convert(mode).save(path)
    return path


def rename(folder: Path, new_name: str) -> Path:
    """Rename a folder (a release extracted under another name); returns the new path."""
    target = folder.with_name(new_name)
    folder.rename(target)
    return target


def copy_of(clean: Path, where: Path) -> Path:
    """A fresh copy of the clean generated dataset ``clean`` at ``where``."""
    shutil.copytree(clean, where)
    return where
