"""Locating files shipped in ``resources/`` (source tree, wheel, or frozen app)."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """Return the folder holding twinreview's bundled resources.

    Looks, in order, in a PyInstaller bundle, inside the installed package (the wheel
    force-includes ``resources/`` as ``twinreview/resources``) and at the top of a source checkout.

    Raises:
        FileNotFoundError: when none exists (a broken install).
    """
    here = Path(__file__).resolve()
    candidates = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        candidates.append(Path(frozen) / "twinreview" / "resources")
    candidates += [here.parents[1] / "resources", here.parents[3] / "resources"]
    for c in candidates:
        if (c / "demo").is_dir():
            return c
    raise FileNotFoundError("twinreview's resources folder is missing; reinstall twinreview")


def resource(*parts: str) -> Path:
    """Return the path of one bundled resource, e.g. ``resource("demo", "rocket.jpg")``."""
    return resources_dir().joinpath(*parts)
