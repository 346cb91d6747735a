"""``twinreview report WS --html FILE [--csv FILE] [--json FILE] [--export DIR]...``.

Scans the workspace (with the scan cache), verifies every decision log, evaluates each asset under
its model's consent policy, and writes the sign-off report: a self-contained, printable HTML page
(thumbnails embedded), a CSV with one row per asset, and/or the whole report as JSON. Reads the
workspace only; the output files are written whole (a temporary file, then renamed).

Exit codes: 0 the report was written (whatever the statuses), 2 usage, workspace or output errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twinreview.cli.main import EXIT_OK, EXIT_USAGE
from twinreview.cli.scan_cmd import scan_workspace
from twinreview.cli.text import say
from twinreview.core.workspace import Workspace, WorkspaceError
from twinreview.services.compose import make_executor
from twinreview.services.report.content import BAD_RELATIONS
from twinreview.services.report.write import ReportFiles, check_outputs, make_report, write_atomic
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
    files = ReportFiles(args.html, args.csv, args.json)
    if not files.outputs():
        say("twinreview: report: give at least one of --html, --csv, --json", file=sys.stderr)
        return EXIT_USAGE
    problem = check_outputs(files, args.export)
    if problem is not None:
        say(f"twinreview: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        ws = Workspace.open(args.workspace)
    except WorkspaceError as exc:
        say(f"twinreview: {exc}", file=sys.stderr)
        return EXIT_USAGE

    scan = scan_workspace(ws, no_cache=args.no_cache)
    if scan is None:
        return EXIT_USAGE
    with make_executor() as executor:
        report = make_report(
            scan,
            Verifier.default(),
            exports=args.export,
            executor=executor,
            thumbnails=args.html is not None,
        )
    for path, render in files.outputs():
        try:
            write_atomic(path, render(report))
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
