"""``twinreview export WS OUTDIR``: logs, whole-file signatures, allowed_signers and a README.

Signs with this device's key (from the OS keyring); the key must be in the workspace roster so
that the exported signatures can be checked with the exported allowed_signers.
Exit 0 when written and every log verified, 1 when written but verification found problems.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.core.workspace import Workspace
from twinreview.services.export import README, ExportError, export_workspace
from twinreview.services.keys import IdentityStore, KeysError, KeyService, KeyStore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``export`` subcommand."""
    p = sub.add_parser(
        "export",
        help="export the signed logs for checking with stock OpenSSH",
        description="Write every log, a signature over each whole log file (namespace "
        "twinreview-log-v1), allowed_signers and a README with ssh-keygen -Y verify commands "
        "into OUTDIR (which must be empty or absent).",
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
        identity, key = keys.signer()
        result = export_workspace(ws.root, args.outdir, identity, key)
    except (KeysError, ExportError) as exc:
        return _error(str(exc))
    report = result.report
    logs = sum(1 for f in result.files if f.endswith(".dlog"))
    print(f"exported {logs} log(s) to {args.outdir}; see {args.outdir / README}")
    if report is not None and not report.ok:
        print(
            f"twinreview: verification found {len(report.problems)} problem(s); they are listed "
            "in the README (run 'twinreview verify WS' for details)",
            file=sys.stderr,
        )
        return EXIT_CHECK_FAILED
    return EXIT_OK
