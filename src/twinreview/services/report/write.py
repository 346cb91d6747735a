"""Make and write the sign-off report from a finished scan.

``twinreview report`` and the app's "Export report…" share this path.

Public API:
    make_report(scan, verifier, *, exports=(), executor=None, thumbnails=True) -> SignOffReport
        Verifies every log (through ``verifier``: this device's rollback record and pins),
        evaluates each asset under its model's signed consent and assembles the report.
    ReportFiles: where to write which form (HTML, CSV, JSON); any may be None.
    write_report(report, files) -> list[Path]: each file written whole (a temporary file,
        then renamed); raises OSError.
    check_outputs(files, exports) -> str | None: why these paths cannot be used (None: they can).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from twinreview.core.workspace import AssetRef
from twinreview.services.report.build import build_report
from twinreview.services.report.content import SignOffReport, write_csv
from twinreview.services.report.html import render_html
from twinreview.services.scan.service import ScanResult
from twinreview.services.status import compute_status, sha256_file
from twinreview.services.trust import Verifier


@dataclass(frozen=True)
class ReportFiles:
    """Where to write the report's forms (None: not this one)."""

    html: Path | None = None
    csv: Path | None = None
    json: Path | None = None

    def outputs(self) -> list[tuple[Path, Callable[[SignOffReport], str]]]:
        """``(path, render)`` for each form asked for."""
        out: list[tuple[Path, Callable[[SignOffReport], str]]] = []
        if self.html is not None:
            out.append((self.html, render_html))
        if self.csv is not None:
            out.append((self.csv, csv_text))
        if self.json is not None:
            out.append((self.json, json_text))
        return out


def check_outputs(files: ReportFiles, exports: Sequence[Path] = ()) -> str | None:
    """Why the report cannot be written to ``files`` or read ``exports`` (None: it can)."""
    outputs = files.outputs()
    if not outputs:
        return "choose at least one form of the report (HTML, CSV or JSON)"
    for path, _ in outputs:
        if not path.parent.is_dir():
            return f"{path.parent}: no such folder"
        if path.is_dir():
            return f"{path}: is a folder"
    for d in exports:
        if not d.is_dir():
            return f"{d}: not a folder (expected an export of the signed logs)"
    return None


def make_report(
    scan: ScanResult,
    verifier: Verifier,
    *,
    exports: Sequence[Path] = (),
    executor: Executor | None = None,
    thumbnails: bool = True,
) -> SignOffReport:
    """The sign-off report of the scanned workspace, over its logs as they are now."""
    ws = scan.workspace
    verification = verifier.verify(ws.root)
    shas = {a.asset.rel: a.sha256 for a in scan.assets if a.sha256}

    def sha_of(asset: AssetRef) -> str:
        # The scan just hashed every readable file; reuse it rather than read each one again.
        return shas.get(asset.rel) or sha256_file(asset.path)

    status = compute_status(ws, report=verification, sha256_of=sha_of)
    return build_report(
        scan,
        status,
        verification,
        exports=exports,
        executor=executor,
        thumbnails=thumbnails,
        trust=verifier.trust,
    )


def write_report(report: SignOffReport, files: ReportFiles) -> list[Path]:
    """Write each form asked for, whole; return the paths written.

    Raises:
        OSError: a file cannot be written (the ones before it are written).
    """
    written: list[Path] = []
    for path, render in files.outputs():
        write_atomic(path, render(report))
        written.append(path)
    return written


def csv_text(report: SignOffReport) -> str:
    """The report as CSV, one row per asset."""
    buf = io.StringIO()
    write_csv(report, buf)
    return buf.getvalue()


def json_text(report: SignOffReport) -> str:
    """The whole report as JSON."""
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            # mkstemp makes the file private (0600); a report is meant to be shared.
            os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
