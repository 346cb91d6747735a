"""``twinreview verify WS [--json] [--against EXPORT_DIR] [--restore]``: check every signed log.

Exit 0 all good, 1 when verification (or the comparison with an export) found anything, 2 for
usage errors (not a workspace, ``--against`` given something that is not an export).

``--against EXPORT_DIR`` also compares the workspace with an export's signed ``heads.json``
(``services.export_check``): a log or the roster that is now shorter than it was exported
(``rolled_back``), gone (``log_missing``) or different at the exported entry (``fork``). A heads
file whose signature does not check against the export's signed roster is refused (exit 1).

``--restore`` first puts back every line this device signed that the workspace lost (a log or
the roster cut back, replaced by an older copy, or deleted): the very bytes it signed, kept in its
user data folder. A file that holds other entries than this device signed is left alone (exit 1).

Without ``--restore`` it reads only. It never rewrites a signed entry (a torn tail is reported;
the next append finishes or moves it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.cli.text import escape_field, say
from twinreview.core.logs.signedcopy import CopyError
from twinreview.core.logs.verify import NOTICES, Problem, VerifyReport
from twinreview.core.workspace import Workspace
from twinreview.services.export_check import (
    HEADS,
    ExportCheckError,
    ExportHeads,
    compare_with_export,
    read_export_heads,
)
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
        "With --against, also compare the workspace with the signed heads of an export. "
        "Exit 0 when all is good, 1 otherwise.",
    )
    p.add_argument("workspace", metavar="WS", help="workspace folder")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.add_argument(
        "--against",
        type=Path,
        metavar="EXPORT_DIR",
        help="a folder written by 'twinreview export': report every log (and the roster) that "
        "is now shorter than it was exported, missing, or different at the exported entry",
    )
    p.add_argument(
        "--restore",
        action="store_true",
        help="first put back the lines this device signed that the workspace lost (from the "
        "copy it keeps of every entry it signs)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Verify and print the report; return the exit code."""
    ws = Workspace.open(args.workspace)
    verifier = Verifier.default()
    heads: ExportHeads | None = None
    against: Path | None = args.against
    if against is not None:
        if not against.is_dir() or not (against / HEADS).exists():
            what = "not a folder" if not against.is_dir() else f"{HEADS} is missing"
            say(
                f"twinreview: {against}: {what} (expected a folder written by 'twinreview export')",
                file=sys.stderr,
            )
            return EXIT_USAGE
        try:
            heads = read_export_heads(against, trust=verifier.trust)
        except ExportCheckError as exc:
            say(f"twinreview: {against}: {exc}", file=sys.stderr)
            return EXIT_CHECK_FAILED
    restore_failed = args.restore and not _restore(verifier, ws.root, quiet=args.json)
    report = verifier.verify(ws.root)
    found = compare_with_export(report, heads) if heads is not None else []
    # Not a verification failure: reported so that the folder is fixed before it reaches a Mac
    # or Windows laptop.
    paths = ws.path_problems()
    if args.json:
        doc = report.to_json()
        doc["path_problems"] = [{"path": p, "problem": why} for p, why in sorted(paths.items())]
        if heads is not None:
            doc["ok"] = report.ok and not found
            doc["against"] = _against_json(heads, found)
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        write_text(report)
        if heads is not None:
            write_against(heads, found)
        write_paths(ws.name_problems(), paths)
    return EXIT_OK if report.ok and not found and not restore_failed else EXIT_CHECK_FAILED


def _restore(verifier: Verifier, root: Path, *, quiet: bool) -> bool:
    """Put back what this device signed; False when a file could not be restored."""
    out = sys.stderr if quiet else sys.stdout
    try:
        done = verifier.restore(root)
    except CopyError as exc:
        say(f"twinreview: {exc}", file=sys.stderr)
        return False
    except OSError as exc:
        say(f"twinreview: cannot restore ({exc.strerror or exc})", file=sys.stderr)
        return False
    changed = [r for r in done if r.lines]
    for r in changed:
        how = "wrote it anew with" if r.created else "put back"
        aside = f" (its damaged end moved to {r.moved_aside})" if r.moved_aside else ""
        say(f"{r.file}: {how} {r.lines} line(s) this device signed{aside}", file=out)
    if not changed:
        say("nothing to restore: the workspace holds every entry this device signed", file=out)
    return True


def _against_json(heads: ExportHeads, found: list[Problem]) -> dict[str, object]:
    return {
        "export": str(heads.export),
        "ok": not found,
        "workspace_id": heads.workspace_id,
        "exported_at": heads.exported_at,
        "exporter": {"principal": heads.exporter[0], "fingerprint": heads.exporter[1]},
        "roster_head": {"seq": heads.roster.seq, "hash": heads.roster.hash},
        "heads": {
            log: {"seq": h.seq, "hash": h.hash, "file": h.file}
            for log, h in sorted(heads.logs.items())
        },
        "problems": [p.to_json() for p in found],
    }


def write_against(heads: ExportHeads, found: list[Problem]) -> None:
    """The comparison with an export, human-readable, on stdout."""
    who = f"{heads.exporter[0]} ({heads.exporter[1]})"
    say(f"against {heads.export} (exported {heads.exported_at} by {who}):")
    for p in found:
        say(f"  {p.file}: {p.kind}: {p.message}")
    total = len(heads.logs) + 1
    if found:
        say(f"  {len(found)} of {total} exported head(s) are no longer in the workspace")
    else:
        say(f"  all {total} exported heads (roster and {len(heads.logs)} log(s)) are still there")


def write_paths(names: dict[str, str], paths: dict[str, str]) -> None:
    """Print the names a Mac or Windows laptop cannot keep (``names``) on stdout.

    A folder's line counts the paths inside it that are reported for it (``paths``).
    """
    if not names:
        return
    say("names a Mac or Windows laptop cannot keep as they are (rename them):")
    for rel, why in sorted(names.items()):
        under = sum(p.startswith(f"{rel}/") for p in paths)
        more = f" ({under} path(s) inside)" if under else ""
        say(f"  {escape_field(rel)}: {escape_field(why)}{more}")


def _describe(p: Problem) -> str:
    where = []
    if p.line is not None:
        where.append(f"line {p.line}")
    if p.seq is not None:
        where.append(f"seq {p.seq}")
    prefix = f"{', '.join(where)}: " if where else ""
    kind = f"note ({p.kind})" if p.kind in NOTICES else p.kind
    return f"  {prefix}{kind}: {p.message}"


def write_text(report: VerifyReport) -> None:
    """Human-readable report on stdout."""
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for p in report.problems:
        by_file[p.file].append(p)
    roster = report.roster
    if roster.exists:
        problems = by_file.pop("roster/roster.dlog", [])
        state = _state(roster.ok, problems)
        owner = f" (owner {roster.owner})" if roster.owner else ""
        say(f"roster/roster.dlog{owner}: {len(roster.entries)} entries, {state}")
        for p in problems:
            say(_describe(p))
    for summary in report.logs:
        problems = by_file.pop(summary.file, [])
        state = _state(summary.ok, problems)
        who = f" ({summary.principal})" if summary.principal else ""
        say(f"{summary.file}{who}: {summary.entries} entries, {state}")
        for p in problems:
            say(_describe(p))
    for file, problems in by_file.items():
        say(f"{file}:")
        for p in problems:
            say(_describe(p))
    total = len(report.entries)
    if report.ok:
        say(f"verified {total} entries in {len(report.logs)} log(s): all good")
    else:
        failed = [p for p in report.problems if p.kind not in NOTICES]
        say(f"verified {total} entries in {len(report.logs)} log(s): {len(failed)} problem(s)")


def _state(ok: bool, problems: list[Problem]) -> str:
    """``ok``, or how many problems (notices, such as a key reset, are not problems)."""
    failed = [p for p in problems if p.kind not in NOTICES]
    if ok and not failed:
        return "ok" + (f", {len(problems)} note(s)" if problems else "")
    return f"{len(failed)} problem(s)"
