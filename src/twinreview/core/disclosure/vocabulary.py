"""The digital source type vocabularies: which values exist, and which mean "generative AI".

Values are URIs from the IPTC NewsCodes scheme ``http://cv.iptc.org/newscodes/digitalsourcetype/``
(the scheme XMP ``Iptc4xmpExt:DigitalSourceType`` and C2PA actions both use) plus the one term the
C2PA specification adds under ``http://c2pa.org/digitalsourcetype/``. Only the exact URI counts
as a vocabulary value: a platform that reads the disclosure compares URIs, so a bare
``trainedAlgorithmicMedia`` or an ``https://`` variant is reported as "not in the vocabulary"
(with a hint).
"""

from __future__ import annotations

from dataclasses import dataclass

IPTC_SCHEME = "http://cv.iptc.org/newscodes/digitalsourcetype/"
C2PA_SCHEME = "http://c2pa.org/digitalsourcetype/"

# IPTC NewsCodes "Digital Source Type", release 2024-09-17, including retired terms (legacy files
# still carry them and they are still vocabulary values, just no longer recommended).
IPTC_TERMS: frozenset[str] = frozenset(
    {
        "digitalCapture",
        "computationalCapture",
        "negativeFilm",
        "positiveFilm",
        "print",
        "minorHumanEdits",
        "humanEdits",
        "compositeCapture",
        "algorithmicallyEnhanced",
        "digitalCreation",
        "digitalArt",
        "dataDrivenMedia",
        "trainedAlgorithmicMedia",
        "compositeWithTrainedAlgorithmicMedia",
        "compositeSynthetic",
        "algorithmicMedia",
        "screenCapture",
        "virtualRecording",
        "composite",
        "softwareImage",
    }
)
C2PA_TERMS: frozenset[str] = frozenset({"trainedAlgorithmicData", "empty"})

# DESIGN 2.2: these say "made (in whole or in part) by generative AI". ``algorithmicMedia`` is
# NOT generative AI (IPTC: "created purely by an algorithm not based on any sampled training
# data", e.g. a fractal), and ``algorithmicallyEnhanced`` is a non-generative edit.
GENERATIVE_URIS: frozenset[str] = frozenset(
    {
        IPTC_SCHEME + "trainedAlgorithmicMedia",
        IPTC_SCHEME + "compositeWithTrainedAlgorithmicMedia",
        IPTC_SCHEME + "compositeSynthetic",
        C2PA_SCHEME + "trainedAlgorithmicData",
    }
)


@dataclass(frozen=True)
class SourceTypeValue:
    """One digital source type value as written, and what it means.

    Attributes:
        raw: The value exactly as found (may carry stray whitespace).
        uri: The value with surrounding whitespace removed.
        term: The vocabulary term (last path segment) when ``uri`` is a vocabulary URI, else None.
        generative: True when the value declares generative-AI content.
        hint: For a non-vocabulary value that looks like a known term, the URI it probably meant.
    """

    raw: str
    uri: str
    term: str | None
    generative: bool
    hint: str | None = None

    @property
    def in_vocabulary(self) -> bool:
        """True when the value is a URI of the IPTC or C2PA digital source type vocabulary."""
        return self.term is not None


def classify(raw: str) -> SourceTypeValue:
    """Classify a digital source type value.

    Args:
        raw: The value as written in XMP or a C2PA manifest.

    Returns:
        The classified value; never raises.
    """
    uri = raw.strip()
    for scheme, terms in ((IPTC_SCHEME, IPTC_TERMS), (C2PA_SCHEME, C2PA_TERMS)):
        if uri.startswith(scheme) and uri[len(scheme) :] in terms:
            return SourceTypeValue(raw, uri, uri[len(scheme) :], uri in GENERATIVE_URIS)
    # Not a vocabulary URI. Say what it most likely meant, so a reviewer can tell a typo or a
    # scheme-less writer from a made-up value.
    tail = uri.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    hint = None
    if tail in IPTC_TERMS:
        hint = IPTC_SCHEME + tail
    elif tail in C2PA_TERMS:
        hint = C2PA_SCHEME + tail
    return SourceTypeValue(raw, uri, None, False, hint)


def describe(value: SourceTypeValue) -> str:
    """Return a short human description, e.g. ``trainedAlgorithmicMedia (generative AI)``."""
    if value.term is None:
        extra = f"; did the writer mean {value.hint}?" if value.hint else ""
        return f"{value.uri!r} (not in the IPTC digital source type vocabulary{extra})"
    kind = "generative AI" if value.generative else "not generative AI"
    return f"{value.term} ({kind})"
