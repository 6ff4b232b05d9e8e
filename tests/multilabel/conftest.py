"""The fake BigEarthNet, written once per test session."""

import pytest
from fake_bigearthnet import make_fake_bigearthnet


@pytest.fixture(scope="session")
def bigearthnet_root(tmp_path_factory):
    """A data root holding ``bigearthnet/`` (the fake) for ``--data-root``."""
    data = tmp_path_factory.mktemp("ben_data")
    make_fake_bigearthnet(data / "bigearthnet")
    return data
