"""Plain words for simple mode: what a model reviewing her own twin reads (no Qt).

Second person, one sentence per warning or blocking finding, never a code (``intended_use``,
``sidecar``, reason codes), a raw error (``[Errno 2] ...``), a face score, or a word she would not
know (key, keyring, roster, workspace, log). Another model is never named: she is
:data:`SOMEONE_ELSE`; the agent's and the brand's views say who.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from twinreview.core.approval.policy import State
from twinreview.core.approval.rule import models_whose_word_is_needed
from twinreview.core.findings import (
    ALSO_LOOKS_LIKE_MODEL,
    BAD_SIDECAR,
    DUPLICATE_IN_BATCH,
    LIKENESS_UNCONFIRMED,
    LOOKS_LIKE_OTHER_MODEL,
    MATCHES_OTHER_MODEL,
    NEAR_COPY_OF_REFERENCE,
    PATH_NOT_PORTABLE,
    POSSIBLE_COPY_OF_REFERENCE,
    REFERENCE_COPIES,
    RESUBMITTED_REJECTED,
    UNKNOWN_MODEL,
    UNKNOWN_PERSON,
    UNREADABLE,
    Finding,
    Severity,
)
from twinreview.core.likeness.model import AMBIGUOUS, OTHER, UNKNOWN, Likeness
from twinreview.core.reasons import REASON_WORDS

#: Another model, as simple mode calls her (never by name).
SOMEONE_ELSE = "someone else in this workspace"
#: Someone the face check does not know.
STRANGER = "someone we do not know"

#: Sentences for kinds that need no evidence, addressed to the model.
_FIXED: Mapping[str, str] = {
    "missing_disclosure": "Nothing in the file says it was made by AI.",
    "partial_disclosure": "The file's label saying it was made by AI is incomplete.",
    "tampered_provenance": "The file's AI label was changed after it was signed, so it cannot "
    "be trusted.",
    "disclosure_conflict": "The file contradicts itself about whether it was made by AI.",
    "credential_problem": "The AI label is signed with a certificate that has expired or is "
    "not trusted.",
    "remote_manifest_unverified": "The file's AI label is stored online and could not be "
    "checked here.",
    "manifest_stripped": "The file's AI label was removed.",
    "label_missing": "The visible “made with AI” mark is not in any corner of the image.",
    UNREADABLE: "This file cannot be opened: it may be damaged or incomplete.",
    UNKNOWN_MODEL: "This image is filed under a person we do not know.",
    "no_references": "There are no real photos of you here to compare it with.",
    BAD_SIDECAR: "The description that came with this image is damaged.",
    LIKENESS_UNCONFIRMED: "The face check could not confirm that this is you.",
    UNKNOWN_PERSON: f"There is a face in this image of {STRANGER}.",
    DUPLICATE_IN_BATCH: "The same picture appears twice among the images.",
    PATH_NOT_PORTABLE: "This file's name will not survive a copy to a Mac or Windows computer; "
    "it needs a new name.",
}


#: The roles, as the model says them.
_ROLE_WORDS = {"model": "you", "agent": "your agent", "brand": "the brand"}


def _name(rel: object) -> str:
    return str(rel).rsplit("/", 1)[-1] if rel else ""


def _copy_how(evidence: Mapping[str, Any]) -> str:
    """``, mirrored`` / ``, cropped`` … from the evidence, when it says."""
    how = []
    if evidence.get("mirrored") is True:
        how.append("mirrored")
    for key in ("transform", "edit", "kind_of_copy"):
        value = evidence.get(key)
        if (
            isinstance(value, str)
            and value
            and value not in how
            and re.fullmatch(r"[a-z ]+", value)
        ):
            how.append(value)
    return f", {' and '.join(how)}" if how else ""


def finding_sentence(
    f: Finding,
    *,
    model_names: Mapping[str, str] | None = None,
    you: bool = True,
    also_you: bool = False,
    my_models: frozenset[str] = frozenset(),
) -> str:
    """One plain sentence about ``f`` for the model (``you``) or about her (``you=False``).

    ``model_names`` names her own model (when ``you`` is False); another model is never named.
    ``also_you``: the face check found her in the image too (a group photo).
    ``my_models``: the models the reader is herself; a finding that asks for her word says so.
    """
    del model_names  # another model is "someone else", whoever she is
    ev = f.evidence
    ref = _name(ev.get("reference"))
    your = "your" if you else "the model's"
    if f.kind == NEAR_COPY_OF_REFERENCE:
        photo = f" {ref}" if ref else ""
        return f"This is {your} own photo{photo}{_copy_how(ev)}: not a new image."
    if f.kind == MATCHES_OTHER_MODEL:
        return (
            f"This is a copy of a photo of {SOMEONE_ELSE}, not of you."
            if you
            else f"This is a copy of a photo of {SOMEONE_ELSE}: the wrong person."
        )
    if f.kind == POSSIBLE_COPY_OF_REFERENCE:
        photo = f" {ref}" if ref else ""
        if ev.get("own_model") is False:
            # Another model's photo is never named to her (nor its file, which may be a name).
            whose = f"a photo of {SOMEONE_ELSE}"
        else:
            whose = f"{your} photo{photo}"
        return (
            f"This may be made from {whose}: the face is almost the same. "
            "Compare them before you decide."
        )
    if f.kind == LOOKS_LIKE_OTHER_MODEL:
        if also_you:
            with_whom = "you" if you else "the model"
            return f"{SOMEONE_ELSE.capitalize()} is in this image with {with_whom}."
        return f"The face looks like {SOMEONE_ELSE}, not {'you' if you else 'the model'}."
    if f.kind in (ALSO_LOOKS_LIKE_MODEL, REFERENCE_COPIES) and my_models.intersection(
        models_whose_word_is_needed([f])
    ):
        return (
            "This image may show you, though it is filed under another model: it needs your "
            "own approval too."
        )
    if f.kind == ALSO_LOOKS_LIKE_MODEL:
        # Another model is never named to her; the model it names sees it as her own word.
        return (
            f"The face looks as much like {SOMEONE_ELSE} as like {'you' if you else 'the model'}: "
            "she must approve it too."
        )
    if f.kind == REFERENCE_COPIES:
        whose = "The real photos of you here" if you else "The model's real photos here"
        return (
            f"{whose} are copies of photos of {SOMEONE_ELSE}: she must approve these images "
            "too, and the photos must be checked."
        )
    if f.kind == LIKENESS_UNCONFIRMED and not you:
        return "The face check could not confirm that this is the model it is filed under."
    if f.kind == RESUBMITTED_REJECTED:
        reasons = [REASON_WORDS.get(str(r), "") for r in ev.get("reasons") or () if str(r)]
        reasons = [r for r in reasons if r]
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return f"This is nearly the same as an image that was rejected before{why}."
    return _FIXED.get(f.kind, "Something about this image needs a closer look.")


def finding_sentences(
    findings: tuple[Finding, ...],
    *,
    error: str | None = None,
    model_names: Mapping[str, str] | None = None,
    you: bool = True,
    likeness: Likeness | None = None,
    my_models: frozenset[str] = frozenset(),
) -> list[str]:
    """One sentence per warning or blocking finding, worst first, each said once.

    Among equally serious ones, what is wrong with the picture itself (a copy of a real photo,
    the wrong person) comes before what is wrong with its label.
    """
    out: list[str] = []
    if error and not any(f.kind == UNREADABLE for f in findings):
        out.append(_FIXED[UNREADABLE])
    first = (
        NEAR_COPY_OF_REFERENCE,
        MATCHES_OTHER_MODEL,
        LOOKS_LIKE_OTHER_MODEL,
        ALSO_LOOKS_LIKE_MODEL,
        REFERENCE_COPIES,
    )
    for f in sorted(findings, key=lambda f: (-int(f.severity), f.kind not in first)):
        if f.severity < Severity.WARN:
            continue
        also_you = likeness is not None and likeness.best_own is not None
        text = finding_sentence(
            f, model_names=model_names, you=you, also_you=also_you, my_models=my_models
        )
        if text not in out:
            out.append(text)
    return out


def likeness_sentence(lk: Likeness, names: Mapping[str, str], *, you: bool = True) -> str:
    """What the face check says, for the model (``you``) or about her (``you=False``).

    The words of :func:`twinreview.core.likeness.model.sentence` are the reviewer's (likeness,
    reference photos, distances); these are the model's: who the image looks like, and when the
    check could not tell, why, without figures or file paths, and another model never by name.
    Empty when the image is filed under a person the workspace does not know (that finding says
    so already).
    """
    own = names.get(lk.model) or "the model"
    who = "you" if you else own
    your = "your" if you else f"{own}'s"
    others = lk.with_verdict(OTHER)
    strangers = lk.with_verdict(UNKNOWN)
    also = ""
    if strangers:
        also = (
            " Someone we do not know is in it too."
            if len(strangers) == 1
            else f" {len(strangers)} people we do not know are in it too."
        )
    best = lk.best_own
    if best is not None and best.own is not None:
        how = "a strong match" if best.own.strength == "strong match" else "a match"
        text = f"This looks like {who}: {how} with {your} photo {_name(best.own.reference)}."
        if others:
            text += f" {SOMEONE_ELSE.capitalize()} is in it too."
        return text + also
    if others:
        return f"This does not look like {who}: it looks like {SOMEONE_ELSE}.{also}"
    if not lk.known:
        return ""
    could_not = f"We could not tell whether this looks like {who}"
    if lk.problem is not None:
        return f"{could_not}: the face check did not work on this image."
    if lk.references == 0:
        return f"{could_not}: there are no photos of {who} here to compare it with."
    if lk.reference_faces == 0:
        none_of = "none of your photos" if you else f"none of {your} photos"
        return f"{could_not}: {none_of} shows a face we could find."
    if not lk.faces:
        return f"{could_not}: we could not find a face in this image."
    ambiguous = lk.with_verdict(AMBIGUOUS)
    if ambiguous and ambiguous[0].other is not None:
        return (
            f"This could be {who} or {SOMEONE_ELSE}: the face looks about as much like both. "
            "Look for yourself."
        )
    if len(lk.faces) == 1 and strangers:
        return f"This does not look like {who}: the person in it is {STRANGER}."
    return f"This does not look like {who}: no face in it matches {your} photos.{also}"


def plain_error(message: str) -> str:
    """A refusal or error in plain words: no ``[Errno n]``, no codes, no jargon."""
    low = message.lower()
    if "errno 2]" in low or "no such file" in low or "no longer in the workspace" in low:
        return "This image's file is gone: it was moved or deleted."
    if "keyring" in low:
        return (
            "Your signature cannot be made on this computer yet: ask whoever set up "
            "twinreview for you. You can look, but not approve or reject."
        )
    if "errno 13]" in low or "errno 30]" in low or "permission denied" in low or "read-only" in low:
        return "This folder cannot be written to here: your decision cannot be saved."
    if "errno 28]" in low or "no space" in low:
        return "The disk is full: your decision cannot be saved."
    if "asked to join" in low:
        return "You asked to take part; once the owner says yes, you can approve or reject."
    if "roster" in low or "join" in low:
        return "You are not yet on the list of people who may approve here: ask your agent."
    if "no reviewer identity" in low:
        return "Tell twinreview who you are first (Identity…); then you can approve or reject."
    if "owner changed" in low:
        return "Someone new claims to run this: do not approve anything, and tell your agent."
    if "trusted this workspace" in low or "no signed roster" in low or "owner could not" in low:
        return "This computer has not confirmed who runs this yet: you can look, not decide."
    if "consent does not allow" in low:
        return "So you cannot approve it: your consent does not allow it."
    if "disclosure" in low and "allow" in low:
        return (
            "This image cannot be approved: it does not say clearly enough that it was made by AI."
        )
    text = re.sub(r"\[Errno \d+\]\s*", "", message)
    text = re.sub(r"'[a-z_]+'\s*\(|`[^`]*`", "", text)
    return text.strip() or "Your decision could not be saved."


def simple_status(
    state: State | None,
    *,
    missing_roles: tuple[str, ...] = (),
    blocked_by: str | None = None,
    problems: tuple[str, ...] = (),
    consent: str | None = None,
    mine: str | None = None,
    approved_by: Sequence[tuple[str, str]] = (),
) -> str:
    """The asset's status for the model, in one plain sentence (no codes).

    ``approved_by``: (name, role) of the others whose approval counts.
    """
    if state is None:
        return "Still checking this image…"
    if consent == "missing" and state is State.BLOCKED:
        return "Waiting for your consent: say which uses you allow (My consent…)."
    if consent == "withdrawn" and state is State.BLOCKED:
        return "You withdrew your consent, so this image cannot be approved."
    you = {"approve": "You approved it. ", "reject": "You rejected it. "}.get(mine or "", "")
    if state is State.PENDING:
        who = [_ROLE_WORDS.get(r, r) for r in missing_roles]
        waiting = f"it is waiting for {' and '.join(who) or 'an approval'}."
        others = [f"{name} ({_ROLE_WORDS.get(role, role)})" for name, role in approved_by]
        if mine == "approve":
            return f"You approved it; {waiting}"
        if others:
            return f"{' and '.join(others)} approved this; {waiting}"
        return f"{you}{waiting[0].upper()}{waiting[1:]}"
    if state is State.CLEARED:
        return f"{you}Everyone who needs to has approved it: it can be used."
    if state is State.REJECTED:
        return f"{you}It is rejected: it will not be used."
    if blocked_by == "verification":
        return "It is on hold: a check of the signed decisions about it failed."
    uses = [m.group(1) for p in problems for m in re.finditer(r"use '([^']+)'", p)]
    if uses:
        return f"You have not agreed to it being used for {', '.join(uses)}."
    if any("expired" in p or "ran until" in p for p in problems):
        return "Your consent has ended, so it cannot be approved."
    if any("does not say what it is for" in p for p in problems):
        return "You allowed only some uses, and this image does not say what it is for."
    return "It cannot be approved under your consent."


def reference_caption(
    ref_rel: str | None, *, model_id: str, names: Mapping[str, str], exists: bool = True
) -> str:
    """What the right-hand image really is, in the model's words.

    ``your photo studio-01.jpg``, ``another generated image, look-02.jpg``, ``a photo of Nova
    (another model), …``, ``missing file (…)``.
    """
    if not ref_rel:
        return "no photo of you to compare with"
    name = _name(ref_rel)
    if not exists:
        return f"missing file ({name})"
    parts = ref_rel.split("/")
    if parts[0] == "models" and len(parts) > 2:
        if parts[1] == model_id:
            return f"your photo {name}"
        return f"a photo of {names.get(parts[1], parts[1])} (another model), {name}"
    if parts[0] == "assets":
        return f"another generated image, {name}"
    return name
