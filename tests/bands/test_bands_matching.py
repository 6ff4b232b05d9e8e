"""The band registry against the published specs, and band matching against hand-made tables."""

import pytest

from rsbench.bands.matching import match_bands
from rsbench.bands.sensors import SENSORS, BandError, band, bands, sensor_bands

S2_FILE_ORDER = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10", "B11",
                 "B12", "B8A")


def test_s2_b04_is_esas_red_band():
    # ESA S2-SRF (COPE-GSEG-EOPG-TN-15-0007) issue 3.0, S2A: B4 centre 664.6 nm, width 38 nm.
    red = band("B04", "s2_l1c")
    assert (red.centre_nm, red.bandwidth_nm, red.gsd_m, red.common) == (664.6, 38.0, 10.0, "red")
    assert band("red", "s2_l1c") is red and band("b4", "s2_l1c") is red
    assert band("s2_l1c:B04", "rgb") is red


def test_s2_and_landsat_centres_equal_torchgeos():
    from torchgeo.datasets import Landsat8, Sentinel2

    for b in sensor_bands("s2_l1c"):
        assert b.centre_nm == pytest.approx(Sentinel2.wavelengths[b.name] * 1000, abs=1e-9)
    for b in sensor_bands("landsat8"):
        assert b.centre_nm == pytest.approx(Landsat8.wavelengths[b.name] * 1000, abs=1e-9)


def test_sensor_band_counts_and_l2a_drops_cirrus():
    counts = {s: len(b) for s, b in SENSORS.items()}
    assert counts["s2_l1c"] == 13 and counts["s2_l2a"] == 12 and counts["landsat8"] == 11
    assert "B10" not in [b.name for b in SENSORS["s2_l2a"]]
    assert [b.name for b in SENSORS["s1"]] == ["VV", "VH"]
    # c / 5.405 GHz = 55.466 mm
    assert band("VV", "s1").centre_nm == pytest.approx(55.4658e6, rel=1e-5)


def test_unknown_and_ambiguous_names_are_one_line_errors():
    with pytest.raises(BandError, match="unknown band 'B13' of sensor 's2_l1c'; its bands: B01"):
        band("B13", "s2_l1c")
    with pytest.raises(BandError, match="'rededge' of sensor 's2_l1c' is ambiguous: B05, B06, B07"):
        band("rededge", "s2_l1c")
    with pytest.raises(BandError, match="unknown sensor 'sentinel2'; known: s2_l1c"):
        band("B04", "sentinel2")
    with pytest.raises(BandError, match="^card.yaml: input_spec.bands: unknown band 'X'"):
        bands(("R", "X"), "rgb", "card.yaml: input_spec.bands")


def table(model, model_sensor, data, data_sensor):
    m = match_bands(bands(model, model_sensor, "m"), bands(data, data_sensor, "d"))
    return [(e.model.name, e.data.name if e.data else None, e.index, e.rule) for e in m.entries]


def test_rgb_model_on_eurosat_takes_b04_b03_b02_in_torchgeos_band_order():
    from torchgeo.datasets import EuroSAT

    assert EuroSAT.all_band_names == S2_FILE_ORDER  # B8A last (torchgeo PR 2480)
    assert table(("R", "G", "B"), "rgb", EuroSAT.all_band_names, "s2_l1c") == [
        ("R", "B04", 3, "common name"), ("G", "B03", 2, "common name"),
        ("B", "B02", 1, "common name")]


def test_s2_model_on_landsat_matches_by_common_name_and_wavelength_and_misses_b08():
    # B8A (864.7) is L8 B5's common name nir08; B08 (832.8, "nir") is 32.2 nm from B5's 865
    # and B5 is taken anyway; B05 (704.1) has no L8 band within 20 nm.
    assert table(("B02", "B03", "B04", "B05", "B08", "B8A"), "s2_l2a",
                 ("B1", "B2", "B3", "B4", "B5", "B6", "B7"), "landsat9") == [
        ("B02", "B2", 1, "common name"), ("B03", "B3", 2, "common name"),
        ("B04", "B4", 3, "common name"), ("B05", None, None, "missing"),
        ("B08", None, None, "missing"), ("B8A", "B5", 4, "common name")]


def test_wavelength_pass_takes_the_nearest_band_within_tolerance():
    # NAIP's ADS100 NIR (808-882 nm, centre 845) is S2 B08's common name; S2 B8A has no NAIP
    # band left, and B02 (492.7) meets NAIP B (465) by common name, not by its 27.7 nm.
    m = match_bands(bands(("B8A", "B08", "B02"), "s2_l1c", "m"),
                    bands(("R", "G", "B", "NIR"), "naip", "d"))
    assert [(e.data.name if e.data else None, e.rule) for e in m.entries] == [
        (None, "missing"), ("NIR", "common name"), ("B", "common name")]
    # Landsat B1 (coastal, 440) vs a model naming S2 B01 by its qualified name: common name.
    m = match_bands(bands(("s2_l1c:B01",), "rgb", "m"), bands(("B1",), "landsat8", "d"))
    assert m.entries[0].rule == "common name"
    # Without common names, only the wavelength: ISPRS Vaihingen's IR (675-850, centre 762.5)
    # lies 20.3 nm from B07 (782.8): outside 20 nm, inside 25.
    vai = bands(("IR",), "isprs_irrg", "d")
    b07 = bands(("B07",), "s2_l1c", "m")
    assert match_bands(b07, vai).missing == b07
    wide = match_bands(b07, vai, tolerance_nm=25.0).entries[0]
    assert (wide.rule, round(wide.delta_nm, 3)) == ("wavelength", -20.3)


def test_same_family_matches_by_name_and_sar_by_polarisation_only():
    assert table(("B04", "B11"), "s2_l1c", ("B11", "B04"), "s2_l2a") == [
        ("B04", "B04", 1, "name"), ("B11", "B11", 0, "name")]
    assert table(("VV", "VH"), "s1", ("VH", "VV"), "s1") == [
        ("VV", "VV", 1, "name"), ("VH", "VH", 0, "name")]
    assert table(("VV",), "s1", ("VH",), "s1") == [("VV", None, None, "missing")]
