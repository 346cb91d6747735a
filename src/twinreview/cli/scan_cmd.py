"""``twinreview scan WS [--json|--csv] [--fail-on warn|block]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.cli.progress import ProgressBar
from twinreview.cli.text import escape_field, say
from twinreview.core.errors import TwinreviewError, one_line
from twinreview.core.findings import Severity
from twinreview.core.likeness.model import sentence
from twinreview.core.workspace import Workspace
from twinreview.services.compose import default_cache_path, make_executor, make_scan_service
from twinreview.services.csvout import write_rows
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.service import ScanResult

CSV_FIELDS = (
    "path",
    "model",
    "sha256",
    "error",
    "kind",
    "severity",
    "message",
    "reference",
    "distance",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scan`` subcommand."""
    p = sub.add_parser(
        "scan",
        help="scan a workspace and list findings",
        description="Compare every generated image with the reference photos and check its AI "
        "disclosure. Reads only; never changes a file in the workspace.",
    )
    p.add_argument("workspace", type=Path, metavar="WS", help="workspace folder")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    fmt.add_argument("--csv", action="store_true", help="print CSV (one row per finding)")
    p.add_argument(
        "--fail-on",
        choices=("warn", "block"),
        help="exit 1 when any finding is at least this severe",
    )
    p.add_argument("--no-cache", action="store_true", help="do not read or write the scan cache")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the scan; return the exit code."""
    ws = Workspace.open(args.workspace)
    result = scan_workspace(ws, no_cache=args.no_cache)
    if result is None:
        return EXIT_USAGE
    for notice in result.notices:
        say(f"twinreview: note: {notice}", file=sys.stderr)
    if args.json:
        json.dump(to_json(result), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    elif args.csv:
        write_csv(result, sys.stdout)
    else:
        write_table(result, sys.stdout)
    if args.fail_on:
        limit = Severity.parse(args.fail_on)
        if any(f.severity >= limit for a in result.assets for f in a.findings):
            return EXIT_CHECK_FAILED
    return EXIT_OK


def scan_workspace(ws: Workspace, *, no_cache: bool = False) -> ScanResult | None:
    """Scan with the CLI's services and a progress bar; None (after a message) on config errors.

    Only a refusal with its own message (:class:`TwinreviewError`, such as a disclosure setting
    naming an unreadable file) is answered here; anything else is a bug and reaches the command
    line's last line of defence (exit 70, details in the log file).
    """
    cache = ResultCache.in_memory() if no_cache else ResultCache(default_cache_path())
    bar = ProgressBar(faces=ws.settings.likeness.enabled)
    try:
        with make_executor() as executor:
            service = make_scan_service(executor, cache)
            return service.scan(ws, progress=bar)
    except TwinreviewError as exc:
        say(f"twinreview: {one_line(exc)}", file=sys.stderr)
        return None
    finally:
        bar.close()
        cache.close()


def to_json(result: ScanResult) -> dict[str, Any]:
    """The ``--json`` document."""
    return result.to_json()


def write_csv(result: ScanResult, out: TextIO) -> None:
    """One row per finding; an asset without findings gets one row with an empty kind.

    Written by the shared CSV writer: a model folder named like a formula stays text.
    """
    write_rows(out, CSV_FIELDS, _csv_rows(result))


def _csv_rows(result: ScanResult) -> Iterator[dict[str, object]]:
    for a in result.assets:
        base: dict[str, object] = {
            "path": a.asset.rel,
            "model": a.asset.model_id,
            "sha256": a.sha256 or "",
            "error": a.error or "",
        }
        if not a.findings:
            yield base
        for f in a.findings:
            yield {
                **base,
                "kind": f.kind,
                "severity": f.severity.label,
                "message": f.message,
                "reference": f.evidence.get("reference") or "",
                "distance": f.evidence.get("distance"),
            }


_MARK = {Severity.BLOCK: "BLOCK", Severity.WARN: "warn ", Severity.INFO: "info "}


def write_table(result: ScanResult, out: TextIO) -> None:
    """A readable listing: one block per asset, worst finding first, then its likeness.

    Workspace text (file names, model names, messages) cannot drive the terminal: control
    characters are shown as escapes, and a newline in a name cannot start a line of its own.
    """
    flagged = 0
    names = {mid: m.display_name for mid, m in result.workspace.models.items()}
    for a in result.assets:
        worst = a.worst
        status = "ok" if worst is None else _MARK[worst].strip()
        flagged += worst is not None and worst >= Severity.WARN
        out.write(f"{status:<6} {escape_field(a.asset.rel)}  [{escape_field(a.asset.model_id)}]\n")
        for f in a.findings:
            out.write(f"         {_MARK[f.severity]} {f.kind}: {escape_field(f.message)}\n")
        lk = a.likeness
        # A model with no face in her reference photos is noted once for the scan, not here.
        if lk is not None and (lk.problem is not None or lk.reference_faces or not lk.known):
            words = sentence(lk, names)
            if words:
                out.write(f"         likeness: {escape_field(words)}\n")
    out.write(
        f"\n{len(result.assets)} assets, {flagged} flagged, "
        f"{len(result.references)} reference photos\n"
    )
