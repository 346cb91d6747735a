"""The sign-off report: content, escaping of hostile input, CSV/JSON, export pins, rendering."""

from __future__ import annotations

import base64
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from decision_helpers import T0, build_workspace, decider, enroll, reviewer, sign_consent
from twinreview.cli.main import main
from twinreview.core.disclosure import DisclosureReport, Verdict
from twinreview.core.logs.log import line_hash
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.roster.log import SignedRoster
from twinreview.core.workspace import Workspace
from twinreview.services.compose import make_executor, make_scan_service
from twinreview.services.csvout import write_rows
from twinreview.services.export import export_workspace
from twinreview.services.keys import KeyService
from twinreview.services.report.build import build_report
from twinreview.services.report.content import CSV_FIELDS, SignOffReport, write_csv
from twinreview.services.report.html import render_html
from twinreview.services.scan.cache import ResultCache
from twinreview.services.status import compute_status
from twinreview.services.trust import TrustStore
from wsbuild import pattern, save_jpeg

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"
# A file name a hostile generator could produce: markup, quotes, an ampersand, a formula.
HOSTILE_NAME = "=cmd|'x'!A1 <script>alert(1)</script> & \"q\".jpg"
HOSTILE_REL = f"assets/ben/{HOSTILE_NAME}"
HOSTILE_NOTE = '<img src=x onerror="alert(2)"> </td></table><script>alert(3)</script>'
NOW = T0 + dt.timedelta(days=1)


class Team:
    def __init__(self, home: Path, ws_root: Path) -> None:
        self.ava = reviewer(home, "ava@example.com", "model", "Ava Stone")
        self.ben = reviewer(home, "ben@example.com", "model", "Ben Rowe")
        self.agent = reviewer(home, "kim@agency.example", "agent", "Kim <Agent>")
        enroll(ws_root, self.ava, ("ava",))
        enroll(ws_root, self.ben, ("ben",))
        enroll(ws_root, self.agent, ("ava", "ben"))


def decide(
    keys: KeyService, root: Path, asset: str, verdict: str, hours: int, **kw: object
) -> None:
    decider(keys, T0 + dt.timedelta(hours=hours)).decide(
        Workspace.open(root),
        asset,
        verdict,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    root = build_workspace(tmp_path / "ws")
    # The built-in rule, written out: the owner signs it as the workspace policy at init.
    (root / "twinreview.toml").write_text('[disclosure]\napprovable = ["disclosed", "partial"]\n')
    save_jpeg(pattern(31), root / HOSTILE_REL)
    return root


@pytest.fixture
def team(tmp_path: Path, ws_root: Path) -> Team:
    t = Team(tmp_path / "devices", ws_root)
    # look1: model and agent approve -> cleared; the agent first rejected, then changed their mind.
    decide(t.agent, ws_root, LOOK1, "reject", 0, reasons=["quality"], note="hands look wrong")
    decide(t.ava, ws_root, LOOK1, "approve", 1)
    decide(t.agent, ws_root, LOOK1, "approve", 2, note="fixed in v2")
    # look2: the model rejects -> rejected, whoever approves.
    decide(t.agent, ws_root, LOOK2, "approve", 3)
    decide(t.ava, ws_root, LOOK2, "reject", 4, reasons=["likeness_wrong"], note=HOSTILE_NOTE)
    # the hostile asset: only the agent approved -> pending (model missing).
    decide(t.agent, ws_root, HOSTILE_REL, "approve", 5, note='=HYPERLINK("http://x")')
    return t


def make_report(root: Path, exports: tuple[Path, ...] = ()) -> SignOffReport:
    ws = Workspace.open(root)
    cache = ResultCache.in_memory()
    try:
        with make_executor() as executor:
            scan = make_scan_service(executor, cache, faces=False).scan(ws)
            verification = verify_workspace(ws)
            status = compute_status(ws, report=verification, now=NOW)
            return build_report(
                scan,
                status,
                verification,
                exports=exports,
                executor=executor,
                trust=TrustStore.default(),
            )
    finally:
        cache.close()


class _Tags(HTMLParser):
    """Collects every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html_text: str) -> _Tags:
    p = _Tags()
    p.feed(html_text)
    p.close()
    return p


def decisions_by_effect(report: SignOffReport) -> dict[str, int]:
    """How many decision rows have each effect."""
    return dict(Counter(d.effect for a in report.assets for d in a.decisions))


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- content ---------------------------------------------------------------------------------


def test_states_decisions_and_effects(ws_root: Path, team: Team) -> None:
    rep = make_report(ws_root)
    by_path = {a.path: a for a in rep.assets}
    assert by_path[LOOK1].state == "cleared"
    assert by_path[LOOK2].state == "rejected"
    assert by_path[HOSTILE_REL].state == "pending"
    assert by_path["assets/ben/look1.jpg"].state == "pending"

    look1 = by_path[LOOK1].decisions
    assert [(d.principal, d.decision, d.effect) for d in look1] == [
        ("kim@agency.example", "reject", "superseded"),
        ("ava@example.com", "approve", "counts"),
        ("kim@agency.example", "approve", "counts"),
    ]
    first = look1[0]
    assert first.role == "agent"
    assert first.display_name == "Kim <Agent>"
    assert first.reasons == ("quality",)
    assert first.note == "hands look wrong"
    # Signed times: each decision's own, in the order they were made.
    times = [dt.datetime.fromisoformat(str(d.ts).replace("Z", "+00:00")) for d in look1]
    assert T0 < times[0] < times[1] < times[2]
    assert all(d.verification == "good" for d in look1)
    (reject,) = [d for d in by_path[LOOK2].decisions if d.decision == "reject"]
    assert (reject.note, reject.reasons, reject.effect) == (
        HOSTILE_NOTE,
        ("likeness_wrong",),
        "counts",
    )
    assert "Rejected by Ava Stone <ava@example.com>" in by_path[LOOK2].status_summary
    assert "model" in by_path[HOSTILE_REL].status_summary
    assert decisions_by_effect(rep) == {"superseded": 1, "counts": 5}
    # Findings and disclosure come from the scan: none of these files says it is AI-made.
    assert by_path[LOOK1].disclosure is not None
    assert by_path[LOOK1].disclosure.verdict is Verdict.MISSING
    assert any(f.kind == "missing_disclosure" for f in by_path[LOOK1].findings)


def test_log_heads_pin_the_last_line_of_each_log(ws_root: Path, team: Team) -> None:
    rep = make_report(ws_root)
    logs = sorted((ws_root / "logs").glob("*.dlog"))
    assert len(rep.heads) == len(logs) == 2  # ben decided nothing: no log
    for head in rep.heads:
        data = (ws_root / head.file).read_bytes()
        last = data.splitlines(keepends=True)[-1]
        assert head.head_sha256 == line_hash(last)
        assert head.file_sha256 == hashlib.sha256(data).hexdigest()
        assert head.last_seq == len(data.splitlines()) - 1
        assert head.ok
        assert not head.torn_tail
    # The signed roster's head is pinned beside them.
    roster = SignedRoster.load(ws_root / "roster")
    assert rep.roster_head is not None and roster.head is not None
    assert (rep.roster_head.last_seq, rep.roster_head.head_sha256) == roster.head
    assert rep.roster_head.file == "roster/roster.dlog" and rep.roster_head.ok
    assert rep.workspace_id == roster.workspace_id
    assert rep.owner is not None and rep.owner["principal"] == "owner@brand.example"
    page = render_html(rep)
    assert "roster/roster.dlog" in page
    assert roster.head[1] in page


def test_file_changed_after_decision_is_stale(ws_root: Path, team: Team) -> None:
    save_jpeg(pattern(99), ws_root / LOOK1)
    rep = make_report(ws_root)
    look1 = next(a for a in rep.assets if a.path == LOOK1)
    assert look1.state == "pending"
    assert {d.effect for d in look1.decisions} == {"stale"}
    assert any("changed" in line for line in look1.status_lines)


def test_tampered_entry_is_shown_untrusted(ws_root: Path, team: Team) -> None:
    log = next(p for p in (ws_root / "logs").glob("*.dlog") if p.name.startswith("ava"))
    lines = log.read_bytes().splitlines(keepends=True)
    # Replace the payload of the model's approval of look1 (line 2) with an edited one.
    outer = json.loads(lines[1])
    payload = json.loads(base64.b64decode(outer["payload"]))
    assert payload["asset"] == LOOK1
    payload["note"] = "edited afterwards"
    outer["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    lines[1] = (json.dumps(outer) + "\n").encode()
    log.write_bytes(b"".join(lines))

    rep = make_report(ws_root)
    assert not rep.verification_ok
    look1 = next(a for a in rep.assets if a.path == LOOK1)
    bad = [d for d in look1.decisions if d.verification != "good"]
    assert len(bad) == 1
    assert bad[0].verification == "bad_signature"
    assert bad[0].effect == "untrusted"
    assert bad[0].note == "edited afterwards"
    assert look1.state == "blocked"
    page = render_html(rep)
    assert "✘ bad_signature" in page
    assert "Verification problems" in page
    head = next(h for h in rep.heads if h.file == log.relative_to(ws_root).as_posix())
    assert not head.ok


def test_the_disclosure_section_shows_the_report_read_from_the_scan(
    ws_root: Path, team: Team
) -> None:
    recorded = json.loads((Path(__file__).parent / "recorded" / "disclosure.json").read_text())
    case = next(
        c for c in recorded["cases"] if c["setting"] == "anchored" and "firefly" in c["file"]
    )
    rep = make_report(ws_root)
    disclosure = DisclosureReport.from_json(case["report"])
    assets = tuple(
        dataclasses.replace(a, disclosure=disclosure if a.path == LOOK1 else None)
        for a in rep.assets
    )
    text = "".join(parse(render_html(dataclasses.replace(rep, assets=assets))).text)
    for shown in (
        "disclosed",
        "valid-untrusted",
        "Adobe Firefly C2PA",
        "signingCredential.untrusted; signingCredential.untrusted (ingredient of manifest",
        "(ingredient manifest (Generated Image) urn:uuid:7b53519d",
        "IPTC source type" + disclosure.c2pa.source_types[0].value,
        disclosure.notes[0],
    ):
        assert shown in text, shown
    assert "not checked" in text and "Not checked." in text  # the assets without a disclosure
    buf = io.StringIO()
    write_csv(dataclasses.replace(rep, assets=assets), buf)
    by_path = {r["path"]: r for r in csv.DictReader(io.StringIO(buf.getvalue()))}
    assert by_path[LOOK1]["disclosure"] == "disclosed"
    assert by_path[LOOK2]["disclosure"] == ""


# --- HTML safety and self-containment ----------------------------------------------------------


def test_html_escapes_hostile_names_and_notes(ws_root: Path, team: Team) -> None:
    page = render_html(make_report(ws_root))
    parsed = parse(page)
    tags = [t for t, _ in parsed.tags]
    assert "script" not in tags
    for tag, attrs in parsed.tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/jpeg;base64,")
        assert tag not in ("link", "iframe", "object", "embed")
    # The hostile strings survive as text, exactly, and never as markup.
    text = "".join(parsed.text)
    assert HOSTILE_NAME in text
    assert HOSTILE_NOTE in text
    assert "Kim <Agent>" in text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # No external resource: a Content-Security-Policy forbids everything but inline styles
    # and data: images.
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in page
    assert "@media print" in page


# Template syntax, quotes and markup in every kind of workspace text: the page shows them as text.
TEMPLATE_NOTE = "{{ 7 * 7 }} {% if true %}ran{% endif %} {# c #} 'single' \"double\" <b>bold</b>"
TEMPLATE_NAME = "{{ 6 * 7 }} <script>alert('m')</script> & \"M\""
TEMPLATE_FILE = "{{ 8 * 8 }} {% raw %}'q'.jpg"


def test_html_escapes_hostile_model_name_and_template_syntax(ws_root: Path, team: Team) -> None:
    (ws_root / "models" / "ben" / "model.toml").write_text(
        f"display_name = {json.dumps(TEMPLATE_NAME)}\n"
    )
    save_jpeg(pattern(57), ws_root / "assets" / "ben" / TEMPLATE_FILE)
    decide(
        team.ben,
        ws_root,
        f"assets/ben/{TEMPLATE_FILE}",
        "reject",
        6,
        reasons=["quality"],
        note=TEMPLATE_NOTE,
    )
    rep = make_report(ws_root)
    assert rep.model_names["ben"] == TEMPLATE_NAME
    page = render_html(rep)
    parsed = parse(page)
    assert "script" not in [t for t, _ in parsed.tags]
    text = "".join(parsed.text)
    # Exactly as written: nothing evaluated, nothing dropped.
    for hostile in (TEMPLATE_NOTE, TEMPLATE_NAME, TEMPLATE_FILE):
        assert hostile in text, hostile
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;m&#39;)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page
    # The quotes never close an attribute: the file name sits in the thumbnail's alt text.
    alts = [a.get("alt") for t, a in parsed.tags if t == "img"]
    assert f"thumbnail of assets/ben/{TEMPLATE_FILE}" in alts
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in page


def test_model_name_is_the_apps_display_name_then_name(ws_root: Path, team: Team) -> None:
    # model.toml's display_name wins, then its name, then the folder: as the app shows it.
    (ws_root / "models" / "ben" / "model.toml").write_text('name = "Benjamin R."\n')
    rep = make_report(ws_root)
    ws = Workspace.open(ws_root)
    assert rep.model_names == {mid: m.display_name for mid, m in ws.models.items()}
    assert rep.model_names["ben"] == "Benjamin R."
    assert {a.model_name for a in rep.assets if a.model_id == "ben"} == {"Benjamin R."}
    assert "Model: Benjamin R. (ben)" in "".join(parse(render_html(rep)).text)


def test_template_is_a_bundled_resource_with_autoescape() -> None:
    from twinreview.services.report import html as report_html
    from twinreview.services.resources import resource

    assert resource("templates", report_html.TEMPLATE).is_file()
    assert resource("templates", "report.css").is_file()
    env = report_html._environment()
    assert env.autoescape is True
    # The PyInstaller spec ships resources/ whole, the template folder with it.
    spec = (Path(__file__).resolve().parents[1] / "packaging" / "twinreview.spec").read_text()
    assert '(str(ROOT / "resources"), "twinreview/resources")' in spec


def test_thumbnails_are_small_reencoded_jpegs(ws_root: Path, team: Team) -> None:
    rep = make_report(ws_root)
    assert all(a.thumbnail for a in rep.assets)
    for a in rep.assets:
        assert a.thumbnail is not None
        data = base64.b64decode(a.thumbnail.split(",", 1)[1])
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "JPEG"
            assert max(im.size) == 160
        assert len(data) < 20_000


def test_unreadable_asset_gets_no_preview(ws_root: Path, team: Team) -> None:
    (ws_root / "assets" / "ava" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    rep = make_report(ws_root)
    broken = next(a for a in rep.assets if a.path == "assets/ava/broken.jpg")
    assert broken.thumbnail is None
    assert any(f.kind == "unreadable" for f in broken.findings)
    assert "no preview" in render_html(rep)


def test_reference_thumbnail_next_to_a_near_copy(ws_root: Path, team: Team) -> None:
    ref = ws_root / "models" / "ava" / "references" / "ref1.jpg"
    with Image.open(ref) as im:
        save_jpeg(im.copy(), ws_root / "assets" / "ava" / "copy.jpg", quality=70)
    rep = make_report(ws_root)
    copy = next(a for a in rep.assets if a.path == "assets/ava/copy.jpg")
    assert any(f.kind == "near_copy_of_reference" for f in copy.findings)
    assert list(copy.evidence_thumbnails) == ["models/ava/references/ref1.jpg"]
    assert "Reference photo" in render_html(rep)


# --- export signatures -----------------------------------------------------------------------


def test_export_signatures_are_checked_and_compared(
    ws_root: Path, team: Team, tmp_path: Path
) -> None:
    identity, key = team.agent.signer()
    out = tmp_path / "export"
    export_workspace(ws_root, out, identity, key)

    rep = make_report(ws_root, exports=(out,))
    by_file = {s.file: s for s in rep.exports}
    logs = [s for s in rep.exports if s.file.startswith("logs/")]
    assert len(logs) == 2
    assert all(s.valid and s.relation == "identical" for s in logs)
    assert all(s.signer == "kim@agency.example" for s in logs)
    assert all(s.signature.startswith("-----BEGIN SSH SIGNATURE-----") for s in logs)
    roster_sig = [s for s in rep.exports if s.relation == "roster"]
    assert len(roster_sig) == 1
    assert roster_sig[0].valid
    # The signed roster log and the signed heads are checked too.
    assert by_file["roster/roster.dlog"].valid
    assert by_file["roster/roster.dlog"].relation == "identical"
    heads = by_file["heads.json"]
    assert heads.valid and heads.relation == "heads" and heads.problems == ()

    # A later decision: the workspace log extends the exported one; the heads still hold.
    decide(team.ava, ws_root, "assets/ava/spring/look2.jpg", "approve", 9)
    rep = make_report(ws_root, exports=(out,))
    rel = {s.file: s.relation for s in rep.exports}
    ava_log = next(f for f in rel if "ava" in f.split("/")[-1])
    assert rel[ava_log] == "extended"
    assert rel["heads.json"] == "heads"

    # An exported log edited after signing: the signature no longer verifies.
    exported = out / ava_log
    exported.write_bytes(exported.read_bytes().replace(b'"payload"', b'"payload" ', 1))
    rep = make_report(ws_root, exports=(out,))
    sig = next(s for s in rep.exports if s.file == ava_log)
    assert not sig.valid
    assert "Bad signature" in sig.detail
    assert sig.relation == "differs"
    page = render_html(rep)
    assert "✘ not valid" in page
    assert "DIFFERS" in page

    # The workspace's log cut back below the exported head: the signed heads say so.
    log = ws_root / ava_log
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:2]))
    rep = make_report(ws_root, exports=(out,))
    heads = next(s for s in rep.exports if s.file == "heads.json")
    assert heads.valid
    assert heads.relation == "differs"
    assert any(p.startswith("rolled_back:") and "ava@example.com" in p for p in heads.problems)
    assert "rolled back or truncated" in render_html(rep)

    # A heads file edited after the export (to hide that cut) is refused.
    doc = json.loads((out / "heads.json").read_text())
    ava_head = next(h for h in doc["logs"].values() if h["file"] == ava_log)
    ava_head["seq"] = 1
    (out / "heads.json").write_text(json.dumps(doc, indent=2))
    rep = make_report(ws_root, exports=(out,))
    heads = next(s for s in rep.exports if s.file == "heads.json")
    assert not heads.valid
    assert heads.detail.startswith("Bad signature")
    assert heads.relation == "refused" and heads.problems == ()


def test_policy_and_consent_say_who_signed_them(ws_root: Path, team: Team, tmp_path: Path) -> None:
    # Ben narrows his own consent; a model.toml [consent] table (plain file) changes nothing.
    sign_consent(ws_root, team.ben, "ben", uses=["web"], expires=dt.date(2027, 6, 30))
    (ws_root / "models" / "ava" / "model.toml").write_text(
        'display_name = "Ava"\n[consent]\nallowed_uses = ["print"]\nrequired_roles = ["agent"]\n'
    )
    rep = make_report(ws_root)
    roster = SignedRoster.load(ws_root / "roster")
    wp = rep.workspace_policy
    assert wp is not None
    assert (wp["set_by"], wp["roster_seq"]) == ("owner@brand.example", 1)
    assert wp["entry_sha256"] == roster.states[1].head_hash
    assert wp["tables"] == {"disclosure": {"approvable": ["disclosed", "partial"]}}
    ava, ben = rep.consents["ava"], rep.consents["ben"]
    assert (ava["signed_by"], ava["name"], ava["uses"], ava["expires"]) == (
        "ava@example.com",
        "Ava Stone",
        None,
        None,
    )
    assert ava["require"] == ["model", "agent"]
    assert (ben["signed_by"], ben["uses"], ben["expires"]) == (
        "ben@example.com",
        ["web"],
        "2027-06-30",
    )
    assert ben["roster_seq"] == len(roster.states) - 1
    assert rep.policies["ava"]["allowed_uses"] is None
    assert rep.policies["ava"]["required_roles"] == ["model", "agent"]
    doc = rep.to_json()
    assert doc["workspace_policy"]["set_by"] == "owner@brand.example"
    assert doc["consents"]["ben"]["uses"] == ["web"]
    text = "".join(parse(render_html(rep)).text)
    assert "Workspace policy set by Owner <owner@brand.example> in signed roster entry 1" in text
    assert "Ava Stone <ava@example.com>" in text
    assert "Ben Rowe <ben@example.com>" in text
    assert "2027-06-30" in text


def test_waiting_for_consent_is_shown(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    ava = reviewer(tmp_path / "devices", "ava@example.com", "model", "Ava Stone")
    enroll(root, ava, ("ava",), consent=False)
    rep = make_report(root)
    assert rep.workspace_policy is None  # no policy table in twinreview.toml: nothing signed
    assert "ava" not in rep.consents
    assert "waiting for the model's consent" in rep.policies["ava"]["error"]
    page = "".join(parse(render_html(rep)).text)
    assert "No signed workspace policy" in page
    assert "not signed" in page
    assert "waiting for the model's consent" in page


def test_no_export_says_how_to_make_one(ws_root: Path, team: Team) -> None:
    page = render_html(make_report(ws_root))
    assert "No export was given" in page


# --- CSV and JSON ----------------------------------------------------------------------------


def test_csv_one_row_per_asset_and_no_formulas(ws_root: Path, team: Team) -> None:
    # A model folder named like a formula: its cells would run in a spreadsheet.
    save_jpeg(pattern(41), ws_root / "assets" / "=SUM(A1)" / "x.jpg")
    rep = make_report(ws_root)
    buf = io.StringIO()
    write_csv(rep, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert tuple(rows[0]) == CSV_FIELDS
    assert [r["path"] for r in rows] == [a.path for a in rep.assets]
    assert len(rows) == 6
    hostile = next(r for r in rows if "SUM" in r["path"])
    # Excel would run a cell starting with '='; it is prefixed with a quote.
    assert hostile["model"] == "'=SUM(A1)"
    assert hostile["path"] == "assets/=SUM(A1)/x.jpg"
    assert next(r for r in rows if "script" in r["path"])["path"] == HOSTILE_REL
    look1 = next(r for r in rows if r["path"] == LOOK1)
    assert look1["state"] == "cleared"
    assert "ava@example.com (model)" in look1["approvals"]
    assert look1["decisions"] == "3"
    assert look1["disclosure"] == "missing"
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@")), value


def test_csv_writer_neutralises_formulas_and_keeps_numbers() -> None:
    buf = io.StringIO()
    write_rows(
        buf,
        ("a", "b", "c", "d"),
        [
            {"a": "=1+1", "b": "+x", "c": "-2", "d": "@SUM(A1)"},
            {"a": "\tx", "b": "\r=y", "c": 3, "d": None},
            {"a": "plain", "b": "a=b", "c": -1.5},
        ],
    )
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert rows == [
        ["a", "b", "c", "d"],
        ["'=1+1", "'+x", "'-2", "'@SUM(A1)"],
        ["'\tx", "\\x0d=y", "3", ""],  # a carriage return is shown, never obeyed
        ["plain", "a=b", "-1.5", ""],
    ]


def test_report_and_scan_csv_share_one_writer() -> None:
    from twinreview.cli import scan_cmd
    from twinreview.services.report import content as report

    assert scan_cmd.write_rows is report.write_rows is write_rows


def test_json_document(ws_root: Path, team: Team) -> None:
    doc = json.loads(json.dumps(make_report(ws_root).to_json()))
    assert doc["report"] == "twinreview sign-off"
    assert doc["counts"] == {"cleared": 1, "pending": 3, "rejected": 1, "blocked": 0}
    look2 = next(a for a in doc["assets"] if a["path"] == LOOK2)
    assert look2["status"]["state"] == "rejected"
    assert {d["note"] for d in look2["decisions"]} == {"", HOSTILE_NOTE}
    assert len(doc["log_heads"]) == 2
    assert "data:image" not in json.dumps(doc)


# --- CLI -------------------------------------------------------------------------------------


def test_cli_writes_all_three_and_leaves_the_workspace_alone(
    ws_root: Path, team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(ws_root)
    out = tmp_path / "out"
    out.mkdir()
    code = main(
        [
            "report",
            str(ws_root),
            "--html",
            str(out / "r.html"),
            "--csv",
            str(out / "r.csv"),
            "--json",
            str(out / "r.json"),
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "1 cleared, 3 pending, 1 rejected, 0 blocked" in err
    assert "<!DOCTYPE html>" in (out / "r.html").read_text("utf-8")
    assert json.loads((out / "r.json").read_text("utf-8"))["counts"]["cleared"] == 1
    assert (out / "r.csv").read_text("utf-8").startswith("path,model,state")
    assert sorted(p.name for p in out.iterdir()) == ["r.csv", "r.html", "r.json"]
    assert snapshot(ws_root) == before


def test_cli_checks_an_export(
    ws_root: Path, team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    identity, key = team.agent.signer()
    export = tmp_path / "export"
    export_workspace(ws_root, export, identity, key)
    out = tmp_path / "r.json"
    assert main(["report", str(ws_root), "--json", str(out), "--export", str(export)]) == 0
    assert "export file(s)" not in capsys.readouterr().err
    sigs = json.loads(out.read_text("utf-8"))["exports"]["signatures"]
    heads = next(s for s in sigs if s["file"] == "heads.json")
    assert heads["valid"] and heads["relation"] == "heads"
    # The agent's log loses its last entry after the export: the report says so (exit 0: the
    # report was written), and points at verify --against.
    log = next((ws_root / "logs").glob("kim*.dlog"))
    log.write_bytes(b"".join(log.read_bytes().splitlines(keepends=True)[:-1]))
    assert main(["report", str(ws_root), "--json", str(out), "--export", str(export)]) == 0
    assert "--against" in capsys.readouterr().err
    sigs = json.loads(out.read_text("utf-8"))["exports"]["signatures"]
    heads = next(s for s in sigs if s["file"] == "heads.json")
    assert heads["relation"] == "differs"
    assert any("rolled_back" in p for p in heads["problems"])


def test_cli_usage_errors(
    tmp_path: Path, ws_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(ws_root)]) == 2
    assert "at least one of --html" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope"), "--html", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err.startswith("twinreview: ")
    assert main(["report", str(ws_root), "--html", str(tmp_path / "no" / "r.html")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert (
        main(["report", str(ws_root), "--html", str(tmp_path / "r.html"), "--export", "/nonexist"])
        == 2
    )
    assert not (tmp_path / "r.html").exists()


# --- rendering in a real browser ---------------------------------------------------------------


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    msg = "chromium is not installed (Debian package 'chromium'); cannot render the report"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{msg} (CI=true: .ci/run installs it)")
    pytest.skip(msg)


def _chromium_args(profile: Path) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def test_report_renders_in_headless_chromium(ws_root: Path, team: Team, tmp_path: Path) -> None:
    browser = _chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(make_report(ws_root)), "utf-8")
    shot = tmp_path / "shot.png"
    pdf = tmp_path / "report.pdf"
    common = _chromium_args(tmp_path / "profile")
    subprocess.run(
        [browser, *common, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(shot) as im:
        assert im.size == (1200, 1600)
        grey = im.convert("L")
        stat = ImageStat.Stat(grey)
        # A blank (all white) page has no spread; the report has text, badges and thumbnails.
        assert stat.stddev[0] > 20, stat.stddev
        dark = sum(grey.histogram()[:128]) / (im.size[0] * im.size[1])
        assert dark > 0.005, dark  # text is there
        # Colour: the thumbnails and state badges are not grey.
        sat = ImageStat.Stat(im.convert("HSV")).mean[1]
        assert sat > 2, sat

    # Printable: Chrome's print path lays it out on pages.
    subprocess.run(
        [browser, *common, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 2
