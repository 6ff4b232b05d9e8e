"""The sensor and band registry: every band a task or a model card may name, with its physics.

A band is named within a sensor (``B04`` of ``s2_l1c``) or qualified (``s2_l1c:B04``); names are
case-insensitive and each band also answers to its aliases and to its common name (``red``), the
STAC ``eo`` extension's vocabulary, which is what lets bands of different sensors be matched.

Sources of the figures (centre wavelength and bandwidth in nm, ground sampling distance in m):

- Sentinel-2A MSI: ESA, "Sentinel-2 Spectral Response Functions (S2-SRF)",
  COPE-GSEG-EOPG-TN-15-0007, issue 3.0 (central wavelength and bandwidth of the S2A curves);
  GSD from the ESA Sentinel-2 User Handbook. L2A drops the cirrus band B10.
- Landsat 8 OLI/TIRS and Landsat 9 OLI-2/TIRS-2: USGS, "What are the band designations for the
  Landsat satellites?" (band edges; centre = mid-point, bandwidth = width). Same for both.
- Sentinel-1 C-SAR: ESA Sentinel-1 User Handbook, centre frequency 5.405 GHz (wavelength
  55.47 mm), IW GRD pixel spacing 10 m. Polarisations share the wavelength, so SAR bands match
  by name only.
- NAIP: USDA FSA NAIP imagery from the Leica ADS100 (the camera of most recent years): blue
  435-495, green 525-585, red 619-651, NIR 808-882 nm; 0.6 m.
- ISPRS Vaihingen (IR, R, G; Intergraph Z/I DMC: green 500-650, red 590-675, NIR 675-850 nm;
  9 cm) and Potsdam (R, G, B, IR; 5 cm; the camera's curves are not published, so no wavelength).
- ``rgb`` / ``rgbn``: a camera of unknown curves; its bands match by common name only.
"""

from __future__ import annotations

from dataclasses import dataclass

from rsbench.errors import RsbenchError

#: Sentinel-1 C-band: c / 5.405 GHz in nm.
S1_WAVELENGTH_NM = 299_792_458 / 5.405e9 * 1e9


class BandError(RsbenchError, ValueError):
    """An unknown sensor or band, or bands that cannot be matched; one line naming the field."""


@dataclass(frozen=True)
class Band:
    """One band of one sensor.

    Attributes:
        sensor: registry id of the sensor, e.g. ``"s2_l1c"``.
        name: the band's name within the sensor, e.g. ``"B04"``.
        common: STAC ``eo`` common name (``"red"``), or None.
        centre_nm: centre wavelength, or None where the spectral response is not published.
        bandwidth_nm: full width of the band, or None.
        gsd_m: ground sampling distance, or None for a camera of unknown resolution.
        aliases: other spellings of ``name`` (``"B4"``).
        optical: False for SAR, whose bands never match by wavelength.
    """

    sensor: str
    name: str
    common: str | None
    centre_nm: float | None
    bandwidth_nm: float | None
    gsd_m: float | None
    aliases: tuple[str, ...] = ()
    optical: bool = True

    @property
    def qualified(self) -> str:
        """``"sensor:name"``, unique across the registry."""
        return f"{self.sensor}:{self.name}"

    def answers_to(self, name: str) -> bool:
        """Whether ``name`` (case-insensitive) is this band's name or one of its aliases."""
        return name.lower() in {self.name.lower(), *(a.lower() for a in self.aliases)}

    def to_dict(self) -> dict:
        """JSON-ready description (for records and ``rsbench ls``)."""
        return {"band": self.qualified, "common": self.common, "centre_nm": self.centre_nm,
                "bandwidth_nm": self.bandwidth_nm, "gsd_m": self.gsd_m}


def _s2(sensor: str, skip: tuple[str, ...] = ()) -> tuple[Band, ...]:
    # (name, common, centre, bandwidth, gsd): S2A columns of S2-SRF issue 3.0.
    rows = (
        ("B01", "coastal", 442.7, 20.0, 60.0), ("B02", "blue", 492.7, 65.0, 10.0),
        ("B03", "green", 559.8, 35.0, 10.0), ("B04", "red", 664.6, 38.0, 10.0),
        ("B05", "rededge", 704.1, 14.0, 20.0), ("B06", "rededge", 740.5, 14.0, 20.0),
        ("B07", "rededge", 782.8, 19.0, 20.0), ("B08", "nir", 832.8, 105.0, 10.0),
        ("B8A", "nir08", 864.7, 21.0, 20.0), ("B09", "nir09", 945.1, 19.0, 60.0),
        ("B10", "cirrus", 1373.5, 29.0, 60.0), ("B11", "swir16", 1613.7, 90.0, 20.0),
        ("B12", "swir22", 2202.4, 174.0, 20.0),
    )
    return tuple(Band(sensor, n, c, w, bw, g, aliases=(_short(n),))
                 for n, c, w, bw, g in rows if n not in skip)


def _short(name: str) -> str:
    """``B04`` -> ``B4``, ``B8A`` -> ``B08A``: the other spelling in common use."""
    return "B08A" if name == "B8A" else name[0] + str(int(name[1:]))


def _edges(sensor: str, rows: tuple) -> tuple[Band, ...]:
    # (name, common, low_um, high_um, gsd): centre and width from the band edges.
    return tuple(Band(sensor, n, c, round((lo + hi) * 500, 3), round((hi - lo) * 1000, 3), g)
                 for n, c, lo, hi, g in rows)


_LANDSAT_OLI = (
    ("B1", "coastal", 0.43, 0.45, 30.0), ("B2", "blue", 0.45, 0.51, 30.0),
    ("B3", "green", 0.53, 0.59, 30.0), ("B4", "red", 0.64, 0.67, 30.0),
    ("B5", "nir08", 0.85, 0.88, 30.0), ("B6", "swir16", 1.57, 1.65, 30.0),
    ("B7", "swir22", 2.11, 2.29, 30.0), ("B8", "pan", 0.50, 0.68, 15.0),
    ("B9", "cirrus", 1.36, 1.38, 30.0), ("B10", "lwir11", 10.60, 11.19, 100.0),
    ("B11", "lwir12", 11.50, 12.51, 100.0),
)


def _camera(sensor: str, rows: tuple, gsd: float | None) -> tuple[Band, ...]:
    # (name, common, low_nm, high_nm, aliases); None edges where the curves are unpublished.
    return tuple(Band(sensor, n, c, None if lo is None else (lo + hi) / 2,
                      None if lo is None else hi - lo, gsd, aliases=al)
                 for n, c, lo, hi, al in rows)


_RGB = (("R", "red", None, None, ()), ("G", "green", None, None, ()),
        ("B", "blue", None, None, ()))
_NIR = ("NIR", "nir", None, None, ("IR",))

SENSORS: dict[str, tuple[Band, ...]] = {
    "s2_l1c": _s2("s2_l1c"),
    "s2_l2a": _s2("s2_l2a", skip=("B10",)),
    "landsat8": _edges("landsat8", _LANDSAT_OLI),
    "landsat9": _edges("landsat9", _LANDSAT_OLI),
    "s1": tuple(Band("s1", p, None, S1_WAVELENGTH_NM, None, 10.0, optical=False)
                for p in ("VV", "VH")),
    "naip": _camera("naip", (("R", "red", 619, 651, ()), ("G", "green", 525, 585, ()),
                             ("B", "blue", 435, 495, ()), ("NIR", "nir", 808, 882, ("IR",))), 0.6),
    "isprs_irrg": _camera("isprs_irrg", (("IR", "nir", 675, 850, ("NIR",)),
                                         ("R", "red", 590, 675, ()),
                                         ("G", "green", 500, 650, ())), 0.09),
    "isprs_rgbir": _camera("isprs_rgbir", (*_RGB, ("IR", "nir", None, None, ("NIR",))), 0.05),
    "rgb": _camera("rgb", (*_RGB, _NIR), None),
    "rgbn": _camera("rgbn", (*_RGB, _NIR), None),
}


def sensor_bands(sensor: str) -> tuple[Band, ...]:
    """Every band of ``sensor``, in the registry's order.

    Raises:
        BandError: an unknown sensor (the message lists the known ones).
    """
    if sensor not in SENSORS:
        raise BandError(f"unknown sensor {sensor!r}; known: {', '.join(SENSORS)}")
    return SENSORS[sensor]


def band(ref: str, sensor: str) -> Band:
    """The band ``ref`` names: ``"B04"`` or ``"red"`` within ``sensor``, or ``"s1:VV"``.

    A common name resolves only when one band of the sensor has it (``rededge`` is three).

    Raises:
        BandError: an unknown sensor or band, or an ambiguous common name.
    """
    if ":" in ref:
        sensor, ref = ref.split(":", 1)
    bands = sensor_bands(sensor)
    named = [b for b in bands if b.answers_to(ref)]
    if not named:
        named = [b for b in bands if b.common == ref.lower()]
        if len(named) > 1:
            raise BandError(f"band {ref!r} of sensor {sensor!r} is ambiguous: "
                            f"{', '.join(b.name for b in named)} share it; name one of them")
    if not named:
        raise BandError(f"unknown band {ref!r} of sensor {sensor!r}; its bands: "
                        f"{', '.join(b.name for b in bands)}")
    return named[0]


def bands(refs: tuple[str, ...], sensor: str, where: str) -> tuple[Band, ...]:
    """``refs`` resolved in ``sensor``; an error names ``where`` (the field) and the band."""
    try:
        return tuple(band(r, sensor) for r in refs)
    except BandError as err:
        raise BandError(f"{where}: {err}") from None
