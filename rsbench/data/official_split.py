"""Splits of datasets that ship one (LoveDA, ISPRS, iSAID, DIOR, DOTA): the official split, with a
val carved from its train part by the seed (``rsbench.data.seeded.carve_val``) when asked, and
a label-efficiency fraction of the rest (``rsbench.data.fractions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from rsbench.data.errors import SplitSpecError
from rsbench.data.splits import finite_number, parse_seed, parse_train_fraction

SPLIT_KEYS = {"kind", "name", "val_fraction", "seed"}


@dataclass(frozen=True)
class OfficialSplit:
    """A validated ``dataset.split`` of a dataset with an official split, maybe a val carved off.

    Attributes:
        kind: always ``"official"``.
        name: the dataset's official split name (e.g. ``"val-as-test"`` for LoveDA).
        val_fraction: fraction of the train groups (files, or tiles for ISPRS) held out as val.
        seed: the seed the val carve-out is drawn from (sha256 order, no RNG).
        note: what the official split means for this dataset (written into the split file).
        train_fraction: the label-efficiency fraction of train groups kept (seeded, nested; see
            rsbench.data.fractions), or None for all.
    """

    kind: str
    name: str
    val_fraction: float = 0.0
    seed: int = 0
    note: str = ""
    train_fraction: float | None = None

    def to_dict(self) -> dict:
        """The parameters that define the split (what records and split files carry)."""
        out = {"kind": self.kind, "name": self.name, "val_fraction": self.val_fraction,
               "seed": self.seed}
        if self.note:
            out["note"] = self.note
        if self.train_fraction is not None:  # only when set: other splits' hashes stay put
            out["train_fraction"] = self.train_fraction
        return out

    def file_stem(self, dataset: str) -> str:
        """e.g. ``loveda_official_val-as-test``, ``potsdam_official_mmseg_val0.1_seed0`` or
        ``loveda_official_val-as-test_frac0.05_seed0``."""
        stem = f"{dataset}_official_{self.name}"
        if self.val_fraction:
            stem += f"_val{self.val_fraction!r}"
        if self.train_fraction is not None:
            stem += f"_frac{self.train_fraction!r}"
        seeded = self.val_fraction or self.train_fraction is not None
        return f"{stem}_seed{self.seed}" if seeded else stem


def parse_official_split(raw: dict, official_name: str, note: str = "",
                         with_fraction: bool = False) -> OfficialSplit:
    """Validate ``{kind: official, name?, val_fraction?, seed?}``; errors name the field.

    ``with_fraction`` also accepts ``train_fraction`` (builders that apply it pass True).

    Raises:
        SplitSpecError: another kind, unknown keys, another name, a bad fraction or seed.
    """
    if not isinstance(raw, dict):
        raise SplitSpecError(f"dataset.split must be a mapping, got {raw!r}")
    if raw.get("kind") != "official":
        raise SplitSpecError(f"dataset.split.kind must be 'official' for this dataset (it has an "
                             f"official split), got {raw.get('kind')!r}")
    allowed = SPLIT_KEYS | ({"train_fraction"} if with_fraction else set())
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SplitSpecError(f"dataset.split: unknown field(s) {unknown}; allowed: "
                             f"{sorted(allowed)}")
    name = raw.get("name", official_name)
    if name != official_name:
        raise SplitSpecError(f"dataset.split.name must be {official_name!r}, got {name!r}")
    vf = finite_number(raw.get("val_fraction", 0.0))
    if vf is None or not 0.0 <= vf < 1.0:
        raise SplitSpecError(f"dataset.split.val_fraction must be a number in [0, 1), got "
                             f"{raw.get('val_fraction')!r}")
    return OfficialSplit("official", name, vf, parse_seed(raw, 0), note, parse_train_fraction(raw))
