"""``twinreview decide WS ASSET (--approve|--reject) [--reason CODE]... [--note TEXT]``.

Scans the workspace first (cheap on a warm cache) so that the decision records the findings the
reviewer is shown, prints them, then signs the decision with this device's key and appends it to
the workspace's log. Approving an asset with blocking findings needs ``--override``; that is
recorded in the signed entry.

Exit codes: 0 signed; 1 refused because of blocking findings (no ``--override``); 2 usage,
workspace, roster or key problems.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.cli.scan_cmd import scan_workspace
from twinreview.cli.text import say
from twinreview.core.findings import Finding, Severity
from twinreview.core.policy import APPROVE, REASON_CODES, REJECT
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import (
    DecisionError,
    DecisionService,
    NeedsOverride,
    resolve_asset,
)
from twinreview.services.keys import IdentityStore, KeysError, KeyService, KeyStore
from twinreview.services.scan import AssetResult

# Returns the scan result for one asset (None after printing why it could not scan).
Scanner = Callable[[Workspace, str], AssetResult | None]

_MARK = {Severity.BLOCK: "BLOCK", Severity.WARN: "warn ", Severity.INFO: "info "}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``decide`` subcommand."""
    codes = "; ".join(f"{code}: {text.rstrip('.')}" for code, text in REASON_CODES.items())
    p = sub.add_parser(
        "decide",
        help="approve or reject one asset (signed with your key)",
        description="Sign an approval or a rejection of one asset and append it to your "
        "decision log in the workspace. The asset is scanned first; its findings are shown and "
        "recorded with the decision. A later decision supersedes an earlier one.",
        epilog=f"Reason codes: {codes}",
    )
    p.add_argument("workspace", type=Path, metavar="WS", help="workspace folder")
    p.add_argument(
        "asset", metavar="ASSET", help="the asset: a path inside WS (relative to WS or not)"
    )
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument(
        "--approve", dest="decision", action="store_const", const=APPROVE, help="approve it"
    )
    verdict.add_argument(
        "--reject", dest="decision", action="store_const", const=REJECT, help="reject it"
    )
    p.add_argument(
        "--reason",
        action="append",
        default=[],
        choices=tuple(REASON_CODES),
        metavar="CODE",
        help="why it is rejected (repeatable; required with --reject): " + ", ".join(REASON_CODES),
    )
    p.add_argument("--note", default="", metavar="TEXT", help="a note for the record")
    p.add_argument(
        "--override",
        action="store_true",
        help="approve although a finding blocks (recorded in the signed entry)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """``decide`` with the system keyring and the CLI's scan services."""
    try:
        keys = KeyService(KeyStore.from_system(), IdentityStore.default())
    except KeysError as exc:
        say(f"twinreview: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return cmd_decide(args, keys, scan_one)


def scan_one(ws: Workspace, rel: str) -> AssetResult | None:
    """Scan the workspace (similarity needs every reference) and return ``rel``'s result."""
    result = scan_workspace(ws)
    if result is None:
        return None
    found = next((a for a in result.assets if a.asset.rel == rel), None)
    if found is None:
        say(f"twinreview: {rel}: the scan did not include this file", file=sys.stderr)
    return found


def cmd_decide(args: argparse.Namespace, keys: KeyService, scan: Scanner) -> int:
    """Scan, show the findings, sign and append the decision; return the exit code."""
    ws = Workspace.open(args.workspace)
    try:
        _, rel, _ = resolve_asset(ws, _locate(ws, args.asset))
    except DecisionError as exc:
        say(f"twinreview: {exc}", file=sys.stderr)
        return EXIT_USAGE

    result = scan(ws, rel)
    if result is None:
        return EXIT_USAGE
    _show_findings(rel, result.findings)
    try:
        entry = DecisionService(keys).decide(
            ws,
            rel,
            args.decision,
            reasons=args.reason,
            note=args.note,
            findings=result.findings,
            override=args.override,
            expected_sha256=result.sha256,
            phash=result.phash,
            disclosure_verdict=(result.disclosure or {}).get("verdict"),
        )
    except NeedsOverride as exc:
        say(f"twinreview: {exc} (pass --override to approve anyway)", file=sys.stderr)
        return EXIT_CHECK_FAILED
    except DecisionError as exc:
        say(f"twinreview: {exc}", file=sys.stderr)
        return EXIT_USAGE
    p = entry.payload
    reasons = f" ({', '.join(p['reasons'])})" if p["reasons"] else ""
    override = " with override" if p["override"] else ""
    say(
        f"{_DONE.get(p['decision'], p['decision'])}{reasons}{override}: {rel} by "
        f"{p['principal']} ({p['role']}), "
        f"entry {p['seq']} of log {p['log']}"
    )
    return EXIT_OK


_DONE = {"approve": "approved", "reject": "rejected"}


def _locate(ws: Workspace, given: str) -> Path | str:
    # A path that exists as typed (relative to the current directory) wins; otherwise it is read
    # relative to the workspace, so both "WS/assets/a/x.jpg" and "assets/a/x.jpg" work.
    here = Path(given)
    if here.exists():
        return here.absolute()
    return given


def _show_findings(rel: str, findings: tuple[Finding, ...]) -> None:
    if not findings:
        say(f"{rel}: no findings", file=sys.stderr)
        return
    say(f"{rel}: findings shown and recorded with this decision:", file=sys.stderr)
    for f in findings:
        say(f"  {_MARK[f.severity]} {f.kind}: {f.message}", file=sys.stderr)
