"""``twinreview verify WS [--json]``: check every signed log; exit 0 all good, 1 otherwise.

Reads only. Never repairs a log (a torn tail is reported; the next append moves it aside).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK
from twinreview.core.verify import Problem, VerifyReport
from twinreview.core.workspace import Workspace
from twinreview.services.trust import Verifier


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``verify`` subcommand."""
    p = sub.add_parser(
        "verify",
        help="verify the signed decision logs",
        description="Check the signed roster and every log under logs/: signatures, roster "
        "membership and role as of the roster each entry was signed under, revocation, the hash "
        "chain (edits, deletions, reordering), lines replayed from another log or workspace, "
        "times, rollbacks and deleted logs (against the heads other entries and this device "
        "saw), torn tails, forks between copies, hand-edited roster views and stray files. "
        "Exit 0 when all is good, 1 otherwise.",
    )
    p.add_argument("workspace", metavar="WS", help="workspace folder")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify and print the report; return the exit code."""
    ws = Workspace.open(args.workspace)
    report = Verifier.default().verify(ws.root)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        write_text(report)
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def _describe(p: Problem) -> str:
    where = []
    if p.line is not None:
        where.append(f"line {p.line}")
    if p.seq is not None:
        where.append(f"seq {p.seq}")
    prefix = f"{', '.join(where)}: " if where else ""
    return f"  {prefix}{p.kind}: {p.message}"


def write_text(report: VerifyReport) -> None:
    """Human-readable report on stdout."""
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for p in report.problems:
        by_file[p.file].append(p)
    roster = report.roster
    if roster.exists:
        problems = by_file.pop("roster/roster.dlog", [])
        state = "ok" if roster.ok and not problems else f"{len(problems)} problem(s)"
        owner = f" (owner {roster.owner})" if roster.owner else ""
        print(f"roster/roster.dlog{owner}: {len(roster.entries)} entries, {state}")
        for p in problems:
            print(_describe(p))
    for summary in report.logs:
        problems = by_file.pop(summary.file, [])
        state = "ok" if summary.ok and not problems else f"{len(problems)} problem(s)"
        who = f" ({summary.principal})" if summary.principal else ""
        print(f"{summary.file}{who}: {summary.entries} entries, {state}")
        for p in problems:
            print(_describe(p))
    for file, problems in by_file.items():
        print(f"{file}:")
        for p in problems:
            print(_describe(p))
    total = len(report.entries)
    if report.ok:
        print(f"verified {total} entries in {len(report.logs)} log(s): all good")
    else:
        print(
            f"verified {total} entries in {len(report.logs)} log(s): "
            f"{len(report.problems)} problem(s)"
        )
