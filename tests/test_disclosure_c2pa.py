"""C2PA classification on files signed here with a throw-away CA (no network: no TSA, no OCSP).

These complement the corpus: they show the ``trusted`` state (a brand CA given as trust anchor),
source types found only in action parameters, tampering detected on our own files, a
contradiction between C2PA and XMP, the service built from a workspace config, and that no input
makes the inspection raise.
"""

from __future__ import annotations

import datetime
import io
import random
from pathlib import Path
from typing import Any

import c2pa
import pytest
from PIL import Image

from tools.c2pa_pki import Pki, make_pki
from twinreview.core.disclosure import (
    C2paState,
    DisclosureConfigError,
    DisclosureReport,
    InspectSettings,
    Verdict,
    inspect_bytes,
)
from twinreview.core.disclosure.c2pa_reader import make_context
from twinreview.core.settings import SettingsError, settings_from_config
from twinreview.services.disclosure import DisclosureService

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TAM = IPTC + "trainedAlgorithmicMedia"
CAPTURE = IPTC + "digitalCapture"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "disclosure"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return _test_pki()


def _test_pki() -> Pki:
    return make_pki("Test Brand", datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30))


def _xmp_app1(value: str) -> bytes:
    xml = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{value}"/></rdf:RDF></x:xmpmeta>'
    ).encode()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xml
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


def source_image(fmt: str = "JPEG", xmp: str | None = None) -> bytes:
    buf = io.BytesIO()
    img = Image.radial_gradient("L").convert("RGB").resize((96, 64))
    img.save(buf, fmt)
    data = buf.getvalue()
    if xmp is not None:
        assert fmt == "JPEG"
        data = data[:2] + _xmp_app1(xmp) + data[2:]
    return data


def sign(pki: Pki, data: bytes, mime: str, actions: list[dict[str, Any]]) -> bytes:
    manifest = {
        "claim_generator_info": [{"name": "twinreview-test", "version": "1.0"}],
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": actions}}],
    }
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki.chain_pem, pki.key_pem, None)
    )
    builder = c2pa.Builder.from_json(manifest, make_context())
    out = io.BytesIO()
    builder.sign(signer, mime, io.BytesIO(data), out)
    return out.getvalue()


EMPTY = "http://c2pa.org/digitalsourcetype/empty"
# The standard field says "started from an empty canvas"; only the parameter says AI, the way
# Adobe's generators write it.
GEN_IN_PARAMS = [
    {"action": "c2pa.created", "digitalSourceType": EMPTY},
    {
        "action": "c2pa.edited",
        "softwareAgent": {"name": "TwinGen", "version": "2.1"},
        "parameters": {"com.adobe.digitalSourceType": TAM},
    },
]


def test_untrusted_then_trusted_with_the_brand_ca(pki: Pki) -> None:
    data = sign(pki, source_image(xmp=TAM), "image/jpeg", GEN_IN_PARAMS)
    plain = inspect_bytes(data, settings=InspectSettings.offline())
    assert plain.c2pa.state is C2paState.VALID_UNTRUSTED
    assert "signingCredential.untrusted" in plain.c2pa.failures
    assert any("no trust list is configured" in n for n in plain.notes)
    trusted = inspect_bytes(
        data, settings=InspectSettings.offline(trust_anchors_pem=pki.ca_pem.decode())
    )
    assert trusted.c2pa.state is C2paState.TRUSTED
    assert trusted.c2pa.failures == ()
    assert trusted.verdict is Verdict.DISCLOSED
    assert plain.verdict is Verdict.DISCLOSED  # valid-untrusted is a valid C2PA manifest


def test_source_type_only_in_action_parameters(pki: Pki) -> None:
    data = sign(pki, source_image("PNG"), "image/png", GEN_IN_PARAMS)
    report = inspect_bytes(data, settings=InspectSettings.offline())
    (st,) = [st for st in report.c2pa.source_types if st.generative]
    assert st.value == TAM
    assert st.active
    assert st.where.endswith("(c2pa.edited).parameters['com.adobe.digitalSourceType']")
    assert [s.value for s in report.c2pa.source_types if not s.generative] == [EMPTY]
    assert report.c2pa.software_agents == ("TwinGen 2.1",)
    assert report.c2pa.signer == "Test Brand signer"
    assert report.c2pa.generator == "twinreview-test 1.0"
    assert report.verdict is Verdict.PARTIAL  # no XMP
    assert report.format == "png"


def test_tampered_pixels_are_invalid_integrity(pki: Pki) -> None:
    data = bytearray(sign(pki, source_image(xmp=TAM), "image/jpeg", GEN_IN_PARAMS))
    sos = data.rindex(b"\xff\xda")
    for i in range(sos + 40, sos + 60):
        data[i] ^= 0x55
    report = inspect_bytes(
        bytes(data), settings=InspectSettings.offline(trust_anchors_pem=pki.ca_pem.decode())
    )
    assert report.c2pa.state is C2paState.INVALID_INTEGRITY
    assert "assertion.dataHash.mismatch" in report.c2pa.failures
    assert report.verdict is Verdict.BLOCKED


def test_c2pa_capture_against_xmp_ai_is_a_conflict(pki: Pki) -> None:
    actions = [{"action": "c2pa.created", "digitalSourceType": CAPTURE}]
    data = sign(pki, source_image(xmp=TAM), "image/jpeg", actions)
    report = inspect_bytes(data, settings=InspectSettings.offline())
    assert report.verdict is Verdict.BLOCKED
    assert report.conflict is not None and "digitalCapture" in report.conflict


def test_service_from_workspace_config(pki: Pki, tmp_path: Path) -> None:
    (tmp_path / "trust").mkdir()
    (tmp_path / "trust" / "brand.pem").write_bytes(pki.ca_pem)
    config = {"disclosure": {"trust_anchors": ["trust/brand.pem"]}}
    service = _service(tmp_path, config)
    plain = DisclosureService.default()
    assert service.cache_key != plain.cache_key
    data = sign(pki, source_image(xmp=TAM), "image/jpeg", GEN_IN_PARAMS)
    asset = tmp_path / "a.jpg"
    asset.write_bytes(data)
    found = service.inspect(data, asset)
    assert found.c2pa.state is C2paState.TRUSTED
    assert found.verdict is Verdict.DISCLOSED
    assert service.findings(found) == []
    # A signer the workspace does not trust is a credential problem once a trust list exists.
    (tmp_path / "trust" / "other.pem").write_bytes(_test_pki().ca_pem)
    other = _service(tmp_path, {"disclosure": {"trust_anchors": ["trust/other.pem"]}})
    report = other.inspect(data, asset)
    assert report.c2pa.state is C2paState.VALID_UNTRUSTED
    assert [f.kind for f in other.findings(report)] == ["credential_problem"]
    # Read back from its JSON form (the scan cache), the report says the same.
    assert other.findings(DisclosureReport.from_json(report.to_json())) == other.findings(report)
    assert [f.kind for f in plain.findings(plain.inspect(data, asset))] == []


def test_findings_from_cached_json_equal_findings_from_report() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    service = DisclosureService.default()
    for path in sorted(CORPUS.iterdir()):
        report = service.inspect_report(path.read_bytes(), path)
        again = DisclosureReport.from_json(report.to_json())
        assert again == report and again.to_json() == report.to_json(), path.name
        assert service.findings(again) == service.findings(report), path.name


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"disclosure": {"trust_anchors": ["missing.pem"]}}, "cannot read missing.pem"),
        ({"disclosure": {"trust_anchors": ["notpem.txt"]}}, "holds no PEM certificate"),
        ({"disclosure": {"label": "notimage.txt"}}, "label image cannot be read"),
        ({"disclosure": {"trust_anchors": "x.pem", "colour": 1}}, "unknown key disclosure.colour"),
        ({"disclosure": {"severity": {"missing_disclosure": "fatal"}}}, "expected info, warn"),
        ({"disclosure": {"approvable": ["maybe"]}}, "disclosure.approvable has 'maybe'"),
    ],
)
def test_bad_workspace_config_is_one_clear_line(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    (tmp_path / "notpem.txt").write_text("hello")
    (tmp_path / "notimage.txt").write_text("hello")
    with pytest.raises((DisclosureConfigError, SettingsError), match=message) as info:
        _service(tmp_path, config)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("twinreview.toml: ")


def _mutations(data: bytes, rng: random.Random) -> list[bytes]:
    cuts = [len(data) * k // 10 for k in range(1, 10)] + [1, 2, 3, len(data) - 1]
    out = [data[:c] for c in cuts]
    for _ in range(6):
        flipped = bytearray(data)
        for _ in range(20):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        out.append(bytes(flipped))
    return out


def test_no_input_makes_inspection_raise(pki: Pki) -> None:
    rng = random.Random(1234)
    settings = InspectSettings.offline()
    seeds = [sign(pki, source_image(xmp=TAM), "image/jpeg", GEN_IN_PARAMS)]
    if CORPUS.is_dir():
        seeds += [p.read_bytes() for p in sorted(CORPUS.iterdir()) if p.stat().st_size < 400_000]
    blobs = [b"", b"\x00", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WEBP"]
    blobs += [bytes(rng.randrange(256) for _ in range(4096))]
    for seed in seeds:
        blobs += _mutations(seed, rng)
    for blob in blobs:
        report = inspect_bytes(blob, settings=settings)
        # Every report serialises; every verdict is one of the four.
        assert report.to_json()["verdict"] in {"disclosed", "partial", "missing", "blocked"}
        assert report.error is None or not report.error.startswith("internal error"), report.error


def _service(root: Path, config: dict[str, Any]) -> DisclosureService:
    """The disclosure service of a workspace at ``root`` whose settings are ``config``, parsed
    as opening the workspace parses them (the settings name their source, twinreview.toml)."""
    return DisclosureService.for_policy(root, settings_from_config(config).disclosure)
