"""A model's consent: the rules its form follows, its terms in plain words, and what it refuses.

The command line (``twinreview consent``) and the app's consent screen ask the same things and
refuse the same gaps: there is no permissive default. She names the uses she allows, the purpose
in her own words, and an end date, or chooses "no end date" explicitly; a pay-terms reference,
the content she excludes and the roles that must approve besides her are optional. What is
signed is ``services.roster_admin.RosterService.consent``; what it means is
``core.approval.consent``.

Public API:
    ConsentForm: what she fills in; ``missing()`` (the required answers not given),
        ``problem(today)`` (one line, or None), ``sign(service, root)``.
    consent_lines(consent, *, model_name, brand, workspace_name) -> list[tuple[str, str]]
        Her terms as (heading, text) in plain words, "no purpose recorded" for older consents.
    consent_refusal(ws, rel) -> str | None
        Why her consent does not cover an asset whatever anyone signs (a use she did not list,
        content she excluded), in her words; None when it does.
    consent_reference(consent) -> str: how a published file names her consent entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from twinreview.core.approval.consent import MAX_PAY_TERMS_CHARS, MAX_PURPOSE_CHARS, term_problems
from twinreview.core.approval.policy import (
    ModelPolicy,
    declared_categories,
    declared_uses,
    policy_from_consent,
)
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR, Consent
from twinreview.core.roster.people import ROLES
from twinreview.core.workspace import SIDECAR_SUFFIX, Workspace, read_sidecar
from twinreview.services.roster_admin import RosterService

NO_PURPOSE = "no purpose recorded"
# A published file names her consent entry by this prefix and the entry's hash.
CONSENT_REF_PREFIX = "twinreview-consent:sha256:"


@dataclass(frozen=True)
class ConsentForm:
    """Her answers. None (or empty) means "not given": nothing is assumed for her.

    Attributes:
        model_id: The model id she consents for.
        uses: The uses she allows.
        purpose: What for, in her words.
        expires: The last day of her consent (UTC).
        no_expiry: She chooses that it has no end date.
        pay_terms: A reference to the pay terms (a contract number), optional.
        exclude: Content she excludes (nudity, political, alcohol...), optional.
        require: Roles that must approve each image; she always does.
    """

    model_id: str
    uses: tuple[str, ...] | None = None
    purpose: str | None = None
    expires: dt.date | None = None
    no_expiry: bool = False
    pay_terms: str | None = None
    exclude: tuple[str, ...] = ()
    require: tuple[str, ...] = ("model", "agent")

    def missing(self) -> list[str]:
        """The required answers not given: ``uses``, ``purpose``, ``end date``, in that order."""
        out = []
        if not self.uses:
            out.append("uses")
        if not (self.purpose or "").strip():
            out.append("purpose")
        if self.expires is None and not self.no_expiry:
            out.append("end date")
        return out

    def problem(self, today: dt.date) -> str | None:
        """What is wrong with the answers given (one line), or None."""
        if self.expires is not None and self.no_expiry:
            return "give an end date or choose no end date, not both"
        if self.expires is not None and self.expires < today:
            return f"the end date {self.expires.isoformat()} has already passed"
        if len(" ".join((self.purpose or "").split())) > MAX_PURPOSE_CHARS:
            return f"the purpose is longer than {MAX_PURPOSE_CHARS} characters"
        if len(" ".join((self.pay_terms or "").split())) > MAX_PAY_TERMS_CHARS:
            return f"the pay terms are longer than {MAX_PAY_TERMS_CHARS} characters"
        bad = [r for r in self.require if r not in ROLES]
        if bad:
            return f"unknown role {bad[0]!r} (roles: {', '.join(ROLES)})"
        if "model" not in self.require:
            return "you always approve your own images: the roles must include model"
        overlap = {u.strip().lower() for u in self.uses or ()} & {
            c.strip().lower() for c in self.exclude
        }
        if overlap:
            return f"{sorted(overlap)[0]!r} is both an allowed use and excluded content"
        return None

    def sign(self, service: RosterService, root: Path) -> SignedRoster:
        """Sign these terms as her consent (call after ``missing()`` and ``problem()``)."""
        return service.consent(
            root,
            self.model_id,
            uses=self.uses,
            expires=self.expires,
            require=self.require,
            purpose=" ".join((self.purpose or "").split()) or None,
            pay_terms=" ".join((self.pay_terms or "").split()) or None,
            exclude=self.exclude,
            no_expiry=self.no_expiry,
        )


def consent_lines(
    consent: Consent | None, *, model_name: str, brand: str, workspace_name: str
) -> list[tuple[str, str]]:
    """Her consent as (heading, text) pairs, in plain words, for the app, the CLI and reports."""
    if consent is None:
        return [("Consent", f"{model_name} has not given consent yet")]
    if consent.withdrawn:
        return [("Consent", f"withdrawn by {model_name}: none of her images can be cleared")]
    others = [r for r in consent.require if r != "model"]
    if consent.expires is not None:
        until = f"until {consent.expires} (the end of that day, UTC)"
    elif consent.no_expiry:
        until = "no end date: her explicit choice"
    else:
        until = "no end date recorded"
    return [
        ("Who", f"{brand} (workspace {workspace_name!r}): AI-generated images of {model_name}"),
        (
            "Where they may be published",
            ", ".join(consent.uses) if consent.uses is not None else "any use",
        ),
        ("What for, in her words", f'"{consent.purpose}"' if consent.purpose else NO_PURPOSE),
        ("Until", until),
        ("Pay terms", consent.pay_terms or "no pay terms recorded"),
        ("Excluded content", ", ".join(consent.exclude) or "nothing excluded"),
        (
            "Who else must approve each image",
            (", ".join(others) if others else "nobody else")
            + f" ({model_name} always approves, and her reject always stands)",
        ),
    ]


def consent_reference(consent: Consent) -> str:
    """How a published file names her consent entry (its IPTC model release id)."""
    return CONSENT_REF_PREFIX + consent.entry_hash


def consent_refusal(ws: Workspace, rel: str, roster: SignedRoster | None = None) -> str | None:
    """Why the model's own consent does not cover the asset at ``rel``, or None.

    Only what no approval can change: a use she did not list, content she excluded (from the
    asset's sidecar). A missing, withdrawn or expired consent blocks the asset in its status.
    """
    parts = rel.split("/")
    if len(parts) < 3:
        return None
    if roster is None:
        roster = SignedRoster.load(ws.root / ROSTER_DIR)
    state = roster.current
    policy = policy_from_consent(parts[1], state.consent_for(parts[1]) if state else None)
    if not isinstance(policy, ModelPolicy):
        return None
    sidecar_path = (ws.root / rel).with_suffix(SIDECAR_SUFFIX)
    sidecar = (
        read_sidecar(sidecar_path)[0]
        if sidecar_path.is_file() and ws.inside(sidecar_path)
        else None
    )
    problems = term_problems(policy, declared_uses(sidecar), declared_categories(sidecar))
    return " ".join(sentence for _, sentence in problems) or None


def split_list(text: str | None) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")`` (lower case, in order, once each)."""
    return tuple(dict.fromkeys(p.strip().lower() for p in (text or "").split(",") if p.strip()))
