"""``twinreview export WS OUTDIR``: the signed roster, every log, their signed heads, a README.

Signs with this device's key (from the OS keyring); the key must be on the workspace's signed
roster so that the exported signatures can be checked with the export alone (the exported
allowed_signers, generated from the exported roster log). ``heads.json`` (signed) pins every
log's and the roster's head; ``twinreview verify WS --against OUTDIR`` compares later.
Exit 0 when written and every log verified, 1 when written but verification found problems,
2 when nothing was written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.core.workspace import Workspace
from twinreview.services.export import README, ExportError, ExportNotTrusted, export_signed
from twinreview.services.export_check import HEADS
from twinreview.services.keys import IdentityStore, KeysError, KeyService, KeyStore
from twinreview.services.trust import TrustStore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` subcommand."""
    p = sub.add_parser(
        "export",
        help="export the signed roster and logs for checking with stock OpenSSH",
        description="Write the signed roster (roster/roster.dlog), every log, a signature over "
        "each whole file (namespace twinreview-log-v1), allowed_signers, heads.json (the head of "
        "the roster and of every log, signed) and a README with the ssh-keygen -Y verify "
        "commands into OUTDIR (which must be empty or absent). 'twinreview verify WS --against "
        "OUTDIR' later reports any log that was rolled back, deleted or rewritten since.",
    )
    p.add_argument("workspace", metavar="WS", help="workspace folder")
    p.add_argument("outdir", type=Path, metavar="OUTDIR", help="destination folder")
    p.set_defaults(func=run)


def _error(message: str) -> int:
    print(f"twinreview: {message}", file=sys.stderr)
    return EXIT_USAGE


def run(args: argparse.Namespace) -> int:
    """Export with the system keyring."""
    try:
        service = KeyService(KeyStore.from_system(), IdentityStore.default())
    except KeysError as exc:
        return _error(str(exc))
    return cmd_export(args, service)


def cmd_export(args: argparse.Namespace, keys: KeyService) -> int:
    """Export and print a summary; return the exit code."""
    ws = Workspace.open(args.workspace)
    try:
        result = export_signed(ws.root, args.outdir, keys, TrustStore.default())
    except ExportNotTrusted as exc:
        return _error(
            f"{exc}; check it with the owner, then run 'twinreview trust {args.workspace}'"
        )
    except ExportError as exc:
        return _error(str(exc))
    report = result.report
    logs = sum(1 for f in result.files if f.startswith("logs/") and f.endswith(".dlog"))
    roster = result.heads.get("roster", {})
    print(
        f"exported {logs} log(s) and the signed roster (head seq {roster.get('seq')}) to "
        f"{args.outdir}; heads signed in {args.outdir / HEADS}; see {args.outdir / README}"
    )
    if report is not None and not report.ok:
        print(
            f"twinreview: verification found {len(report.problems)} problem(s); they are listed "
            "in the README (run 'twinreview verify WS' for details)",
            file=sys.stderr,
        )
        return EXIT_CHECK_FAILED
    return EXIT_OK
