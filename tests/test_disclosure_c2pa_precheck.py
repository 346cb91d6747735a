"""The JPEG look that spares the C2PA reader on files with no Content Credentials.

``jpeg_may_hold_c2pa`` must never say False for a file the reader would find anything in: a
manifest in APP11, a remote manifest named by the XMP (in any encoding XMP allows), or a header
it cannot walk (the reader then says what it makes of it). For every JPEG of the corpora, the
report with the look equals the report of the reader alone.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import c2pa
import pytest
from PIL import Image

from tools.c2pa_pki import Pki, make_pki
from twinreview.core.disclosure import C2paState
from twinreview.core.disclosure import c2pa_reader as reader
from twinreview.core.disclosure.c2pa_reader import jpeg_may_hold_c2pa, make_context, read_c2pa
from twinreview.core.disclosure.sniff import sniff

CREATED = [
    {
        "action": "c2pa.created",
        "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
    }
]


def _jpeg(*segments: bytes) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, "JPEG")
    data = buf.getvalue()
    return data[:2] + b"".join(segments) + data[2:]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _xmp(text: str, encoding: str = "utf-8") -> bytes:
    xml = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        f'rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/">{text}</rdf:Description>'
        "</rdf:RDF></x:xmpmeta>"
    )
    return _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xml.encode(encoding))


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki("Test Brand", datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30))


def _signed(pki: Pki, data: bytes) -> bytes:
    manifest = {
        "claim_generator_info": [{"name": "twinreview-test", "version": "1.0"}],
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": CREATED}}],
    }
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki.chain_pem, pki.key_pem, None)
    )
    out = io.BytesIO()
    c2pa.Builder.from_json(manifest, make_context()).sign(
        signer, "image/jpeg", io.BytesIO(data), out
    )
    return out.getvalue()


def test_a_plain_jpeg_needs_no_reader() -> None:
    assert jpeg_may_hold_c2pa(_jpeg()) is False
    assert jpeg_may_hold_c2pa(_jpeg(_segment(0xE2, b"ICC_PROFILE\x00..."))) is False


def test_a_signed_jpeg_is_read(pki: Pki) -> None:
    data = _signed(pki, _jpeg())
    assert jpeg_may_hold_c2pa(data) is True
    assert read_c2pa(data, "image/jpeg", make_context(), trust_configured=False).state is (
        C2paState.VALID_UNTRUSTED
    )


def test_any_app11_segment_is_read() -> None:
    assert jpeg_may_hold_c2pa(_jpeg(_segment(0xEB, b"JP\x00\x00\x00\x00\x00\x01jumb"))) is True


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be"])
def test_a_remote_manifest_named_in_xmp_is_read(encoding: str) -> None:
    text = "<dcterms:provenance>https://example.com/manifest.c2pa</dcterms:provenance>"
    data = _jpeg(_xmp(text, encoding))
    assert jpeg_may_hold_c2pa(data) is True


def test_a_remote_manifest_is_still_reported_remote_only() -> None:
    text = "<dcterms:provenance>https://example.com/manifest.c2pa</dcterms:provenance>"
    report = read_c2pa(_jpeg(_xmp(text)), "image/jpeg", make_context(), trust_configured=False)
    assert report.state is C2paState.REMOTE_ONLY


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8",  # no segment at all
        b"\xff\xd8\xff\xe0\x00",  # a length cut short
        b"\xff\xd8\xff\xe0\x00\x40JFIF",  # a segment running past the end
        b"\xff\xd8\xff\xe0\x00\x01",  # a length shorter than itself
        b"\xff\xd8\x00\x00\x00\x00",  # no marker where one must be
        b"\xff\xd8\xff\xff\xff",  # fill bytes to the end
        b"GIF89a",
    ],
)
def test_a_header_that_cannot_be_walked_goes_to_the_reader(data: bytes) -> None:
    assert jpeg_may_hold_c2pa(data) is True


def _jpegs(corpus: Path) -> list[Path]:
    return [
        p
        for folder in ("disclosure", "faces")
        for p in sorted((corpus / folder).iterdir())
        if p.is_file() and sniff(p.read_bytes()[:64]).mime == "image/jpeg"
    ]


def test_corpus_reports_equal_the_readers_own(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = make_context()
    files = _jpegs(corpus_dir)
    spared = 0
    for path in files:
        data = path.read_bytes()
        with_look = read_c2pa(data, "image/jpeg", context, trust_configured=False)
        spared += not jpeg_may_hold_c2pa(data)
        with monkeypatch.context() as m:
            m.setattr(reader, "jpeg_may_hold_c2pa", lambda _data: True)
            alone = read_c2pa(data, "image/jpeg", context, trust_configured=False)
        assert with_look == alone, path.name
    # The look must spare the plain photos, or it is only a cost.
    assert spared >= len(files) // 2


def test_truncated_image_data_reports_as_the_reader_does(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = make_context()
    data = (corpus_dir / "faces" / "obama_1.jpg").read_bytes()
    for cut in (len(data) // 2, len(data) - 2, len(data) - 1):
        part = data[:cut]
        with monkeypatch.context() as m:
            m.setattr(reader, "jpeg_may_hold_c2pa", lambda _data: True)
            alone = read_c2pa(part, "image/jpeg", context, trust_configured=False)
        assert read_c2pa(part, "image/jpeg", context, trust_configured=False) == alone
