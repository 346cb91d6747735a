"""Make the demo's two Content Credentials images (developer tool; NOT run when the demo is built).

Writes, into ``resources/demo/``:

- ``c2pa-disclosed.jpg``: a "generated" stand-in derived from ``coffee.jpg``, carrying an IPTC XMP
  ``Iptc4xmpExt:DigitalSourceType`` of trainedAlgorithmicMedia AND a C2PA manifest whose
  ``c2pa.created`` action declares the same digital source type. Verdict ``disclosed``
  (``valid-untrusted`` without a trust list, ``trusted`` with ``demo-c2pa-ca.pem`` as anchor).
- ``c2pa-tampered.jpg``: made and signed the same way from a different crop, then retouched:
  its pixels were re-encoded after signing while every header segment (manifest, XMP, tables)
  was kept byte for byte, so the manifest's data hash no longer matches
  (``invalid-integrity``, verdict ``blocked``, finding ``tampered_provenance``).
- ``demo-c2pa-ca.pem``: the throwaway root CA certificate, for ``[disclosure] trust_anchors``.

The certificate chain is generated on each run and both private keys are discarded when the
script ends, so nobody can sign as the demo signer later; running the script again makes a new CA
(and then the committed CA file, the images and their tests move together).

Why the XMP goes in before signing: a JPEG's hard binding (``c2pa.hash.data``) hashes every
byte of the file except the manifest's own APP11 segments, so adding an XMP APP1 segment after
signing would itself break the binding (the script checks this claim at the end).

Usage::

    uv run python tests/tools/make_demo_c2pa.py [--out resources/demo]
"""

from __future__ import annotations

import argparse
import datetime
import io
import sys
from collections.abc import Iterator
from pathlib import Path

import c2pa
import numpy as np
from c2pa_pki import Pki, make_pki
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

from twinreview.core.disclosure import C2paState, InspectSettings, Verdict, inspect_bytes
from twinreview.core.disclosure.c2pa_reader import offline_settings

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
QUALITY = 88
SIZE = 600
MAX_BYTES = 150 * 1024

# The certificates must outlive the committed files: without a trusted timestamp the validator
# checks the signing certificate against the current time, and an expired one would turn the
# demo's "disclosed" image into invalid-credential-only. Kept before 2050 so X.509 encodes the
# dates as UTCTime, which every validator reads.
NOT_AFTER = datetime.datetime(2049, 12, 31, tzinfo=datetime.UTC)

XMP = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    Iptc4xmpExt:DigitalSourceType="{TAM}"/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def _hue_rotate(img: Image.Image, degrees: float) -> Image.Image:
    hsv = np.asarray(img.convert("HSV")).copy()
    shift = round(degrees / 360 * 256)
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + shift) % 256
    return Image.fromarray(hsv, "HSV").convert("RGB")


def stand_in_a(coffee: Image.Image) -> Image.Image:
    """Image A: the cup seen from close up, mirrored, turned a quarter, teal instead of brown.

    The demo's look-01 is the whole coffee scene posterised and fitted to 512x640; a close,
    rotated crop keeps this image from being a near-duplicate of it (or of its re-encode look-03).
    """
    cup = coffee.crop((165, 10, 435, 280))
    out = (
        ImageOps.mirror(cup).rotate(90, expand=True).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    )
    out = _hue_rotate(out, 170)
    out = ImageEnhance.Color(out).enhance(1.4)
    return ImageEnhance.Contrast(out).enhance(1.1)


def stand_in_b(coffee: Image.Image) -> Image.Image:
    """Image B: the saucer rim and spoon, upside down, violet, softened like a render."""
    corner = coffee.crop((250, 130, 520, 400))
    out = corner.rotate(180).resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    out = _hue_rotate(out, 250)
    out = out.filter(ImageFilter.SMOOTH_MORE)
    return ImageOps.posterize(ImageEnhance.Color(out).enhance(1.5), 5)


def jpeg_with_xmp(img: Image.Image) -> bytes:
    """Encode at the demo's quality with the IPTC digital source type in an XMP APP1 segment."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=QUALITY, xmp=XMP)
    return buf.getvalue()


def sign(pki: Pki, data: bytes, title: str) -> bytes:
    """Embed a C2PA manifest declaring ``data`` created by a trained algorithm."""
    manifest = {
        "claim_generator_info": [{"name": "twinreview demo"}],
        "title": title,
        "format": "image/jpeg",
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TAM,
                            "softwareAgent": {"name": "twinreview demo generator"},
                        }
                    ]
                },
            }
        ],
    }
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, pki.chain_pem, pki.key_pem, None)
    )
    try:
        with c2pa.Builder.from_json(manifest, _signing_context()) as builder:
            out = io.BytesIO()
            builder.sign(signer, "image/jpeg", io.BytesIO(data), out)
            return out.getvalue()
    finally:
        signer.close()


def _signing_context() -> c2pa.Context:
    # The SDK embeds a thumbnail by default (long edge 1024, medium quality): about 100 kB for
    # these images, which would double each file. A small one keeps the manifest realistic.
    config = offline_settings()
    config["builder"] = {"thumbnail": {"long_edge": 192, "quality": "low"}}
    settings = c2pa.Settings.from_dict(config)
    try:
        return c2pa.Context(settings=settings)
    finally:
        settings.close()


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """Yield ``(marker, start, end)`` for each JPEG header segment, up to and including SOS."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"no marker at offset {pos}")
        marker = data[pos + 1]
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        yield marker, pos, end
        if marker == 0xDA:  # SOS: entropy-coded data follows
            return
        pos = end
    raise ValueError("no start of scan")


def _headers(data: bytes, *, skip_app11: bool) -> tuple[bytes, int]:
    """The header segments (optionally without APP11 = C2PA) and the offset where pixels start."""
    parts, scan = [], 0
    for marker, start, end in _segments(data):
        if not (skip_app11 and marker == 0xEB):
            parts.append(data[start:end])
        scan = end
    return b"".join(parts), scan


def retouch(img: Image.Image) -> Image.Image:
    """A local edit the manifest does not record: the spoon cloned away with a piece of saucer."""
    out = img.copy()
    spoon = (250, 150, 450, 350)
    donor = img.crop((100, 250, 300, 450))
    mask = Image.new("L", donor.size, 0)
    ImageDraw.Draw(mask).ellipse((12, 12, donor.width - 12, donor.height - 12), fill=255)
    out.paste(donor, spoon[:2], mask.filter(ImageFilter.GaussianBlur(10)))
    return out


def tamper(signed: bytes) -> bytes:
    """Change the pixels of ``signed`` and keep every header byte, manifest included.

    The retouched image is re-encoded with the same settings, which gives the same tables and
    XMP (checked); its entropy-coded data then replaces the signed file's, as a tool that edits
    pixels but carries the metadata over would. The manifest's data hash no longer matches.
    """
    edited = jpeg_with_xmp(retouch(Image.open(io.BytesIO(signed)).convert("RGB")))
    signed_headers, signed_scan = _headers(signed, skip_app11=True)
    edited_headers, edited_scan = _headers(edited, skip_app11=True)
    if signed_headers != edited_headers:
        raise RuntimeError("re-encoding changed the JPEG headers; only the pixels may change")
    return signed[:signed_scan] + edited[edited_scan:]


def _check(name: str, data: bytes, pki: Pki, state: C2paState, verdict: Verdict) -> None:
    if len(data) > MAX_BYTES:
        raise RuntimeError(f"{name}: {len(data)} bytes, over the {MAX_BYTES} byte budget")
    Image.open(io.BytesIO(data)).load()  # must stay a decodable image
    trusted = InspectSettings.offline(trust_anchors_pem=pki.ca_pem.decode())
    for settings in (InspectSettings.offline(), trusted):
        report = inspect_bytes(data, settings=settings)
        if report.verdict is not verdict:
            raise RuntimeError(f"{name}: verdict {report.verdict}, expected {verdict}")
    if inspect_bytes(data, settings=trusted).c2pa.state is not state:
        raise RuntimeError(f"{name}: unexpected C2PA state with the demo CA trusted")


def main(argv: list[str] | None = None) -> int:
    """Write the two images and the CA certificate. Returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEMO, help="output folder (resources/demo)")
    args = parser.parse_args(argv)

    coffee = Image.open(DEMO / "coffee.jpg").convert("RGB")
    pki = make_pki("twinreview demo (throwaway)", NOT_AFTER, name="twinreview demo")
    disclosed = sign(pki, jpeg_with_xmp(stand_in_a(coffee)), "c2pa-disclosed.jpg")
    tampered = tamper(sign(pki, jpeg_with_xmp(stand_in_b(coffee)), "c2pa-tampered.jpg"))
    _check("c2pa-disclosed.jpg", disclosed, pki, C2paState.TRUSTED, Verdict.DISCLOSED)
    _check("c2pa-tampered.jpg", tampered, pki, C2paState.INVALID_INTEGRITY, Verdict.BLOCKED)

    # The claim in the docstring: XMP added after signing breaks the hard binding.
    plain = sign(pki, _plain_jpeg(stand_in_a(coffee)), "late-xmp.jpg")
    late = plain[:2] + _xmp_app1() + plain[2:]
    late_state = inspect_bytes(late, settings=InspectSettings.offline()).c2pa.state
    print(f"XMP inserted after signing -> C2PA state {late_state}")

    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in (
        ("c2pa-disclosed.jpg", disclosed),
        ("c2pa-tampered.jpg", tampered),
        ("demo-c2pa-ca.pem", pki.ca_pem),
    ):
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data)} bytes)")
    return 0


def _plain_jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=QUALITY)
    return buf.getvalue()


def _xmp_app1() -> bytes:
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + XMP
    return b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload


if __name__ == "__main__":
    sys.exit(main())
