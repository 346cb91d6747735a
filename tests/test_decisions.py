"""Signed decisions: what an entry carries, and what the service refuses to sign."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import imagehash
import pytest
from PIL import Image

from decision_helpers import build_workspace, decider, enroll, owner_of, reviewer, roster_service
from twinreview.core.disclosure import DisclosurePolicy
from twinreview.core.findings import NEAR_COPY_OF_REFERENCE, Finding, Severity
from twinreview.core.logs.log import read_log
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionError, phash_of, resolve_asset
from twinreview.services.keys import KeyService

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

COPY = Finding(
    NEAR_COPY_OF_REFERENCE,
    Severity.BLOCK,
    "This image is a retouched copy of a real photo.",
    {"reference": "models/ava/references/ref1.jpg", "distance": 3},
)
NOTE = Finding("duplicate_in_batch", Severity.INFO, "Same as another.", {"distance": 0})


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.open(build_workspace(tmp_path / "ws"))


@pytest.fixture
def ava(tmp_path: Path, ws: Workspace) -> KeyService:
    keys = reviewer(tmp_path / "devices", "ava@example.com", "model", "Ava Stone")
    enroll(ws.root, keys, ("ava",))
    return keys


def only_log(ws: Workspace) -> Path:
    logs = sorted((ws.root / "logs").glob("*.dlog"))
    assert len(logs) == 1
    return logs[0]


def test_approve_writes_a_signed_entry_with_every_field(ws: Workspace, ava: KeyService) -> None:
    entry = decider(ava).decide(
        ws, "assets/ava/look1.jpg", "approve", note="lovely", findings=[NOTE]
    )
    data = (ws.root / "assets/ava/look1.jpg").read_bytes()
    with Image.open(ws.root / "assets/ava/look1.jpg") as im:
        expected_phash = imagehash.phash(im.convert("RGB"))

    p = entry.payload
    assert p["kind"] == "decision"
    assert p["principal"] == "ava@example.com"
    assert p["role"] == "model"
    assert p["asset"] == "assets/ava/look1.jpg"
    assert p["sha256"] == hashlib.sha256(data).hexdigest()
    assert p["model"] == "ava"
    assert p["decision"] == "approve"
    assert p["reasons"] == []
    assert p["note"] == "lovely"
    assert p["findings"] == [NOTE.to_json()]
    assert p["override"] is False
    # The recorded pHash is the image's pHash (decoded through the safe loader, so allow the
    # few bits a reduced decode may flip).
    assert len(p["phash"]) == 16
    assert imagehash.hex_to_hash(p["phash"]) - expected_phash <= 4

    # On disk: genesis + this decision, and the workspace verifies clean.
    lines = read_log(only_log(ws)).lines
    assert [ln.payload["kind"] for ln in lines if ln.payload] == ["genesis", "decision"]
    assert json.loads(lines[1].payload_bytes or b"{}") == dict(p)
    report = verify_workspace(ws)
    assert report.ok, report.problems
    assert [e.payload["asset"] for e in report.merged() if e.kind == "decision"] == [
        "assets/ava/look1.jpg"
    ]


def test_reject_with_reasons_and_nested_path(ws: Workspace, ava: KeyService) -> None:
    entry = decider(ava).decide(
        ws,
        ws.root / "assets" / "ava" / "spring" / "look2.jpg",  # an absolute path works too
        "reject",
        reasons=["likeness_wrong", "quality", "likeness_wrong"],
        note="eyes are off",
    )
    assert entry.payload["asset"] == "assets/ava/spring/look2.jpg"
    assert entry.payload["reasons"] == ["likeness_wrong", "quality"]
    assert entry.payload["decision"] == "reject"


def test_later_decisions_append_never_rewrite(ws: Workspace, ava: KeyService) -> None:
    svc = decider(ava)
    svc.decide(ws, "assets/ava/look1.jpg", "reject", reasons=["quality"])
    first = only_log(ws).read_bytes()
    svc.decide(ws, "assets/ava/look1.jpg", "approve")
    after = only_log(ws).read_bytes()
    assert after.startswith(first)
    assert len(read_log(only_log(ws)).lines) == 3


def test_approving_over_blocking_findings_needs_override(ws: Workspace, ava: KeyService) -> None:
    svc = decider(ava)
    with pytest.raises(DecisionError, match="blocking findings \\(near_copy_of_reference\\)"):
        svc.decide(ws, "assets/ava/look1.jpg", "approve", findings=[COPY, NOTE])
    assert not (ws.root / "logs").exists()  # nothing written, not even a genesis

    entry = svc.decide(ws, "assets/ava/look1.jpg", "approve", findings=[COPY, NOTE], override=True)
    assert entry.payload["override"] is True
    assert entry.payload["findings"] == [COPY.to_json(), NOTE.to_json()]


def test_disclosure_verdicts_the_workspace_does_not_allow_are_never_approved(
    ws: Workspace, ava: KeyService
) -> None:
    svc = decider(ava)
    look = "assets/ava/look1.jpg"
    # Default policy: disclosed and partial may be approved, missing and blocked may not.
    for verdict in ("missing", "blocked"):
        with pytest.raises(DecisionError, match=f"AI disclosure is '{verdict}'"):
            svc.decide(ws, look, "approve", override=True, disclosure_verdict=verdict)
    assert not (ws.root / "logs").exists() or not list((ws.root / "logs").glob("*.dlog"))
    svc.decide(ws, look, "approve", disclosure_verdict="partial")
    # A reject is always possible, whatever the disclosure.
    svc.decide(ws, look, "reject", reasons=["no_disclosure"], disclosure_verdict="missing")
    # A brand that only publishes fully disclosed images.
    (ws.root / "twinreview.toml").write_text('[disclosure]\napprovable = ["disclosed"]\n')
    strict = Workspace.open(ws.root)
    # The plain file alone changes nothing: only the owner's signed policy does.
    svc.decide(strict, look, "approve", disclosure_verdict="partial")
    roster_service(owner_of(ws.root)).set_policy(ws.root)
    strict = Workspace.open(ws.root)
    with pytest.raises(DecisionError, match="'partial'"):
        svc.decide(strict, look, "approve", disclosure_verdict="partial")


def test_an_approval_follows_a_policy_signed_after_the_workspace_opened(
    ws: Workspace, ava: KeyService
) -> None:
    (ws.root / "twinreview.toml").write_text('[disclosure]\napprovable = ["disclosed"]\n')
    roster_service(owner_of(ws.root)).set_policy(ws.root)
    # ``ws`` was opened under the older policy; the decision reads the one signed now.
    assert ws.settings.disclosure.is_approvable("partial")
    with pytest.raises(DecisionError, match="'partial'"):
        decider(ava).decide(ws, "assets/ava/look1.jpg", "approve", disclosure_verdict="partial")


def test_decisions_do_not_parse_the_settings_again(
    ws: Workspace, ava: KeyService, monkeypatch: pytest.MonkeyPatch
) -> None:
    current = Workspace.open(ws.root)  # opened under the roster head in force

    def parse(*_a: object, **_k: object) -> object:
        raise AssertionError("the settings were parsed again")

    monkeypatch.setattr("twinreview.core.workspace.settings_from_config", parse)
    monkeypatch.setattr("twinreview.core.settings.settings_from_config", parse)
    monkeypatch.setattr(DisclosurePolicy, "from_config", parse)
    svc = decider(ava)
    for asset in ("assets/ava/look1.jpg", "assets/ava/spring/look2.jpg"):
        svc.decide(current, asset, "approve", disclosure_verdict="partial")
    with pytest.raises(DecisionError, match="'missing'"):
        svc.decide(current, "assets/ava/look1.jpg", "approve", disclosure_verdict="missing")


def test_override_is_only_recorded_when_something_blocked(ws: Workspace, ava: KeyService) -> None:
    svc = decider(ava)
    e1 = svc.decide(ws, "assets/ava/look1.jpg", "approve", findings=[NOTE], override=True)
    assert e1.payload["override"] is False
    e2 = svc.decide(ws, "assets/ava/look1.jpg", "reject", reasons=["other"], findings=[COPY])
    assert e2.payload["override"] is False


def test_reviewer_not_allowed_for_the_model_is_refused(ws: Workspace, ava: KeyService) -> None:
    with pytest.raises(
        DecisionError, match=r"does not allow ava@example\.com to decide for model 'ben'"
    ):
        decider(ava).decide(ws, "assets/ben/look1.jpg", "approve")
    assert not (ws.root / "logs").exists()


def test_reviewer_not_on_the_roster_is_refused(tmp_path: Path, ws: Workspace) -> None:
    stranger = reviewer(tmp_path / "devices", "eve@example.com", "agent")
    owner_of(ws.root)
    with pytest.raises(DecisionError, match=r"signed roster does not list eve@example\.com"):
        decider(stranger).decide(ws, "assets/ava/look1.jpg", "approve")


def test_second_device_key_not_enrolled_is_refused(
    tmp_path: Path, ws: Workspace, ava: KeyService
) -> None:
    laptop2 = reviewer(tmp_path / "laptop2", "ava@example.com", "model")
    with pytest.raises(DecisionError, match="with this device's key"):
        decider(laptop2).decide(ws, "assets/ava/look1.jpg", "approve")


def test_revoked_key_is_refused(ws: Workspace, ava: KeyService) -> None:
    ident = ava.current()
    assert ident is not None
    # A hand-written revoked file is only a view: the revocation must be signed.
    roster_service(owner_of(ws.root)).revoke_key(
        ws.root, ident.principal, ident.public_key.fingerprint
    )
    with pytest.raises(DecisionError, match="was revoked"):
        decider(ava).decide(ws, "assets/ava/look1.jpg", "approve")


def test_role_comes_from_the_signed_roster_not_the_view(tmp_path: Path, ws: Workspace) -> None:
    keys = reviewer(tmp_path / "devices", "ava@example.com", "model")
    enroll(ws.root, keys, ("ava",))
    people = ws.root / "roster" / "people.toml"
    people.write_text(people.read_text().replace('role = "model"', 'role = "agent"'))
    entry = decider(keys).decide(ws, "assets/ava/look1.jpg", "approve")
    assert entry.payload["role"] == "model"


def test_no_identity_on_this_device(tmp_path: Path, ws: Workspace) -> None:
    from decision_helpers import MemoryKeyring
    from twinreview.services.keys import IdentityStore, KeyStore

    empty = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(tmp_path / "none")
    )
    with pytest.raises(DecisionError, match="no reviewer key on this device"):
        decider(empty).decide(ws, "assets/ava/look1.jpg", "approve")


@pytest.mark.parametrize(
    ("asset", "needle"),
    [
        ("assets/ava/nope.jpg", "no such file"),
        ("assets/ava", "not a file"),
        ("models/ava/references/ref1.jpg", "not an asset"),
        ("twinreview.toml", "not an asset"),
        ("assets/ava/../ava/look1.jpg.json", "no such file"),
    ],
)
def test_bad_asset_paths(ws: Workspace, ava: KeyService, asset: str, needle: str) -> None:
    with pytest.raises(DecisionError, match=needle):
        decider(ava).decide(ws, asset, "approve")


def test_sidecar_is_not_an_asset(ws: Workspace, ava: KeyService) -> None:
    (ws.root / "assets/ava/look1.json").write_text('{"intended_use": "social"}')
    with pytest.raises(DecisionError, match="metadata file"):
        decider(ava).decide(ws, "assets/ava/look1.json", "approve")


def test_symlink_leading_out_is_refused(tmp_path: Path, ws: Workspace, ava: KeyService) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes((ws.root / "assets/ava/look1.jpg").read_bytes())
    link = ws.root / "assets/ava/linked.jpg"
    try:
        os.symlink(outside, link)
    except OSError as exc:
        pytest.skip(f"cannot create symlinks here: {exc}")
    with pytest.raises(DecisionError, match="outside the workspace"):
        decider(ava).decide(ws, "assets/ava/linked.jpg", "approve")


def test_unknown_model_folder_is_refused(ws: Workspace, ava: KeyService) -> None:
    stray = ws.root / "assets/zed/x.jpg"
    stray.parent.mkdir(parents=True)
    stray.write_bytes((ws.root / "assets/ava/look1.jpg").read_bytes())
    with pytest.raises(DecisionError, match="model 'zed' is not in this workspace"):
        decider(ava).decide(ws, "assets/zed/x.jpg", "approve")


def test_reason_rules(ws: Workspace, ava: KeyService) -> None:
    svc = decider(ava)
    with pytest.raises(DecisionError, match="a reject needs at least one reason"):
        svc.decide(ws, "assets/ava/look1.jpg", "reject")
    with pytest.raises(DecisionError, match="unknown reason code 'ugly'"):
        svc.decide(ws, "assets/ava/look1.jpg", "reject", reasons=["ugly"])
    with pytest.raises(DecisionError, match="an approval takes none"):
        svc.decide(ws, "assets/ava/look1.jpg", "approve", reasons=["quality"])
    with pytest.raises(DecisionError, match="approve or reject"):
        svc.decide(ws, "assets/ava/look1.jpg", "maybe")
    with pytest.raises(DecisionError, match="longer than"):
        svc.decide(ws, "assets/ava/look1.jpg", "approve", note="x" * 5000)
    assert not (ws.root / "logs").exists()


def test_file_changed_since_scan_is_refused(ws: Workspace, ava: KeyService) -> None:
    path = ws.root / "assets/ava/look1.jpg"
    scanned = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(path.read_bytes() + b"\0")  # changed after the scan
    with pytest.raises(DecisionError, match="changed since it was scanned"):
        decider(ava).decide(ws, "assets/ava/look1.jpg", "approve", expected_sha256=scanned)
    # With the scan's sha and pHash the service trusts the given pHash and only hashes the bytes.
    current = hashlib.sha256(path.read_bytes()).hexdigest()
    entry = decider(ava).decide(
        ws, "assets/ava/look1.jpg", "approve", expected_sha256=current, phash="00ff00ff00ff00ff"
    )
    assert entry.payload["phash"] == "00ff00ff00ff00ff"
    assert entry.payload["sha256"] == current


def test_unreadable_image_can_still_be_rejected(ws: Workspace, ava: KeyService) -> None:
    broken = ws.root / "assets/ava/broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    entry = decider(ava).decide(ws, "assets/ava/broken.jpg", "reject", reasons=["quality"])
    assert entry.payload["phash"] is None
    assert phash_of(b"") is None


def test_resolve_asset_normalises(ws: Workspace) -> None:
    _, rel, model = resolve_asset(ws, "assets/ava/spring/../look1.jpg")
    assert (rel, model) == ("assets/ava/look1.jpg", "ava")


def test_nothing_in_assets_changes(ws: Workspace, ava: KeyService) -> None:
    before = {
        p: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in (ws.root / "assets").rglob("*")
        if p.is_file()
    }
    svc = decider(ava)
    svc.decide(ws, "assets/ava/look1.jpg", "approve")
    svc.decide(ws, "assets/ava/spring/look2.jpg", "reject", reasons=["other"], note="n")
    after = {
        p: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in (ws.root / "assets").rglob("*")
        if p.is_file()
    }
    assert before == after


# --- the CLI -------------------------------------------------------------------------------------


def _photo_ws(tmp_path: Path) -> Path:
    from photos import load_photo
    from wsbuild import add_model, make_workspace, save_jpeg

    # This brand only warns about missing AI disclosure and lets it be approved, so that
    # approving new.jpg needs no override and the test isolates the similarity finding.
    root = make_workspace(
        tmp_path / "pws",
        toml='[disclosure]\napprovable = ["disclosed", "partial", "missing"]\n'
        '[disclosure.severity]\nmissing_disclosure = "warn"\n',
    )
    cat = load_photo("chelsea")
    add_model(root, "ava", {"cat.jpg": cat})
    save_jpeg(cat, root / "assets/ava/copy.jpg", 80)  # a real photo passed off as generated
    save_jpeg(load_photo("coffee"), root / "assets/ava/new.jpg")
    return root


def _decide_cli(argv: list[str], keys: KeyService) -> int:
    from twinreview.cli.decide_cmd import cmd_decide, scan_once
    from twinreview.cli.main import build_parser, run_command

    args = build_parser().parse_args(["decide", *argv])
    return run_command(lambda a: cmd_decide(a, keys, scan_once()), args)


def test_cli_decide_records_the_scan_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _photo_ws(tmp_path)
    keys = reviewer(tmp_path / "devices", "ava@example.com", "model", "Ava")
    enroll(root, keys, ("ava",))

    assert _decide_cli([str(root), "assets/ava/new.jpg", "--approve", "--note", "ok"], keys) == 0
    out = capsys.readouterr().out
    assert "approved: assets/ava/new.jpg by ava@example.com (model)" in out

    # Approving the copy of a real photo: refused (exit 1) until --override.
    code = _decide_cli([str(root), str(root / "assets/ava/copy.jpg"), "--approve"], keys)
    err = capsys.readouterr().err
    assert code == 1
    assert "near_copy_of_reference" in err
    assert "--override" in err
    assert _decide_cli([str(root), "assets/ava/copy.jpg", "--approve", "--override"], keys) == 0
    assert "with override" in capsys.readouterr().out

    report = verify_workspace(root)
    assert report.ok, report.problems
    decisions = [e.payload for e in report.merged() if e.kind == "decision"]
    assert [(d["asset"], d["override"]) for d in decisions] == [
        ("assets/ava/new.jpg", False),
        ("assets/ava/copy.jpg", True),
    ]
    kinds = [f["kind"] for f in decisions[1]["findings"]]
    assert "near_copy_of_reference" in kinds
    assert decisions[0]["note"] == "ok"


def test_cli_decide_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _photo_ws(tmp_path)
    keys = reviewer(tmp_path / "devices", "ava@example.com", "model", "Ava")
    enroll(root, keys, ("ava",))
    assert _decide_cli([str(root), "assets/ava/new.jpg", "--reject"], keys) == 2
    assert "at least one reason" in capsys.readouterr().err
    assert _decide_cli([str(root), "assets/ava/missing.jpg", "--approve"], keys) == 2
    assert "no such file" in capsys.readouterr().err
    assert _decide_cli([str(tmp_path / "nowhere"), "x.jpg", "--approve"], keys) == 2
    assert "twinreview:" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        _decide_cli([str(root), "assets/ava/new.jpg", "--reject", "--reason", "ugly"], keys)
    assert exc.value.code == 2
    assert not (root / "logs").exists()


def test_recorded_phash_is_the_scans_phash(tmp_path: Path, sync_executor: object) -> None:
    from twinreview.services.scan.cache import ResultCache
    from twinreview.services.scan.service import ScanService

    root = _photo_ws(tmp_path)
    result = ScanService(sync_executor, ResultCache.in_memory()).scan(  # type: ignore[arg-type]
        Workspace.open(root)
    )
    assert len(result.assets) == 2
    for a in result.assets:
        assert a.phash is not None
        assert phash_of(a.asset.path.read_bytes()) == a.phash


def test_a_refused_decide_never_says_the_findings_were_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _photo_ws(tmp_path)
    keys = reviewer(tmp_path / "devices", "ava@example.com", "model", "Ava")
    enroll(root, keys, ("ava",))
    assert _decide_cli([str(root), "assets/ava/copy.jpg", "--approve"], keys) == 1
    err = capsys.readouterr().err
    assert "near_copy_of_reference" in err  # the findings are shown
    assert "recorded" not in err.replace("not recorded", "")
    assert "not recorded" in err
    assert _decide_cli([str(root), "assets/ava/copy.jpg", "--approve", "--override"], keys) == 0
    out = capsys.readouterr()
    assert "recorded with this decision" in out.out + out.err
