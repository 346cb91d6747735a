"""Builders for small workspaces on disk, used across tests."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np
from PIL import Image


def save_jpeg(img: Image.Image, path: Path, quality: int = 90) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.convert("RGB").save(path, "JPEG", quality=quality)
    return path


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def pattern(seed: int, size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A synthetic, photo-unrelated image (smooth colour fields plus noise), distinct per seed.

    Each call returns an image of its own (a copy of the one made once per seed and size).
    """
    return _pattern(seed, size).copy()


@functools.cache
def _pattern(seed: int, size: tuple[int, int]) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    # A row and a column of coordinates, broadcast (no h x w grids of them): a 12 MP frame's
    # scene is one of the larger things a test makes.
    x = np.arange(w, dtype=np.float32)[None, :]
    y = np.arange(h, dtype=np.float32)[:, None]
    arr = np.empty((h, w, 3), np.float64)
    for c in range(3):
        arr[:, :, c] = 127 + 100 * np.sin(
            x * rng.uniform(0.005, 0.04) + y * rng.uniform(0.005, 0.04) + rng.uniform(0, 6)
        )
    arr += rng.normal(0, 8, (h, w, 3))
    np.clip(arr, 0, 255, out=arr)
    return Image.fromarray(arr.astype(np.uint8))


def make_workspace(root: Path, *, toml: str | None = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if toml is not None:
        (root / "twinreview.toml").write_text(toml)
    (root / "models").mkdir(exist_ok=True)
    (root / "assets").mkdir(exist_ok=True)
    return root


def add_model(root: Path, model_id: str, refs: dict[str, Image.Image], toml: str = "") -> Path:
    d = root / "models" / model_id
    (d / "references").mkdir(parents=True, exist_ok=True)
    if toml:
        (d / "model.toml").write_text(toml)
    for name, img in refs.items():
        save_jpeg(img, d / "references" / name)
    return d
