"""Packaging inputs the frozen app depends on: icons, Linux desktop metadata, the version.

The frozen app itself is built and smoke-tested by ``.ci/run`` after pytest
(``packaging/build.py`` then ``packaging/smoke.py``): building takes about a minute, too long
for the test suite. These tests check, quickly, what that build consumes.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import defusedxml.ElementTree as ET
import pytest
from PIL import Image, ImageStat

REPO = Path(__file__).resolve().parents[1]
LINUX = REPO / "packaging" / "linux"
APP_ID = "org.twinreview.TwinReview"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]["version"]


def test_icons_render_from_the_svg(tmp_path: Path) -> None:
    # A subprocess: rendering needs a QGuiApplication, which must not become this process's
    # Qt application (pytest-qt creates a QApplication for the UI tests).
    proc = subprocess.run(
        [sys.executable, str(REPO / "packaging" / "build.py"), "--icons-only", "--work", tmp_path],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    icons = tmp_path / "icons"
    with Image.open(icons / "twinreview.ico") as ico:
        sizes = ico.info["sizes"]
    assert {(s, s) for s in (16, 32, 48, 256)} <= set(sizes)
    with Image.open(icons / "twinreview.icns") as icns:
        assert icns.format == "ICNS"
        assert max(icns.size) >= 512
    with Image.open(icons / "twinreview-256.png") as png:
        rgba = png.convert("RGBA")
        assert rgba.size == (256, 256)
        assert rgba.getpixel((0, 0))[3] == 0, "the corners must be transparent"
        assert rgba.getpixel((128, 128))[3] == 255
        stat = ImageStat.Stat(rgba.convert("RGB"))
        assert max(stat.stddev) > 30, "the icon must not be a flat colour"


def test_desktop_file() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(LINUX / f"{APP_ID}.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "twinreview"
    assert entry["Icon"] == APP_ID
    assert entry["Terminal"] == "false"
    assert "Graphics" in entry["Categories"].split(";")
    tool = shutil.which("desktop-file-validate")
    if tool:
        proc = subprocess.run(
            [tool, str(LINUX / f"{APP_ID}.desktop")], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_metainfo_names_this_version_and_the_desktop_file() -> None:
    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    releases = root.findall("releases/release")
    assert releases, "the metainfo lists no release"
    assert releases[0].get("version") == VERSION, "add a <release> for the pyproject version"


def test_metainfo_validates_with_appstreamcli() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        msg = "appstreamcli is not installed (Debian package 'appstream')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{msg} (CI=true: .ci/run installs it)")
        pytest.skip(msg)
    proc = subprocess.run(
        [tool, "validate", "--no-net", str(LINUX / f"{APP_ID}.metainfo.xml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_install_script_is_valid_sh() -> None:
    proc = subprocess.run(
        ["sh", "-n", str(LINUX / "install.sh")], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert os.access(LINUX / "install.sh", os.X_OK)
