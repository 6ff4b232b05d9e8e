"""Fake EuroSAT for the band tests: 13-band GeoTIFFs in the real layout, torchgeo's split files."""

import pytest
from fake_data import generator


@pytest.fixture(scope="session")
def eurosat_root(tmp_path_factory):
    """``<tmp>/eurosat``: 3 images per class, 8 x 8 px, 13 bands, torchgeo's split files."""
    root = tmp_path_factory.mktemp("bands_data") / "eurosat"
    generator("eurosat").make(root, n_per_class=3, size=8, seed=0)
    return root

