"""From what a file says to one verdict (DESIGN 2.2), and from the report to scan findings.

- **disclosed**: valid C2PA (trusted or not) with a generative source type AND a generative IPTC
  digital source type in XMP;
- **partial**: one of the two (the notes say which is missing). Content Credentials whose
  certificate is expired or untrusted still say "AI", but cannot be relied on: they count as the
  weaker half, so at most partial;
- **missing**: neither;
- **blocked**: tampered provenance (``invalid-integrity``), Content Credentials that are present
  but cannot be read (``unreadable``), or contradictory source types (one source says generative
  AI, another says a non-generative origin such as a camera capture).

Rule ("no laundering"): a C2PA store that is present but unreadable or invalid gives
``blocked``, never ``partial``. Otherwise a garbage C2PA box added to a file makes the reader give
up on the whole store, hides a tampered manifest, and leaves the XMP alone to decide. "Invalid"
means a broken integrity (``invalid-integrity``); an intact manifest whose certificate is not
acceptable (``invalid-credential-only``) is a warning and at most partial, and a manifest only
referenced remotely (``remote-only``) is not garbage: both keep their verdicts.

Source types are "generative" when any manifest in the store (active or ingredient) declares one:
an edit that places an AI-generated ingredient makes the whole image partly AI-generated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twinreview.core.disclosure.model import (
    C2paReport,
    C2paState,
    ConflictEvidence,
    DisclosureEvidence,
    DisclosureReport,
    LabelEvidence,
    PartialEvidence,
    RemoteManifestEvidence,
    StrippedEvidence,
    Verdict,
    XmpReport,
)
from twinreview.core.disclosure.policy import (
    CREDENTIAL_PROBLEM,
    DISCLOSURE_CONFLICT,
    LABEL_MISSING,
    MANIFEST_STRIPPED,
    MISSING_DISCLOSURE,
    PARTIAL_DISCLOSURE,
    REMOTE_MANIFEST_UNVERIFIED,
    TAMPERED_PROVENANCE,
    DisclosurePolicy,
)
from twinreview.core.disclosure.vocabulary import classify, describe
from twinreview.core.findings import Finding

_READABLE = (C2paState.VALID_UNTRUSTED, C2paState.TRUSTED, C2paState.INVALID_CREDENTIAL_ONLY)

_UNREADABLE_MESSAGE = (
    "The file carries Content Credentials that cannot be read: they may have been damaged or "
    "forged."
)


def is_manifest_stripped(c2pa: C2paReport, xmp: XmpReport) -> bool:
    """True when XMP points to an embedded manifest (``self#jumbf=...``) that is not in the file."""
    return c2pa.state is C2paState.ABSENT and any(
        p.startswith("self#jumbf=") for p in xmp.provenance
    )


def find_conflict(c2pa: C2paReport, xmp: XmpReport) -> str | None:
    """Describe contradictory digital source types, or return None.

    Only vocabulary values are compared (a non-vocabulary value says nothing either way).
    """
    xmp_values = [(v, classify(v.raw)) for v in xmp.values]
    xmp_gen = [
        f"{describe(i)} in XMP ({v.where})"
        for v, i in xmp_values
        if i.in_vocabulary and i.generative
    ]
    xmp_not = [
        f"{describe(i)} in XMP ({v.where})"
        for v, i in xmp_values
        if i.in_vocabulary and not i.generative
    ]
    if xmp_gen and xmp_not:
        return f"the XMP packets disagree: {xmp_gen[0]} but {xmp_not[0]}"
    if c2pa.state not in _READABLE:
        return None
    typed = [st for st in c2pa.source_types if st.in_vocabulary]
    c2pa_gen = [st for st in typed if st.generative]
    # "empty" (created from a blank canvas) says nothing about AI either way.
    active_not = [
        st for st in typed if st.active and not st.generative and classify(st.value).term != "empty"
    ]
    if c2pa_gen and xmp_not and not xmp_gen:
        return (
            f"the Content Credentials declare {describe(classify(c2pa_gen[0].value))} "
            f"but the XMP declares {xmp_not[0]}"
        )
    if xmp_gen and active_not and not c2pa_gen:
        return (
            f"the XMP declares {xmp_gen[0]} but the Content Credentials declare "
            f"{describe(classify(active_not[0].value))} and nothing generative"
        )
    return None


def decide(c2pa: C2paReport, xmp: XmpReport) -> tuple[Verdict, str | None, list[str]]:
    """Return the verdict, the conflict description (if any) and notes explaining the verdict."""
    conflict = find_conflict(c2pa, xmp)
    xmp_gen = xmp.source_type is not None and classify(xmp.source_type).generative
    c2pa_strong = c2pa.state.is_valid and c2pa.generative
    c2pa_weak = c2pa.state is C2paState.INVALID_CREDENTIAL_ONLY and c2pa.generative
    signer = f" (signed by {c2pa.signer})" if c2pa.signer else ""
    notes: list[str] = []
    if c2pa.state is C2paState.INVALID_INTEGRITY:
        notes.append(
            "Blocked: the Content Credentials show the file or its manifest was altered after "
            "signing."
        )
        if conflict:
            notes.append(f"Also contradictory: {conflict}.")
        return Verdict.BLOCKED, conflict, notes
    if c2pa.state is C2paState.UNREADABLE:
        notes.append(
            "Blocked: the file carries Content Credentials that cannot be read (damaged, forged, "
            "pre-release or unsupported); whatever else the file says cannot stand in for them."
        )
        if conflict:
            notes.append(f"Also contradictory: {conflict}.")
        return Verdict.BLOCKED, conflict, notes
    if conflict:
        notes.append(f"Blocked: the file contradicts itself about its origin: {conflict}.")
        return Verdict.BLOCKED, conflict, notes
    if c2pa_strong and xmp_gen:
        notes.append(
            f"Disclosed: the Content Credentials{signer} and the IPTC XMP metadata both declare "
            "the image AI-generated."
        )
        return Verdict.DISCLOSED, None, notes
    if c2pa_strong or xmp_gen or c2pa_weak:
        if c2pa_strong:
            notes.append(
                f"Partial: the Content Credentials{signer} declare AI generation, but the IPTC XMP "
                f"digital source type is {_xmp_state(xmp)}."
            )
        elif c2pa_weak:
            if xmp_gen:
                notes.append(
                    "Partial: the IPTC XMP metadata declares AI generation; the Content "
                    "Credentials declare it too but their signing certificate is not acceptable."
                )
            else:
                notes.append(
                    "Partial: the Content Credentials declare AI generation but their signing "
                    "certificate is not acceptable; the IPTC XMP digital source type is "
                    f"{_xmp_state(xmp)}."
                )
        else:
            notes.append(
                "Partial: the IPTC XMP metadata declares AI generation, but there are no valid "
                f"Content Credentials saying so ({_c2pa_state(c2pa)})."
            )
        return Verdict.PARTIAL, None, notes
    notes.append(
        f"Missing: nothing in the file declares it AI-generated ({_c2pa_state(c2pa)}; "
        f"IPTC XMP digital source type {_xmp_state(xmp)})."
    )
    return Verdict.MISSING, None, notes


def _xmp_state(xmp: XmpReport) -> str:
    if xmp.source_type is not None:
        return describe(classify(xmp.source_type))
    if xmp.raw is not None:
        return describe(classify(xmp.raw))
    return "absent"


def _c2pa_state(c2pa: C2paReport) -> str:
    if c2pa.state is C2paState.ABSENT:
        return "no Content Credentials"
    if c2pa.state is C2paState.REMOTE_ONLY:
        return "Content Credentials only referenced remotely, not checked"
    typed = [st for st in c2pa.source_types if st.in_vocabulary]
    if not typed:
        return "Content Credentials present but declaring no digital source type"
    terms = ", ".join(dict.fromkeys(describe(classify(st.value)) for st in typed))
    return f"Content Credentials declare {terms}"


EVIDENCE: Mapping[str, type[DisclosureEvidence]] = {
    DISCLOSURE_CONFLICT: ConflictEvidence,
    PARTIAL_DISCLOSURE: PartialEvidence,
    MANIFEST_STRIPPED: StrippedEvidence,
    REMOTE_MANIFEST_UNVERIFIED: RemoteManifestEvidence,
    LABEL_MISSING: LabelEvidence,
}
"""The evidence type of each disclosure finding kind that adds a fact; the others carry
:class:`DisclosureEvidence`."""


def evidence_from_json(kind: str, data: Any) -> DisclosureEvidence:
    """The evidence of a signed disclosure finding of ``kind``, read leniently (never raises)."""
    return EVIDENCE.get(kind, DisclosureEvidence).from_json(data)


def disclosure_findings(
    report: DisclosureReport, policy: DisclosurePolicy, *, trust_configured: bool = False
) -> list[Finding]:
    """Turn a report into scan findings with the workspace's severities.

    Args:
        report: From :func:`twinreview.core.disclosure.inspect_bytes`.
        policy: The workspace policy (severities).
        trust_configured: The workspace named trust anchors: an intact manifest whose signer is
            not on them is a problem (without a trust list, nobody's signer is).

    Returns:
        Findings, most important first; empty for a clean ``disclosed`` image.
    """
    c2pa, xmp = report.c2pa, report.xmp
    out: list[Finding] = []

    def add(kind: str, message: str, evidence: DisclosureEvidence | None = None) -> None:
        ev = DisclosureEvidence.of(report) if evidence is None else evidence
        out.append(Finding(kind, policy.severity(kind), message, ev))

    if c2pa.state is C2paState.INVALID_INTEGRITY:
        add(
            TAMPERED_PROVENANCE,
            "The image's Content Credentials were broken by a change after signing: the file or "
            "its provenance was tampered with.",
        )
    elif c2pa.state is C2paState.UNREADABLE:
        add(TAMPERED_PROVENANCE, _UNREADABLE_MESSAGE)
    if report.conflict:
        add(
            DISCLOSURE_CONFLICT,
            f"The image contradicts itself about whether it is AI-generated: {report.conflict}.",
            ConflictEvidence.of(report, conflict=report.conflict),
        )
    if report.verdict is Verdict.MISSING:
        add(MISSING_DISCLOSURE, _missing_message(report))
    elif report.verdict is Verdict.PARTIAL:
        missing = _partial_missing(report)
        add(
            PARTIAL_DISCLOSURE,
            f"The AI disclosure is incomplete: {missing}.",
            PartialEvidence.of(report, missing=missing),
        )
    if report.manifest_stripped:
        add(
            MANIFEST_STRIPPED,
            "The image once carried Content Credentials, but they were removed: its metadata still "
            "points to a manifest that is no longer in the file.",
            StrippedEvidence.of(report, provenance=xmp.provenance),
        )
    if c2pa.state is C2paState.REMOTE_ONLY:
        add(
            REMOTE_MANIFEST_UNVERIFIED,
            "The image's Content Credentials are stored on a server, not in the file; "
            "twinreview works offline and did not fetch or check them.",
            RemoteManifestEvidence.of(report, remote_url=c2pa.remote_url),
        )
    credential = _credential_problem(report, trust_configured)
    if credential:
        add(CREDENTIAL_PROBLEM, credential)
    if report.label is not None and not report.label.found:
        reason = f" ({report.label.error})" if report.label.error else ""
        add(
            LABEL_MISSING,
            f"The brand's visible AI label was not found in any corner of the image{reason}.",
            LabelEvidence.of(report, label=report.label),
        )
    return out


def _missing_message(report: DisclosureReport) -> str:
    c2pa = report.c2pa
    typed = [st for st in c2pa.source_types if st.in_vocabulary]
    if c2pa.state.is_valid and typed:
        terms = ", ".join(dict.fromkeys(describe(classify(st.value)) for st in typed))
        return (
            "Nothing in the image says it is AI-generated: its Content Credentials declare "
            f"{terms}, and the IPTC digital source type does not declare AI either."
        )
    if report.xmp.raw is not None and report.xmp.source_type is None:
        return (
            "Nothing in the image validly says it is AI-generated: its IPTC digital source type "
            f"{report.xmp.raw!r} is not a value of the IPTC vocabulary, and no Content Credentials "
            "declare AI."
        )
    return (
        "Nothing in the image says it is AI-generated: no Content Credentials and no IPTC digital "
        "source type declare it."
    )


def _partial_missing(report: DisclosureReport) -> str:
    c2pa, xmp = report.c2pa, report.xmp
    xmp_gen = xmp.source_type is not None and classify(xmp.source_type).generative
    if xmp_gen:
        if c2pa.state is C2paState.INVALID_CREDENTIAL_ONLY and c2pa.generative:
            return (
                "the Content Credentials declare AI but their signing certificate is not acceptable"
            )
        return "valid Content Credentials (C2PA) declaring AI generation are missing"
    if c2pa.state is C2paState.INVALID_CREDENTIAL_ONLY:
        return (
            "the Content Credentials declare AI but their signing certificate is not acceptable, "
            "and the IPTC digital source type in XMP is missing"
        )
    return "the IPTC digital source type in the XMP metadata is missing"


def _credential_problem(report: DisclosureReport, trust_configured: bool) -> str | None:
    c2pa = report.c2pa
    if c2pa.state is C2paState.INVALID_CREDENTIAL_ONLY:
        return (
            "The image is unchanged since signing, but the certificate it was signed with is not "
            f"acceptable ({', '.join(c2pa.failures) or 'credential check failed'}): who signed it "
            "cannot be confirmed."
        )
    if c2pa.state is C2paState.VALID_UNTRUSTED and trust_configured:
        who = f" ({c2pa.signer})" if c2pa.signer else ""
        return (
            f"The Content Credentials are intact, but their signer{who} is not on the "
            "workspace's trust list."
        )
    return None
