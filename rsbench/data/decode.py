"""Image decoding: one file on disk -> a float32 ``[C, H, W]`` tensor in [0, 1], then resized.

Readers are small classes, not closures, so that datasets holding them pickle into DataLoader
worker processes under any start method.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from rsbench.data.errors import DataError, unreadable


def read_image(path: Path) -> torch.Tensor:
    """An image file as float32 ``[C, H, W]`` in [0, 1] (8-bit PNG/TIFF, 1 or 3 channels)."""
    with Image.open(path) as img:
        arr = np.asarray(img.convert("RGB") if img.mode not in ("RGB", "L") else img)
    arr = arr[..., None] if arr.ndim == 2 else arr
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float().div_(255.0)


def read_array(path: Path) -> np.ndarray:
    """The raw pixel array of a PNG (``[H, W]`` or ``[H, W, 3]`` uint8)."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB") if img.mode in ("P", "RGBA") else img)


def read_tiff(path: Path) -> np.ndarray:
    """A TIFF as ``[H, W, C]`` uint8 (band-sequential files are transposed)."""
    import tifffile

    try:
        arr = np.asarray(tifffile.imread(path))
    except FileNotFoundError:
        raise
    except Exception as err:  # truncated, empty or not a TIFF: named, one line, no traceback
        raise unreadable(path, err, "replace it (extract it again from the release)") from None
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (3, 4):
        arr = arr.transpose(1, 2, 0)
    if arr.dtype != np.uint8:
        raise DataError(f"{path}: expected 8-bit pixels, got {arr.dtype}")
    return arr


class RGBReader:
    """Decode an 8-bit RGB image (JPEG, PNG, TIFF) with Pillow and keep the chosen channels.

    Args:
        channels: channel indices into (R, G, B), in the order the model expects them.
    """

    def __init__(self, channels: tuple[int, ...] = (0, 1, 2)) -> None:
        self.channels = tuple(channels)

    def __call__(self, path: Path) -> torch.Tensor:
        """The image as float32 ``[len(channels), H, W]`` scaled by 1/255."""
        with Image.open(path) as img:
            # convert() also turns palette/greyscale/CMYK files into plain RGB.
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
        tensor = torch.from_numpy(array.copy()).permute(2, 0, 1)
        if self.channels != (0, 1, 2):
            tensor = tensor[list(self.channels)]
        return tensor.to(torch.float32).div_(255.0)

    def __repr__(self) -> str:
        return f"RGBReader(channels={self.channels})"


class RasterReader:
    """Read chosen bands of a multi-band GeoTIFF with rasterio (what torchgeo uses for them).

    Args:
        indexes: 1-based band indexes in the file, in output order.
        scale: raw value mapped to 1.0; values are divided by it and clipped to [0, 1].
    """

    def __init__(self, indexes: tuple[int, ...], scale: float) -> None:
        self.indexes = tuple(indexes)
        self.scale = float(scale)

    def __call__(self, path: Path) -> torch.Tensor:
        """The bands as float32 ``[len(indexes), H, W]`` in [0, 1]."""
        import rasterio

        with rasterio.open(path) as src:
            array = src.read(list(self.indexes)).astype(np.float32)
        tensor = torch.from_numpy(array)
        return tensor.div_(self.scale).clamp_(0.0, 1.0)

    def __repr__(self) -> str:
        return f"RasterReader(indexes={self.indexes}, scale={self.scale})"


def resized(image: torch.Tensor, size: int) -> torch.Tensor:
    """``image`` resized to ``size`` x ``size`` (bilinear, antialiased); unchanged if already so.

    Bilinear weights are non-negative, so only float rounding can step outside [0, 1]; the clamp
    keeps the documented range exact.
    """
    if image.shape[-2:] == (size, size):
        return image
    out = F.resize(image, [size, size], interpolation=InterpolationMode.BILINEAR, antialias=True)
    return out.clamp_(0.0, 1.0)
