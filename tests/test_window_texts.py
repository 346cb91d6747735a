"""The main window's words and enabled commands, from the session state alone (no Qt)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from twinreview.core.approval.policy import Decision, ModelPolicy, evaluate
from twinreview.core.disclosure import C2paReport, C2paState, DisclosureReport, Verdict, XmpReport
from twinreview.core.findings import NEAR_COPY_OF_REFERENCE, Finding, Severity
from twinreview.core.workspace import Workspace
from twinreview.services.scan.model import FileFacts
from twinreview.services.scan.service import AssetResult
from twinreview.ui import window_texts as texts
from twinreview.ui.backend import AssetStatus, Identity
from twinreview.ui.items import AssetItem
from twinreview.ui.roster_view import TrustInfo
from twinreview.ui.session_state import SessionState

AGENT = Identity("sam@example.com", "Sam", "agent", "line")
TRUSTED = TrustInfo("pinned", "ws", "owner@example.com", "SHA256:o", "SHA256:o")


def _state(tmp_path: Path, *, identity: Identity | None = AGENT) -> SessionState:
    root = tmp_path / "ws"
    (root / "models" / "ana" / "references").mkdir(parents=True)
    (root / "models" / "ana" / "model.toml").write_text('display_name = "Ana"\n')
    (root / "assets" / "ana").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg"):
        (root / "assets" / "ana" / name).write_bytes(b"x")
    ws = Workspace.open(root)
    state = SessionState(identity=identity)
    state.open(ws, list(ws.iter_assets()), TRUSTED, None)
    return state


def _scan(state: SessionState, *findings: Finding, verdict: str = "disclosed") -> AssetItem:
    item = state.items[0]
    state.apply_result(
        AssetResult(
            item.ref,
            "ab" * 32,
            None,
            findings,
            FileFacts(1, 1, "JPEG", 1),
            DisclosureReport(Verdict(verdict), C2paReport(C2paState.ABSENT), XmpReport()),
        )
    )
    return item


def _status(item: AssetItem, *decisions: Decision) -> None:
    ev = evaluate(
        asset=item.rel,
        current_sha256="ab" * 32,
        decisions=decisions,
        policy=ModelPolicy("ana"),
        eligible={"sam@example.com": "agent", "ana@example.com": "model"},
        now=dt.datetime.now(dt.UTC),
    )
    item.status = AssetStatus(ev, tuple(decisions))


def _decision(item: AssetItem, who: str, role: str, decision: str) -> Decision:
    return Decision(
        who,
        role,
        dt.datetime.now(dt.UTC),
        item.rel,
        "ab" * 32,
        "ana",
        decision,
        (),
        "",
        False,
        "l",
        0,
    )


def test_nothing_is_enabled_before_a_workspace_opens() -> None:
    state = texts.enabling(SessionState(identity=AGENT), None, 0)
    assert not any(state.enabled[name] for name in ("approve", "reject", "rescan", "next"))


def test_approve_is_enabled_once_the_image_is_scanned_and_allowed(tmp_path: Path) -> None:
    state = _state(tmp_path)
    item = state.items[0]
    assert not texts.enabling(state, item, 1).enabled["approve"]
    _scan(state)
    on = texts.enabling(state, item, 1)
    assert on.enabled["approve"] and on.enabled["reject"] and on.enabled["rescan"]
    assert on.tips["approve"] == "Approve this asset; signed at once (A)"


def test_approve_disabled_with_the_reason_in_its_tooltip(tmp_path: Path) -> None:
    state = _state(tmp_path)
    item = _scan(state, verdict="missing")
    on = texts.enabling(state, item, 1)
    assert not on.enabled["approve"] and on.enabled["reject"]
    assert "AI disclosure is missing" in on.tips["approve"]


def test_without_an_identity_nothing_is_signed_and_the_tips_say_why(tmp_path: Path) -> None:
    state = _state(tmp_path, identity=None)
    item = _scan(state)
    on = texts.enabling(state, item, 1)
    assert not on.enabled["approve"] and not on.enabled["reject"] and not on.enabled["undo"]
    assert "No reviewer identity" in on.tips["reject"]


def test_a_batch_enables_both_and_compare_needs_exactly_two(tmp_path: Path) -> None:
    state = _state(tmp_path)
    item = _scan(state, verdict="missing")
    assert texts.enabling(state, item, 2).enabled["approve"]
    assert texts.enabling(state, item, 2).enabled["compare_two"]
    assert not texts.enabling(state, item, 3).enabled["compare_two"]
    assert texts.selection_text(2).endswith(", C compares the two")
    assert "3 selected: A approves them all" in texts.selection_text(3)


def test_decision_text_says_the_status_your_decision_and_why_not(tmp_path: Path) -> None:
    state = _state(tmp_path)
    item = state.items[0]
    assert texts.decision_text(state, item).startswith("Wait until the scan")
    _scan(state, verdict="missing")
    _status(item, _decision(item, "sam@example.com", "agent", "reject"))
    text = texts.decision_text(state, item)
    assert "rejected by sam@example.com" in text
    assert "you rejected" in text
    assert "AI disclosure is missing" in text


def test_simple_texts_speak_to_the_model(tmp_path: Path) -> None:
    ana = Identity("ana@example.com", "Ana", "model", "l", ("ana",))
    state = _state(tmp_path, identity=ana)
    copy = Finding(
        NEAR_COPY_OF_REFERENCE,
        Severity.BLOCK,
        "copy",
        {"reference": "models/ana/references/studio.jpg", "mirrored": True},
    )
    item = _scan(state, copy)
    _status(item)
    words = texts.simple_texts(
        state, item, row=0, count=2, reference="models/ana/references/studio.jpg"
    )
    assert words.sentences == ("This is your own photo studio.jpg, mirrored: not a new image.",)
    assert words.header == "Image 1 of 2: a.jpg (left), beside your photo studio.jpg (right)"
    assert words.status == "It is waiting for you and your agent."


def test_identity_line_and_the_keyring_advice() -> None:
    assert texts.identity_line(AGENT, None) == "Signed in as Sam <sam@example.com>, agent"
    line = texts.identity_line(None, "No usable keyring")
    assert "system keyring" in line and line.startswith("No usable keyring")
    assert texts.identity_line(None, None) == ""


def test_log_banner_lists_five_problems_then_a_count() -> None:
    state = SessionState(
        verification_ok=False, verification_problems=tuple(f"p{i}" for i in range(7))
    )
    banner = texts.log_banner(state)
    assert banner is not None and "<li>p4</li>" in banner and "p5" not in banner
    assert "… and 2 more" in banner
    assert texts.log_banner(SessionState()) is None


def test_opened_text_and_scan_words(tmp_path: Path) -> None:
    state = _state(tmp_path)
    assert texts.opened_text(state).startswith("2 assets in ")
    state.workspace_read_only = "This folder is read-only"
    assert texts.opened_text(state) == "This folder is read-only"
    assert texts.scan_format("") == "scan: %v / %m"
    assert texts.scan_finished_text(True) == "Scan cancelled"


#: What the verification says about a log this device can put back, as the command line reads it.
_ROLLED_BACK = (
    "roster/roster.dlog:10 rolled_back: the signed roster has 10 entries, but this device "
    "signed 11: it was rolled back or truncated; run 'twinreview verify --restore' (or Restore "
    "in the app) to put them back"
)


def test_the_way_to_put_lines_back_is_the_apps_button_not_a_command(tmp_path: Path) -> None:
    state = SessionState(verification_ok=False, verification_problems=(_ROLLED_BACK,))
    banner = texts.log_banner(state)
    assert banner is not None
    assert "twinreview" not in banner and "“Put back what I signed”" in banner, banner
    # The decision bar of an image blocked by it says the same.
    state = _state(tmp_path)
    item = _scan(state)
    ev = evaluate(
        asset=item.rel,
        current_sha256="ab" * 32,
        decisions=(),
        policy=ModelPolicy("ana"),
        eligible={},
        now=dt.datetime.now(dt.UTC),
        verification_problems=(f"{_ROLLED_BACK}; no decision can be trusted until restored.",),
    )
    item.status = AssetStatus(ev, ())
    said = texts.decision_text(state, item)
    assert "twinreview" not in said and "“Put back what I signed”" in said, said


def test_a_log_that_went_back_is_said_with_the_apps_button() -> None:
    from twinreview.ui.roster_view import log_gaps

    line = (
        "logs/sam--x.dlog:3 log_missing: log SHA256:abc (sam@agency.example) is gone from the "
        "workspace, but this device signed 2 entries into it: run 'twinreview verify --restore' "
        "(or Restore in the app) to put them back"
    )
    [gap] = log_gaps([line])
    assert gap.log == "SHA256:abc"
    assert "twinreview" not in gap.message and "“Put back what I signed”" in gap.message
