"""The shipped zoo cards: each names a zoo entry, torchgeo weights and the file they point to."""

from pathlib import Path
from urllib.parse import urlparse

import pytest

from rsbench.config import load_card
from rsbench.zoo import entries, zoo_entry, zoo_rows

CARDS = sorted((Path(__file__).resolve().parents[2] / "models" / "zoo").glob("*.yaml"))


@pytest.mark.parametrize("path", CARDS, ids=lambda p: p.stem)
def test_card_names_the_file_torchgeos_weights_point_to(path):
    card = load_card(path)
    entry = zoo_entry(card.arch)
    weights = entry.weights_member(card.meta["weights"])
    assert Path(card.checkpoint).name == Path(urlparse(weights.url).path).name
    assert card.pool in entry.pools
    assert len(card.input_spec.bands) == len(card.input_spec.mean)


#: Entries without a shipped card: every torchgeo release of swin_v2_t takes ESA's TCI rendering
#: of Sentinel-2 (no rescale of reflectance), so only a card with its own input_spec can use it.
NO_CARD = {"swin_v2_t"}


def test_every_entry_has_a_card_and_a_row():
    named = {load_card(p).arch for p in CARDS}
    assert named == {f"zoo:{name}" for name in entries() if name not in NO_CARD}
    rows = zoo_rows()
    assert [r["arch"] for r in rows] == [f"zoo:{name}" for name in entries()]
    assert {r["conditioning"] for r in rows} == {"none", "wavelength", "gsd"}
