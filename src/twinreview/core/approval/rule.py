"""The one rule that decides whether an asset may be approved, under the policy in force.

The app (before it offers to approve), the command line and the signing service (before they
sign), and the status (before it counts an approval) all ask :func:`check_approval`, with the
settings of the signed policy as it stands *now* (``Workspace.settings_under(roster)``), never
those of the moment a window opened or a scan ran: a policy the owner tightened since applies at
once.

- Each finding is graded again by the policy in force (:func:`regrade`): a kind the owner made
  ``block`` blocks, whatever severity the scan gave it then.
- An approval over blocking findings needs the reviewer's explicit override, recorded in the
  signed entry.
- An image whose AI-disclosure verdict the policy does not list as approvable cannot be
  approved at all; no override lifts that (it is the brand's publication rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from twinreview.core.disclosure.model import DisclosureEvidence
from twinreview.core.disclosure.policy import DEFAULT_SEVERITIES as DISCLOSURE_SEVERITIES
from twinreview.core.disclosure.verdict import evidence_from_json
from twinreview.core.findings import (
    ALSO_LOOKS_LIKE_MODEL,
    LOOKS_LIKE_OTHER_MODEL,
    REFERENCE_COPIES,
    Finding,
    Severity,
)
from twinreview.core.settings import WorkspaceSettings

#: Kinds that say an image may show another model: they block whatever the signed policy says
#: (an admin writes the policy, and only her own key speaks for a model's face).
ALWAYS_BLOCK: frozenset[str] = frozenset({ALSO_LOOKS_LIKE_MODEL, REFERENCE_COPIES})


@dataclass(frozen=True)
class ApprovalCheck:
    """What the policy in force says about approving one asset.

    Attributes:
        blocking: Findings that block under the policy in force: approving needs an override.
        refused: Why nothing can approve it (the disclosure verdict is not approvable), or None.
    """

    blocking: tuple[Finding, ...] = ()
    refused: str | None = None

    def allows(self, *, override: bool) -> bool:
        """True when an approval (with ``override`` or not) follows the policy in force."""
        return self.refused is None and (override or not self.blocking)

    @property
    def blocking_kinds(self) -> str:
        """The kinds of the blocking findings, for messages (``missing_disclosure, ...``)."""
        return ", ".join(sorted({f.kind for f in self.blocking}))


def severity_in_force(kind: str, settings: WorkspaceSettings) -> Severity | None:
    """The severity the policy in force gives a finding kind (None: a kind it does not grade)."""
    if kind in ALWAYS_BLOCK:
        return Severity.BLOCK
    if kind in DISCLOSURE_SEVERITIES:
        return settings.disclosure.severity(kind)
    return settings.severities.get(kind)


def regrade(findings: Iterable[Finding], settings: WorkspaceSettings) -> tuple[Finding, ...]:
    """The findings graded by the policy in force (a kind it does not grade keeps its own)."""
    out: list[Finding] = []
    for f in findings:
        severity = severity_in_force(f.kind, settings)
        out.append(
            f if severity is None or severity == f.severity else replace(f, severity=severity)
        )
    return tuple(out)


def verdict_of(findings: Iterable[Finding]) -> str | None:
    """The disclosure verdict the findings carry (None: no disclosure finding, nothing to say).

    Every disclosure finding carries the verdict in its evidence (:class:`DisclosureEvidence`);
    a ``disclosed`` image usually has no disclosure finding at all.
    """
    for f in findings:
        ev = f.evidence
        if isinstance(ev, DisclosureEvidence) and ev.verdict is not None:
            return ev.verdict
    return None


def check_approval(
    findings: Sequence[Finding],
    settings: WorkspaceSettings,
    *,
    verdict: str | None = None,
    own_word: frozenset[str] = frozenset(),
) -> ApprovalCheck:
    """Whether an asset with these findings may be approved under ``settings`` (in force now).

    Args:
        findings: The findings of the asset's current bytes (any severities: they are graded
            again here).
        settings: The settings of the signed policy in force.
        verdict: The disclosure verdict, when the caller has it; else read from the findings.
        own_word: The models the approver speaks for as their model person: a finding that
            asks only for their word (the image may show them) is answered by this approval.
    """
    verdict = verdict if verdict is not None else verdict_of(findings)
    refused = None
    if verdict is not None and not settings.disclosure.is_approvable(verdict):
        refused = (
            f"this workspace does not allow approving an image whose AI disclosure is "
            f"{verdict!r} (the workspace's signed policy, [disclosure] approvable)"
        )
    blocking = tuple(
        f
        for f in regrade(findings, settings)
        if f.severity >= Severity.BLOCK and not _answered_by(f, own_word)
    )
    return ApprovalCheck(blocking, refused)


def _answered_by(f: Finding, own_word: frozenset[str]) -> bool:
    """``f`` asks only for the word of models in ``own_word``, who approve it themselves."""
    named = models_whose_word_is_needed([f])
    return bool(named) and own_word.issuperset(named)


def models_whose_word_is_needed(findings: Iterable[object]) -> tuple[str, ...]:
    """Other models an image may show, by its findings: each one's own approval is needed too.

    ``findings`` are :class:`Finding` objects or their JSON form (as a decision records them).
    An image whose face matches another model as closely as its own model (or more closely),
    or filed under a model whose reference photos copy another model's, is not cleared until
    that model approves it with her own key; her reject is a veto.
    """
    out: list[str] = []
    for item in findings:
        kind, evidence = (
            (item.kind, item.evidence)
            if isinstance(item, Finding)
            else (item.get("kind"), item.get("evidence"))
            if isinstance(item, Mapping)
            else (None, None)
        )
        if not isinstance(evidence, Mapping):
            continue
        if kind in (ALSO_LOOKS_LIKE_MODEL, LOOKS_LIKE_OTHER_MODEL):
            named: object = [evidence.get("model")]
        elif kind == REFERENCE_COPIES:
            named = evidence.get("models")
        else:
            continue
        if isinstance(named, list):
            out.extend(m for m in named if isinstance(m, str) and m)
    return tuple(dict.fromkeys(out))


def findings_from_json(items: Iterable[object]) -> tuple[Finding, ...]:
    """The findings a signed decision recorded (items that are not findings are left out).

    A disclosure finding's evidence is read into its :class:`DisclosureEvidence`, leniently:
    what was signed keeps its meaning (its kind, and the verdict word as signed).
    """
    out: list[Finding] = []
    for item in items:
        if isinstance(item, Mapping):
            try:
                f = Finding.from_json(item)
            except (KeyError, TypeError, ValueError):
                continue
            if f.kind in DISCLOSURE_SEVERITIES:
                f = replace(f, evidence=evidence_from_json(f.kind, f.evidence))
            out.append(f)
    return tuple(out)


def why_approval_does_not_count(
    findings: Iterable[object],
    override: bool,
    settings: WorkspaceSettings,
    own_word: frozenset[str] = frozenset(),
) -> str | None:
    """Why a signed approval does not count under the policy in force (None: it counts).

    ``findings`` are what the approval recorded (``Finding.to_json()`` each), ``override``
    whether it overrode blocking findings, ``own_word`` the models it was signed for as their
    model person (see :func:`check_approval`).
    """
    check = check_approval(findings_from_json(findings), settings, own_word=own_word)
    if check.refused is not None:
        return f"the policy in force refuses it: {check.refused}"
    if check.blocking and not override:
        return (
            f"approved without the override the policy in force requires ({check.blocking_kinds} "
            "now blocks)"
        )
    return None
