"""``twinreview published WS [--json] [--at DATE]``: every file that went out, and its state now.

The list comes from the signed ``published`` entries in the workspace's logs (nothing else is
needed), each judged against the model's consent and the approvals now, or at ``--at``
(``services.publish.register``): in consent; in consent until a date within 30 days ("take it down
by"); or out of consent, with every reason. Reads only.

Exit codes: 0 nothing is out of consent; 1 at least one published file is out of consent; 2 usage
or workspace errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TextIO

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.cli.text import escape_field, say
from twinreview.core.errors import as_utc
from twinreview.core.publish.register import PublishedState
from twinreview.core.workspace import Workspace
from twinreview.services.publish.register import PublishedReport, published_report
from twinreview.services.trust import Verifier


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``published`` subcommand."""
    p = sub.add_parser(
        "published",
        help="list every published file and whether it is still in consent",
        description="List every file 'twinreview publish' recorded in the signed logs, with its "
        "state under the model's consent now: in consent, take it down by a date (her consent "
        "ends within 30 days), or out of consent and why. Exit 1 when any is out of consent.",
    )
    p.add_argument("workspace", type=Path, metavar="WS", help="workspace folder")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument(
        "--at",
        metavar="DATE",
        help="judge at this date (YYYY-MM-DD, the start of that day UTC) or time (ISO 8601) "
        "instead of now",
    )
    p.set_defaults(func=run)


def parse_at(text: str) -> dt.datetime:
    """``--at``: a date (the start of that day, UTC) or an ISO 8601 time.

    Raises:
        ValueError: neither.
    """
    value = text.strip()
    if len(value) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    return as_utc(dt.datetime.fromisoformat(value))


def run(args: argparse.Namespace) -> int:
    """List the published files; return the exit code."""
    at = None
    if args.at:
        try:
            at = parse_at(args.at)
        except ValueError:
            say(
                f"twinreview: --at must be a date like 2027-06-30, not {args.at!r}", file=sys.stderr
            )
            return EXIT_USAGE
    ws = Workspace.open(args.workspace)
    report = published_report(ws, at=at, report=Verifier.default().verify(ws.root))
    if report.problems:
        say(
            f"twinreview: {len(report.problems)} problem(s) in the signed logs; the list may be "
            f"incomplete. Details: twinreview verify {args.workspace}",
            file=sys.stderr,
        )
    for notice in report.notices:
        say(f"twinreview: note: {escape_field(notice)}", file=sys.stderr)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        write_list(report, sys.stdout)
    return EXIT_CHECK_FAILED if report.out else EXIT_OK


_HEADING = {
    PublishedState.OUT_OF_CONSENT: "OUT OF CONSENT",
    PublishedState.TAKE_DOWN_BY: "take it down by",
    PublishedState.IN_CONSENT: "in consent",
}


def write_list(report: PublishedReport, out: TextIO) -> None:
    """The plain-text list: one block per file, out of consent first."""
    if not report.judgements:
        say("nothing has been published from this workspace", file=out)
        return
    for j in report.judgements:
        r = j.record
        head = _HEADING[j.state]
        if j.state is PublishedState.TAKE_DOWN_BY:
            head += f" {j.take_down_by}"
        when = as_utc(r.ts).date().isoformat()
        say(
            f"{head:<26} {escape_field(r.output)}  ({escape_field(r.asset)}, published {when} "
            f"by {escape_field(r.publisher)})",
            file=out,
        )
        for reason in j.reasons:
            say(f"    {escape_field(reason)}", file=out)
    counts = report.counts()
    say(
        f"{len(report.judgements)} published: {counts['out_of_consent']} out of consent, "
        f"{counts['take_down_by']} to take down within 30 days, {counts['in_consent']} in consent "
        f"(judged at {as_utc(report.at).isoformat(timespec='minutes')})",
        file=out,
    )
