"""Build the twinreview desktop app with PyInstaller: one folder, windowed, with its icons.

Usage (from anywhere; paths are taken relative to the repository)::

    uv sync --group packaging
    uv run python packaging/build.py [--no-archive] [--skip-validate]

Steps:

1. read the version from pyproject.toml;
2. render ``resources/app.svg`` to PNGs (16-1024 px) with Qt's SVG renderer, then write
   ``twinreview.ico`` (Windows) and ``twinreview.icns`` (macOS) from them with Pillow, under
   ``build/icons`` (generated, so they never drift from the SVG);
3. on Linux, validate the ``.desktop`` file and AppStream metainfo in ``packaging/linux`` with
   ``appstreamcli validate`` (and ``desktop-file-validate``) when those tools are installed;
4. run PyInstaller on ``packaging/twinreview.spec`` into ``dist/``;
5. add the platform extras and pack an archive: Linux: ``share/`` (desktop file, metainfo,
   hicolor icons) and ``install.sh`` inside the folder, then ``dist/twinreview-VERSION-linux-ARCH
   .tar.gz``; macOS: ``dist/twinreview-VERSION-macos-ARCH.zip`` of ``twinreview.app``; Windows:
   ``dist/twinreview-VERSION-windows-ARCH.zip`` of the folder; next to the archive, its sha256
   in ``<archive>.sha256``.

Nothing is signed or notarised (see the README). Exit code 0 on success, 1 when a step failed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
LINUX = PACKAGING / "linux"
APP_ID = "org.twinreview.TwinReview"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def read_version(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The ``[project] version`` of pyproject.toml."""
    return str(tomllib.loads(pyproject.read_text("utf-8"))["project"]["version"])


def render_icons(svg: Path, outdir: Path) -> dict[str, Path]:
    """Render ``svg`` to square PNGs and build ``.ico`` and ``.icns`` files from them.

    Returns:
        Name -> path for ``twinreview-<size>.png``, ``twinreview.ico`` and ``twinreview.icns``.

    Raises:
        RuntimeError: when Qt cannot read the SVG.
    """
    # Qt renders the SVG (Pillow cannot); offscreen so that no display is needed.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise RuntimeError(f"{svg}: Qt cannot read this SVG")
    outdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for size in PNG_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = outdir / f"twinreview-{size}.png"
        if not image.save(str(path), "PNG"):
            raise RuntimeError(f"cannot write {path}")
        out[path.name] = path
    biggest = Image.open(out["twinreview-1024.png"]).convert("RGBA")
    ico = outdir / "twinreview.ico"
    # Each ICO size is resampled from the 1024 px rendering: crisper than Pillow's default of
    # scaling one image, and every size Windows asks for is present.
    biggest.save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES])
    icns = outdir / "twinreview.icns"
    biggest.save(icns, format="ICNS")
    out[ico.name] = ico
    out[icns.name] = icns
    return out


def validate_linux_metadata(strict: bool) -> list[str]:
    """Validate the desktop file and the AppStream metainfo; return the problems found.

    A missing validator is a problem only when ``strict`` (CI), so a developer without the
    ``appstream`` package can still build.
    """
    problems: list[str] = []
    metainfo = LINUX / f"{APP_ID}.metainfo.xml"
    desktop = LINUX / f"{APP_ID}.desktop"
    checks = [
        ("appstreamcli", ["appstreamcli", "validate", "--no-net", "--pedantic", str(metainfo)]),
        ("desktop-file-validate", ["desktop-file-validate", str(desktop)]),
    ]
    for tool, cmd in checks:
        if shutil.which(tool) is None:
            msg = f"{tool} is not installed; {Path(cmd[-1]).name} not validated"
            if strict and tool == "appstreamcli":
                problems.append(msg)
            else:
                print(f"build: warning: {msg}", file=sys.stderr)
            continue
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            problems.append(f"{' '.join(cmd[:2])} failed:\n{output}")
        else:
            print(f"build: {tool}: {Path(cmd[-1]).name} ok{(': ' + output) if output else ''}")
    return problems


def run_pyinstaller(icon_dir: Path, dist: Path, work: Path) -> None:
    """Run PyInstaller on the spec.

    Raises:
        subprocess.CalledProcessError: when PyInstaller fails.
    """
    env = {**os.environ, "TWINREVIEW_ICON_DIR": str(icon_dir)}
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        str(PACKAGING / "twinreview.spec"),
    ]
    subprocess.run(cmd, check=True, env=env, cwd=ROOT)


def add_linux_extras(app_dir: Path, icons: dict[str, Path]) -> None:
    """Put the desktop integration files and ``install.sh`` inside the app folder."""
    share = app_dir / "share"
    (share / "applications").mkdir(parents=True, exist_ok=True)
    (share / "metainfo").mkdir(parents=True, exist_ok=True)
    shutil.copy2(LINUX / f"{APP_ID}.desktop", share / "applications" / f"{APP_ID}.desktop")
    shutil.copy2(LINUX / f"{APP_ID}.metainfo.xml", share / "metainfo" / f"{APP_ID}.metainfo.xml")
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        dest = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(icons[f"twinreview-{size}.png"], dest)
    scalable = share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "resources" / "app.svg", scalable)
    install = app_dir / "install.sh"
    shutil.copy2(LINUX / "install.sh", install)
    install.chmod(0o755)


def _arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)


def make_archive(dist: Path, version: str) -> Path:
    """Pack the built app for hand-over; return the archive path."""
    arch = _arch()
    if sys.platform == "darwin":
        base = dist / f"twinreview-{version}-macos-{arch}"
        return Path(shutil.make_archive(str(base), "zip", dist, "twinreview.app"))
    if sys.platform == "win32":
        base = dist / f"twinreview-{version}-windows-{arch}"
        return Path(shutil.make_archive(str(base), "zip", dist, "twinreview"))
    target = dist / f"twinreview-{version}-linux-{arch}.tar.gz"
    with tarfile.open(target, "w:gz", compresslevel=6) as tar:
        tar.add(dist / "twinreview", arcname=f"twinreview-{version}")
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Build; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder"
    )
    parser.add_argument("--no-archive", action="store_true", help="skip the archive step")
    parser.add_argument(
        "--skip-validate", action="store_true", help="skip the Linux metadata validation"
    )
    parser.add_argument(
        "--icons-only", action="store_true", help="only render the icons into WORK/icons"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    version = read_version()
    print(f"build: twinreview {version} for {sys.platform}-{_arch()}")

    icons = render_icons(ROOT / "resources" / "app.svg", args.work / "icons")
    print(f"build: {len(icons)} icon files in {args.work / 'icons'}")
    if args.icons_only:
        return 0

    if sys.platform == "linux" and not args.skip_validate:
        problems = validate_linux_metadata(strict=os.environ.get("CI") == "true")
        if problems:
            for p in problems:
                print(f"build: {p}", file=sys.stderr)
            return 1

    try:
        run_pyinstaller(args.work / "icons", args.dist, args.work / "pyinstaller")
    except subprocess.CalledProcessError as exc:
        print(f"build: PyInstaller failed (exit {exc.returncode})", file=sys.stderr)
        return 1
    app_dir = args.dist / "twinreview"
    if sys.platform == "linux":
        add_linux_extras(app_dir, icons)
    exe = app_dir / ("twinreview.exe" if sys.platform == "win32" else "twinreview")
    print(f"build: app in {app_dir} (run {exe})")
    if not args.no_archive:
        archive = make_archive(args.dist, version)
        digest = _sha256(archive)
        # A checksum, not a signature: it tells a download was not damaged, not who built it.
        Path(f"{archive}.sha256").write_text(f"{digest}  {archive.name}\n", "utf-8")
        print(f"build: archive {archive} ({archive.stat().st_size / 1e6:.0f} MB)")
        print(f"build: sha256 {digest}")
    print(f"build: done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
