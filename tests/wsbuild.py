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
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    chans = [
        127
        + 100
        * np.sin(x * rng.uniform(0.005, 0.04) + y * rng.uniform(0.005, 0.04) + rng.uniform(0, 6))
        for _ in range(3)
    ]
    arr = np.stack(chans, -1) + rng.normal(0, 8, (h, w, 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


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
