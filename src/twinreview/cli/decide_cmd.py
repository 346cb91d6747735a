"""``twinreview decide WS ASSET... (--approve|--reject|--withdraw) [--reason CODE]... [--note T]``.

Scans the workspace first (cheap on a warm cache) so that each decision records the findings the
reviewer is shown, prints them, then signs the decision with this device's key and appends it to
the workspace's log. Approving an asset with blocking findings needs ``--override``; that is
recorded in the signed entry. Several assets (or ``--from-file FILE``, one path per line) get one
signed entry each, with the same reasons and note; ``--withdraw`` takes back your latest decision
about each (a signed ``withdraw`` entry: you are undecided again).

Exit codes: 0 every decision signed; 1 one was refused because of blocking findings (no
``--override``); 2 usage, workspace, roster or key problems (the others are still signed).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.cli.scan_cmd import scan_workspace
from twinreview.cli.text import say
from twinreview.core.approval.policy import APPROVE, REJECT, WITHDRAW
from twinreview.core.findings import Finding, Severity
from twinreview.core.reasons import REASON_CODES, reasons_text
from twinreview.core.workspace import Workspace
from twinreview.services.consent import consent_refusal
from twinreview.services.decisions import (
    DecisionError,
    DecisionService,
    NeedsOverride,
    resolve_asset,
)
from twinreview.services.keys import IdentityStore, KeysError, KeyService, KeyStore
from twinreview.services.scan.service import AssetResult, ScanResult

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
        "asset",
        metavar="ASSET",
        nargs="*",
        help="the assets: paths inside WS (relative to WS or not)",
    )
    p.add_argument(
        "--from-file",
        type=Path,
        metavar="FILE",
        help="read more asset paths from FILE, one per line ('-' for standard input)",
    )
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument(
        "--approve", dest="decision", action="store_const", const=APPROVE, help="approve it"
    )
    verdict.add_argument(
        "--reject", dest="decision", action="store_const", const=REJECT, help="reject it"
    )
    verdict.add_argument(
        "--withdraw",
        dest="decision",
        action="store_const",
        const=WITHDRAW,
        help="take back your latest decision about it (you are undecided again)",
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
    return cmd_decide(args, keys, scan_once())


def scan_once() -> Scanner:
    """A scanner that scans each workspace once and answers every asset of a batch from it.

    Similarity needs every reference, so a scan is always of the whole workspace.
    """
    done: dict[Path, ScanResult | None] = {}

    def scanner(ws: Workspace, rel: str) -> AssetResult | None:
        if ws.root not in done:
            done[ws.root] = scan_workspace(ws)
        result = done[ws.root]
        if result is None:
            return None
        found = next((a for a in result.assets if a.asset.rel == rel), None)
        if found is None:
            say(f"twinreview: {rel}: the scan did not include this file", file=sys.stderr)
        return found

    return scanner


def cmd_decide(args: argparse.Namespace, keys: KeyService, scan: Scanner) -> int:
    """Scan, show the findings, sign and append one decision per asset; return the exit code."""
    ws = Workspace.open(args.workspace)
    given = list(args.asset)
    if args.from_file is not None:
        try:
            text = (
                sys.stdin.read()
                if str(args.from_file) == "-"
                else args.from_file.read_text(encoding="utf-8")
            )
        except (OSError, UnicodeDecodeError) as exc:
            say(f"twinreview: {args.from_file}: cannot read ({exc})", file=sys.stderr)
            return EXIT_USAGE
        given += [line.strip() for line in text.splitlines() if line.strip()]
    if not given:
        say("twinreview: name at least one ASSET (or --from-file)", file=sys.stderr)
        return EXIT_USAGE
    service = DecisionService(keys)
    worst = EXIT_OK
    for item in dict.fromkeys(given):
        code = _decide_one(args, ws, service, scan, item)
        worst = max(worst, code)  # usage (2) over refused (1) over signed (0)
    if len(given) > 1 and worst != EXIT_OK:
        say("twinreview: not every decision was signed (see above)", file=sys.stderr)
    return worst


def _decide_one(
    args: argparse.Namespace, ws: Workspace, service: DecisionService, scan: Scanner, item: str
) -> int:
    if args.decision == WITHDRAW:
        try:
            entry = service.withdraw(ws, _locate(ws, item), note=args.note)
        except DecisionError as exc:
            say(f"twinreview: {exc}", file=sys.stderr)
            return EXIT_USAGE
        p = entry.payload
        say(f"withdrawn: {p['asset']} by {p['principal']} ({p['role']}), entry {p['seq']}")
        return EXIT_OK
    try:
        _, rel, _ = resolve_asset(ws, _locate(ws, item))
    except DecisionError as exc:
        say(f"twinreview: {exc}", file=sys.stderr)
        return EXIT_USAGE

    result = scan(ws, rel)
    if result is None:
        return EXIT_USAGE
    _show_findings(rel, result.findings)
    if args.decision == APPROVE:
        outside = consent_refusal(ws, rel)
        if outside is not None:
            say(f"twinreview: {rel} cannot be approved: {outside}", file=sys.stderr)
            return EXIT_CHECK_FAILED
    try:
        entry = service.decide(
            ws,
            rel,
            args.decision,
            reasons=args.reason,
            note=args.note,
            findings=result.findings,
            override=args.override,
            expected_sha256=result.sha256,
            phash=result.phash,
            disclosure_verdict=result.disclosure.verdict.value if result.disclosure else None,
        )
    except NeedsOverride as exc:
        say(
            f"twinreview: {exc} (pass --override to approve anyway); not recorded",
            file=sys.stderr,
        )
        return EXIT_CHECK_FAILED
    except DecisionError as exc:
        say(f"twinreview: {exc}; not recorded", file=sys.stderr)
        return EXIT_USAGE
    p = entry.payload
    reasons = f" ({reasons_text(p['reasons'])})" if p["reasons"] else ""
    override = " with override" if p["override"] else ""
    say(
        f"{_DONE.get(p['decision'], p['decision'])}{reasons}{override}: {rel} by "
        f"{p['principal']} ({p['role']}), "
        f"entry {p['seq']} of log {p['log']}"
    )
    if result.findings:
        say(f"{rel}: the findings above are recorded with this decision", file=sys.stderr)
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
    say(f"{rel}: findings:", file=sys.stderr)
    for f in findings:
        say(f"  {_MARK[f.severity]} {f.kind}: {f.message}", file=sys.stderr)
