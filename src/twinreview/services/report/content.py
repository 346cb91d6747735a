"""The sign-off report's data: what ``services.report.build`` assembles and the renderers show.

A report is one workspace at one moment: per asset its findings, disclosure, every decision found
in the logs (verified or not) and what each counts for under the consent policy, and its status;
who set the workspace policy and each model's own signed consent; the heads of the signed roster
and of every log, and the checked signatures of the exports given. It is plain frozen data.

Public API:
    SignOffReport, AssetSection, DecisionRow, LogHead (and ``ExportSignature`` from
        ``services.export_check``): the model; ``SignOffReport.to_json()`` is
        ``twinreview report --json`` (thumbnails left out).
    COUNTS, SUPERSEDED, STALE, IGNORED, UNTRUSTED, UNREADABLE_ENTRY: what a decision counts for.
    BAD_RELATIONS: the export relations that mean "no longer matches" or "not trusted".
    CSV_FIELDS, write_csv(report, out): ``report --csv``, one row per asset, through the shared,
        formula-safe writer (``services.csvout``).

Built by ``services.report.build.build_report``; rendered as HTML by
``services.report.html.render_html`` (a Jinja2 template with autoescape).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from twinreview.core.disclosure import DisclosureReport
from twinreview.core.errors import iso_utc
from twinreview.core.findings import Finding, Severity
from twinreview.core.logs.verify import GOOD
from twinreview.core.reasons import reasons_text
from twinreview.services.csvout import write_rows
from twinreview.services.export_check import ExportSignature

# What a decision counts for under the policy, as the report words it.
COUNTS = "counts"
SUPERSEDED = "superseded"
STALE = "stale"
IGNORED = "ignored"
UNTRUSTED = "untrusted"
UNREADABLE_ENTRY = "unreadable"

# How an export's signed file relates to the workspace now (``ExportSignature.relation``): these
# say the workspace no longer holds what was exported, or the export cannot be trusted.
BAD_RELATIONS = frozenset({"differs", "missing", "refused"})


@dataclass(frozen=True)
class DecisionRow:
    """One decision entry about an asset, as found in a log (verified or not).

    Attributes:
        principal: Who signed it (None when the entry cannot be decoded).
        display_name: Their name from roster/people.toml, when listed.
        role: The role the entry claims.
        ts: When, ISO 8601 UTC as written in the entry.
        decision: approve / reject (as written).
        reasons: Reason codes.
        note: The reviewer's note.
        override: Approved despite blocking findings.
        sha256: The bytes decided on.
        file: The log file (workspace-relative).
        seq: Position in the log.
        verification: The verification state (``good``, ``bad_signature``, ...).
        verification_detail: Why it is not good ("" when good).
        effect: counts / superseded / stale / ignored / untrusted / unreadable.
        effect_detail: One sentence explaining the effect.
    """

    principal: str | None
    display_name: str | None
    role: str | None
    ts: str | None
    decision: str | None
    reasons: tuple[str, ...]
    note: str
    override: bool
    sha256: str | None
    file: str
    seq: int | None
    verification: str
    verification_detail: str
    effect: str
    effect_detail: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return _fields_json(self)


@dataclass(frozen=True)
class AssetSection:
    """Everything the report says about one asset."""

    path: str
    model_id: str
    model_name: str | None
    sha256: str | None
    error: str | None
    facts: Mapping[str, Any]
    findings: tuple[Finding, ...]
    disclosure: DisclosureReport | None
    state: str
    status_summary: str
    status_lines: tuple[str, ...]
    decisions: tuple[DecisionRow, ...]
    thumbnail: str | None = None
    evidence_thumbnails: Mapping[str, str] = field(default_factory=dict)
    likeness: Mapping[str, Any] | None = None
    likeness_text: str = ""

    @property
    def worst(self) -> Severity | None:
        """Highest finding severity."""
        return max((f.severity for f in self.findings), default=None)

    def to_json(self) -> dict[str, Any]:
        """JSON form (thumbnails left out)."""
        return {
            "path": self.path,
            "model": self.model_id,
            "model_name": self.model_name,
            "sha256": self.sha256,
            "error": self.error,
            "facts": dict(self.facts),
            "findings": [f.to_json() for f in self.findings],
            "disclosure": self.disclosure.to_json() if self.disclosure is not None else None,
            "status": {
                "state": self.state,
                "summary": self.status_summary,
                "details": list(self.status_lines),
            },
            "decisions": [d.to_json() for d in self.decisions],
            "likeness": dict(self.likeness) if self.likeness is not None else None,
            "likeness_text": self.likeness_text,
        }


@dataclass(frozen=True)
class LogHead:
    """The last entry of one log file: what pins the report to the logs.

    Attributes:
        file: Workspace-relative path of the log file.
        log: The log's key fingerprint.
        principal: Whose device log it is.
        entries: Complete lines.
        last_seq: seq of the last complete line (None if it cannot be decoded).
        head_sha256: sha256 of the last complete line, newline included: the ``prev`` the next
            entry of this log must carry.
        file_sha256: sha256 of the whole file as read for this report.
        ok: The file verified cleanly.
        torn_tail: The file ends in an unfinished line.
    """

    file: str
    log: str | None
    principal: str | None
    entries: int
    last_seq: int | None
    head_sha256: str | None
    file_sha256: str | None
    ok: bool
    torn_tail: bool

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return _fields_json(self)


@dataclass(frozen=True)
class SignOffReport:
    """The assembled report."""

    workspace: str
    workspace_name: str
    generated_at: dt.datetime
    version: str
    counts: Mapping[str, int]
    verification_ok: bool
    problems: tuple[Mapping[str, Any], ...]
    policies: Mapping[str, Mapping[str, Any]]
    model_names: Mapping[str, str]
    assets: tuple[AssetSection, ...]
    heads: tuple[LogHead, ...]
    exports: tuple[ExportSignature, ...]
    export_dirs: tuple[str, ...]
    orphans: tuple[Mapping[str, Any], ...]
    notices: tuple[str, ...]
    workspace_id: str | None = None
    owner: Mapping[str, str] | None = None
    roster_head: LogHead | None = None
    workspace_policy: Mapping[str, Any] | None = None
    consents: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    published: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON document (``twinreview report --json``)."""
        return {
            "report": "twinreview sign-off",
            "version": self.version,
            "workspace": self.workspace,
            "workspace_name": self.workspace_name,
            "generated_at": iso_utc(self.generated_at),
            "workspace_id": self.workspace_id,
            "owner": dict(self.owner) if self.owner is not None else None,
            "counts": dict(self.counts),
            "verification": {"ok": self.verification_ok, "problems": list(self.problems)},
            "workspace_policy": (
                dict(self.workspace_policy) if self.workspace_policy is not None else None
            ),
            "consents": {k: dict(v) for k, v in self.consents.items()},
            "policies": {k: dict(v) for k, v in self.policies.items()},
            "assets": [a.to_json() for a in self.assets],
            "roster_head": self.roster_head.to_json() if self.roster_head is not None else None,
            "log_heads": [h.to_json() for h in self.heads],
            "exports": {
                "folders": list(self.export_dirs),
                "signatures": [s.to_json() for s in self.exports],
            },
            "orphans": list(self.orphans),
            "notices": list(self.notices),
            "published": dict(self.published) if self.published is not None else None,
        }


def _fields_json(row: DecisionRow | LogHead) -> dict[str, Any]:
    """Every field of a flat row, tuples as lists."""
    return {
        f.name: list(v) if isinstance(v := getattr(row, f.name), tuple) else v
        for f in dataclasses.fields(row)
    }


# --- CSV -------------------------------------------------------------------------------------

CSV_FIELDS: tuple[str, ...] = (
    "path",
    "model",
    "state",
    "status",
    "disclosure",
    "worst_finding",
    "findings",
    "approvals",
    "rejections",
    "decisions",
    "untrusted_decisions",
    "sha256",
    "likeness",
)


def _csv_rows(report: SignOffReport) -> Iterator[dict[str, str]]:
    """One row per asset: status, disclosure, findings and decisions in a few columns."""
    for a in report.assets:
        counting = [d for d in a.decisions if d.effect == COUNTS]
        yield {
            "path": a.path,
            "model": a.model_id,
            "state": a.state,
            "status": a.status_summary,
            "disclosure": a.disclosure.verdict.value if a.disclosure is not None else "",
            "worst_finding": a.worst.label if a.worst is not None else "",
            "findings": "; ".join(f"{f.kind} ({f.severity.label})" for f in a.findings),
            "approvals": "; ".join(
                f"{d.principal} ({d.role}) {d.ts}" for d in counting if d.decision == "approve"
            ),
            "rejections": "; ".join(
                f"{d.principal} ({d.role}) {d.ts}: {reasons_text(d.reasons)}"
                for d in counting
                if d.decision == "reject"
            ),
            "decisions": str(len(a.decisions)),
            "untrusted_decisions": str(sum(d.verification != GOOD for d in a.decisions)),
            "sha256": a.sha256 or "",
            "likeness": a.likeness_text,
        }


def write_csv(report: SignOffReport, out: IO[str]) -> None:
    """``report --csv``: the header, then one row per asset (formula-looking cells neutralised)."""
    write_rows(out, CSV_FIELDS, _csv_rows(report))


__all__ = [
    "BAD_RELATIONS",
    "COUNTS",
    "CSV_FIELDS",
    "IGNORED",
    "STALE",
    "SUPERSEDED",
    "UNREADABLE_ENTRY",
    "UNTRUSTED",
    "AssetSection",
    "DecisionRow",
    "ExportSignature",
    "LogHead",
    "SignOffReport",
    "write_csv",
]
