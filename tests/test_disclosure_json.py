"""The disclosure report and its findings' evidence: typed inside, the same JSON at the edges.

``tests/recorded/disclosure.json`` holds what twinreview wrote for every file of the disclosure
corpus, the demo's Content Credentials pictures and two files derived from them (a contradicting
sidecar, a stamped label), under two workspace settings (``tests/tools/record_disclosure.py``):
the report's JSON form (``scan --json``'s ``"disclosure"``, the scan cache's rows) and a decision
entry signed over the file's disclosure findings. Those forms are on users' disks and in their
signed logs: they must read into the typed values and write out again byte for byte, and a
signed finding must keep what it meant.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from twinreview.core.approval.rule import (
    findings_from_json,
    verdict_of,
    why_approval_does_not_count,
)
from twinreview.core.disclosure import (
    C2paReport,
    C2paState,
    DisclosureEvidence,
    DisclosureReport,
    FoundSourceType,
    LabelReport,
    Verdict,
    XmpReport,
)
from twinreview.core.disclosure.model import (
    ConflictEvidence,
    LabelEvidence,
    PartialEvidence,
    RemoteManifestEvidence,
    StrippedEvidence,
)
from twinreview.core.disclosure.policy import DEFAULT_SEVERITIES
from twinreview.core.disclosure.verdict import evidence_from_json
from twinreview.core.findings import Finding, Severity
from twinreview.core.logs.log import NS_ENTRY, encode_payload
from twinreview.core.logs.sshsig import verify
from twinreview.core.settings import WorkspaceSettings

RECORDED = Path(__file__).parent / "recorded" / "disclosure.json"
TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

EVIDENCE_TYPES = {
    "disclosure_conflict": ConflictEvidence,
    "partial_disclosure": PartialEvidence,
    "manifest_stripped": StrippedEvidence,
    "remote_manifest_unverified": RemoteManifestEvidence,
    "label_missing": LabelEvidence,
}


def _doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(RECORDED.read_text(encoding="utf-8"))
    return doc


def _cases() -> Iterator[dict[str, Any]]:
    yield from _doc()["cases"]


def _signed(case: dict[str, Any]) -> tuple[bytes, str]:
    line = json.loads(case["entry"])
    return base64.b64decode(line["payload"]), line["sig"]


def _compact(value: object) -> bytes:
    """JSON as a payload is signed (``core.logs.log.encode_payload``), for any value."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


CASES = list(_cases())
IDS = [f"{c['setting']}:{c['file']}" for c in CASES]


def test_the_recording_covers_every_kind_verdict_and_state() -> None:
    kinds, verdicts, states = set(), set(), set()
    for case in CASES:
        verdicts.add(case["report"]["verdict"])
        states.add(case["report"]["c2pa"]["state"])
        payload, _sig = _signed(case)
        kinds |= {f["kind"] for f in json.loads(payload)["findings"]}
    assert kinds == set(DEFAULT_SEVERITIES)
    assert verdicts == {v.value for v in Verdict}
    assert states == {s.value for s in C2paState}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_recorded_report_reads_typed_and_writes_back_byte_for_byte(case: dict[str, Any]) -> None:
    recorded = case["report"]
    report = DisclosureReport.from_json(recorded)
    assert isinstance(report.verdict, Verdict) and isinstance(report.c2pa.state, C2paState)
    assert all(isinstance(st, FoundSourceType) for st in report.c2pa.source_types)
    assert report.to_json() == recorded
    assert _compact(report.to_json()) == _compact(recorded)  # same keys in the same order
    assert DisclosureReport.from_json(json.loads(json.dumps(report.to_json()))) == report


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_recorded_signed_entry_verifies_and_its_findings_read_as_signed(
    case: dict[str, Any],
) -> None:
    payload, sig = _signed(case)
    assert verify(sig, payload, NS_ENTRY).openssh() == _doc()["public_key"]
    fields = json.loads(payload)
    findings = findings_from_json(fields["findings"])
    assert len(findings) == len(fields["findings"])
    for f, raw in zip(findings, fields["findings"], strict=True):
        assert type(f.evidence) is EVIDENCE_TYPES.get(f.kind, DisclosureEvidence)
        assert isinstance(f.evidence, DisclosureEvidence)
        assert f.evidence.verdict == raw["evidence"]["verdict"] == case["report"]["verdict"]
        assert f.evidence.c2pa_state == case["report"]["c2pa"]["state"]
    # Signed again today, the same findings are the same bytes.
    again = encode_payload({**fields, "findings": [f.to_json() for f in findings]})
    assert again == payload


@pytest.mark.corpus
def test_the_same_files_inspected_now_give_the_recorded_forms(
    corpus_dir: Path, tmp_path: Path
) -> None:
    from tools.record_disclosure import files, services

    by_key = {(c["setting"], c["file"]): c for c in CASES}
    assert corpus_dir.is_dir()
    recorded = files(tmp_path)
    assert {name for name, _ in recorded} == {c["file"] for c in CASES}
    for setting, service in services().items():
        for name, path in recorded:
            case = by_key[setting, name]
            report = service.inspect_report(path.read_bytes(), path)
            assert report.to_json() == case["report"], name
            assert DisclosureReport.from_json(report.to_json()) == report, name
            payload, _sig = _signed(case)
            signed = json.loads(payload)["findings"]
            findings = service.findings(report)
            assert _compact([f.to_json() for f in findings]) == _compact(signed), name
            # Read back from its JSON form (the scan cache), the report gives the same findings.
            assert service.findings(DisclosureReport.from_json(case["report"])) == findings


def test_evidence_is_the_json_mapping_for_every_reader() -> None:
    report = DisclosureReport(
        verdict=Verdict.PARTIAL,
        c2pa=C2paReport(C2paState.REMOTE_ONLY, failures=("Remote",), remote_url=None, signer="S"),
        xmp=XmpReport(source_type=TAM, raw=TAM, where="JPEG APP1"),
    )
    ev = RemoteManifestEvidence.of(report, remote_url=None)
    assert ev.verdict == "partial" and ev.remote_url is None
    # Key present with null: the form signed since the first release.
    assert list(ev) == [
        "verdict",
        "c2pa_state",
        "failures",
        "source_types",
        "signer",
        "xmp_source_type",
        "xmp_raw",
        "xmp_where",
        "remote_url",
    ]
    assert dict(ev) == ev.to_json() and ev["remote_url"] is None and ev.get("reference") is None
    assert evidence_from_json("remote_manifest_unverified", ev.to_json()) == ev
    finding = Finding("remote_manifest_unverified", Severity.WARN, "m", ev)
    assert finding.to_json()["evidence"] == ev.to_json()
    label = LabelEvidence.of(report, label=LabelReport(False, score=0.5, scale=0.1))
    assert label.to_json()["label"] == {
        "found": False,
        "corner": None,
        "score": 0.5,
        "scale": 0.1,
        "box": None,
        "error": None,
    }


@pytest.mark.parametrize(
    ("evidence", "verdict"),
    [
        # What a signer signed stands as signed: odd facts do not drop the finding, and a verdict
        # word no policy knows is kept (never approvable), not turned into a known one.
        ({"verdict": "not-a-verdict", "source_types": "garbage", "label": 7}, "not-a-verdict"),
        ({"verdict": 3, "failures": {"a": 1}}, None),
        ({"verdict": "missing", "c2pa_state": ["x"], "extra": True}, "missing"),
        ({"verdict": ""}, ""),
        ({}, None),
    ],
)
def test_a_signed_finding_with_odd_evidence_keeps_its_meaning(
    evidence: dict[str, Any], verdict: str | None
) -> None:
    signed = [
        {"kind": "missing_disclosure", "severity": "info", "message": "m", "evidence": evidence},
        {"kind": "label_missing", "severity": "info", "message": "m", "evidence": evidence},
    ]
    findings = findings_from_json(signed)
    assert [f.kind for f in findings] == ["missing_disclosure", "label_missing"]
    assert all(isinstance(f.evidence, DisclosureEvidence) for f in findings)
    assert verdict_of(findings) == verdict
    # missing_disclosure blocks under the default policy in force, whatever severity was signed.
    why = why_approval_does_not_count(signed, False, WorkspaceSettings())
    assert why is not None
    assert ("does not allow approving" in why) == (verdict is not None)


def test_a_report_json_of_the_wrong_shape_is_refused() -> None:
    good = CASES[0]["report"]
    for broken, field in [
        ({**good, "verdict": "??"}, "verdict"),
        ({**good, "c2pa": []}, "c2pa"),
        ({**good, "c2pa": {**good["c2pa"], "state": "odd"}}, "c2pa.state"),
        ({**good, "c2pa": {**good["c2pa"], "source_types": [{"value": 1}]}}, "source_types"),
        ({**good, "xmp": {**good["xmp"], "provenance": "x"}}, "xmp.provenance"),
        ({**good, "notes": [1]}, "notes"),
        ({**good, "label": {"found": "yes"}}, "label"),
        ({**good, "manifest_stripped": 1}, "manifest_stripped"),
    ]:
        with pytest.raises(ValueError, match=field.replace(".", r"\.")):
            DisclosureReport.from_json(broken)
    with pytest.raises(ValueError, match="JSON object"):
        DisclosureReport.from_json([1])  # type: ignore[arg-type]


def test_reading_details_are_not_part_of_what_a_report_is() -> None:
    report = DisclosureReport.from_json(CASES[0]["report"])
    detailed = dataclasses.replace(report, format="png", error=None)
    assert detailed == report and detailed.to_json() == report.to_json()


@pytest.mark.corpus
def test_the_scan_prints_keeps_and_reads_the_recorded_forms(
    corpus_dir: Path, tmp_path: Path
) -> None:
    """``scan --json`` and the scan cache hold the recorded form; a row already on a user's disk
    is read as it is, and a damaged one is analysed again, never read as a made-up verdict."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    from twinreview.core.workspace import Workspace
    from twinreview.services.compose import make_scan_service
    from twinreview.services.disclosure import DisclosureService
    from twinreview.services.scan.cache import ResultCache
    from twinreview.services.scan.model import disclosure_cache_version
    from wsbuild import add_model, make_workspace, pattern

    name, other = "ai_firefly-sundae_c2pa+xmp.png", "tamper_E-sig_claimSignature.jpg"
    recorded = {c["file"]: c for c in CASES if c["setting"] == "plain"}
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"r.jpg": pattern(1)})
    asset = root / "assets" / "ava" / name
    asset.parent.mkdir(parents=True)
    shutil.copyfile(corpus_dir / "disclosure" / name, asset)
    cache = ResultCache(tmp_path / "cache.sqlite3")

    def scan() -> tuple[DisclosureReport, dict[str, Any]]:
        with ThreadPoolExecutor(1) as pool:
            result = make_scan_service(pool, cache, faces=False).scan(Workspace.open(root))
        (found,) = result.assets
        assert isinstance(found.disclosure, DisclosureReport)
        return found.disclosure, found.to_json()

    report, printed = scan()
    case = recorded[f"corpus/{name}"]
    assert _compact(printed["disclosure"]) == _compact(case["report"])
    assert _compact(printed["findings"]) == _compact(json.loads(_signed(case)[0])["findings"])
    ws = Workspace.open(root)
    version = disclosure_cache_version(DisclosureService.for_workspace(ws), asset)
    sha = printed["sha256"]
    assert _compact(cache.get(sha, "disclosure", version)) == _compact(case["report"])

    # A row in the recorded form is read as it is (here another file's, to tell it apart).
    cache.put(sha, "disclosure", version, recorded[f"corpus/{other}"]["report"])
    report, printed = scan()
    assert report == DisclosureReport.from_json(recorded[f"corpus/{other}"]["report"])
    assert report.verdict is Verdict.BLOCKED
    assert {f["kind"] for f in printed["findings"]} == {"tampered_provenance"}

    # A damaged row is a miss: the file is inspected again and the row written anew.
    cache.put(sha, "disclosure", version, {"verdict": "??", "c2pa": [], "xmp": None})
    report, printed = scan()
    assert _compact(printed["disclosure"]) == _compact(case["report"])
    assert _compact(cache.get(sha, "disclosure", version)) == _compact(case["report"])
    cache.close()
