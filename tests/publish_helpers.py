"""A signed workspace with cleared, pending, rejected and blocked assets in JPEG, PNG and WebP,
a test brand CA as trust anchor and a visible label, for the publishing tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import c2pa
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from decision_helpers import T0, copy_reviewer, reviewer
from tools.c2pa_pki import Pki, make_pki
from twinreview.core.disclosure.c2pa_writer import make_signer, read_store, signing_context
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.roster.people import Person
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import KeyService
from twinreview.services.publish.register import PublishRegister
from twinreview.services.resources import resource
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import TrustStore, Verifier
from worlds import Built
from wsbuild import add_model, make_workspace, pattern

TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"

WS_TOML = """\
[workspace]
name = "Publish test"

[disclosure]
trust_anchors = ["trust/brand-ca.pem", "trust/demo-c2pa-ca.pem"]
label = "brand/ai-label.png"
approvable = ["disclosed", "partial", "missing"]
"""

PURPOSE = "Spring 2027 e-commerce for Brand X"
CLEARED = ("assets/ava/look.jpg", "assets/ava/still.png", "assets/ava/render.webp")
PENDING = "assets/ava/pending.jpg"
REJECTED = "assets/ava/rejected.jpg"
BLOCKED = "assets/ghost/stray.jpg"
CAPTURED = "assets/ava/captured.jpg"


@dataclass
class PublishWs:
    root: Path
    pki: Pki
    model: KeyService
    agent: KeyService
    clock: Callable[[], dt.datetime]
    brand: KeyService  # the owner: publishes, and records what went out in its log

    def register(self, keys: KeyService | None = None) -> PublishRegister:
        """The publisher's register (the brand's reviewer key by default)."""
        return PublishRegister(keys or self.brand, clock=self.clock)

    def decide(self, keys: KeyService, rel: str, decision: str, **kw: object) -> None:
        DecisionService(keys, clock=self.clock).decide(
            Workspace.open(self.root),
            rel,
            decision,
            **kw,  # type: ignore[arg-type]
        )

    @property
    def chain(self) -> Path:
        return self.root.parent / "signer-chain.pem"

    @property
    def key(self) -> Path:
        return self.root.parent / "signer-key.pem"


def _clock(start: dt.datetime = T0) -> Callable[[], dt.datetime]:
    """This workspace's own clock, one minute per call: the shared test clock is left alone
    (other tests expect their dates on the first day it runs)."""
    ticks = itertools.count()
    return lambda: start + dt.timedelta(minutes=next(ticks))


def _enroll(
    root: Path, owner: RosterService, keys: KeyService, clock: Callable[[], dt.datetime]
) -> None:
    ident = keys.current()
    assert ident is not None
    owner.add_person(
        root, Person(ident.principal, ident.display_name, ident.role, ("ava",)), ident.public_key
    )
    if ident.role == "model":
        RosterService(keys, TrustStore.default(), Verifier.default(), clock=clock).consent(
            root, "ava", purpose=PURPOSE, pay_terms="Contract BX-2027-114"
        )


def make_label() -> Image.Image:
    label = Image.new("RGBA", (240, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(label)
    draw.rounded_rectangle((0, 0, 239, 63), radius=14, fill=(20, 20, 20, 255))
    draw.text((16, 12), "AI · made", font=ImageFont.load_default(34), fill=(255, 255, 255, 255))
    return label


def xmp_jpeg(img: Image.Image, value: str) -> bytes:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'Iptc4xmpExt:DigitalSourceType="{value}"/></rdf:RDF></x:xmpmeta>'
    ).encode()
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, xmp=xmp)
    return buf.getvalue()


def _save(img: Image.Image, path: Path, fmt: str, **kw: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **kw)


def build_publish_ws(base: Path) -> PublishWs:
    """Ava (model) and Sam (agent) on the roster; Ava's consent needs both.

    Cleared (both approved): look.jpg (plain JPEG), still.png (PNG with an XMP packet that has no
    source type) and render.webp (simple lossy WebP whose sidecar says it is a composite).
    pending.jpg: only Ava approved. rejected.jpg: Sam rejected. ghost/stray.jpg: a model the
    workspace does not have.
    """
    root = base / "ws"
    pki = make_pki("Test Brand", dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    make_workspace(root, toml=WS_TOML)
    (root / "trust").mkdir()
    (root / "trust" / "brand-ca.pem").write_bytes(pki.ca_pem)
    (root / "trust" / "demo-c2pa-ca.pem").write_bytes(
        resource("demo", "demo-c2pa-ca.pem").read_bytes()
    )
    (root / "brand").mkdir()
    make_label().save(root / "brand" / "ai-label.png")
    (base / "signer-chain.pem").write_bytes(pki.chain_pem)
    (base / "signer-key.pem").write_bytes(pki.key_pem)
    add_model(root, "ava", {"ref1.jpg": pattern(1)}, toml='display_name = "Ava"\n')
    assets = root / "assets" / "ava"
    _save(pattern(11, (640, 480)), assets / "look.jpg", "JPEG", quality=90)
    png_xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        b'rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>image/png'
        b"</dc:format></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", png_xmp.decode())
    _save(pattern(12, (600, 400)), assets / "still.png", "PNG", pnginfo=info)
    _save(pattern(13, (560, 420)), assets / "render.webp", "WEBP", quality=85)
    (assets / "render.json").write_text(
        json.dumps({"digital_source_type": "composite", "generator": "FluxGen 2"})
    )
    _save(pattern(14, (640, 480)), assets / "pending.jpg", "JPEG", quality=90)
    _save(pattern(15, (640, 480)), assets / "rejected.jpg", "JPEG", quality=90)
    _save(pattern(17, (480, 360)), root / "assets" / "ghost" / "stray.jpg", "JPEG")
    clock = _clock()
    owner_keys = reviewer(base / "people", "owner@brand.example", "brand", "Owner")
    owner = RosterService(owner_keys, TrustStore.default(), Verifier.default(), clock=clock)
    owner.init(root)
    model = reviewer(base / "people", "ava@example.com", "model", "Ava")
    agent = reviewer(base / "people", "sam@agency.example", "agent", "Sam")
    _enroll(root, owner, model, clock)
    _enroll(root, owner, agent, clock)
    pw = PublishWs(root, pki, model, agent, clock, owner_keys)
    for rel in (*CLEARED, PENDING):
        pw.decide(model, rel, "approve")
    for rel in CLEARED:
        pw.decide(agent, rel, "approve")
    pw.decide(agent, REJECTED, "reject", reasons=["quality"])
    return pw


def copy_publish_ws(built: Built[PublishWs], dest: Path) -> PublishWs:
    """A copy in ``dest`` of a workspace :func:`build_publish_ws` made once (tests/worlds.py).

    Each reviewer of the copy holds the same key in a keyring of its own; its paths are the
    copy's; its clock starts after every entry of the build.
    """
    pw = built.value
    move = built.copy_to(dest)
    fields: dict[str, object] = {}
    for f in dataclasses.fields(pw):
        value = getattr(pw, f.name)
        if isinstance(value, KeyService):
            value = copy_reviewer(value, move)
        elif isinstance(value, Path):
            value = move(value)
        fields[f.name] = value
    # Later than every entry of the build: a device's entries never go back in time.
    fields["clock"] = _clock(pw.clock())
    return PublishWs(**fields)  # type: ignore[arg-type]


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative posix path -> hex)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def clear(pw: PublishWs, rel: str) -> None:
    """Both required roles approve the asset at ``rel`` (already written)."""
    pw.decide(pw.model, rel, "approve")
    pw.decide(pw.agent, rel, "approve")


def publish_cli(pw: PublishWs, out: Path, *extra: str, keys: KeyService | None = None) -> int:
    """``twinreview publish WS OUT --signer-cert --signer-key [extra]`` as the command line runs
    it, with the publisher's reviewer key from the test (the brand's by default)."""
    import argparse

    from twinreview.cli import publish_cmd
    from twinreview.services.publish.signer import C2paKeyStore

    parser = argparse.ArgumentParser(prog="twinreview")
    publish_cmd.register(parser.add_subparsers(dest="command"))
    argv = ["publish", str(pw.root), str(out), "--signer-cert", str(pw.chain)]
    args = parser.parse_args([*argv, "--signer-key", str(pw.key), *extra])
    return publish_cmd.cmd_publish(
        args, C2paKeyStore.from_system, lambda: pw.register(keys or pw.brand)
    )


# -- forging: what an insider with the brand's key and the workspace's export can sign ------------


def manifest_assertion(data: bytes, label: str) -> Any:
    """A copy of one assertion of a JPEG's active manifest."""
    store = json.loads(read_store(data, "image/jpeg", signing_context()))
    active = store["manifests"][store["active_manifest"]]
    found = next(a["data"] for a in active["assertions"] if a["label"] == label)
    return json.loads(json.dumps(found))


def strip_c2pa(data: bytes) -> bytes:
    """A JPEG without its APP11 (JUMBF, C2PA) segments; every other byte kept."""
    out, pos = [data[:2]], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] != 0xDA:
        size = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if data[pos + 1] != 0xEB:
            out.append(data[pos : pos + 2 + size])
        pos += 2 + size
    out.append(data[pos:])
    return b"".join(out)


def forge(data: bytes, assertions: list[dict[str, Any]], pki: Pki) -> bytes:
    """JPEG ``data`` signed with ``pki``'s key and these assertions, through c2pa-python."""
    manifest = {
        "claim_generator_info": [{"name": "twinreview", "version": "0.1.0"}],
        "assertions": [
            {
                "label": "c2pa.actions.v2",
                "data": {"actions": [{"action": "c2pa.created", "digitalSourceType": TAM}]},
            },
            *assertions,
        ],
    }
    signer = make_signer("es256", pki.chain_pem, pki.key_pem)
    try:
        with c2pa.Builder.from_json(manifest, signing_context()) as builder:
            out = io.BytesIO()
            builder.sign(signer, "image/jpeg", io.BytesIO(data), out)
            return out.getvalue()
    finally:
        signer.close()


def decision_ref(pw: PublishWs, rel: str, role: str) -> dict[str, Any]:
    """The sign-off's form of the one verified decision by ``role`` about ``rel``."""
    [entry] = [
        e
        for e in verify_workspace(pw.root).entries
        if e.ok
        and e.kind == "decision"
        and e.payload.get("asset") == rel
        and e.payload.get("role") == role
    ]
    head = entry.payload["roster"]
    return {
        "principal": entry.payload["principal"],
        "role": role,
        "key": entry.log,
        "seq": entry.seq,
        "entry_hash": entry.hash,
        "ts": entry.payload["ts"],
        "roster_head": {"seq": head["seq"], "hash": head["hash"]},
    }


def export_owner(export: Path) -> str:
    """The owner key fingerprint an export names (what an auditor checks with the brand)."""
    heads = json.loads((export / "heads.json").read_text(encoding="utf-8"))
    return str(heads["owner"]["fingerprint"])
