"""A zoo card's input spec is read from torchgeo once per version, then from rsbench's hash
cache: a re-run that the records answer needs neither torch nor torchgeo."""

from pathlib import Path

import pytest

from rsbench import hashcache
from rsbench.config import card_from_dict, read_yaml

CARD = Path(__file__).resolve().parents[2] / "models" / "zoo" / "dofa_base.yaml"


def test_the_second_read_of_a_zoo_card_asks_torchgeo_nothing(tmp_path, monkeypatch):
    hashcache.remember_in(tmp_path / "cache")
    hashcache.forget_in_memory()  # another test may have read the card in this process
    try:
        first = card_from_dict(read_yaml(CARD), str(CARD), CARD.parent)

        def never(*_args):
            raise AssertionError("torchgeo's weights were read again")

        monkeypatch.setattr("rsbench.zoo.spec.card_spec", never)
        hashcache.forget_in_memory()  # a new process: only the disk entry is left
        again = card_from_dict(read_yaml(CARD), str(CARD), CARD.parent)
        assert again.input_spec == first.input_spec
        assert again.input_spec.extras == first.input_spec.extras == {"conditioning": "wavelength"}
        monkeypatch.setattr("rsbench.hashcache.file_version",
                            lambda p: ("another version of the zoo's code", 0, 0, 0))
        with pytest.raises(AssertionError, match="read again"):
            card_from_dict(read_yaml(CARD), str(CARD), CARD.parent)
    finally:
        hashcache.remember_in(None)
        hashcache.forget_in_memory()
