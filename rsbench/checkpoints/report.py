"""The load report: what a checkpoint gave the encoder, in numbers a person can check.

A benchmark's worst failure is a silently random backbone, so every load says how many encoder
parameters came from the file, which keys were missing, reshaped or left out, and why. Keys the
encoder never wanted (decoders, heads, optimizer moments) are summarised by group: an MAE training
checkpoint holds thousands of them and nobody reads thousands of lines.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

THRESHOLD = 0.99  # below this fraction of encoder parameters a load is refused
NUMERIC = re.compile(r"^\d+$")


def plural(n: int, noun: str) -> str:
    """``"1 key"``, ``"3 keys"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def ignored_group(key: str) -> str:
    """``"optimizer.state.*"`` for ``optimizer.state.7.exp_avg``: the key up to its first index.

    Keys without an index lose their last part (``state_dict.head.*``) when they have three or
    more parts, so a module's weight and bias share one group.
    """
    parts = key.split(".")
    index = next((i for i, p in enumerate(parts) if NUMERIC.match(p)), None)
    if index is not None:
        return ".".join(parts[:index]) + ".*"
    return ".".join(parts[:-1]) + ".*" if len(parts) > 2 else key


def encoder_group(key: str) -> str:
    """``"blocks.11"`` for ``blocks.11.attn.qkv.weight``; ``"patch_embed"`` for its weight."""
    parts = key.split(".")
    index = next((i for i, p in enumerate(parts) if NUMERIC.match(p)), None)
    return ".".join(parts[: index + 1]) if index is not None else parts[0]


def summarise(keys: list[str], limit: int = 25) -> dict[str, int]:
    """Key counts per ``ignored_group``, largest first, at most ``limit`` groups plus a remainder."""
    counts = Counter(ignored_group(k) for k in keys)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    out = dict(ranked[:limit])
    if len(ranked) > limit:
        out[f"({len(ranked) - limit} more groups)"] = sum(n for _, n in ranked[limit:])
    return out


@dataclass
class LoadReport:
    """How a checkpoint filled an encoder.

    Attributes:
        path: the checkpoint file or folder.
        arch: the target architecture.
        storage: ``torch-zip``, ``torch-legacy``, ``safetensors``, ``dcp`` or ``hf-folder``.
        format: ``timm``, ``mae``, ``lightning``, ``hf-vit`` or ``hf-vitmae``.
        sha256: content hash of the file (of every file, for a folder).
        prefix: what was stripped from checkpoint keys to reach the encoder (``model.``...).
        matched: target keys filled from the checkpoint (resampled ones included).
        total_keys: keys of the target encoder.
        params_loaded: parameters filled from the checkpoint.
        params_total: parameters of the target encoder.
        missing: target keys left at their random initialisation (mismatched ones excluded).
        unexpected: checkpoint keys under the encoder prefix that fit no target key.
        mismatched: ``key -> "checkpoint -> target"`` shapes no known remedy reconciles.
        resampled: ``key -> "old -> new"`` shapes fitted by interpolation or channel repetition.
        ignored: checkpoint keys deliberately not loaded, counted per group.
        ignored_count: their total number.
        warnings: facts to read before trusting the numbers (config disagreements...).
        missing_params: parameters not loaded (missing or mismatched) per encoder group.
        allow_partial: whether a load below the threshold was explicitly allowed.
        arch_source: where ``arch`` came from when the checkpoint was asked for it
            (``--arch auto``): the evidence and the overrides built; None when given.
    """

    path: str
    arch: str
    storage: str
    format: str
    sha256: str | None
    prefix: str
    matched: int
    total_keys: int
    params_loaded: int
    params_total: int
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: dict[str, str] = field(default_factory=dict)
    resampled: dict[str, str] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    ignored_count: int = 0
    warnings: list[str] = field(default_factory=list)
    missing_params: dict[str, int] = field(default_factory=dict)
    allow_partial: bool = False
    arch_source: str | None = None

    @property
    def fraction_loaded(self) -> float:
        """Share of encoder parameters (by count, not keys) filled from the checkpoint."""
        return self.params_loaded / self.params_total if self.params_total else 0.0

    @property
    def complete(self) -> bool:
        """True when the load clears the threshold."""
        return self.fraction_loaded >= THRESHOLD

    def largest_missing(self, n: int = 3) -> list[str]:
        """``["blocks.1 (111,168 params)", ...]``: the groups that cost most, largest first."""
        ranked = sorted(self.missing_params.items(), key=lambda kv: (-kv[1], kv[0]))
        return [f"{g} ({p:,} params)" for g, p in ranked[:n]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for run records and ``rsbench inspect --json``)."""
        return {**asdict(self), "fraction_loaded": round(self.fraction_loaded, 6)}

    def to_json(self) -> str:
        """``to_dict`` as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def refusal(self) -> str:
        """The one-line reason a load below the threshold is refused."""
        why = (f"missing {', '.join(self.largest_missing())}" if self.missing_params
               else "nothing missing")
        hints = []
        if self.mismatched:
            hints.append(f"{len(self.mismatched)} keys have shapes that do not fit")
        if self.unexpected:
            hints.append(f"{len(self.unexpected)} checkpoint keys fit no {self.arch} key")
        hint = f" ({'; '.join(hints)}: is --arch right?)" if hints else ""
        return (f"{self.path}: only {self.fraction_loaded:.1%} of {self.arch} encoder parameters "
                f"loaded ({self.params_loaded:,}/{self.params_total:,}); {why}{hint}; "
                "pass --allow-partial to run anyway")

    def to_text(self) -> str:
        """A table for people (``rsbench inspect``)."""
        rows = [
            ("checkpoint", self.path),
            ("storage / format", f"{self.storage} / {self.format}"),
            ("sha256", self.sha256 or "-"),
            ("arch", self.arch),
            *([("arch source", self.arch_source)] if self.arch_source else []),
            ("encoder prefix", repr(self.prefix)),
            ("keys matched", f"{self.matched}/{self.total_keys}"),
            ("parameters", f"{self.params_loaded:,}/{self.params_total:,} "
                           f"({self.fraction_loaded:.2%}){'' if self.complete else '  BELOW 99%'}"),
            ("ignored", plural(self.ignored_count, "key")),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        sections = [
            ("resampled", [f"{k}: {v}" for k, v in self.resampled.items()]),
            ("mismatched", [f"{k}: {v}" for k, v in self.mismatched.items()]),
            ("missing", self.largest_missing(len(self.missing_params))),
            ("unexpected", self.unexpected),
            ("ignored groups", [f"{g}: {plural(n, 'key')}" for g, n in self.ignored.items()]),
            ("warnings", self.warnings),
        ]
        for title, items in sections:
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  {item}" for item in items[:40])
                if len(items) > 40:
                    lines.append(f"  ... {len(items) - 40} more")
        return "\n".join(lines)
