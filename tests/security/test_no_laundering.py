"""Attack: launder a blocked image by adding a garbage C2PA store to it.

Rule (issue 9): a C2PA store that is present but unreadable or invalid gives the verdict
``blocked``, never ``partial``. Before, a JUMBF box labelled ``c2pa`` with random content made
the reader fail, the state became ``unreadable``, and an IPTC XMP "trainedAlgorithmicMedia"
alone was enough for ``partial`` (approvable by default): the garbage hid the tampered manifest.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
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
from twinreview.core.findings import Severity
from twinreview.core.workspace import Workspace
from twinreview.services.compose import make_scan_service
from twinreview.services.scan.cache import ResultCache
from wsbuild import add_model, make_workspace, pattern

TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
# The JUMBF description box type of a C2PA manifest store: 'c2pa' + the ISO 19566-5 suffix.
C2PA_STORE_UUID = bytes.fromhex("6332706100110010800000aa00389b71")


@pytest.fixture(scope="module")
def settings() -> InspectSettings:
    return InspectSettings.offline()


def xmp_packet(value: str = TAM) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{value}"/></rdf:RDF></x:xmpmeta>'
    ).encode()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def garbage_c2pa_store(seed: int = 9, size: int = 400) -> bytes:
    """A JUMBF superbox announcing a C2PA manifest store, filled with random bytes."""
    payload = random.Random(seed).randbytes(size)
    jumd = box(b"jumd", C2PA_STORE_UUID + b"\x03" + b"c2pa\x00")
    return box(b"jumb", jumd + payload)


# --- JPEG: APP1 XMP, APP11 JUMBF -------------------------------------------------------------


def jpeg_insert(data: bytes, *segments: bytes) -> bytes:
    assert data[:2] == b"\xff\xd8"
    return data[:2] + b"".join(segments) + data[2:]


def app1_xmp(value: str = TAM) -> bytes:
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet(value)
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def app11_jumbf(store: bytes) -> bytes:
    # JPEG XT box segment: 'JP', box instance 1, packet sequence 1, then the box itself.
    body = b"JP" + struct.pack(">H", 1) + struct.pack(">I", 1) + store
    return b"\xff\xeb" + struct.pack(">H", len(body) + 2) + body


def plain_jpeg() -> bytes:
    buf = io.BytesIO()
    pattern(7, (96, 64)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


# --- PNG: iTXt XMP, caBX JUMBF ---------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_insert(data: bytes, *chunks: bytes) -> bytes:
    end_of_ihdr = 8 + 8 + 13 + 4  # signature, then IHDR (length, type, 13 bytes, CRC)
    assert data[12:16] == b"IHDR"
    return data[:end_of_ihdr] + b"".join(chunks) + data[end_of_ihdr:]


def png_xmp() -> bytes:
    return png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp_packet())


def plain_png() -> bytes:
    buf = io.BytesIO()
    pattern(8, (96, 64)).save(buf, "PNG")
    return buf.getvalue()


# --- the rule --------------------------------------------------------------------------------


def assert_blocked_not_approvable(report: DisclosureReport) -> None:
    assert report.c2pa.state is C2paState.UNREADABLE, report.c2pa
    assert report.verdict is Verdict.BLOCKED, report.notes
    assert not DisclosurePolicy().is_approvable(report.verdict)
    findings = disclosure_findings(report, DisclosurePolicy())
    tampered = [f for f in findings if f.kind == "tampered_provenance"]
    assert tampered, [f.kind for f in findings]
    assert tampered[0].severity is Severity.BLOCK
    assert "cannot be read" in tampered[0].message
    assert tampered[0].evidence["c2pa_state"] == "unreadable"
    assert tampered[0].evidence["failures"], "the reader's error is kept as evidence"
    assert "partial_disclosure" not in {f.kind for f in findings}
    assert report.notes[0].startswith("Blocked")


def test_garbage_store_on_an_ai_declaring_jpeg_is_blocked(settings: InspectSettings) -> None:
    declared = jpeg_insert(plain_jpeg(), app1_xmp())
    # Without any C2PA store the XMP alone gives partial (the baseline the attack starts from).
    assert inspect_bytes(declared, settings=settings).verdict is Verdict.PARTIAL
    laundered = jpeg_insert(declared, app11_jumbf(garbage_c2pa_store()))
    assert_blocked_not_approvable(inspect_bytes(laundered, settings=settings))


def test_garbage_store_on_an_ai_declaring_png_is_blocked(settings: InspectSettings) -> None:
    declared = png_insert(plain_png(), png_xmp())
    assert inspect_bytes(declared, settings=settings).verdict is Verdict.PARTIAL
    for store in (garbage_c2pa_store(), random.Random(3).randbytes(300)):
        laundered = png_insert(declared, png_chunk(b"caBX", store))
        assert_blocked_not_approvable(inspect_bytes(laundered, settings=settings))


def test_garbage_store_does_not_launder_a_tampered_file(
    corpus_dir: Path, settings: InspectSettings
) -> None:
    tampered = (corpus_dir / "disclosure" / "tamper_E-dat_hardBindingHash.jpg").read_bytes()
    declared = jpeg_insert(tampered, app1_xmp())
    before = inspect_bytes(declared, settings=settings)
    assert before.c2pa.state is C2paState.INVALID_INTEGRITY
    assert before.verdict is Verdict.BLOCKED
    # A second store next to the tampered one: the reader gives up on the whole file.
    laundered = jpeg_insert(declared, app11_jumbf(garbage_c2pa_store()))
    assert_blocked_not_approvable(inspect_bytes(laundered, settings=settings))


def test_scan_blocks_the_laundered_asset(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"ref.jpg": pattern(1)})
    asset = root / "assets" / "ava" / "look.jpg"
    asset.parent.mkdir(parents=True)
    asset.write_bytes(jpeg_insert(plain_jpeg(), app11_jumbf(garbage_c2pa_store()), app1_xmp()))
    with ThreadPoolExecutor(1) as pool:
        result = make_scan_service(pool, ResultCache.in_memory(), faces=False).scan(
            Workspace.open(root)
        )
    (a,) = result.assets
    assert a.disclosure is not None and a.disclosure.verdict is Verdict.BLOCKED
    kinds = {f.kind: f.severity for f in a.findings}
    assert kinds.get("tampered_provenance") is Severity.BLOCK
    assert "partial_disclosure" not in kinds


def test_what_is_not_garbage_keeps_its_verdict(settings: InspectSettings) -> None:
    """Random bytes in an APP11 segment that do not form a JUMBF box are not a C2PA store."""
    declared = jpeg_insert(plain_jpeg(), app1_xmp())
    noise = b"\xff\xeb" + struct.pack(">H", 202) + random.Random(5).randbytes(200)
    report = inspect_bytes(jpeg_insert(declared, noise), settings=settings)
    assert report.c2pa.state is C2paState.ABSENT
    assert report.verdict is Verdict.PARTIAL
