"""Record what the disclosure check says of real files, as its JSON forms (a fixture).

Run by hand from the repository root::

    uv run --no-sync python tests/tools/record_disclosure.py

It inspects every file of ``../shared/corpus/disclosure`` and the demo's Content Credentials
pictures, and two files derived from them at recording time (in a temporary folder: a corpus file
whose XMP sidecar contradicts it, and a demo picture with the label stamped in a corner), under
two workspace settings (``plain``: no trust list, no label; ``anchored``: the
demo's CA as trust anchor and a badge label to look for), and writes
``tests/recorded/disclosure.json``: per file and setting, the report's JSON form (what
``scan --json`` prints under ``"disclosure"`` and the scan cache stores) and a decision entry
signed over the file's disclosure findings (``Finding.to_json()`` each, the form a reviewer
signs), with the public key that checks it. The key is made for the recording; its seed is not
kept.

``tests/test_disclosure_json.py`` reads the recording back: the JSON forms must read into the
typed report and evidence and write out byte for byte as recorded, and the same files inspected
now must still give them. Recorded outputs are kept, not regenerated, when the code that reads
them changes: they stand for what users' caches and signed logs hold.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "disclosure"
DEMO = REPO / "resources" / "demo"
OUT = REPO / "tests" / "recorded" / "disclosure.json"
DEMO_FILES = ("c2pa-disclosed.jpg", "c2pa-tampered.jpg", "chelsea.jpg")
TS = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def label_png() -> bytes:
    """A badge label (dark rounded rectangle, white text), as brands are told to use."""
    label = Image.new("RGBA", (240, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(label)
    draw.rounded_rectangle((0, 0, 239, 63), radius=14, fill=(20, 20, 20, 255))
    draw.text((16, 12), "AI · made", font=ImageFont.load_default(34), fill=(255, 255, 255, 255))
    buf = io.BytesIO()
    label.save(buf, "PNG")
    return buf.getvalue()


CAPTURE_SIDECAR = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
    '<rdf:Description rdf:about="">'
    "<Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    "</Iptc4xmpExt:DigitalSourceType></rdf:Description></rdf:RDF></x:xmpmeta>"
    '<?xpacket end="w"?>'
)


def derived(folder: Path) -> list[tuple[str, Path]]:
    """Files made from the corpus and the demo for what they lack: a conflict, a found label."""
    conflict = folder / "iptc_genai-bing+capture-sidecar.jpg"
    shutil.copyfile(CORPUS / "iptc_genai-bing_xmp-only.jpg", conflict)
    conflict.with_suffix(".xmp").write_text(CAPTURE_SIDECAR, encoding="utf-8")
    with Image.open(DEMO / "chelsea.jpg") as img:
        photo = img.convert("RGB")
    with Image.open(io.BytesIO(label_png())) as badge:
        lw = photo.width // 4
        small = badge.resize((lw, round(lw * badge.height / badge.width)))
        margin = photo.width // 50
        photo.paste(small, (photo.width - margin - lw, margin), small)
    labelled = folder / "chelsea+label.jpg"
    photo.save(labelled, "JPEG", quality=90)
    return [(f"derived/{conflict.name}", conflict), (f"derived/{labelled.name}", labelled)]


def files(folder: Path) -> list[tuple[str, Path]]:
    """(name in the recording, path) of every file recorded."""
    out = [
        (f"corpus/{p.name}", p)
        for p in sorted(CORPUS.iterdir())
        if p.is_file() and p.name not in ("MANIFEST.tsv", "README.md")
    ]
    out += [(f"demo/{name}", DEMO / name) for name in DEMO_FILES]
    return out + derived(folder)


def services() -> dict[str, Any]:
    """The disclosure services of the two recorded settings."""
    from twinreview.core.disclosure import DisclosurePolicy, InspectSettings, LabelTemplate
    from twinreview.services.disclosure import DisclosureService

    ca = (DEMO / "demo-c2pa-ca.pem").read_text()
    label = LabelTemplate.from_bytes(label_png())
    anchored = InspectSettings.offline(trust_anchors_pem=ca, label=label)
    return {
        "plain": DisclosureService.default(),
        "anchored": DisclosureService(anchored, DisclosurePolicy(), "recorded"),
    }


def main() -> int:
    """Write the recording."""
    from twinreview.core.logs.log import build_entry
    from twinreview.core.logs.sshsig import SigningKey

    key = SigningKey.generate()
    cases = []
    seq = 0
    folder = Path(tempfile.mkdtemp(prefix="twinreview-record-"))
    recorded = files(folder)
    for setting, service in services().items():
        for name, path in recorded:
            report = service.inspect_report(path.read_bytes(), path)
            findings = service.findings(report)
            entry = build_entry(
                key,
                "recorder@example.com",
                "brand",
                seq=seq,
                prev=None,
                ts=TS,
                kind="decision",
                fields={
                    "asset": f"assets/recorded/{path.name}",
                    "decision": "approve",
                    "reasons": [],
                    "note": "",
                    "findings": [f.to_json() for f in findings],
                    "override": True,
                },
            )
            seq += 1
            cases.append(
                {
                    "setting": setting,
                    "file": name,
                    "report": report.to_json(),
                    "entry": entry.line.decode("ascii").rstrip("\n"),
                }
            )
    shutil.rmtree(folder)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    doc = {
        "about": "Recorded by tests/tools/record_disclosure.py; see its docstring.",
        "recorded_at": commit,
        "public_key": key.public.openssh(),
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = OUT.stat().st_size
    print(f"{len(cases)} cases, {size // 1024} KiB -> {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
