"""Resubmission: assets rejected in the signed logs, and the scan's ``resubmitted_rejected``."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from PIL import ImageOps

from decision_helpers import T0, decider, enroll, reviewer
from photos import load_photo
from twinreview.core.approval.policy import suggest_reasons
from twinreview.core.findings import RESUBMITTED_REJECTED, Severity
from twinreview.core.logs.log import read_log
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.workspace import Workspace
from twinreview.services.keys import KeyService
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.history import (
    RejectedAsset,
    RejectedPhashIndex,
    rejected_assets,
    rejected_provider,
)
from twinreview.services.scan.service import ScanResult, ScanService
from wsbuild import add_model, make_workspace, pattern, save_jpeg

LOOK = "assets/ava/look.jpg"


@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    """Ava (reference: a cat photo), Ben (a rocket); Ava has a generated look and a clean one."""
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"cat.jpg": load_photo("chelsea")})
    add_model(root, "ben", {"rocket.jpg": load_photo("rocket")})
    save_jpeg(load_photo("coffee"), root / LOOK)
    save_jpeg(load_photo("astronaut"), root / "assets/ava/other.jpg")
    save_jpeg(pattern(5), root / "assets/ben/clean.jpg")
    return root


@pytest.fixture
def ava(tmp_path: Path, ws_root: Path) -> KeyService:
    keys = reviewer(tmp_path / "devices", "ava@example.com", "model", "Ava Stone")
    enroll(ws_root, keys, ("ava",))
    return keys


@pytest.fixture
def agent(tmp_path: Path, ws_root: Path) -> KeyService:
    keys = reviewer(tmp_path / "devices", "kim@agency.example", "agent", "Kim")
    enroll(ws_root, keys, ("ava", "ben"))
    return keys


def reject_look(ava: KeyService, ws_root: Path) -> None:
    decider(ava, T0).decide(
        Workspace.open(ws_root),
        LOOK,
        "reject",
        reasons=["likeness_wrong", "quality"],
        note="not my smile",
    )


# --- rejected_assets -----------------------------------------------------------------------------


def test_rejected_assets_carries_who_when_why(ws_root: Path, ava: KeyService) -> None:
    reject_look(ava, ws_root)
    (r,) = rejected_assets(verify_workspace(ws_root))
    assert r.path == LOOK
    assert r.principal == "ava@example.com"
    assert r.role == "model"
    (log,) = (ws_root / "logs").glob("ava@example.com--*.dlog")
    assert r.ts == read_log(log).lines[-1].payload["ts"]  # type: ignore[index]
    assert r.reasons == ("likeness_wrong", "quality")
    assert r.note == "not my smile"
    assert len(r.sha256) == 64
    assert r.phash is not None
    assert len(r.phash) == 16


def test_approval_of_the_same_bytes_later_lifts_the_rejection(
    ws_root: Path, ava: KeyService, agent: KeyService
) -> None:
    ws = Workspace.open(ws_root)
    svc = decider(ava, T0)
    svc.decide(ws, LOOK, "reject", reasons=["quality"])
    svc.decide(ws, LOOK, "approve")
    decider(agent, T0).decide(ws, "assets/ava/other.jpg", "reject", reasons=["other"])
    assert [(r.path, r.principal) for r in rejected_assets(verify_workspace(ws_root))] == [
        ("assets/ava/other.jpg", "kim@agency.example")
    ]


def test_rejection_of_old_bytes_survives_a_new_version(ws_root: Path, ava: KeyService) -> None:
    reject_look(ava, ws_root)
    old_sha = rejected_assets(verify_workspace(ws_root))[0].sha256
    save_jpeg(load_photo("coffee"), ws_root / LOOK, quality=60)  # regenerated in place
    decider(ava, T0 + dt.timedelta(hours=1)).decide(Workspace.open(ws_root), LOOK, "approve")
    assert [r.sha256 for r in rejected_assets(verify_workspace(ws_root))] == [old_sha]


def test_two_people_rejecting_give_two_records(
    ws_root: Path, ava: KeyService, agent: KeyService
) -> None:
    reject_look(ava, ws_root)
    decider(agent, T0).decide(Workspace.open(ws_root), LOOK, "reject", reasons=["no_disclosure"])
    rejected = rejected_assets(verify_workspace(ws_root))
    assert sorted(r.principal for r in rejected) == ["ava@example.com", "kim@agency.example"]


def test_forged_reject_is_not_history(ws_root: Path, ava: KeyService, agent: KeyService) -> None:
    decider(agent, T0).decide(Workspace.open(ws_root), LOOK, "approve")
    # Turn the agent's approval into a reject by editing the payload: the signature breaks.
    (log,) = (ws_root / "logs").glob("kim@agency.example--*.dlog")
    lines = log.read_bytes().splitlines(keepends=True)
    outer = json.loads(lines[1])
    payload = json.loads(base64.b64decode(outer["payload"]))
    payload.update(decision="reject", reasons=["quality"])
    outer["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    log.write_bytes(lines[0] + (json.dumps(outer) + "\n").encode())
    report = verify_workspace(ws_root)
    assert not report.ok
    assert rejected_assets(report) == []


# --- the pHash fallback --------------------------------------------------------------------------


def _rej(phash: str | None, path: str = "assets/a/x.jpg") -> RejectedAsset:
    return RejectedAsset(path, "0" * 64, phash, "p@x", "model", "2026-03-01T09:00:00.000Z")


def test_phash_index_matches_by_hamming_distance() -> None:
    base = 0x0123456789ABCDEF
    near = base ^ 0b111  # 3 bits off
    far = base ^ ((1 << 20) - 1)  # 20 bits off
    index = RejectedPhashIndex(
        [_rej(f"{far:016x}", "far"), _rej(f"{near:016x}", "near"), _rej(None), _rej("zz")]
    )
    assert len(index) == 2  # no pHash and a malformed one are left out
    hits = index.match(f"{base:016x}")
    assert [(r.path, d) for r, d in hits] == [("near", 3)]
    assert index.match(f"{base:016x}", max_distance=20) == [
        (hits[0][0], 3),
        (index.match(f"{far:016x}")[0][0], 20),
    ]
    assert index.match(None) == []
    assert index.match("not-hex") == []


def test_phash_index_catches_a_mirrored_resubmission() -> None:
    stored = 0xF0F0F0F0F0F0F0F0
    index = RejectedPhashIndex([_rej(f"{stored:016x}")])
    unrelated = 0x0F0F0F0F0F0F0F0F
    assert index.match(f"{unrelated:016x}") == []
    hits = index.match(f"{unrelated:016x}", mirrored_phash=f"{stored ^ 1:016x}")
    assert [d for _, d in hits] == [1]


# --- end to end through the scan -----------------------------------------------------------------


def scan(root: Path, executor: object, cache: ResultCache) -> ScanResult:
    service = ScanService(executor, cache, rejected_provider=rejected_provider)  # type: ignore[arg-type]
    return service.scan(Workspace.open(root))


def test_scan_reports_a_resubmitted_rejected_asset(
    ws_root: Path, ava: KeyService, sync_executor: object
) -> None:
    cache = ResultCache.in_memory()
    first = scan(ws_root, sync_executor, cache)
    assert not any(f.kind == RESUBMITTED_REJECTED for a in first.assets for f in a.findings)

    reject_look(ava, ws_root)
    # The generator resubmits the same picture: cropped, mirrored and re-encoded, new name.
    coffee = load_photo("coffee")
    w, h = coffee.size
    again = ImageOps.mirror(coffee.crop((w // 20, h // 20, w - w // 20, h - h // 20)))
    save_jpeg(again, ws_root / "assets/ava/look-v2.jpg", quality=70)
    # ... and, as an exact copy, under another model's folder.
    (ws_root / "assets/ben/copied.jpg").write_bytes((ws_root / LOOK).read_bytes())
    # The rejected file itself is deleted: the history lives in the signed log and the cache.
    (ws_root / LOOK).unlink()

    result = scan(ws_root, sync_executor, cache)
    by_rel = {a.asset.rel: a for a in result.assets}
    for rel in ("assets/ava/look-v2.jpg", "assets/ben/copied.jpg"):
        found = [f for f in by_rel[rel].findings if f.kind == RESUBMITTED_REJECTED]
        assert len(found) == 1, rel
        f = found[0]
        assert f.severity >= Severity.WARN
        assert f.evidence["rejected_by"] == "ava@example.com"
        # When it was rejected, as signed (the test clocks tick on across a worker's tests).
        (log,) = (ws_root / "logs").glob("ava@example.com--*.dlog")
        assert f.evidence["rejected_at"] == read_log(log).lines[-1].payload["ts"]  # type: ignore[index]
        assert f.evidence["reasons"] == ["likeness_wrong", "quality"]
        assert f.evidence["note"] == "not my smile"
        assert "ava@example.com" in f.message
        assert "not the right person, not good enough" in f.message
        # The reviewer's reject dialog preselects the earlier reasons.
        assert {"previously_rejected", "likeness_wrong", "quality"} <= set(
            suggest_reasons(by_rel[rel].findings)
        )
    for rel in ("assets/ava/other.jpg", "assets/ben/clean.jpg"):
        assert all(f.kind != RESUBMITTED_REJECTED for f in by_rel[rel].findings), rel


def test_the_rejected_file_itself_is_not_a_resubmission(
    ws_root: Path, ava: KeyService, sync_executor: object
) -> None:
    reject_look(ava, ws_root)
    result = scan(ws_root, sync_executor, ResultCache.in_memory())
    (look,) = [a for a in result.assets if a.asset.rel == LOOK]
    assert all(f.kind != RESUBMITTED_REJECTED for f in look.findings)


def test_siblings_of_rejected_images_get_one_warning_with_a_count(
    ws_root: Path, ava: KeyService, sync_executor: object
) -> None:
    # Four re-edits of one picture; the first three are rejected, one by one.
    coffee = load_photo("coffee")
    w, h = coffee.size
    siblings = []
    for i in range(4):
        inset = (i + 1) * w // 60
        rel = f"assets/ava/sib-{i}.jpg"
        save_jpeg(coffee.crop((inset, inset, w - inset, h - inset)), ws_root / rel, quality=80 - i)
        siblings.append(rel)
    (ws_root / LOOK).unlink()
    service = decider(ava, T0)
    for rel in siblings[:3]:
        service.decide(Workspace.open(ws_root), rel, "reject", reasons=["quality"])

    result = scan(ws_root, sync_executor, ResultCache.in_memory())
    by_rel = {a.asset.rel: a for a in result.assets}
    fresh = [f for f in by_rel[siblings[3]].findings if f.kind == RESUBMITTED_REJECTED]
    assert len(fresh) == 1, [f.message for f in fresh]
    (f,) = fresh
    assert f.evidence["rejected_count"] == 3
    assert sorted([f.evidence["reference"], *f.evidence["also_rejected"]]) == siblings[:3]
    assert "and 2 other rejected images like it" in f.message
    # A rejected sibling is told about the other two, once.
    (mine,) = [f for f in by_rel[siblings[0]].findings if f.kind == RESUBMITTED_REJECTED]
    assert mine.evidence["rejected_count"] == 2
    assert "and 1 other rejected image like it" in mine.message
