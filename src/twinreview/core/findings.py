"""Findings: what a scan says about one asset.

A finding has a kind, a severity, evidence (machine-readable facts: which file, which hash,
which distance, which metadata field) and one sentence a non-technical reviewer understands.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """How much a finding matters; ordered so that ``max()`` gives the worst."""

    INFO = 0
    WARN = 1
    BLOCK = 2

    @property
    def label(self) -> str:
        """The lower-case name used in JSON, CSV and the workspace config."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Parse ``info``/``warn``/``block`` (case-insensitive).

        Raises:
            ValueError: for any other text.
        """
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected info, warn or block)") from None


# Finding kinds. Strings, not an enum, so that JSON output and workspace policy tables use
# the same spelling and new kinds do not need a schema change.
UNREADABLE = "unreadable"
NEAR_COPY_OF_REFERENCE = "near_copy_of_reference"
MATCHES_OTHER_MODEL = "matches_other_model"
DUPLICATE_IN_BATCH = "duplicate_in_batch"
DUPLICATE_OF_APPROVED = "duplicate_of_approved"
RESUBMITTED_REJECTED = "resubmitted_rejected"
UNKNOWN_MODEL = "unknown_model"
SKIPPED_LINK = "skipped_link"
BAD_SIDECAR = "bad_sidecar"
NO_REFERENCES = "no_references"
# Likeness (face identity, :mod:`twinreview.core.likeness`).
LOOKS_LIKE_OTHER_MODEL = "looks_like_other_model"
LIKENESS_UNCONFIRMED = "likeness_unconfirmed"
UNKNOWN_PERSON = "unknown_person"


# Severities of the scan's own kinds; ``[similarity.severity]`` overrides them
# (:mod:`twinreview.core.settings`). Likeness and disclosure kinds have theirs in their modules.
DEFAULT_SEVERITY: Mapping[str, Severity] = {
    NEAR_COPY_OF_REFERENCE: Severity.BLOCK,
    MATCHES_OTHER_MODEL: Severity.BLOCK,
    RESUBMITTED_REJECTED: Severity.WARN,
    DUPLICATE_IN_BATCH: Severity.INFO,
    UNREADABLE: Severity.BLOCK,
    UNKNOWN_MODEL: Severity.WARN,
    BAD_SIDECAR: Severity.WARN,
    NO_REFERENCES: Severity.WARN,
}


@dataclass(frozen=True)
class Finding:
    """One thing a reviewer should know about an asset.

    Attributes:
        kind: Machine name, e.g. ``near_copy_of_reference``.
        severity: info, warn or block.
        message: One plain sentence for a non-technical reviewer.
        evidence: JSON-serialisable facts behind the finding.
    """

    kind: str
    severity: Severity
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form used by ``twinreview scan --json``."""
        return {
            "kind": self.kind,
            "severity": self.severity.label,
            "message": self.message,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of :meth:`to_json`."""
        return cls(
            kind=str(data["kind"]),
            severity=Severity.parse(str(data["severity"])),
            message=str(data["message"]),
            evidence=dict(data.get("evidence") or {}),
        )


def worst(findings: Iterable[Finding]) -> Severity | None:
    """Return the highest severity among ``findings``, or None when there are none."""
    return max((f.severity for f in findings), default=None)
