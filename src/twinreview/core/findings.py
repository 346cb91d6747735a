"""Findings: what a scan says about one asset.

A finding has a kind, a severity, evidence (machine-readable facts: which file, which hash,
which distance, which metadata field) and one sentence a non-technical reviewer understands.

The scan's own kinds are built here, one factory per kind (:func:`near_copy_of_reference` ...):
each writes the sentence and lays out the evidence, with the severity the workspace's settings
give the kind. Likeness findings are built in :mod:`twinreview.core.likeness.model`, disclosure
findings in :mod:`twinreview.core.disclosure.verdict`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.reasons import reasons_text


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
RESUBMITTED_REJECTED = "resubmitted_rejected"
POSSIBLE_COPY_OF_REFERENCE = "possible_copy_of_reference"
UNKNOWN_MODEL = "unknown_model"
BAD_SIDECAR = "bad_sidecar"
NO_REFERENCES = "no_references"
PATH_NOT_PORTABLE = "path_not_portable"
AMBIGUOUS_IMAGE = "ambiguous_image"
# Likeness (face identity, :mod:`twinreview.core.likeness.model`).
LOOKS_LIKE_OTHER_MODEL = "looks_like_other_model"
LIKENESS_UNCONFIRMED = "likeness_unconfirmed"
UNKNOWN_PERSON = "unknown_person"
# The image looks like another model as much as its own: her approval is needed too.
ALSO_LOOKS_LIKE_MODEL = "also_looks_like_model"
# The model's reference photos are copies of another model's.
REFERENCE_COPIES = "reference_copies"


#: Each finding kind in a few words, for lists people read (the queue's kind filter, a batch
#: confirmation); the codes stay for programs (``--json``).
KIND_WORDS: Mapping[str, str] = {
    NEAR_COPY_OF_REFERENCE: "a copy of one of the model's real photos",
    MATCHES_OTHER_MODEL: "a copy of another model's photo",
    POSSIBLE_COPY_OF_REFERENCE: "may be made from a real photo",
    RESUBMITTED_REJECTED: "nearly the same as a rejected image",
    DUPLICATE_IN_BATCH: "the same picture twice among the images",
    UNREADABLE: "a file that cannot be opened",
    UNKNOWN_MODEL: "filed under a person the workspace does not know",
    BAD_SIDECAR: "a damaged description",
    NO_REFERENCES: "no real photos to compare with",
    PATH_NOT_PORTABLE: "a file name another computer cannot use",
    AMBIGUOUS_IMAGE: "a file that can show another picture",
    LOOKS_LIKE_OTHER_MODEL: "looks like another model",
    LIKENESS_UNCONFIRMED: "face not confirmed",
    UNKNOWN_PERSON: "someone who is not in the workspace",
    ALSO_LOOKS_LIKE_MODEL: "looks like another model too: she must approve",
    REFERENCE_COPIES: "the model's real photos copy another model's",
    "missing_disclosure": "no AI label",
    "partial_disclosure": "AI label in one place only",
    "tampered_provenance": "AI label changed after signing",
    "disclosure_conflict": "contradictory AI labels",
    "credential_problem": "AI label's certificate expired or not trusted",
    "remote_manifest_unverified": "AI label stored online, not checked",
    "manifest_stripped": "AI label removed",
    "label_missing": "visible AI mark missing",
}


def kind_words(kind: str) -> str:
    """``kind`` in a few words (an unknown kind: its code with spaces)."""
    return KIND_WORDS.get(kind) or kind.replace("_", " ")


# Severities of the scan's own kinds; ``[similarity.severity]`` overrides them
# (:mod:`twinreview.core.settings`). Likeness and disclosure kinds have theirs in their modules.
DEFAULT_SEVERITY: Mapping[str, Severity] = {
    NEAR_COPY_OF_REFERENCE: Severity.BLOCK,
    MATCHES_OTHER_MODEL: Severity.BLOCK,
    RESUBMITTED_REJECTED: Severity.WARN,
    POSSIBLE_COPY_OF_REFERENCE: Severity.WARN,
    DUPLICATE_IN_BATCH: Severity.INFO,
    UNREADABLE: Severity.BLOCK,
    UNKNOWN_MODEL: Severity.WARN,
    BAD_SIDECAR: Severity.WARN,
    NO_REFERENCES: Severity.WARN,
    PATH_NOT_PORTABLE: Severity.WARN,
    AMBIGUOUS_IMAGE: Severity.BLOCK,
}


@dataclass(frozen=True)
class Finding:
    """One thing a reviewer should know about an asset.

    Attributes:
        kind: Machine name, e.g. ``near_copy_of_reference``.
        severity: info, warn or block.
        message: One plain sentence for a non-technical reviewer.
        evidence: JSON-serialisable facts behind the finding; a disclosure finding's is its
            ``DisclosureEvidence`` (:mod:`twinreview.core.disclosure.model`), a mapping too.
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


# --- Factories of the scan's findings -----------------------------------------------------------


def _finding(
    severities: Mapping[str, Severity], kind: str, message: str, evidence: Mapping[str, Any]
) -> Finding:
    return Finding(kind, severities.get(kind, Severity.WARN), message, dict(evidence))


def near_copy_of_reference(
    severities: Mapping[str, Severity], *, reference: str, model: str, match: Mapping[str, Any]
) -> Finding:
    """The asset is a derived copy of one of its own model's reference photos.

    Args:
        severities: Severity per finding kind (the workspace's settings).
        reference: The reference photo, workspace-relative.
        model: The model's id.
        match: The copy detector's figures (hashes, geometric verification).
    """
    if unchecked(match):
        message = (
            f"This image and one of the model's own real photos ({reference}) are similar by "
            "their hashes; it could not be checked whether it is a copy of that photo (too few "
            "details to compare). Compare the two before approving."
        )
    else:
        message = (
            "This image looks like a copy of one of the model's own real photos "
            f"({reference}), possibly retouched, cropped or mirrored, not a newly generated image."
        )
    evidence = {"reference": reference, "model": model, **match}
    return _finding(severities, NEAR_COPY_OF_REFERENCE, message, evidence)


def unchecked(match: Mapping[str, Any]) -> bool:
    """True when a copy's evidence says only the hashes decided: nothing could verify it.

    Such a pair is said as exactly that ("similar by their hashes; could not be checked"),
    never as a copy or the same picture.
    """
    verification = str(match.get("verification", ""))
    return verification.startswith("not possible")


def matches_other_model(
    severities: Mapping[str, Severity],
    *,
    reference: str,
    model: str,
    model_name: str,
    match: Mapping[str, Any],
) -> Finding:
    """The asset is a derived copy of another model's reference photo: the wrong person.

    Args:
        severities: Severity per finding kind.
        reference: The other model's reference photo, workspace-relative.
        model: The other model's id.
        model_name: Her display name, for the sentence.
        match: The copy detector's figures.
    """
    if unchecked(match):
        message = (
            f"This image and a reference photo of another model, {model_name} ({reference}), "
            "are similar by their hashes; it could not be checked whether it is a copy of that "
            "photo (too few details to compare). Compare the two before approving."
        )
    else:
        message = (
            f"This image looks like a copy of a reference photo of another model, {model_name} "
            f"({reference}). The image may be filed under the wrong person."
        )
    evidence = {"reference": reference, "model": model, **match}
    return _finding(severities, MATCHES_OTHER_MODEL, message, evidence)


def possible_copy_of_reference(
    severities: Mapping[str, Severity],
    *,
    reference: str,
    model: str,
    model_name: str | None,
    distance: float,
    box: Sequence[float],
    reference_box: Sequence[float],
) -> Finding:
    """A face in the asset is near-identical to a reference photo's face, and no copy was found.

    The geometry did not confirm a copy, yet the asset may be made from that photo (warped,
    heavily retouched): never shown as clean.

    Args:
        severities: Severity per finding kind.
        reference: The reference photo, workspace-relative.
        model: Its model's id.
        model_name: Her display name when she is another model than the asset's; None when
            the photo is the asset's own model's.
        distance: The face distance (0 = identical).
        box: Where the face is in the asset (fractions).
        reference_box: Where it is in the reference photo (fractions).
    """
    whose = (
        "one of the model's own real photos"
        if model_name is None
        else f"a real photo of another model, {model_name},"
    )
    message = (
        f"The face in this image is almost identical to the face in {whose} ({reference}): "
        "this image may be made from that photo. Compare the two before approving."
    )
    evidence = {
        "reference": reference,
        "model": model,
        "own_model": model_name is None,
        "face_distance": round(distance, 4),
        "box": [round(v, 4) for v in box],
        "reference_box": [round(v, 4) for v in reference_box],
        "verification": "not confirmed: no geometric copy was found",
    }
    return _finding(severities, POSSIBLE_COPY_OF_REFERENCE, message, evidence)


def duplicate_in_batch(
    severities: Mapping[str, Severity], *, other: str, match: Mapping[str, Any]
) -> Finding:
    """The asset is the same picture as another asset of the workspace.

    Args:
        severities: Severity per finding kind.
        other: The other asset, workspace-relative.
        match: The copy detector's figures, mapping this asset onto the other.
    """
    if unchecked(match):
        message = (
            f"This image and another image in this batch ({other}) are similar by their "
            "hashes; it could not be checked whether they are the same picture."
        )
    else:
        message = f"This image is the same picture as another image in this batch ({other})."
    evidence = {"reference": other, "asset": other, **match}
    return _finding(severities, DUPLICATE_IN_BATCH, message, evidence)


def resubmitted_rejected(
    severities: Mapping[str, Severity],
    *,
    path: str,
    principal: str,
    role: str,
    ts: str,
    reasons: Sequence[str],
    note: str,
    match: Mapping[str, Any],
    others: Sequence[str] = (),
) -> Finding:
    """The asset is a near copy of an image a reviewer rejected before (and maybe of others).

    Args:
        severities: Severity per finding kind.
        path: The rejected asset's path when it was rejected.
        principal: Who rejected it.
        role: Their role.
        ts: When (ISO 8601).
        reasons: The reason codes of the reject.
        note: The reject's note ("" when none).
        match: How the two were matched (``hash``, ``distance`` ...).
        others: The other rejected images it is a near copy of (said as a count).
    """
    why = reasons_text(reasons)
    quoted = f' ("{note}")' if note else ""
    more = ""
    if others:
        images = "image" if len(others) == 1 else "images"
        more = f", and {len(others)} other rejected {images} like it"
    message = (
        f"This image is a near copy of {path}, which {principal} ({role}) "
        f"rejected on {ts[:10]}: {why}{quoted}{more}."
    )
    evidence = {
        "reference": path,
        "rejected_by": principal,
        "role": role,
        "rejected_at": ts,
        "reasons": list(reasons),
        "note": note,
        **match,
        "rejected_count": 1 + len(others),
        "also_rejected": list(others),
    }
    return _finding(severities, RESUBMITTED_REJECTED, message, evidence)


def unreadable(severities: Mapping[str, Severity], reason: str) -> Finding:
    """The file could not be read or decoded (``reason`` says why)."""
    return _finding(severities, UNREADABLE, f"Unreadable: {reason}.", {"reason": reason})


def ambiguous_image(severities: Mapping[str, Severity], reason: str) -> Finding:
    """Decoders may show the file as different pictures under one image digest.

    ``reason`` is :func:`twinreview.core.publish.imagedigest.ambiguity`'s line. Such a file cannot
    be approved: no digest could bind what the model saw.
    """
    why = reason.removeprefix("the file is ambiguous: ")
    message = (
        "This file can look like a different picture in different apps, so an approval could "
        f"not say which picture was approved. It cannot be approved; ask for a clean copy. Why: "
        f"{why}."
    )
    return _finding(severities, AMBIGUOUS_IMAGE, message, {"reason": reason})


def bad_sidecar(severities: Mapping[str, Severity], *, sidecar: str, reason: str) -> Finding:
    """The asset's JSON sidecar (workspace-relative ``sidecar``) is broken."""
    return _finding(
        severities,
        BAD_SIDECAR,
        f"The sidecar file is broken: {reason}.",
        {"sidecar": sidecar, "reason": reason},
    )


def unknown_model(severities: Mapping[str, Severity], model: str) -> Finding:
    """The asset is filed under ``assets/<model>`` for a model the workspace does not have."""
    message = f"This image is filed under model '{model}', which the workspace does not have."
    return _finding(severities, UNKNOWN_MODEL, message, {"model": model})


def path_not_portable(severities: Mapping[str, Severity], *, path: str, problem: str) -> Finding:
    """The asset's path cannot be kept as it is on a Mac or Windows laptop (``core.paths``)."""
    message = (
        f"This file's path will not survive a copy to a Mac or Windows laptop: {problem}. "
        "Rename it in the workspace folder."
    )
    return _finding(severities, PATH_NOT_PORTABLE, message, {"path": path, "problem": problem})


def no_references(severities: Mapping[str, Severity], model: str) -> Finding:
    """The asset's model has no reference photos, so nothing could be compared."""
    message = (
        "The model has no reference photos, so this image could not be compared with their "
        "real photos."
    )
    return _finding(severities, NO_REFERENCES, message, {"model": model})
