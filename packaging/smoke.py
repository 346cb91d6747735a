"""Smoke test of a frozen twinreview build (run by CI after ``packaging/build.py``).

Usage::

    python packaging/smoke.py [APP_DIR] [--corpus-file FILE]

``APP_DIR`` defaults to ``dist/twinreview``. Runs the frozen executables, outside the source tree,
with a fresh cache and data folder and without any Python environment variables, so that the
build must stand on its own:

1. ``twinreview --version`` prints the version of pyproject.toml;
2. ``twinreview-cli inspect --json FILE`` on a real corpus file (default:
   ``../shared/corpus/disclosure/plain_png.png``) prints one record with a disclosure verdict;
   a file with Content Credentials (``ai_firefly-sundae_c2pa+xmp.png``) is inspected too, when the
   corpus has it, to prove the bundled C2PA library loads and reads a manifest;
3. ``twinreview demo --no-gui DIR`` builds the demo workspace from the bundled resources;
4. ``twinreview scan DIR --json`` on it finds every similarity finding kind the demo is built for,
   and the likeness check ran (dlib and its two model files load); then, when the shared face
   corpus is there, two real photos of one person in a temporary workspace are matched by face;
5. ``twinreview report DIR --html FILE`` writes the sign-off report with embedded thumbnails;
6. ``twinreview demo DIR2 --screenshot PNG`` (Qt offscreen) opens the app window and saves a
   screenshot that is not blank: proves the Qt plugins and the SVG icons are bundled.

Prints one line per check and exits 0 when all pass, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "disclosure"
C2PA_FILE = "ai_firefly-sundae_c2pa+xmp.png"
DEMO_KINDS = {
    "near_copy_of_reference",
    "matches_other_model",
    "duplicate_in_batch",
    "unreadable",
    "unknown_model",
}
TIMEOUT_S = 180


class SmokeFailure(Exception):
    """One check failed; the message says how."""


def _env(tmp: Path) -> dict[str, str]:
    # Drop everything that could make the frozen app lean on the developer's Python.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "VIRTUAL_ENV", "UV_", "CONDA"))
    }
    env.update(
        {
            "HOME": str(tmp / "home"),
            "TWINREVIEW_CACHE_DIR": str(tmp / "cache"),
            "TWINREVIEW_DATA_DIR": str(tmp / "data"),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "QT_QPA_PLATFORM": "offscreen",
        }
    )
    (tmp / "home").mkdir(exist_ok=True)
    return env


def _run(cmd: Sequence[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            list(cmd),
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SmokeFailure(f"timed out after {TIMEOUT_S} s") from None
    except OSError as exc:
        raise SmokeFailure(f"cannot run {cmd[0]}: {exc}") from None
    if proc.returncode != 0:
        raise SmokeFailure(f"exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}")
    return proc


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SmokeFailure(f"stdout is not one JSON document ({exc}): {text[:300]!r}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the checks; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("app_dir", nargs="?", type=Path, default=ROOT / "dist" / "twinreview")
    parser.add_argument("--corpus-file", type=Path, default=CORPUS / "plain_png.png")
    args = parser.parse_args(argv)
    app_dir: Path = args.app_dir.resolve()
    suffix = ".exe" if sys.platform == "win32" else ""
    gui = app_dir / f"twinreview{suffix}"
    cli = app_dir / f"twinreview-cli{suffix}"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    corpus_file: Path = args.corpus_file.resolve()

    failures = 0
    with tempfile.TemporaryDirectory(prefix="twinreview-smoke-") as tmp_name:
        tmp = Path(tmp_name)
        env = _env(tmp)
        demo = tmp / "demo"

        def check_version() -> str:
            out = _run([str(gui), "--version"], env, tmp).stdout.strip()
            if out != f"twinreview {version}":
                raise SmokeFailure(f"printed {out!r}, expected 'twinreview {version}'")
            return out

        def check_inspect() -> str:
            if not corpus_file.is_file():
                raise SmokeFailure(f"{corpus_file} is missing (the shared corpus is needed)")
            files = [str(corpus_file)]
            c2pa_file = CORPUS / C2PA_FILE
            if c2pa_file.is_file():
                files.append(str(c2pa_file))
            records = _json(_run([str(cli), "inspect", "--json", *files], env, tmp).stdout)
            if not isinstance(records, list) or len(records) != len(files):
                raise SmokeFailure(f"expected {len(files)} records, got {records!r:.300}")
            verdicts = []
            for rec in records:
                if rec.get("error"):
                    raise SmokeFailure(f"{rec['path']}: error {rec['error']}")
                verdicts.append(f"{Path(rec['path']).name}: {rec['disclosure']['verdict']}")
            if len(records) > 1:
                c2pa = records[1]["disclosure"]["c2pa"]
                if c2pa["state"] in ("absent", "unreadable") or not c2pa["source_types"]:
                    raise SmokeFailure(f"the C2PA manifest of {C2PA_FILE} was not read: {c2pa}")
                verdicts[-1] += f" (C2PA {c2pa['state']})"
            return "; ".join(verdicts)

        def check_demo() -> str:
            _run([str(gui), "demo", "--no-gui", str(demo)], env, tmp)
            if not (demo / "twinreview.toml").is_file():
                raise SmokeFailure(f"no workspace was built in {demo}")
            return f"built {sum(1 for _ in (demo / 'assets').rglob('*.*'))} asset files"

        def check_scan() -> str:
            doc = _json(_run([str(cli), "scan", str(demo), "--json"], env, tmp).stdout)
            kinds = {f["kind"] for a in doc["assets"] for f in a["findings"]}
            missing = DEMO_KINDS - kinds
            if missing:
                raise SmokeFailure(f"finding kinds missing from the scan: {sorted(missing)}")
            # The likeness check ran on every readable asset: dlib and its two model files load.
            checked = [a for a in doc["assets"] if a.get("likeness")]
            problems = sorted(
                {str(a["likeness"]["problem"]) for a in checked if a["likeness"]["problem"]}
            )
            if not checked or problems:
                raise SmokeFailure(f"the face check did not run: {problems or 'no likeness'}")
            return (
                f"{len(doc['assets'])} assets ({len(checked)} face-checked), "
                f"kinds: {', '.join(sorted(kinds))}"
            )

        def check_faces() -> str:
            # Two real photos of one person (read from the shared corpus into a tmp workspace):
            # the frozen app finds the face and matches it with the reference photo.
            faces = CORPUS.parent / "faces"
            if not (faces / "obama_1.jpg").is_file():
                return f"skipped ({faces} not found)"
            ws = tmp / "faces-ws"
            (ws / "models" / "m" / "references").mkdir(parents=True)
            (ws / "assets" / "m").mkdir(parents=True)
            shutil.copyfile(faces / "obama_1.jpg", ws / "models" / "m" / "references" / "a.jpg")
            shutil.copyfile(faces / "obama_3.jpg", ws / "assets" / "m" / "b.jpg")
            doc = _json(_run([str(cli), "scan", str(ws), "--json"], env, tmp).stdout)
            (asset,) = doc["assets"]
            lk = asset.get("likeness") or {}
            if lk.get("state") != "own":
                raise SmokeFailure(f"the face was not matched: {json.dumps(lk)[:300]}")
            return f"face matched, distance {lk['faces'][0]['own']['distance']}"

        def check_geometry() -> str:
            # A rotated, cropped, mirrored and labelled copy of a demo reference is too far from
            # it for the hashes alone: OpenCV's ORB + RANSAC must confirm it in the frozen app.
            from PIL import Image, ImageDraw, ImageOps

            ws = tmp / "geometry-ws"
            (ws / "models" / "m" / "references").mkdir(parents=True)
            (ws / "assets" / "m").mkdir(parents=True)
            ref = next((demo / "models").rglob("references/rocket.jpg"))
            shutil.copyfile(ref, ws / "models" / "m" / "references" / "a.jpg")
            with Image.open(ref) as im:
                w, h = im.size
                box = (w // 10, h // 20, w - w // 20, h - h // 10)
                edit = ImageOps.mirror(im.convert("RGB").rotate(4).crop(box))
            ImageDraw.Draw(edit).rectangle((8, 8, edit.width // 4, edit.height // 10), fill="white")
            edit.save(ws / "assets" / "m" / "b.jpg", quality=85)
            doc = _json(_run([str(cli), "scan", str(ws), "--json"], env, tmp).stdout)
            (asset,) = doc["assets"]
            found = [f for f in asset["findings"] if f["kind"] == "near_copy_of_reference"]
            ev = found[0]["evidence"] if found else {}
            if ev.get("verification") != "geometry" or not ev.get("mirrored"):
                raise SmokeFailure(f"the copy was not verified geometrically: {ev}")
            return f"copy verified: {ev['inliers']} inliers, agreement {ev['agreement']}"

        def check_report() -> str:
            page = tmp / "report.html"
            _run([str(cli), "report", str(demo), "--html", str(page)], env, tmp)
            text = page.read_text("utf-8") if page.is_file() else ""
            thumbs = text.count('src="data:image/jpeg;base64,')
            if not text.startswith("<!DOCTYPE html>") or thumbs == 0:
                raise SmokeFailure(f"no HTML report with thumbnails ({len(text)} characters)")
            return f"{len(text) // 1024} KiB, {thumbs} embedded thumbnails"

        def check_gui() -> str:
            shot = tmp / "window.png"
            _run([str(gui), "demo", str(tmp / "demo-gui"), "--screenshot", str(shot)], env, tmp)
            if not shot.is_file():
                raise SmokeFailure("no screenshot was written")
            from PIL import Image, ImageStat

            with Image.open(shot) as im:
                size = im.size
                spread = ImageStat.Stat(im.convert("L")).stddev[0]
            if spread < 10:
                raise SmokeFailure(f"the screenshot is blank (grey-level spread {spread:.1f})")
            return f"{size[0]}x{size[1]} window, grey-level spread {spread:.0f}"

        checks: list[tuple[str, Callable[[], str]]] = [
            ("--version", check_version),
            ("inspect --json", check_inspect),
            ("demo --no-gui", check_demo),
            ("scan --json", check_scan),
            ("scan --json, faces", check_faces),
            ("scan --json, geometric verification", check_geometry),
            ("report --html", check_report),
            ("demo --screenshot", check_gui),
        ]
        for name, check in checks:
            started = time.monotonic()
            try:
                detail = check()
            except SmokeFailure as exc:
                failures += 1
                print(f"smoke: FAIL {name}: {exc}")
                continue
            print(f"smoke: ok   {name} ({time.monotonic() - started:.1f} s): {detail}")
    print(
        f"smoke: {failures} of {len(checks)} checks failed" if failures else "smoke: all checks ok"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
