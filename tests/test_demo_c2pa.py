"""The demo's bundled Content Credentials images say what the demo claims they say.

The files are made by ``tests/tools/make_demo_c2pa.py`` (run by hand, not at demo build time);
these tests read the committed files, so a regenerated set that no longer gives these verdicts
fails here.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from PIL import Image

from twinreview.core.disclosure import C2paState, DisclosurePolicy, DisclosureReport, Verdict
from twinreview.services.disclosure import DisclosureService
from twinreview.services.resources import resource

TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
DISCLOSED = "c2pa-disclosed.jpg"
TAMPERED = "c2pa-tampered.jpg"
CA = "demo-c2pa-ca.pem"


def _demo(name: str) -> Path:
    return resource("demo", name)


@pytest.fixture(scope="module")
def trusting() -> DisclosureService:
    """A workspace whose ``[disclosure] trust_anchors`` names the demo CA."""
    return _service(_demo(CA).parent, {"disclosure": {"trust_anchors": [CA]}})


def test_disclosed_without_a_trust_list_is_valid_untrusted() -> None:
    service = DisclosureService.default()
    report, error = service.inspect_file(_demo(DISCLOSED))
    assert error is None
    assert report.verdict is Verdict.DISCLOSED
    assert report.c2pa.state is C2paState.VALID_UNTRUSTED
    assert report.c2pa.failures == ("signingCredential.untrusted",)
    (found,) = report.c2pa.source_types
    assert (found.value, found.active, found.generative) == (TAM, True, True)
    assert "(c2pa.created).digitalSourceType" in found.where
    assert report.c2pa.generator == "twinreview demo"
    assert report.c2pa.signer == "twinreview demo signer"
    assert report.xmp.source_type == TAM
    assert service.findings(report) == []


def test_disclosed_with_the_demo_ca_as_anchor_is_trusted(trusting: DisclosureService) -> None:
    report, error = trusting.inspect_file(_demo(DISCLOSED))
    assert error is None
    assert report.c2pa.state is C2paState.TRUSTED
    assert report.c2pa.failures == ()
    assert report.verdict is Verdict.DISCLOSED
    assert trusting.findings(report) == []
    # The scan path (the report as cached, in its JSON form) gives the same answer.
    found = trusting.inspect(_demo(DISCLOSED).read_bytes(), _demo(DISCLOSED))
    as_json = found.to_json()
    assert (as_json["verdict"], as_json["c2pa"]["state"]) == ("disclosed", "trusted")
    assert DisclosureReport.from_json(as_json) == found == report


@pytest.mark.parametrize("trusted", [False, True], ids=["no-trust-list", "demo-ca-trusted"])
def test_tampered_is_blocked_whoever_is_trusted(trusted: bool, trusting: DisclosureService) -> None:
    service = trusting if trusted else DisclosureService.default()
    report, error = service.inspect_file(_demo(TAMPERED))
    assert error is None
    assert report.c2pa.state is C2paState.INVALID_INTEGRITY
    assert "assertion.dataHash.mismatch" in report.c2pa.failures
    assert report.verdict is Verdict.BLOCKED
    assert report.conflict is None  # blocked for the tampering, not for a contradiction
    assert [f.kind for f in service.findings(report)] == ["tampered_provenance"]
    # Before the edit it was the same kind of file as the disclosed one.
    assert report.xmp.source_type == TAM
    assert [st.value for st in report.c2pa.source_types] == [TAM]


@pytest.mark.parametrize("name", [DISCLOSED, TAMPERED])
def test_demo_images_are_small_decodable_stand_ins(name: str) -> None:
    path = _demo(name)
    assert path.stat().st_size < 150 * 1024
    with Image.open(path) as img:
        img.load()  # the tampered file must still be an image the demo can show
        assert (img.format, img.size) == ("JPEG", (600, 600))


def test_demo_ca_outlives_the_committed_files() -> None:
    # No trusted timestamp is embedded, so validation checks the certificates against today's
    # date: a short-lived CA would quietly turn "disclosed" into a credential problem one day.
    cert = x509.load_pem_x509_certificate(_demo(CA).read_bytes())
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc >= datetime.datetime(2049, 1, 1, tzinfo=datetime.UTC)


def _service(root: Path, config: dict[str, Any]) -> DisclosureService:
    """The disclosure service of a workspace at ``root`` whose settings are ``config``."""
    return DisclosureService.for_policy(root, DisclosurePolicy.from_config(config))
