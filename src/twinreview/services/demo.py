"""The demo workspace: a small, realistic workspace built from bundled public-domain photos.

It is built so that every finding kind a scan can raise appears at least once, which makes it the
fixture for the README screenshots, the end-to-end tests and a new user's first look.

Layout (models are a cat and a rocket on purpose: no real person's likeness in a demo)::

    models/milo/   references: chelsea.jpg, chelsea-portrait.jpg       (Milo, a cat)
    models/nova/   references: rocket.jpg                             (Nova, a rocket)
    assets/milo/autumn/look-01.jpg   an unrelated "generated" image (clean similarity)
    assets/milo/autumn/look-02.jpg   mirrored, cropped, brighter reference -> near_copy_of_reference
    assets/milo/autumn/look-03.jpg   look-01 re-encoded                -> duplicate_in_batch (x2)
    assets/milo/autumn/look-04.jpg   a truncated download                     -> unreadable
    assets/nova/launch/shot-01.jpg   Milo's photo filed under Nova            -> matches_other_model
    assets/nova/launch/shot-02.png   a synthetic pattern                      (clean similarity)
    assets/milo/autumn/look-05.jpg   a re-edit of a rejected image     -> resubmitted_rejected
    assets/milo/autumn/look-06.jpg   AI declared in XMP, no C2PA       -> partial_disclosure
    assets/milo/autumn/look-07.jpg   signed C2PA and XMP declare AI    (disclosed, trusted)
    assets/milo/autumn/look-08.jpg   pixels retouched after signing    -> tampered_provenance
    assets/ghost/shot-01.jpg         a model the workspace does not have       -> unknown_model
    brand/                           a throwaway brand CA, C2PA signing certificate and key,
                                     generated at build time, DEMO ONLY (``services.demo_brand``)
    roster/roster.dlog               signed by a throw-away demo owner: Milo, Nova (models, each
                                     with her own signed consent), Sam (agent); the user if they
                                     have a key
    logs/                            Sam's signed reject of an earlier look; Milo and Sam approve
                                     look-06, so it is cleared (publishable)

The demo's keys (owner and reviewers) are generated for the demo and live only in memory while
it is built: the logs and roster verify, but nobody can sign as them later. The device that built
the demo pins its owner (it made it).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tomllib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from twinreview.core.errors import TwinreviewError
from twinreview.core.logs.log import LogWriter
from twinreview.core.logs.sshsig import SigningKey, SshPublicKey
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.publish.imagedigest import image_digest
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.people import Person
from twinreview.core.roster.views import policy_tables, write_views
from twinreview.core.roster.write import RosterWriter
from twinreview.services.decisions import AssetBytes, decision_fields, phash_of
from twinreview.services.demo_brand import write_demo_brand
from twinreview.services.disclosure import pin_trust_anchors
from twinreview.services.resources import resource
from twinreview.services.trust import TrustStore

DEMO_MARKER = ".twinreview-demo"

_WORKSPACE_TOML = """\
# twinreview workspace settings. Every key is optional; most are the defaults spelled out.
[workspace]
name = "twinreview demo"

[disclosure]
# The demo's own signing CA, so that its signed images show as trusted, and the demo brand's
# CA (made with the demo, brand/), so that images it publishes show as trusted too.
trust_anchors = ["demo-c2pa-ca.pem", "brand/demo-brand-ca.pem"]
approvable = ["disclosed", "partial"]

[similarity.severity]
near_copy_of_reference = "block"
matches_other_model = "block"
duplicate_in_batch = "info"
"""

_MODEL_TOML = """\
# Display data only: the model's consent is the entry she signed in roster/roster.dlog.
display_name = "{name}"
"""
_DEMO_CONSENT = {
    "uses": ["ecommerce", "social"],
    "purpose": "Autumn 2024 and launch 2025 campaigns of the demo brand, web shop and social",
    "pay_terms": "demo contract DEMO-0001 (not a real contract)",
    "exclude": ["nudity", "political"],
    "expires": "2030-12-31",
    "require": ["model", "agent"],
    "veto": True,
    "withdrawn": False,
}


class DemoError(TwinreviewError):
    """The demo cannot be built at the requested place. ``str(err)`` is one line."""


def build_demo(
    target: Path,
    reviewer: tuple[Person, SshPublicKey] | None = None,
    trust: TrustStore | None = None,
) -> Path:
    """Build the demo workspace in ``target`` and return its path.

    An existing demo in ``target`` (recognised by its marker file) is rebuilt; any other
    non-empty folder is refused, so the demo never overwrites a user's files.

    Args:
        target: The folder to build in.
        reviewer: The user's own identity, added to the demo roster so they can decide there
            (as an agent or brand; a model user is not added, the demo's models are taken).
        trust: This device's pinned owners: the demo's (throw-away) owner key is pinned there,
            since the demo was built on this device.

    Raises:
        DemoError: when ``target`` is a non-empty folder that is not a demo.
    """
    target = target.expanduser()
    if target.exists():
        if not target.is_dir():
            raise DemoError(f"{target}: exists and is not a folder")
        if any(target.iterdir()):
            if not (target / DEMO_MARKER).exists():
                raise DemoError(f"{target}: folder is not empty and is not a twinreview demo")
            for child in ("models", "assets", "roster", "logs", "brand"):
                shutil.rmtree(target / child, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    (target / DEMO_MARKER).write_text("built by `twinreview demo`; safe to delete\n")
    (target / "twinreview.toml").write_text(_WORKSPACE_TOML)

    cat = Image.open(resource("demo", "chelsea.jpg")).convert("RGB")
    rocket = Image.open(resource("demo", "rocket.jpg")).convert("RGB")
    coffee = Image.open(resource("demo", "coffee.jpg")).convert("RGB")

    milo = target / "models" / "milo"
    nova = target / "models" / "nova"
    _write(milo / "model.toml", _MODEL_TOML.format(name="Milo (demo cat)"))
    _write(nova / "model.toml", _MODEL_TOML.format(name="Nova (demo rocket)"))
    _save(cat, milo / "references" / "chelsea.jpg")
    w, h = cat.size
    _save(
        cat.crop((w // 5, 0, w * 4 // 5, h * 4 // 5)).resize((360, 320)),
        milo / "references" / "chelsea-portrait.jpg",
    )
    _save(rocket, nova / "references" / "rocket.jpg")

    autumn = target / "assets" / "milo" / "autumn"
    look01 = _stylise(coffee)
    _save(look01, autumn / "look-01.jpg", quality=90)
    _sidecar(autumn / "look-01.json", "ecommerce", "autumn-24")
    retouched = ImageOps.mirror(cat.crop((w // 20, h // 20, w - w // 20, h - h // 20)))
    retouched = ImageEnhance.Brightness(retouched).enhance(1.12)
    _save(_stamp(retouched, "AI"), autumn / "look-02.jpg", quality=80)
    _sidecar(autumn / "look-02.json", "social", "autumn-24")
    _save(
        look01.resize((look01.width * 3 // 4, look01.height * 3 // 4)),
        autumn / "look-03.jpg",
        quality=70,
    )
    buf = io.BytesIO()
    _stylise(rocket).save(buf, "JPEG", quality=90)
    _write_bytes(autumn / "look-04.jpg", buf.getvalue()[: len(buf.getvalue()) // 3])

    launch = target / "assets" / "nova" / "launch"
    _save(cat.resize((w * 2 // 3, h * 2 // 3)), launch / "shot-01.jpg", quality=85)
    _sidecar(launch / "shot-01.json", "ecommerce", "launch-25")
    _save(_pattern(640, 480, seed=7), launch / "shot-02.png")
    _sidecar(launch / "shot-02.json", "print", "launch-25")

    _save(_pattern(480, 480, seed=11), target / "assets" / "ghost" / "shot-01.jpg")

    # History: the agent rejected an earlier look (its file was since deleted); look-05 is that
    # image again, lightly re-edited. look-06 declares AI-generation in XMP only.
    earlier = _pattern(512, 640, seed=23)
    earlier_bytes = _jpeg(earlier, 88)
    _save(ImageEnhance.Brightness(earlier).enhance(1.08), autumn / "look-05.jpg", quality=75)
    _sidecar(autumn / "look-05.json", "social", "autumn-24")
    # Real Content Credentials (signed with a throwaway demo certificate, see ATTRIBUTION.md):
    # one fully disclosed image, one whose pixels were retouched after signing.
    for name, dest in (("c2pa-disclosed.jpg", "look-07.jpg"), ("c2pa-tampered.jpg", "look-08.jpg")):
        shutil.copyfile(resource("demo", name), autumn / dest)
        _sidecar((autumn / dest).with_suffix(".json"), "ecommerce", "autumn-24")
    shutil.copyfile(resource("demo", "demo-c2pa-ca.pem"), target / "demo-c2pa-ca.pem")
    write_demo_brand(target)
    look06 = _stylise(ImageOps.mirror(rocket))
    _write_bytes(autumn / "look-06.jpg", _jpeg(look06, 90, xmp=_XMP_AI))
    _sidecar(autumn / "look-06.json", "ecommerce", "autumn-24")

    ws_id, context = _sign_roster(target, reviewer, trust)
    sam_key, milo_key = context.pop("sam"), context.pop("milo")
    (target / "logs").mkdir(exist_ok=True)
    sam_log = LogWriter.for_workspace(
        target,
        sam_key,
        "sam@demo.invalid",
        "agent",
        display_name="Sam (demo agent)",
        context=lambda: _context(target, ws_id, exclude=sam_key),
    )
    sam_log.append(
        "decision",
        {
            **decision_fields(
                AssetBytes(
                    "assets/milo/autumn/look-00.jpg",
                    "milo",
                    hashlib.sha256(earlier_bytes).hexdigest(),
                    phash_of(earlier_bytes),
                ),
                "reject",
                ["likeness_wrong"],
                "The ears are wrong; please regenerate.",
                (),
                override=False,
            ),
            "sidecar_sha256": None,
            "image_digest": image_digest(earlier_bytes),
        },
    )
    milo_log = LogWriter.for_workspace(
        target,
        milo_key,
        "milo@demo.invalid",
        "model",
        display_name="Milo (demo model)",
        context=lambda: _context(target, ws_id, exclude=milo_key),
    )
    milo_log.append("decision", _approval(autumn / "look-06.jpg", "Happy with this one."))
    # Sam approves look-06 too: both roles Milo's consent requires, so it is cleared and
    # `twinreview publish` has something to publish (its disclosure is partial: XMP only; the
    # published copy adds the Content Credentials).
    sam_log.append("decision", _approval(autumn / "look-06.jpg", "Approved for the campaign."))
    return target


def _approval(path: Path, note: str) -> dict[str, object]:
    """The payload of an approval of the demo asset at ``path`` (Milo's model), as signed."""
    data = path.read_bytes()
    rel = "/".join(("assets", "milo", path.parent.name, path.name))
    return {
        **decision_fields(
            AssetBytes(rel, "milo", hashlib.sha256(data).hexdigest(), phash_of(data)),
            "approve",
            [],
            note,
            (),
            override=False,
        ),
        "sidecar_sha256": hashlib.sha256(path.with_suffix(".json").read_bytes()).hexdigest(),
        "image_digest": image_digest(data),
    }


def _sign_roster(
    target: Path, reviewer: tuple[Person, SshPublicKey] | None, trust: TrustStore | None
) -> tuple[str, dict[str, SigningKey]]:
    """The demo's signed roster: a throw-away owner, Milo, Nova and Sam, and the user if given.

    Milo and Nova sign their own consent, as real models do.
    """
    roster_dir = target / "roster"
    owner_key, milo_key, sam_key, nova_key = (SigningKey.generate() for _ in range(4))
    owner = RosterWriter(roster_dir, owner_key, "brand@demo.invalid")
    roster = owner.genesis(
        "twinreview demo", Person("brand@demo.invalid", "Demo brand (owner)", "brand", ())
    )
    ws_id = roster.workspace_id
    assert ws_id is not None
    tables = pin_trust_anchors(target, policy_tables(tomllib.loads(_WORKSPACE_TOML)))
    owner.append("policy", {"policy": tables})
    people = [
        (Person("milo@demo.invalid", "Milo (demo model)", "model", ("milo",)), milo_key.public),
        (Person("sam@demo.invalid", "Sam (demo agent)", "agent", ("milo", "nova")), sam_key.public),
        (Person("nova@demo.invalid", "Nova (demo model)", "model", ("nova",)), nova_key.public),
    ]
    if reviewer is not None and reviewer[0].role != "model":
        # A model cannot join: each demo model already has her own person (her consent is hers).
        people.append(reviewer)
    for person, key in people:
        owner.append(
            "add_person",
            {
                "person": person.principal,
                "name": person.display_name,
                "role": person.role,
                "models": list(person.models),
                "keys": [key.openssh()],
                "admin": False,
                "request": None,
            },
        )
    for principal, model_key, model in (
        ("milo@demo.invalid", milo_key, "milo"),
        ("nova@demo.invalid", nova_key, "nova"),
    ):
        roster = RosterWriter(roster_dir, model_key, principal).append(
            "consent", {"model": model, **_DEMO_CONSENT}
        )
    write_views(roster_dir, roster)
    if trust is not None and roster.owner_key is not None:
        trust.forget_folder(target)  # a rebuilt demo has a new owner, on purpose
        trust.pin(ws_id, roster.owner_key.fingerprint, "twinreview demo", target)
    return ws_id, {"milo": milo_key, "sam": sam_key}


def _context(target: Path, ws_id: str, *, exclude: SigningKey) -> dict[str, object]:
    """What a demo entry binds: the workspace, the roster head, the other logs' heads."""
    roster = SignedRoster.load(target / "roster")
    head = roster.head
    assert head is not None
    report = verify_workspace(target, roster)
    heads = [
        {"log": log, "seq": seq, "hash": h}
        for log, (seq, h) in sorted(report.heads.items())
        if log not in ("roster", exclude.public.fingerprint)
    ]
    return {"ws": ws_id, "roster": {"seq": head[0], "hash": head[1]}, "heads": heads}


# An XMP packet declaring the image AI-generated (IPTC DigitalSourceType), as generators write it.
_XMP_AI = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    Iptc4xmpExt:DigitalSourceType=
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def _jpeg(img: Image.Image, quality: int, xmp: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    if xmp is None:
        img.save(buf, "JPEG", quality=quality)
    else:
        img.save(buf, "JPEG", quality=quality, xmp=xmp)
    return buf.getvalue()


def _stylise(img: Image.Image) -> Image.Image:
    """A stand-in for a generated image: posterised, recoloured, re-framed."""
    out = ImageOps.posterize(img, 3)
    out = ImageEnhance.Color(out).enhance(1.8)
    return ImageOps.fit(out, (512, 640))


def _pattern(width: int, height: int, seed: int) -> Image.Image:
    """A synthetic image with smooth colour fields and shapes (not derived from any photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    chans = []
    for _ in range(3):
        fx, fy, ph = rng.uniform(0.004, 0.03), rng.uniform(0.004, 0.03), rng.uniform(0, 6.28)
        chans.append(127 + 120 * np.sin(x * fx + y * fy + ph))
    img = Image.fromarray(np.stack(chans, axis=-1).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        size = int(rng.integers(30, 160))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.ellipse((x0, y0, x0 + size, y0 + size), fill=colour)
    return img


def _stamp(img: Image.Image, text: str) -> Image.Image:
    out = img.copy()
    draw = ImageDraw.Draw(out)
    x, y = out.width - 40, out.height - 24
    draw.rectangle((x - 4, y - 2, x + 30, y + 16), fill=(255, 255, 255))
    draw.text((x, y), text, fill=(0, 0, 0))
    return out


def _sidecar(path: Path, use: str, campaign: str) -> None:
    _write(
        path,
        '{\n  "generator": "demo",\n  "prompt": "studio portrait",\n'
        f'  "campaign": "{campaign}",\n  "intended_use": "{use}"\n}}\n',
    )


def _save(img: Image.Image, path: Path, quality: int = 92) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".png":
        img.save(path, "PNG")
    else:
        img.save(path, "JPEG", quality=quality)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
