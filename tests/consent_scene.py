"""A workspace whose published files fall out of consent in every way, for ``published`` tests.

Four models (Ava, Bea, Cleo, Dan) and an agent (Sam) approve seven images, each under the
model's own consent; the owner (the brand) publishes them all. Then, after publishing: Bea
withdraws her consent, Cleo narrows hers to e-commerce (one file went out for social) and rejects
another of her files, Sam withdraws his approval of a third, and the owner removes Dan from the
roster; Eli's key is reset by the owner (she consents again with the new key). Ava's consent
ends on 2099-06-30, so judging with ``--at 2099-07-01`` finds it ended.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from decision_helpers import reviewer
from publish_helpers import WS_TOML, PublishWs, _clock, make_label, publish_cli
from tools.c2pa_pki import make_pki
from twinreview.core.roster.people import Person
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import KeyService
from twinreview.services.publish.register import PublishedReport, published_report
from twinreview.services.resources import resource
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import TrustStore, Verifier
from wsbuild import add_model, make_workspace, pattern

PURPOSES = {
    "ava": "Spring 2027 e-commerce for Brand X",
    "bea": "Autumn lookbook for Brand X",
    "cleo": "Brand X web shop and social channels",
    "dan": "Brand X catalogue",
    "eli": "Brand X catalogue",
}
# name in the tests -> (asset, sidecar)
FILES: dict[str, tuple[str, dict[str, object] | None]] = {
    "expired": ("assets/ava/a.jpg", None),
    "withdrawn": ("assets/bea/b.jpg", None),
    "use_dropped": ("assets/cleo/c1.jpg", {"intended_use": "social"}),
    "still_fine": ("assets/cleo/c2.jpg", {"intended_use": "ecommerce"}),
    "approval_withdrawn": ("assets/cleo/c3.jpg", {"intended_use": "ecommerce"}),
    "rejected_later": ("assets/cleo/c4.jpg", {"intended_use": "ecommerce"}),
    "removed": ("assets/dan/d.jpg", None),
    "reset": ("assets/eli/e.jpg", None),
}


@dataclass
class Scene:
    root: Path
    outdir: Path
    pw: PublishWs
    brand: KeyService
    models: dict[str, KeyService]
    agent: KeyService
    outputs: dict[str, str]  # test name -> output path relative to outdir
    before: PublishedReport
    before_exit: int
    extra: dict[str, object] = field(default_factory=dict)


def build_scene(base: Path) -> Scene:
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
    for i, mid in enumerate(PURPOSES):
        add_model(
            root, mid, {"ref1.jpg": pattern(40 + i)}, toml=f'display_name = "{mid.title()}"\n'
        )
    for i, (rel, sidecar) in enumerate(FILES.values()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pattern(60 + i, (480, 360)).save(path, "JPEG", quality=90)
        if sidecar is not None:
            path.with_suffix(".json").write_text(json.dumps(sidecar))
    clock = _clock()

    def roster(keys: KeyService) -> RosterService:
        return RosterService(keys, TrustStore.default(), Verifier.default(), clock=clock)

    people = base / "people"
    brand = reviewer(people, "owner@brand.example", "brand", "Owner")
    roster(brand).init(root)
    agent = reviewer(people, "sam@agency.example", "agent", "Sam")
    models = {mid: reviewer(people, f"{mid}@example.com", "model", mid.title()) for mid in PURPOSES}
    for mid, keys in models.items():
        ident = keys.current()
        assert ident is not None
        roster(brand).add_person(
            root, Person(ident.principal, ident.display_name, "model", (mid,)), ident.public_key
        )
    ident = agent.current()
    assert ident is not None
    roster(brand).add_person(
        root, Person(ident.principal, "Sam", "agent", tuple(PURPOSES)), ident.public_key
    )
    roster(models["ava"]).consent(
        root, "ava", purpose=PURPOSES["ava"], expires=dt.date(2099, 6, 30)
    )
    roster(models["bea"]).consent(root, "bea", purpose=PURPOSES["bea"], no_expiry=True)
    roster(models["cleo"]).consent(
        root, "cleo", uses=["ecommerce", "social"], purpose=PURPOSES["cleo"], no_expiry=True
    )
    roster(models["dan"]).consent(root, "dan", purpose=PURPOSES["dan"], no_expiry=True)
    roster(models["eli"]).consent(root, "eli", purpose=PURPOSES["eli"], no_expiry=True)
    for rel, _ in FILES.values():
        mid = rel.split("/")[1]
        for keys in (models[mid], agent):
            DecisionService(keys, clock=clock).decide(Workspace.open(root), rel, "approve")

    pw = PublishWs(root, pki, models["ava"], agent, clock, brand)
    outdir = base / "out"
    assert publish_cli(pw, outdir) == 0
    outputs = {name: rel.removeprefix("assets/") for name, (rel, _) in FILES.items()}
    before = published_report(Workspace.open(root), at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    from twinreview.cli.main import main

    before_exit = main(["published", str(root), "--at", "2027-01-01"])

    # After publishing.
    roster(models["bea"]).consent(root, "bea", withdraw=True)
    roster(models["cleo"]).consent(
        root, "cleo", uses=["ecommerce"], purpose=PURPOSES["cleo"], no_expiry=True
    )
    DecisionService(agent, clock=clock).withdraw(
        Workspace.open(root), FILES["approval_withdrawn"][0], note="the styling was off-brief"
    )
    DecisionService(models["cleo"], clock=clock).decide(
        Workspace.open(root), FILES["rejected_later"][0], "reject", reasons=["likeness_wrong"]
    )
    dan = models["dan"].current()
    assert dan is not None
    roster(brand).remove_person(root, dan.principal)
    # Eli's laptop is lost: the owner gives her a new key (a reset everyone sees), and she (or
    # whoever holds that key) signs the same consent again: what went out before stays out.
    eli_new = reviewer(base / "people-new", "eli@example.com", "model", "Eli")
    new_ident = eli_new.current()
    assert new_ident is not None
    roster(brand).reset_model(root, "eli@example.com", new_ident.public_key)
    roster(eli_new).consent(root, "eli", purpose=PURPOSES["eli"], no_expiry=True)
    return Scene(root, outdir, pw, brand, models, agent, outputs, before, before_exit)
