"""What a model's consent allows: its expiry and the uses an asset may be put to.

A model's consent is her own: a ``consent`` entry she signs into the signed roster
(``core.rosterlog``; ``twinreview consent``) sets who must approve, her veto, the expiry and the
allowed uses; :func:`twinreview.core.policy.policy_from_consent` turns it into a
:class:`~twinreview.core.policy.ModelPolicy`. An asset's declared use comes from its JSON
sidecar (:func:`twinreview.core.policy.declared_uses`); every declared use must be allowed.

Times are UTC: a workspace is shared across laptops in different time zones and must evaluate
the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from twinreview.core.errors import as_utc, iso_utc

if TYPE_CHECKING:
    from twinreview.core.policy import ModelPolicy

# Problem kinds of :func:`consent_problems`.
CONSENT_EXPIRED = "consent_expired"
USE_NOT_ALLOWED = "use_not_allowed"


def norm_use(use: str) -> str:
    """A use as consents and sidecars are compared: trimmed, lower case."""
    return use.strip().lower()


def parse_expiry(value: str | None) -> dt.datetime | None:
    """The end of consent: a bare date holds through that whole day (UTC).

    Raises:
        ValueError: when ``value`` is neither a date (``2027-06-30``) nor an ISO 8601 time.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        return as_utc(dt.datetime.fromisoformat(text))
    except ValueError:
        pass
    raise ValueError(f"consent.expires must be a date such as 2027-06-30, not {value!r}")


def consent_problems(
    policy: ModelPolicy, uses: Sequence[str] | None, now: dt.datetime
) -> list[tuple[str, str]]:
    """Consent problems of an asset, as ``(kind, sentence)`` pairs; empty when consent holds.

    ``kind`` is :data:`CONSENT_EXPIRED` or :data:`USE_NOT_ALLOWED`.
    """
    problems: list[tuple[str, str]] = []
    if policy.expires is not None and as_utc(now) >= policy.expires:
        label = policy.expires_label or iso_utc(policy.expires, "auto")
        problems.append((CONSENT_EXPIRED, f"The model's consent ran until {label} (UTC)."))
    if policy.allowed_uses is not None:
        allowed = set(policy.allowed_uses)
        if not uses:
            problems.append(
                (
                    USE_NOT_ALLOWED,
                    (
                        "The model allows only some uses, and this asset does not say "
                        "what it is for (no intended_use in its sidecar)."
                    ),
                )
            )
        else:
            for use in uses:
                if norm_use(use) not in allowed:
                    problems.append(
                        (
                            USE_NOT_ALLOWED,
                            f"The model did not agree to the use {use!r}.",
                        )
                    )
    return problems
