"""The words for an asset's status in the queue and the decision bar (no Qt)."""

from __future__ import annotations

from collections.abc import Sequence

from twinreview.core.approval.policy import APPROVE, DISCLOSURE_KINDS, State
from twinreview.core.findings import Severity, kind_words
from twinreview.ui.app_errors import app_message
from twinreview.ui.backend import Identity
from twinreview.ui.items import AssetItem, disclosure_verdict

NO_RESULTS = "No results yet"
"""The findings of an asset whose scan results the app does not have yet. Never "Scanning…"
(on a warm load nothing is scanned: the results come from the cache, and a cold scan reaches
each image in its turn), nor "Unchecked" (the scan may have checked it: its result is on its
way from the scan process)."""

STATUS_NOT_KNOWN = "Not known yet"
"""The approval status of an asset without scan results: it is read from the signed logs for
the file's contents, which the scan's result names. Never a state: "Unchecked" would say that
nobody reviewed an image that may be approved already."""


def consent_wait(item: AssetItem) -> str | None:
    """``missing`` / ``withdrawn`` when the asset waits for its model's consent, else None."""
    status = item.status
    if status is None or status.consent is None:
        return None
    ev = status.evaluation
    if ev.state is State.BLOCKED and ev.blocked_by == "policy":
        return status.consent
    return None


def status_text(item: AssetItem, principal: str | None = None) -> str:
    """A short status for the queue, e.g. ``Pending: agent``."""
    if item.status is None:
        return STATUS_NOT_KNOWN if item.result is None else "Reading logs…"
    ev = item.status.evaluation
    wait = consent_wait(item)
    if wait == "missing":
        return "Waiting for consent"
    if wait == "withdrawn":
        return "Consent withdrawn"
    if ev.state is State.PENDING:
        mine = " (you approved)" if principal and item.latest_by(principal) == APPROVE else ""
        return f"Pending: {', '.join(ev.missing_roles)}{mine}"
    if ev.state is State.BLOCKED:
        return f"Blocked ({ev.blocked_by})" if ev.blocked_by else "Blocked"
    return ev.state.value.capitalize()


def status_sentence(item: AssetItem, identity: Identity | None = None) -> str:
    """The asset's status in one line for the decision bar and simple mode."""
    if item.status is None:
        return NO_RESULTS if item.result is None else "Reading logs…"
    wait = consent_wait(item)
    if wait is not None:
        mine = (
            identity is not None
            and identity.role == "model"
            and item.ref.model_id in identity.model_ids
        )
        if wait == "withdrawn":
            return (
                "Consent withdrawn: you withdrew your consent, so this image cannot be approved."
                if mine
                else f"Consent withdrawn: {item.model_name} withdrew consent, so this image "
                "cannot be approved."
            )
        return (
            "Waiting for your consent: say which uses you allow (My consent…) before images "
            "of you can be approved."
            if mine
            else f"Waiting for the model's consent: {item.model_name} has not said yet which "
            "uses they allow."
        )
    return app_message(item.status.evaluation.summary())


def flagged(item: AssetItem, approvable: frozenset[str] | None = None) -> bool:
    """True when something about ``item`` needs a look.

    That is an unreadable file, or a warning or blocking finding. Notes (info) do not count, and
    neither do the disclosure findings of an image whose disclosure verdict the workspace allows
    (``approvable``).
    """
    return bool(warning_kinds(item, approvable))


def warning_kinds(item: AssetItem, approvable: frozenset[str] | None = None) -> list[str]:
    """The kinds of what makes ``item`` flagged (see :func:`flagged`), each once."""
    kinds = ["unreadable"] if item.result is not None and item.result.error else []
    verdict = disclosure_verdict(item)
    allowed = approvable is not None and verdict is not None and verdict in approvable
    for f in item.findings:
        counts = f.severity >= Severity.WARN and not (allowed and f.kind in DISCLOSURE_KINDS)
        if counts and f.kind not in kinds:
            kinds.append(f.kind)
    return kinds


def batch_warnings(items: Sequence[AssetItem], approvable: frozenset[str] | None = None) -> str:
    """How many of a selection carry warnings, and which kinds with how many images each.

    ``""`` when none does: ``3 of the 10 selected carry warnings: face not confirmed (2), no AI
    label (1).``
    """
    counts: dict[str, int] = {}
    carrying = 0
    for item in items:
        kinds = warning_kinds(item, approvable)
        carrying += bool(kinds)
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
    if not carrying:
        return ""
    listed = ", ".join(
        f"{kind_words(k)} ({n})" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    return f"{carrying} of the {len(items)} selected carry warnings: {listed}."
