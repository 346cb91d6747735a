"""``twinreview inspect FILE... [--json] [--workspace WS]``: the AI disclosure of single files.

Every file named yields one record, in the order given, hostile or unreadable ones included; the
exit code is 0 unless the usage is wrong (2). ``--json`` prints exactly one JSON list::

    [{"path": str, "format": str|null, "error": str|null, "disclosure": {...}}]

With ``--workspace`` the workspace's ``[disclosure]`` settings apply (trust anchors, label).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from twinreview.cli.main import EXIT_OK, EXIT_USAGE
from twinreview.cli.text import escape_field as esc
from twinreview.cli.text import say
from twinreview.core.disclosure import DisclosureConfigError, DisclosureReport
from twinreview.services.disclosure import DisclosureService

_STATE_WIDTH = 23
_VERDICT_WIDTH = 9


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``inspect`` subcommand."""
    p = sub.add_parser(
        "inspect",
        help="show the AI disclosure of image files (C2PA, IPTC XMP, label)",
        description="Read the AI disclosure of each FILE offline, from its own bytes: C2PA Content "
        "Credentials, the IPTC digital source type in XMP (and an .xmp sidecar next to it), and "
        "the workspace's visible label when --workspace names one. Never changes a file and never "
        "uses the network.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="image files to inspect")
    p.add_argument("--json", action="store_true", help="print one JSON list, one record per file")
    p.add_argument(
        "--workspace",
        type=Path,
        metavar="WS",
        help="apply this workspace's [disclosure] settings (trust anchors, label)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Inspect the files; return the exit code."""
    try:
        service = _service(args.workspace)
    except (DisclosureConfigError, _WorkspaceProblem) as exc:
        say(f"twinreview: {exc}", file=sys.stderr)
        return EXIT_USAGE
    records = []
    for path in args.files:
        report, error = service.inspect_file(path)
        records.append(Inspected(str(path), report, error))
    if args.json:
        json.dump([r.to_json() for r in records], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        write_table(records, sys.stdout)
    return EXIT_OK


@dataclass(frozen=True)
class Inspected:
    """One file named on the command line, and what it says.

    Attributes:
        path: The path as given.
        report: Its disclosure report.
        error: Why it could not be read at all, else None.
    """

    path: str
    report: DisclosureReport
    error: str | None

    def to_json(self) -> dict[str, Any]:
        """One ``inspect --json`` record."""
        return {
            "path": self.path,
            "format": self.report.format,
            "error": self.error,
            "disclosure": self.report.to_json(),
        }


def write_table(records: Sequence[Inspected], out: TextIO) -> None:
    """Print a readable table: one line per file, then the reason for each verdict.

    A file's metadata (signer, generator, source types, notes) and its name are anyone's to
    write: control characters are shown as escapes, and a newline cannot start a line.
    """
    header = (
        f"{'VERDICT':<{_VERDICT_WIDTH}}  {'C2PA':<{_STATE_WIDTH}}  {'XMP SOURCE TYPE':<36}  FILE"
    )
    out.write(header + "\n")
    for rec in records:
        d = rec.report
        xmp = d.xmp.source_type or d.xmp.raw
        xmp_text = _short(xmp) if xmp else "-"
        if d.xmp.source_type is None and d.xmp.raw is not None:
            xmp_text += " (not IPTC)"
        out.write(
            f"{d.verdict.value:<{_VERDICT_WIDTH}}  {d.c2pa.state.value:<{_STATE_WIDTH}}  "
            f"{esc(xmp_text):<36}  {esc(rec.path)}\n"
        )
    out.write("\n")
    for rec in records:
        d = rec.report
        out.write(f"{esc(rec.path)}:\n")
        if rec.error:
            out.write(f"  error: {esc(rec.error)}\n")
        c2pa = d.c2pa
        if c2pa.signer or c2pa.generator:
            issuer = c2pa.signer_issuer
            by = f"{c2pa.signer or '-'}" + (f" (issuer: {issuer})" if issuer else "")
            out.write(f"  signed by: {esc(by)}; generator: {esc(c2pa.generator or '-')}\n")
        for st in c2pa.source_types:
            out.write(f"  source type {esc(_short(st.value))}: {esc(st.where)}\n")
        if c2pa.failures:
            out.write(f"  C2PA failures: {esc(', '.join(c2pa.failures))}\n")
        for note in d.notes:
            out.write(f"  - {esc(note)}\n")


def _short(uri: str) -> str:
    for prefix in (
        "http://cv.iptc.org/newscodes/digitalsourcetype/",
        "http://c2pa.org/digitalsourcetype/",
    ):
        if uri.startswith(prefix):
            return uri[len(prefix) :]
    return uri


class _WorkspaceProblem(Exception):
    pass


def _service(workspace: Path | None) -> DisclosureService:
    if workspace is None:
        return DisclosureService.default()
    from twinreview.core.workspace import Workspace, WorkspaceError

    try:
        ws = Workspace.open(workspace)
    except WorkspaceError as exc:
        raise _WorkspaceProblem(str(exc)) from None
    return DisclosureService.for_workspace(ws)
