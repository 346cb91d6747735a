"""Every file of ../shared/corpus/disclosure, asserted row by row against its MANIFEST.tsv.

Columns used: ``expected_c2pa`` (present-valid | present-invalid | absent),
``observed_c2pa_python_0.38.1`` (what the library itself reported, which refines the class),
``expected_iptc_digitalsourcetype`` and ``expected_c2pa_manifest_dst`` / ``observed_manifest_dst``.

Our reading where the sources disagree (the notes column says why; see READINGS below):

- ``expired-cert_adobe-aca.png``: expected present-valid ("valid as issued"), the library says
  Invalid with ``signingCredential.expired`` + ``signingCredential.untrusted`` only. The note says
  the failure "is expired cert + untrusted TSA, not tampering". twinreview's class for exactly
  that is ``invalid-credential-only``: the manifest is present and intact, the credential is not
  acceptable today. Not ``valid-untrusted``, because an expired certificate is a real problem for
  a publication gate; not ``invalid-integrity``, because nothing was altered.
- ``ingredient-badsig_CIE-sig.jpg``: expected present-invalid (public-testfiles README: "Invalid
  signature"), the library says Valid. Both are right about different things: the active manifest
  validates, but it embeds an ingredient whose manifest failed validation when it was added, and
  the signer recorded that (``claimSignature.mismatch`` in the ingredient's validation status).
  The provenance chain is broken at that ingredient, so twinreview says ``invalid-integrity``
  (and the verdict is blocked), with the recorded code as evidence.
- ``malformed_tiff-bomb.tiff``: expected absent, the library fails with "asset could not be
  parsed". The bytes hold no C2PA JUMBF box, so twinreview says ``absent`` (with the library's
  error kept as evidence), not ``unreadable``.
- ``malformed_svg-bad-jumbf.svg``: expected present-invalid; the library (given the sniffed SVG
  type) reports "invalid JUMBF header"; exiftool sees no JUMBF because SVG carries it as base64
  text. twinreview: ``unreadable``.
- ``legacy-cai-jumbf_exiftool.jpg``: exiftool sees a 2020 "cai" JUMBF store, the library ignores
  it as not C2PA. Expected absent: twinreview agrees with the library. Its XMP packet is UTF-16BE
  and must still be read.
- ``sidecar_bogus-dst.xmp``: the file IS a sidecar; its DigitalSourceType ``https://exiftool.org``
  is reported as written (``xmp.raw``) and flagged as outside the IPTC vocabulary
  (``xmp.source_type`` stays null, so it never counts as a disclosure).
"""

from __future__ import annotations

import csv
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from twinreview.core.disclosure import (
    C2paState,
    DisclosurePolicy,
    DisclosureReport,
    InspectSettings,
    Verdict,
    disclosure_findings,
    inspect_bytes,
)
from twinreview.core.disclosure.vocabulary import GENERATIVE_URIS, IPTC_TERMS, classify

pytestmark = pytest.mark.corpus

# What each expected_c2pa value allows.
ALLOWED = {
    "present-valid": {C2paState.VALID_UNTRUSTED, C2paState.TRUSTED},
    "present-invalid": {
        C2paState.INVALID_INTEGRITY,
        C2paState.INVALID_CREDENTIAL_ONLY,
        C2paState.UNREADABLE,
    },
    "absent": {C2paState.ABSENT, C2paState.REMOTE_ONLY},
}

# Rows where the expected column and the library disagree; the class twinreview gives and why
# (details in the module docstring).
READINGS: dict[str, tuple[C2paState, str]] = {
    "expired-cert_adobe-aca.png": (
        C2paState.INVALID_CREDENTIAL_ONLY,
        "expired certificate + untrusted TSA, not tampering",
    ),
    "ingredient-badsig_CIE-sig.jpg": (
        C2paState.INVALID_INTEGRITY,
        "ingredient manifest recorded claimSignature.mismatch",
    ),
}

CREDENTIAL_CODE = re.compile(
    r"^(signingCredential\.|timeStamp\.untrusted|cawg\.x509\.credential\.)"
)


def _rows(corpus: Path) -> list[dict[str, str]]:
    with (corpus / "disclosure" / "MANIFEST.tsv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="module")
def settings() -> InspectSettings:
    return InspectSettings.offline()


CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(scope="module")
def reports(settings: InspectSettings) -> dict[str, DisclosureReport]:
    """Every corpus file inspected once (sequentially) for the whole module."""
    folder = CORPUS / "disclosure"
    if not folder.is_dir():
        msg = f"shared corpus not found at {folder}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{msg} (CI=true: the corpus is required)")
        pytest.skip(msg)
    return {
        path.name: inspect_bytes(path.read_bytes(), path_hint=path.name, settings=settings)
        for path in sorted(folder.iterdir())
        if path.name != "MANIFEST.tsv"
    }


def _library_class(observed: str) -> C2paState:
    """The class the library's own output implies (observed_c2pa_python column)."""
    if observed.startswith(("ManifestNotFound", "C2paNotSupported")):
        return C2paState.ABSENT
    if observed.startswith("C2paError: Remote"):
        return C2paState.REMOTE_ONLY
    if observed.startswith(("C2paOther", "C2paVerify")):
        return C2paState.UNREADABLE
    codes = re.findall(r"fail=([^;]*)", observed)
    failures = [c for group in codes for c in group.split(",") if c]
    if observed.startswith("Valid"):
        return C2paState.VALID_UNTRUSTED
    if observed.startswith("Invalid"):
        if all(CREDENTIAL_CODE.match(c) for c in failures):
            return C2paState.INVALID_CREDENTIAL_ONLY
        return C2paState.INVALID_INTEGRITY
    raise AssertionError(f"unknown observed column value {observed!r}")


def test_manifest_lists_every_file(corpus_dir: Path) -> None:
    names = {r["file"] for r in _rows(corpus_dir)}
    on_disk = {p.name for p in (corpus_dir / "disclosure").iterdir()} - {"MANIFEST.tsv"}
    assert names == on_disk


def test_c2pa_class_row_by_row(corpus_dir: Path, reports: dict[str, DisclosureReport]) -> None:
    problems = []
    for row in _rows(corpus_dir):
        name = row["file"]
        report = reports[name]
        state = report.c2pa.state
        if name in READINGS:
            want, _why = READINGS[name]
        else:
            want = _library_class(row["observed_c2pa_python_0.38.1"])
            if want is C2paState.UNREADABLE and row["expected_c2pa"] == "absent":
                # The library could not parse the container; no C2PA box is in the bytes.
                want = C2paState.ABSENT
            assert want in ALLOWED[row["expected_c2pa"]], f"{name}: TSV columns contradict"
        if state is not want:
            problems.append(f"{name}: got {state.value}, want {want.value}")
    assert not problems, "\n".join(problems)


def test_library_failure_codes_kept_as_evidence(
    corpus_dir: Path, reports: dict[str, DisclosureReport]
) -> None:
    for row in _rows(corpus_dir):
        observed = row["observed_c2pa_python_0.38.1"]
        failures = reports[row["file"]].c2pa.failures
        for group in re.findall(r"(?<!ingredient_)fail=([^;]*)", observed):
            for code in filter(None, group.split(",")):
                assert code in failures, f"{row['file']}: {code} missing from {failures}"
        if observed.startswith(("C2paOther", "C2paVerify", "C2paError")):
            message = observed.split(": ", 1)[1]
            assert any(message.split(":")[0] in f for f in failures), (row["file"], failures)


def test_xmp_source_type_row_by_row(corpus_dir: Path, reports: dict[str, DisclosureReport]) -> None:
    for row in _rows(corpus_dir):
        xmp = reports[row["file"]].xmp
        expected = row["expected_iptc_digitalsourcetype"]
        if expected == "none":
            assert xmp.raw is None, (row["file"], xmp)
            assert xmp.source_type is None
        elif classify(expected).in_vocabulary:
            assert xmp.source_type == expected, row["file"]
            assert xmp.raw == expected
        else:
            # Reported as written, flagged, and never taken as a disclosure.
            assert xmp.raw == expected, row["file"]
            assert xmp.source_type is None
            assert any("not in the IPTC" in n for n in reports[row["file"]].notes)


def test_manifest_source_types_row_by_row(
    corpus_dir: Path, reports: dict[str, DisclosureReport]
) -> None:
    for row in _rows(corpus_dir):
        report = reports[row["file"]]
        found_terms = {classify(st.value).term for st in report.c2pa.source_types}
        expected = row["expected_c2pa_manifest_dst"]
        if expected in ("n/a", "none"):
            assert not report.c2pa.source_types, (row["file"], report.c2pa.source_types)
            continue
        named = {t for t in re.findall(r"[A-Za-z]+", expected) if t in IPTC_TERMS}
        assert named, f"{row['file']}: no vocabulary term in {expected!r}"
        assert found_terms == named, (row["file"], found_terms)
        observed = set(filter(None, row["observed_manifest_dst"].split(",")))
        assert found_terms == observed, row["file"]
        # Generative types must be flagged as such, and only they.
        for st in report.c2pa.source_types:
            assert st.generative == (st.value in GENERATIVE_URIS)
            assert st.where


def test_generative_types_found_where_generators_put_them(
    reports: dict[str, DisclosureReport], corpus_dir: Path
) -> None:
    # Firefly puts the type only in action parameters, in two manifests (active + ingredient).
    firefly = reports["ai_firefly-sundae_c2pa+xmp.png"].c2pa
    in_params = [st for st in firefly.source_types if "com.adobe.digitalSourceType" in st.where]
    assert len({st.where.split(": c2pa.", 1)[0] for st in in_params}) == 2  # two manifests
    assert {st.active for st in in_params} == {True, False}
    assert all(st.value.endswith("/trainedAlgorithmicMedia") for st in in_params)
    # Photoshop: composite in the active manifest, the Firefly ingredient trainedAlgorithmicMedia.
    ps = reports["aiedit_photoshop-genfill_c2pa.jpg"].c2pa
    active = {classify(st.value).term for st in ps.source_types if st.active}
    ingredient = {classify(st.value).term for st in ps.source_types if not st.active}
    assert active == {"compositeWithTrainedAlgorithmicMedia"}
    assert ingredient == {"trainedAlgorithmicMedia"}
    assert all(
        st.where.startswith("ingredient manifest (") for st in ps.source_types if not st.active
    )
    assert "Adobe Firefly" in ps.software_agents
    assert ps.signer == "Adobe C2PA"
    assert ps.signer_issuer == "Adobe Inc."
    assert ps.generator is not None and "Photoshop" in ps.generator


def test_verdicts_follow_from_the_columns(
    corpus_dir: Path, reports: dict[str, DisclosureReport]
) -> None:
    for row in _rows(corpus_dir):
        report = reports[row["file"]]
        manifest_gen = any(
            f"{term}" in row["expected_c2pa_manifest_dst"]
            for term in ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
        )
        xmp_gen = row["expected_iptc_digitalsourcetype"] in GENERATIVE_URIS
        valid = report.c2pa.state.is_valid
        # Issue 9 rule: "A C2PA store that is present but unreadable or invalid gives the verdict
        # `blocked`, never `partial`." The unreadable rows (malformed_no-alg.jpg,
        # malformed_prerelease-jumbf.jpg, malformed_svg-bad-jumbf.svg) were `missing` before.
        if report.c2pa.state in (C2paState.INVALID_INTEGRITY, C2paState.UNREADABLE):
            want = Verdict.BLOCKED
        elif valid and manifest_gen and xmp_gen:
            want = Verdict.DISCLOSED
        elif (valid and manifest_gen) or xmp_gen:
            want = Verdict.PARTIAL
        else:
            want = Verdict.MISSING
        assert report.verdict is want, (row["file"], report.verdict, report.notes)


def test_stripped_and_remote_rows(reports: dict[str, DisclosureReport]) -> None:
    policy = DisclosurePolicy()
    stripped = reports["stripped_provenance-ref-only.jpg"]
    assert stripped.manifest_stripped
    assert "manifest_stripped" in {f.kind for f in disclosure_findings(stripped, policy)}
    for name in ("remote_cloud-manifest.jpg", "remote_localhost-url.png"):
        report = reports[name]
        assert report.c2pa.remote_url is not None and report.c2pa.remote_url.startswith("http")
        assert not report.manifest_stripped
        kinds = {f.kind for f in disclosure_findings(report, policy)}
        assert "remote_manifest_unverified" in kinds
    # Tampered files carry a provenance reference AND a manifest: not "stripped".
    assert not reports["tamper_E-sig_claimSignature.jpg"].manifest_stripped


def test_concurrent_inspection_matches_sequential(
    corpus_dir: Path, settings: InspectSettings, reports: dict[str, DisclosureReport]
) -> None:
    paths = sorted(p for p in (corpus_dir / "disclosure").iterdir() if p.name != "MANIFEST.tsv")
    blobs = [p.read_bytes() for p in paths] * 3
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(inspect_bytes, b, settings=settings) for b in blobs]
        # A hang fails here instead of blocking the suite forever.
        results = [f.result(timeout=120) for f in futures]
    for path, report in zip(paths * 3, results, strict=True):
        assert report.to_json() == reports[path.name].to_json(), path.name
