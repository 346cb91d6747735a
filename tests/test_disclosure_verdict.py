"""Verdict rules (DESIGN 2.2), findings and their severities, and the workspace policy."""

from __future__ import annotations

from typing import Any

import pytest

from twinreview.core.disclosure import (
    C2paReport,
    C2paState,
    DisclosureConfigError,
    DisclosurePolicy,
    DisclosureReport,
    FoundSourceType,
    LabelReport,
    Verdict,
    XmpReport,
    XmpValue,
    disclosure_findings,
)
from twinreview.core.disclosure.verdict import decide, is_manifest_stripped
from twinreview.core.disclosure.vocabulary import classify
from twinreview.core.findings import Severity

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TAM = IPTC + "trainedAlgorithmicMedia"
COMPOSITE = IPTC + "compositeWithTrainedAlgorithmicMedia"
CAPTURE = IPTC + "digitalCapture"
ALGO = IPTC + "algorithmicMedia"


def c2pa(state: C2paState, *types: tuple[str, bool]) -> C2paReport:
    return C2paReport(
        state=state,
        source_types=tuple(
            FoundSourceType(
                value=v,
                where=("active manifest m" if active else "ingredient manifest (x) i") + ": a",
            )
            for v, active in types
        ),
        signer="Signer",
    )


def xmp(*values: str) -> XmpReport:
    vals = tuple(XmpValue(v, "Iptc4xmpExt:DigitalSourceType", "JPEG APP1") for v in values)
    chosen = next((v for v in values if classify(v).in_vocabulary), None)
    return XmpReport(source_type=chosen, raw=values[0] if values else None, values=vals)


VALID = C2paState.VALID_UNTRUSTED


@pytest.mark.parametrize(
    ("report", "xmp_report", "verdict"),
    [
        (c2pa(VALID, (TAM, True)), xmp(TAM), Verdict.DISCLOSED),
        (c2pa(C2paState.TRUSTED, (COMPOSITE, True)), xmp(TAM), Verdict.DISCLOSED),
        # An AI ingredient inside an edit discloses AI content.
        (c2pa(VALID, (TAM, False)), xmp(COMPOSITE), Verdict.DISCLOSED),
        (c2pa(VALID, (TAM, True)), xmp(), Verdict.PARTIAL),
        (c2pa(C2paState.ABSENT), xmp(TAM), Verdict.PARTIAL),
        (c2pa(C2paState.REMOTE_ONLY), xmp(TAM), Verdict.PARTIAL),
        # Issue 9 rule: "A C2PA store that is present but unreadable or invalid gives the verdict
        # `blocked`, never `partial`." (This row was PARTIAL: a garbage C2PA box laundered it.)
        (c2pa(C2paState.UNREADABLE), xmp(TAM), Verdict.BLOCKED),
        (c2pa(C2paState.UNREADABLE), xmp(), Verdict.BLOCKED),
        (c2pa(C2paState.INVALID_CREDENTIAL_ONLY, (TAM, True)), xmp(TAM), Verdict.PARTIAL),
        (c2pa(C2paState.INVALID_CREDENTIAL_ONLY, (TAM, True)), xmp(), Verdict.PARTIAL),
        (c2pa(VALID, (ALGO, True)), xmp(), Verdict.MISSING),  # algorithmicMedia is not GenAI
        (c2pa(VALID), xmp(), Verdict.MISSING),
        (c2pa(C2paState.ABSENT), xmp("trainedAlgorithmicMedia"), Verdict.MISSING),  # no URI
        (c2pa(C2paState.ABSENT), xmp("https://exiftool.org"), Verdict.MISSING),
        (c2pa(C2paState.INVALID_INTEGRITY, (TAM, True)), xmp(TAM), Verdict.BLOCKED),
        (c2pa(VALID, (TAM, True)), xmp(CAPTURE), Verdict.BLOCKED),
        (c2pa(VALID, (CAPTURE, True)), xmp(TAM), Verdict.BLOCKED),
        (c2pa(C2paState.ABSENT), xmp(TAM, CAPTURE), Verdict.BLOCKED),
        # A capture ingredient inside an AI composite is not a contradiction.
        (c2pa(VALID, (COMPOSITE, True), (CAPTURE, False)), xmp(COMPOSITE), Verdict.DISCLOSED),
    ],
)
def test_verdict_table(report: C2paReport, xmp_report: XmpReport, verdict: Verdict) -> None:
    got, conflict, notes = decide(report, xmp_report)
    assert got is verdict, notes
    assert (conflict is not None) == (
        verdict is Verdict.BLOCKED
        and report.state not in (C2paState.INVALID_INTEGRITY, C2paState.UNREADABLE)
    )
    assert notes and notes[0].startswith(verdict.value.capitalize())


def test_partial_says_which_half_is_missing() -> None:
    _, _, notes = decide(c2pa(VALID, (TAM, True)), xmp())
    assert "IPTC XMP digital source type is absent" in notes[0]
    _, _, notes = decide(c2pa(C2paState.ABSENT), xmp(TAM))
    assert "no valid Content Credentials" in notes[0]


def _report(c: C2paReport, x: XmpReport, **extra: Any) -> DisclosureReport:
    verdict, conflict, notes = decide(c, x)
    return DisclosureReport(
        verdict=verdict,
        c2pa=c,
        xmp=x,
        notes=tuple(notes),
        conflict=conflict,
        manifest_stripped=is_manifest_stripped(c, x),
        **extra,
    )


def test_default_severities() -> None:
    policy = DisclosurePolicy()
    missing = disclosure_findings(_report(c2pa(C2paState.ABSENT), xmp()), policy)
    assert [(f.kind, f.severity) for f in missing] == [("missing_disclosure", Severity.BLOCK)]
    partial = disclosure_findings(_report(c2pa(C2paState.ABSENT), xmp(TAM)), policy)
    assert [(f.kind, f.severity) for f in partial] == [("partial_disclosure", Severity.WARN)]
    tampered = disclosure_findings(
        _report(c2pa(C2paState.INVALID_INTEGRITY, (TAM, True)), xmp(TAM)), policy
    )
    assert [(f.kind, f.severity) for f in tampered] == [("tampered_provenance", Severity.BLOCK)]
    conflict = disclosure_findings(_report(c2pa(VALID, (TAM, True)), xmp(CAPTURE)), policy)
    assert [(f.kind, f.severity) for f in conflict] == [("disclosure_conflict", Severity.BLOCK)]
    assert disclosure_findings(_report(c2pa(VALID, (TAM, True)), xmp(TAM)), policy) == []


def test_findings_carry_evidence_and_plain_messages() -> None:
    report = _report(c2pa(C2paState.INVALID_CREDENTIAL_ONLY, (TAM, True)), xmp())
    findings = disclosure_findings(report, DisclosurePolicy())
    kinds = [f.kind for f in findings]
    assert kinds == ["partial_disclosure", "credential_problem"]
    for f in findings:
        assert f.evidence["c2pa_state"] == "invalid-credential-only"
        assert f.evidence["source_types"][0]["value"] == TAM
        assert f.message.endswith(".") and "\n" not in f.message
        f.to_json()  # JSON-serialisable


def test_label_missing_only_when_a_label_is_configured() -> None:
    base = dict(c=c2pa(VALID, (TAM, True)), x=xmp(TAM))
    policy = DisclosurePolicy()
    assert disclosure_findings(_report(base["c"], base["x"]), policy) == []
    found = _report(base["c"], base["x"], label=LabelReport(found=True, corner="top-left"))
    assert disclosure_findings(found, policy) == []
    missing = _report(base["c"], base["x"], label=LabelReport(found=False, score=0.3))
    assert [f.kind for f in disclosure_findings(missing, policy)] == ["label_missing"]


def test_stripped_remote_unreadable_findings() -> None:
    policy = DisclosurePolicy()
    stripped = XmpReport(provenance=("self#jumbf=/c2pa/urn:x/c2pa.claim",))
    kinds = [f.kind for f in disclosure_findings(_report(c2pa(C2paState.ABSENT), stripped), policy)]
    assert kinds == ["missing_disclosure", "manifest_stripped"]
    remote = C2paReport(C2paState.REMOTE_ONLY, remote_url="https://example.com/m")
    findings = disclosure_findings(_report(remote, xmp(TAM)), policy)
    assert [f.kind for f in findings] == ["partial_disclosure", "remote_manifest_unverified"]
    assert findings[1].evidence["remote_url"] == "https://example.com/m"
    # Issue 9 rule: a C2PA store that is present but unreadable gives `blocked`, never `partial`
    # (it was missing_disclosure + a credential_problem warning): one blocking finding says why.
    unreadable = disclosure_findings(_report(c2pa(C2paState.UNREADABLE), xmp(TAM)), policy)
    assert [(f.kind, f.severity) for f in unreadable] == [("tampered_provenance", Severity.BLOCK)]
    assert "cannot be read" in unreadable[0].message


def test_policy_from_config_overrides_and_approvable() -> None:
    policy = DisclosurePolicy.from_config(
        {
            "disclosure": {
                "approvable": ["disclosed"],
                "severity": {"partial_disclosure": "block", "missing_disclosure": "warn"},
                "trust_anchors": ["trust/ca.pem"],
                "label": "brand/label.png",
                "label_threshold": 0.8,
            }
        }
    )
    assert policy.severity("partial_disclosure") is Severity.BLOCK
    assert policy.severity("missing_disclosure") is Severity.WARN
    assert policy.severity("tampered_provenance") is Severity.BLOCK  # default kept
    assert policy.is_approvable("disclosed") and not policy.is_approvable(Verdict.PARTIAL)
    assert not policy.is_approvable("nonsense")
    assert policy.trust_anchors == ("trust/ca.pem",)
    assert policy.label == "brand/label.png" and policy.label_threshold == 0.8
    default = DisclosurePolicy.from_config({})
    assert default.is_approvable("disclosed") and default.is_approvable("partial")
    assert not default.is_approvable("missing") and not default.is_approvable("blocked")
    findings = disclosure_findings(_report(c2pa(C2paState.ABSENT), xmp(TAM)), policy)
    assert [(f.kind, f.severity) for f in findings] == [("partial_disclosure", Severity.BLOCK)]


@pytest.mark.parametrize(
    "table",
    [
        {"disclosure": []},
        {"disclosure": {"severity": {"near_copy_of_reference": "warn"}}},
        {"disclosure": {"severity": []}},
        {"disclosure": {"approvable": "disclosed"}},
        {"disclosure": {"trust_anchors": [1]}},
        {"disclosure": {"label": ""}},
        {"disclosure": {"label_threshold": 2}},
        {"disclosure": {"label_threshold": True}},
    ],
)
def test_policy_rejects_bad_values(table: dict[str, Any]) -> None:
    # The key at fault, without a source: the caller names the file or the signed policy.
    with pytest.raises(DisclosureConfigError, match=r"^(\[|unknown key )?disclosure[.\]]"):
        DisclosurePolicy.from_config(table)


def test_json_round_trip_keeps_what_findings_need() -> None:
    report = _report(
        c2pa(VALID, (TAM, True), (CAPTURE, False)),
        xmp(TAM),
        label=LabelReport(found=True, corner="top-left", score=0.9, scale=0.2, box=(1, 2, 3, 4)),
    )
    again = DisclosureReport.from_json(report.to_json())
    assert again == report and again.to_json() == report.to_json()
    assert [st.active for st in again.c2pa.source_types] == [True, False]
    policy = DisclosurePolicy()
    assert disclosure_findings(again, policy) == disclosure_findings(report, policy)
    # A damaged form is refused, never read as a made-up verdict (the scan analyses again).
    with pytest.raises(ValueError, match="verdict"):
        DisclosureReport.from_json({"verdict": "??", "c2pa": [], "xmp": None})
