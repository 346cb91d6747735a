"""The words for an asset's status in the queue and the decision bar (no Qt)."""

from __future__ import annotations

from twinreview.core.policy import APPROVE, State
from twinreview.ui.backend import Identity
from twinreview.ui.items import AssetItem


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
        return "Scanning…" if item.result is None else "Reading logs…"
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
        return "Scanning…" if item.result is None else "Reading logs…"
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
    return item.status.evaluation.summary()
