"""``twinreview status WS [--json]``: each asset's status under its model's consent policy.

Merges and verifies every decision log, then reports per asset: cleared, pending (which roles are
missing), rejected (by whom, why) or blocked (policy or verification). Reads only; the file hashes
come from the scan cache's stat fast path when the file has not changed.

Exit codes: 0 the report was produced (whatever the statuses), 2 usage or workspace errors.
Verification problems are summarised on stderr; ``twinreview verify`` details them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from twinreview.cli.main import EXIT_OK
from twinreview.cli.text import escape_field, say
from twinreview.core.approval.policy import State
from twinreview.core.logs.verify import SYNC_CONFLICT
from twinreview.core.reasons import reasons_text
from twinreview.core.workspace import Workspace
from twinreview.services.compose import default_cache_path
from twinreview.services.scan.cache import ResultCache
from twinreview.services.status import StatusReport, cached_sha256, compute_status
from twinreview.services.trust import Verifier


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``status`` subcommand."""
    p = sub.add_parser(
        "status",
        help="show which assets are cleared, pending, rejected or blocked",
        description="Merge and verify every signed decision log and report each asset's status "
        "under its model's own signed consent.",
    )
    p.add_argument("workspace", type=Path, metavar="WS", help="workspace folder")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute and print the status; return the exit code."""
    ws = Workspace.open(args.workspace)
    cache = ResultCache(default_cache_path())
    try:
        report = compute_status(
            ws,
            report=Verifier.default().verify(ws.root),
            sha256_of=lambda a: cached_sha256(cache, a),
        )
    finally:
        cache.close()
    if not report.verification_ok:
        say(
            f"twinreview: {len(report.problems)} problem(s) in the decision logs; the assets they "
            f"touch are blocked. Details: twinreview verify {args.workspace}",
            file=sys.stderr,
        )
    copies = [p for p in report.problems if p.kind == SYNC_CONFLICT]
    if copies:
        # Merged, so nothing is lost; said so that someone keeps one copy of each log.
        files = ", ".join(p.file for p in copies)
        say(
            f"twinreview: a file sync left {len(copies)} copy(ies) of logs ({files}); they are "
            f"merged. Details: twinreview verify {args.workspace}",
            file=sys.stderr,
        )
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        write_table(report, sys.stdout)
    return EXIT_OK


def detail(report: StatusReport, path: str) -> str:
    """The explanation column for one asset."""
    a = report.get(path)
    if a is None:
        return ""
    ev = a.evaluation
    if ev.state is State.PENDING:
        text = f"needs approval from: {', '.join(ev.missing_roles)}"
        if ev.stale:
            who = ", ".join(sorted({d.principal for d in ev.stale}))
            text += f" (file changed since {who} decided)"
        return text
    if ev.state is State.REJECTED:
        parts = []
        for d in ev.rejections:
            name = report.people.get(d.principal, d.principal)
            why = reasons_text(d.reasons)
            note = f' "{d.note}"' if d.note else ""
            parts.append(f"by {name} <{d.principal}> ({d.role}) on {d.ts:%Y-%m-%d}: {why}{note}")
        return "; ".join(parts)
    if ev.state is State.BLOCKED:
        return f"{ev.blocked_by}: {' '.join(ev.problems)}"
    roles = ", ".join(sorted({d.role for d in ev.approvals}))
    return f"approved by {roles}"


def write_table(report: StatusReport, out: TextIO) -> None:
    """One line per asset, then the counts (workspace text escaped for the terminal)."""
    width = max((len(escape_field(a.path)) for a in report.assets), default=5)
    for a in report.assets:
        path, why = escape_field(a.path), escape_field(detail(report, a.path))
        out.write(f"{a.state.value:<9} {path:<{width}}  {why}\n")
    counts = report.counts()
    summary = ", ".join(f"{n} {state}" for state, n in counts.items())
    out.write(f"\n{len(report.assets)} assets: {summary}\n")
    for d in report.orphans:
        out.write(
            f"note: {escape_field(d.asset)} was decided on ({escape_field(d.decision)}) but is no "
            "longer in the workspace\n"
        )
