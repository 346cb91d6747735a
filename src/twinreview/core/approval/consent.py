"""What a model's consent allows: its terms, its expiry, the uses and content an asset may have.

A model's consent is her own: a ``consent`` entry she signs into the signed roster
(``core.roster.log``; ``twinreview consent``) sets who must approve, her veto, the expiry and the
allowed uses, and (:func:`parse_terms`) the purpose in her words, her pay-terms reference, the
content she excludes, and whether "no end date" was her explicit choice;
:func:`twinreview.core.approval.policy.policy_from_consent` turns it into a
:class:`~twinreview.core.approval.policy.ModelPolicy`. An asset's declared use and content
categories come from its JSON sidecar (:func:`twinreview.core.approval.policy.declared_uses`,
``declared_categories``): every declared use must be allowed, and no category may be one she
excluded.

Consent entry fields besides ``model``, ``uses``, ``expires``, ``require``, ``veto`` and
``withdrawn``::

    purpose    text in her words, e.g. "Spring 2027 e-commerce for Brand X" (absent: older
               consents, shown as "no purpose recorded")
    pay_terms  text: a reference to the pay terms, e.g. a contract number (or null)
    exclude    list of content categories she excludes ("nudity", "alcohol", ...)
    no_expiry  true: she chose that her consent has no end date (``expires`` is then null)

Times are UTC: a workspace is shared across laptops in different time zones and must evaluate
the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twinreview.core.errors import as_utc, iso_utc
from twinreview.core.roster.model import RosterLogError

if TYPE_CHECKING:
    from twinreview.core.approval.policy import ModelPolicy

# Problem kinds of :func:`consent_problems`.
CONSENT_EXPIRED = "consent_expired"
USE_NOT_ALLOWED = "use_not_allowed"
CONTENT_EXCLUDED = "content_excluded"
SIDECAR_TERMS_UNREADABLE = "sidecar_terms_unreadable"

# What a sidecar's ``categories`` or use field reads as when it is not a string list: a value no
# consent names, so it can never pass as "nothing excluded" or "an allowed use".
UNREADABLE_CATEGORIES = "(categories could not be read)"
UNREADABLE_USE = "(use could not be read)"

MAX_PURPOSE_CHARS = 1000
MAX_PAY_TERMS_CHARS = 500
MAX_EXCLUDE = 64


@dataclass(frozen=True)
class ConsentTerms:
    """The terms of a consent entry beyond uses, end date and roles (see the module docstring)."""

    purpose: str | None
    pay_terms: str | None
    exclude: tuple[str, ...]
    no_expiry: bool


def parse_terms(payload: Mapping[str, Any]) -> ConsentTerms:
    """Read purpose, pay terms, exclusions and the explicit "no end date" of a consent entry.

    Raises:
        RosterLogError: a field of the wrong type or too long, or ``no_expiry`` with an end date.
    """
    purpose = _text(payload.get("purpose"), "purpose", MAX_PURPOSE_CHARS)
    pay_terms = _text(payload.get("pay_terms"), "pay_terms", MAX_PAY_TERMS_CHARS)
    raw = payload.get("exclude", [])
    if raw is None:
        raw = []
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise RosterLogError("consent exclude must be a list of content categories")
    exclude = tuple(dict.fromkeys(norm_use(c) for c in raw if c.strip()))
    if len(exclude) > MAX_EXCLUDE:
        raise RosterLogError(f"consent exclude names more than {MAX_EXCLUDE} categories")
    no_expiry = payload.get("no_expiry", False)
    if not isinstance(no_expiry, bool):
        raise RosterLogError("consent no_expiry must be true or false")
    if no_expiry and payload.get("expires") is not None:
        raise RosterLogError("consent has both an end date and no_expiry")
    return ConsentTerms(purpose, pay_terms, exclude, no_expiry)


def _text(value: object, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RosterLogError(f"consent {name} must be text")
    text = " ".join(value.split())
    if len(text) > limit:
        raise RosterLogError(f"consent {name} is longer than {limit} characters")
    return text or None


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
    policy: ModelPolicy,
    uses: Sequence[str] | None,
    now: dt.datetime,
    categories: Sequence[str] | None = None,
) -> list[tuple[str, str]]:
    """Consent problems of an asset, as ``(kind, sentence)`` pairs; empty when consent holds.

    ``kind`` is :data:`CONSENT_EXPIRED`, :data:`USE_NOT_ALLOWED` or :data:`CONTENT_EXCLUDED`.
    The sentences quote her terms: the uses she allowed and the purpose in her words.
    """
    problems: list[tuple[str, str]] = []
    if policy.expires is not None and as_utc(now) >= policy.expires:
        label = policy.expires_label or iso_utc(policy.expires, "auto")
        problems.append((CONSENT_EXPIRED, f"The model's consent ran until {label} (UTC)."))
    problems.extend(term_problems(policy, uses, categories))
    return problems


def term_problems(
    policy: ModelPolicy, uses: Sequence[str] | None, categories: Sequence[str] | None
) -> list[tuple[str, str]]:
    """The uses and content her consent does not cover, whenever it is.

    Such an asset cannot be approved at all, whoever signs.
    """
    problems: list[tuple[str, str]] = []
    words = f' She gave it for "{policy.purpose}".' if policy.purpose else ""
    if UNREADABLE_CATEGORIES in (categories or ()):
        problems.append(
            (
                SIDECAR_TERMS_UNREADABLE,
                "This asset's categories could not be read: its sidecar must list them as "
                'strings, such as "categories": ["swimwear"], so that the content she excluded '
                "can be checked.",
            )
        )
        categories = [c for c in categories or () if c != UNREADABLE_CATEGORIES]
    use_unreadable = bool(uses) and UNREADABLE_USE in (uses or ())
    if use_unreadable:
        problems.append(
            (
                SIDECAR_TERMS_UNREADABLE,
                "This asset's use could not be read: its sidecar must name it as a string or a "
                'list of strings, such as "intended_use": "ecommerce".',
            )
        )
        uses = [u for u in uses or () if u != UNREADABLE_USE]
    if policy.allowed_uses is not None:
        allowed = ", ".join(policy.allowed_uses) or "no use"
        if not uses and not use_unreadable:
            problems.append(
                (
                    USE_NOT_ALLOWED,
                    "The model allows only some uses, and this asset does not say what it is for "
                    f"(no intended_use in its sidecar). She allowed: {allowed}.{words}",
                )
            )
        else:
            for use in uses or ():
                if norm_use(use) not in policy.allowed_uses:
                    problems.append(
                        (
                            USE_NOT_ALLOWED,
                            f"The model did not agree to the use {use!r}: she allowed "
                            f"{allowed}.{words}",
                        )
                    )
    for category in categories or ():
        if norm_use(category) in policy.excluded:
            problems.append(
                (
                    CONTENT_EXCLUDED,
                    f"The model excluded {category!r} from her consent, and this asset's sidecar "
                    f"lists it among its categories.{words}",
                )
            )
    return problems
