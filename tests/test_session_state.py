"""The app's session state without Qt: what may be decided, and how results land."""

from __future__ import annotations

from pathlib import Path

from twinreview.core.disclosure import C2paReport, C2paState, DisclosureReport, Verdict, XmpReport
from twinreview.core.workspace import AssetRef, Workspace
from twinreview.services.scan.model import FileFacts
from twinreview.services.scan.service import AssetResult
from twinreview.ui.backend import Identity
from twinreview.ui.roster_view import PersonRow, RosterView, TrustInfo
from twinreview.ui.session_state import SessionState

TRUSTED = TrustInfo("pinned", "ws", "owner@example.com", "SHA256:o", "SHA256:o")


def _workspace(root: Path) -> Workspace:
    (root / "models" / "ana" / "references").mkdir(parents=True)
    (root / "models" / "ana" / "model.toml").write_text('display_name = "Ana"\n')
    (root / "assets" / "ana").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg"):
        (root / "assets" / "ana" / name).write_bytes(b"x")
    return Workspace.open(root)


def _result(ref: AssetRef, verdict: str = "disclosed") -> AssetResult:
    report = DisclosureReport(Verdict(verdict), C2paReport(C2paState.ABSENT), XmpReport())
    return AssetResult(ref, "ab" * 32, None, (), FileFacts(1, 1, "JPEG", 1), report)


def _opened(tmp_path: Path) -> tuple[SessionState, list[AssetRef]]:
    ws = _workspace(tmp_path / "ws")
    refs = list(ws.iter_assets())
    state = SessionState(identity=Identity("me@example.com", "Me", "agent", "line"))
    state.open(ws, refs, TRUSTED, None)
    return state, refs


def test_open_lists_the_assets_with_their_model_names(tmp_path: Path) -> None:
    state, refs = _opened(tmp_path)
    assert [i.rel for i in state.items] == [r.rel for r in refs]
    assert {i.model_name for i in state.items} == {"Ana"}
    assert state.item(refs[0].rel) is state.items[0]
    assert state.can_decide


def test_why_not_decide_names_the_first_obstacle(tmp_path: Path) -> None:
    state, _ = _opened(tmp_path)
    state.identity = None
    assert "No reviewer identity" in (state.why_not_decide or "")
    state.read_only_reason = "no keyring"
    assert state.why_not_decide == "no keyring"
    state.read_only_reason = None
    state.identity = Identity("me@example.com", "Me", "agent", "line")
    state.workspace_read_only = "read-only folder"
    assert state.why_not_decide == "read-only folder"


def test_not_on_the_roster_cannot_decide(tmp_path: Path) -> None:
    state, _ = _opened(tmp_path)
    state.roster = RosterView(exists=True, name="ws", owner="o", me=None)
    assert "not on this workspace's roster" in (state.why_not_decide or "")


def test_why_not_approve_follows_the_scan_the_file_and_the_disclosure(tmp_path: Path) -> None:
    state, refs = _opened(tmp_path)
    item = state.items[0]
    assert "Wait until the scan" in (state.why_not_approve(item) or "")
    state.apply_result(_result(refs[0], "missing"))
    assert "AI disclosure is missing" in (state.why_not_approve(item) or "")
    state.apply_result(_result(refs[0], "disclosed"))
    assert state.why_not_approve(item) is None
    refs[0].path.unlink()
    assert "no longer in the workspace" in (state.why_not_approve(item) or "")


def test_results_add_new_assets_and_a_whole_scan_drops_missing_ones(tmp_path: Path) -> None:
    state, refs = _opened(tmp_path)
    extra = AssetRef(refs[0].path.with_name("c.jpg"), "assets/ana/c.jpg", "ana", None)
    assert state.apply_result(_result(extra)) == "assets/ana/c.jpg"
    assert [i.rel for i in state.items][-1] == "assets/ana/c.jpg"
    gone = state.drop_missing([refs[1].rel, extra.rel])
    assert gone == [refs[0].rel]
    assert state.item(refs[0].rel) is None


def test_a_roster_read_gives_the_identity_its_models(tmp_path: Path) -> None:
    state, _ = _opened(tmp_path)
    me = PersonRow("me@example.com", "Me", "agent", ("ana",))
    view = RosterView(exists=True, name="ws", owner="o", people=(me,), me=me)
    assert state.apply_roster(view, "me@example.com")
    assert state.identity is not None and state.identity.model_ids == ("ana",)
    assert not state.apply_roster(view, "me@example.com")  # unchanged
    assert not state.apply_roster(view, "someone@example.com")  # read for another identity
