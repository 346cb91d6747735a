"""``twinreview report WS --html FILE [--csv FILE] [--json FILE] [--export DIR]...``.

Scans the workspace (with the scan cache), verifies every decision log, evaluates each asset under
its model's consent policy, and writes the sign-off report: a self-contained, printable HTML page
(thumbnails embedded), a CSV with one row per asset, and/or the whole report as JSON. Reads the
workspace only; the output files are written whole (a temporary file, then renamed).

Exit codes: 0 the report was written (whatever the statuses), 2 usage, workspace or output errors.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from twinreview.cli.main import EXIT_OK, EXIT_USAGE
from twinreview.cli.scan_cmd import scan_workspace
from twinreview.cli.text import say
from twinreview.core.workspace import AssetRef, Workspace, WorkspaceError
from twinreview.services.compose import make_executor
from twinreview.services.report import BAD_RELATIONS, SignOffReport, write_csv
from twinreview.services.report_build import build_report
from twinreview.services.report_html import render_html
from twinreview.services.status import compute_status, sha256_file
from twinreview.services.trust import Verifier


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report",
        help="write the sign-off report (HTML, CSV, JSON)",
        description="Scan the workspace, verify the decision logs and write a sign-off report: "
        "per asset its thumbnail, findings, disclosure verdict, every decision with its "
        "verification state, and its status under the model's own signed consent; who set the "
        "workspace policy; then the heads of the roster and the logs, and the export signatures "
        "and signed heads that pin it. The HTML file is self-contained and printable.",
    )
    p.add_argument("workspace", type=Path, metavar="WS", help="workspace folder")
    p.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report here")
    p.add_argument("--csv", type=Path, metavar="FILE", help="write one CSV row per asset here")
    p.add_argument("--json", type=Path, metavar="FILE", help="write the report as JSON here")
    p.add_argument(
        "--export",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a folder written by 'twinreview export': check its signatures and compare the "
        "workspace with its signed heads (may be given several times)",
    )
    p.add_argument("--no-cache", action="store_true", help="do not read or write the scan cache")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build and write the report; return the exit code."""
    outputs: list[tuple[Path, Callable[[SignOffReport], str]]] = []
    if args.html:
        outputs.append((args.html, render_html))
    if args.csv:
        outputs.append((args.csv, _csv_text))
    if args.json:
        outputs.append((args.json, _json_text))
    if not outputs:
        say("twinreview: report: give at least one of --html, --csv, --json", file=sys.stderr)
        return EXIT_USAGE
    for path, _ in outputs:
        if not path.parent.is_dir():
            say(f"twinreview: {path.parent}: no such folder", file=sys.stderr)
            return EXIT_USAGE
        if path.is_dir():
            say(f"twinreview: {path}: is a folder", file=sys.stderr)
            return EXIT_USAGE
    for d in args.export:
        if not d.is_dir():
            say(f"twinreview: {d}: not a folder (expected a 'twinreview export')", file=sys.stderr)
            return EXIT_USAGE
    try:
        ws = Workspace.open(args.workspace)
    except WorkspaceError as exc:
        say(f"twinreview: {exc}", file=sys.stderr)
        return EXIT_USAGE

    scan = scan_workspace(ws, no_cache=args.no_cache)
    if scan is None:
        return EXIT_USAGE
    verifier = Verifier.default()
    verification = verifier.verify(ws.root)
    shas = {a.asset.rel: a.sha256 for a in scan.assets if a.sha256}

    def sha_of(asset: AssetRef) -> str:
        # The scan just hashed every readable file; reuse it rather than read each one again.
        return shas.get(asset.rel) or sha256_file(asset.path)

    status = compute_status(ws, report=verification, sha256_of=sha_of)
    with make_executor() as executor:
        report = build_report(
            scan,
            status,
            verification,
            exports=args.export,
            executor=executor,
            thumbnails=args.html is not None,
            trust=verifier.trust,
        )
    for path, render in outputs:
        try:
            _write_atomic(path, render(report))
        except OSError as exc:
            say(f"twinreview: cannot write {path}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        say(f"twinreview: wrote {path}", file=sys.stderr)
    counts = ", ".join(f"{n} {state}" for state, n in report.counts.items())
    say(f"twinreview: {len(report.assets)} assets: {counts}", file=sys.stderr)
    if not report.verification_ok:
        say(
            f"twinreview: {len(report.problems)} problem(s) in the decision logs (see the report)",
            file=sys.stderr,
        )
    bad = [s for s in report.exports if not s.valid or s.relation in BAD_RELATIONS]
    if bad:
        say(
            f"twinreview: {len(bad)} export file(s) not validly signed or no longer matching the "
            "workspace (see the report; 'twinreview verify WS --against DIR' for details)",
            file=sys.stderr,
        )
    return EXIT_OK


def _csv_text(report: SignOffReport) -> str:
    buf = io.StringIO()
    write_csv(report, buf)
    return buf.getvalue()


def _json_text(report: SignOffReport) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"


def _write_atomic(path: Path, text: str) -> None:
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
