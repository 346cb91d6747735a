"""Reason codes of a rejection, and the words people read for them.

The codes are a small fixed vocabulary, so that reports and filters can group rejections and
programs can read them (``--json``, the signed entries). Everything a person reads says them in
words from this one table: the reject dialog its sentences (:data:`REASON_CODES`), lists (the
decision bar, the findings, ``status``, the CSV and the report) its short phrases
(:func:`reasons_text`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Code -> the sentence a reviewer sees next to its check box.
REASON_CODES: Mapping[str, str] = {
    "likeness_wrong": "It does not look like the right person.",
    "copy_of_reference": "It copies a real photo instead of being a new image.",
    "no_disclosure": "It does not say clearly that it is AI-made.",
    "not_consented_use": "It is meant for a use the model did not agree to.",
    "previously_rejected": "The same image was rejected before.",
    "quality": "The image quality is not good enough (artefacts, hands, face, styling).",
    "other": "Another reason (see the note).",
}

#: Code -> a few words, for a list of reasons in a line.
REASON_WORDS: Mapping[str, str] = {
    "likeness_wrong": "not the right person",
    "copy_of_reference": "a copy of a real photo",
    "no_disclosure": "no clear AI label",
    "not_consented_use": "a use the model did not agree to",
    "previously_rejected": "rejected before",
    "quality": "not good enough",
    "other": "another reason",
}

#: A code this version does not know (written by a newer one): said, never shown raw.
UNKNOWN_REASON = "a reason this version does not know"


def reason_words(code: str) -> str:
    """One code in a few words."""
    return REASON_WORDS.get(code, UNKNOWN_REASON)


def reasons_text(codes: Iterable[str]) -> str:
    """Codes in words, comma-separated, each once: ``a copy of a real photo, not good enough``."""
    words = list(dict.fromkeys(reason_words(str(c)) for c in codes))
    return ", ".join(words) or "no reason given"
