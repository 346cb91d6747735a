"""The owner's whole job in the app: the roster screen's changes, the rules editor, the
Workspace menu's exports and checks, creating a workspace, and errors in plain words.

Real roster, trust, decision and status services on real workspaces (``owner_app``), each
reviewer a device with its own in-memory keyring and pins. Set ``TWINREVIEW_SHOTS`` to a folder
to also save a picture of each screen.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from owner_app import App, make_device, open_workspace
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QLabel,
    QMessageBox,
    QWidget,
)

from decision_helpers import build_workspace, enroll, owner_of, reviewer, roster_service
from twinreview.core.roster.log import SignedRoster
from twinreview.core.workspace import Workspace
from twinreview.services.export_check import read_export_heads
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import TrustStore, Verifier
from twinreview.ui.actions import MENUS

#: What no message in the app may show: command lines, options, environment variables, class
#: names of the code or of the keyring backends.
_TECHNICAL = re.compile(
    r"'twinreview |twinreview (keys|roster|trust|init|export)\b|(?<![\w-])--[a-z]"
    r"|PYTHON_KEYRING|[A-Z_]{4,}=|keyring\.backends|\b[A-Z][a-z]+(Error|Refused|Unavailable)\b"
    r"|\b[a-z_]+(\.[a-z_]+)*\.[A-Z][A-Za-z]+\b"
)


def _shot(widget: QWidget, name: str) -> None:
    folder = os.environ.get("TWINREVIEW_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(folder) / name))


def _owner_config() -> Path:
    return Path(os.environ["TWINREVIEW_CONFIG_DIR"])  # init pinned the workspace there


def _texts(widget: QWidget) -> str:
    """Every text a person can read in ``widget``: labels, buttons, combo items, tooltips."""
    parts: list[str] = []
    for w in [widget, *widget.findChildren(QWidget)]:
        if not w.isVisibleTo(widget) and w is not widget:
            continue
        if isinstance(w, QLabel | QAbstractButton):
            parts.append(w.text())
        if isinstance(w, QComboBox):
            parts += [w.itemText(i) for i in range(w.count())]
        parts.append(w.toolTip())
    return "\n".join(parts)


@pytest.fixture
def devices(qtbot: Any, tmp_path: Path) -> Any:
    made: list[App] = []

    def make(keys: Any, config: Path | None = None, **kw: Any) -> App:
        app = make_device(qtbot, tmp_path / f"device-{len(made)}", keys, config, **kw)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


def _workspace(tmp_path: Path) -> Path:
    return build_workspace(tmp_path / "ws")


def _as_owner(qtbot: Any, tmp_path: Path, devices: Any, **kw: Any) -> tuple[App, Path]:
    root = _workspace(tmp_path)
    owner = owner_of(root)
    app = devices(owner, _owner_config(), **kw)
    open_workspace(qtbot, app, root)
    return app, root


def _roster(qtbot: Any, app: App) -> Any:
    from twinreview.ui.roster import RosterDialog

    app.window.dialogs.show_roster()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, RosterDialog)
    qtbot.waitExposed(dialog)
    return dialog


def _people(dialog: Any) -> dict[str, tuple[str, ...]]:
    model = dialog.people_model
    return {
        model.index(r, 1).data(): tuple(
            model.index(r, c).data() for c in range(model.columnCount())
        )
        for r in range(model.rowCount())
    }


def _join(tmp_path: Path, root: Path, principal: str, role: str, models: tuple[str, ...]) -> Any:
    """Another laptop pins the owner and writes its signed join request."""
    keys = reviewer(tmp_path / principal.split("@")[0], principal, role)
    svc = RosterService(keys, TrustStore(tmp_path / f"{principal}-config"), Verifier(None, None))
    svc.trust_workspace(root)
    svc.request_join(root, models)
    return keys


# -- the Workspace menu --------------------------------------------------------------------------


def test_the_workspace_menu_has_the_owners_commands(qtbot: Any, tmp_path: Path, devices: Any):
    app, _ = _as_owner(qtbot, tmp_path, devices)
    menu = dict(MENUS)["&Workspace"]
    for name in ("export_report", "export_logs", "check_published", "rules"):
        assert name in menu, name
        assert app.window.acts[name].isEnabled(), name
    texts = [app.window.acts[n].text().replace("&", "") for n in menu if n]
    for text in ("Export report…", "Export logs…", "Check a published file…", "Workspace rules…"):
        assert text in texts


# -- the roster screen: add by key, remove, revoke, admin, several requests -----------------------


def test_add_a_person_by_pasting_the_line_their_identity_copied(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    from twinreview.ui.roster.add_person_dialog import AddPersonDialog

    app, root = _as_owner(qtbot, tmp_path, devices)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam Agent")
    ident = sam.current()
    assert ident is not None
    roster = _roster(qtbot, app)
    assert roster.add_button.isEnabled()
    roster.add_button.click()
    dialog = roster.child
    assert isinstance(dialog, AddPersonDialog)
    qtbot.waitExposed(dialog)
    dialog.key_edit.setPlainText(ident.allowed_signers_line())
    # The line names the person: the e-mail is filled in, the full key code shown.
    assert dialog.principal.text() == "sam@agency.example"
    assert ident.public_key.fingerprint in dialog.key_info.text()
    assert dialog.key_info.width() >= dialog.key_info.sizeHint().width()
    dialog.display_name.setText("Sam Agent")
    dialog.role.setCurrentIndex(dialog.role.findData("agent"))
    dialog.model_boxes["ava"].setChecked(True)
    _shot(dialog, "add-person.png")
    dialog.add_button.click()
    qtbot.waitUntil(lambda: "Added" in dialog.message.text(), timeout=10_000)
    qtbot.waitUntil(lambda: "sam@agency.example" in _people(roster), timeout=10_000)
    assert _people(roster)["sam@agency.example"][2:4] == ("Agent", "Ava")
    state = SignedRoster.load(root / "roster").current
    assert state is not None
    assert state.signer_allowed("sam@agency.example", ident.public_key)
    assert state.persons["sam@agency.example"].display_name == "Sam Agent"


def test_add_person_shows_a_bad_key_and_the_rosters_refusal_as_errors(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    app, root = _as_owner(qtbot, tmp_path, devices)
    ava = reviewer(tmp_path / "ava", "ava@models.example", "model", "Ava")
    enroll(root, ava, ("ava",))
    ident = ava.current()
    assert ident is not None
    roster = _roster(qtbot, app)
    roster.add_button.click()
    dialog = roster.child
    dialog.key_edit.setPlainText("ssh-rsa AAAAB3NzaC1yc2E")
    assert "ssh-ed25519" in dialog.key_info.text()
    assert "#b3261e" in dialog.key_info.styleSheet()  # said as an error
    assert not dialog.add_button.isEnabled()
    # Ava's key for somebody else: the signed roster refuses; its words are shown as an error.
    dialog.key_edit.setPlainText(ident.public_key.openssh())
    dialog.principal.setText("mallory@brand.example")
    dialog.display_name.setText("Mallory")
    dialog.role.setCurrentIndex(dialog.role.findData("brand"))
    assert dialog.add_button.isEnabled()
    dialog.add_button.click()
    qtbot.waitUntil(lambda: "Not added" in dialog.message.text(), timeout=10_000)
    assert "already belongs to ava@models.example" in dialog.message.text()
    assert "#b3261e" in dialog.message.styleSheet()
    state = SignedRoster.load(root / "roster").current
    assert state is not None and "mallory@brand.example" not in state.persons


def test_remove_revoke_and_make_admin_from_the_roster_screen(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    app, root = _as_owner(qtbot, tmp_path, devices)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    kim = reviewer(tmp_path / "kim", "kim@brand.example", "brand", "Kim")
    enroll(root, sam, ("ava",))
    enroll(root, kim, ("ava", "ben"))
    sam_fp = sam.current().public_key.fingerprint  # type: ignore[union-attr]
    roster = _roster(qtbot, app)
    qtbot.waitUntil(lambda: "kim@brand.example" in _people(roster))

    # Make Kim an admin: confirmed, then signed.
    assert roster.select_person("kim@brand.example")
    assert roster.admin_button.isEnabled()
    assert "admin" in roster.admin_button.text().replace("&", "").lower()
    roster.admin_button.click()
    box = roster.child
    assert isinstance(box, QMessageBox) and "Kim" in box.text()
    [ok] = [b for b in box.buttons() if "admin" in b.text().replace("&", "").lower()]
    ok.click()
    qtbot.waitUntil(lambda: _people(roster)["kim@brand.example"][5] == "Admin", timeout=10_000)

    # Revoke Sam's key: the full key code is shown, the revocation signed.
    assert roster.select_person("sam@agency.example")
    assert sam_fp in roster.person_details.text()
    roster.revoke_button.click()
    dialog = roster.child
    assert sam_fp in _texts(dialog)
    _shot(dialog, "revoke-key.png")
    dialog.revoke_button.click()
    qtbot.waitUntil(lambda: "Revoked" in roster.message.text(), timeout=10_000)
    state = SignedRoster.load(root / "roster").current
    assert state is not None and sam_fp in state.revoked

    # Remove Kim: confirmed, then signed; her past decisions keep counting.
    assert roster.select_person("kim@brand.example")
    roster.remove_button.click()
    box = roster.child
    assert isinstance(box, QMessageBox) and "keep counting" in box.text()
    [ok] = [b for b in box.buttons() if "remove" in b.text().replace("&", "").lower()]
    ok.click()
    qtbot.waitUntil(lambda: "kim@brand.example" not in _people(roster), timeout=10_000)
    state = SignedRoster.load(root / "roster").current
    assert state is not None and "kim@brand.example" not in state.persons
    # The owner cannot be removed: the button says why instead.
    assert roster.select_person("owner@brand.example")
    assert not roster.remove_button.isEnabled()
    assert "owner" in roster.remove_button.toolTip().lower()


def test_approve_several_join_requests_at_once(qtbot: Any, tmp_path: Path, devices: Any) -> None:
    app, root = _as_owner(qtbot, tmp_path, devices)
    for who in ("sam@agency.example", "kim@agency.example", "lee@agency.example"):
        _join(tmp_path, root, who, "agent", ("ava",))
    roster = _roster(qtbot, app)
    qtbot.waitUntil(lambda: roster.requests_model.rowCount() == 3)
    assert roster.select_requests(["sam@agency.example", "kim@agency.example"])
    assert "2" in roster.approve_button.text()
    _shot(roster, "roster-requests.png")
    roster.approve_button.click()
    qtbot.waitUntil(lambda: "Added 2" in roster.message.text(), timeout=20_000)
    qtbot.waitUntil(lambda: roster.requests_model.rowCount() == 1)
    people = _people(roster)
    assert "sam@agency.example" in people and "kim@agency.example" in people
    assert "lee@agency.example" not in people


def test_the_full_key_code_is_shown_not_cut(qtbot: Any, tmp_path: Path, devices: Any) -> None:
    app, root = _as_owner(qtbot, tmp_path, devices)
    keys = _join(tmp_path, root, "sam@agency.example", "agent", ("ava",))
    fp = keys.current().public_key.fingerprint
    roster = _roster(qtbot, app)
    roster.resize(1000, 700)
    qtbot.waitUntil(lambda: roster.requests_model.rowCount() == 1)
    assert roster.select_requests(["sam@agency.example"])
    # In the table: the key column is as wide as the code.
    view = roster.requests
    col = roster.requests_model.columnCount() - 1
    assert roster.requests_model.index(0, col).data() == fp
    needed = view.fontMetrics().horizontalAdvance(fp)
    assert view.columnWidth(col) >= needed, (view.columnWidth(col), needed)
    # Below it, the whole code in full, selectable, to read out to them.
    assert fp in roster.request_details.text()
    label = roster.request_details
    assert label.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    assert label.width() >= label.fontMetrics().horizontalAdvance(fp)


# -- the rules editor ------------------------------------------------------------------------


def test_rules_editor_says_each_setting_in_words_and_signs_the_change(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    from twinreview.ui.owner.policy_editor import PolicyEditor

    app, root = _as_owner(qtbot, tmp_path, devices)
    app.window.acts["rules"].trigger()
    editor = app.window.dialogs.current
    assert isinstance(editor, PolicyEditor)
    qtbot.waitExposed(editor)
    text = _texts(editor).lower()
    for words in (
        "AI disclosure a reviewer may approve",
        "fully disclosed",
        "A copy of the model's own real photo",
        "blocks approval",
        "Face check",
        "No signed rules",
    ):
        assert words.lower() in text, words
    # Key names and codes are for files, not for people.
    for code in ("near_copy_of_reference", "approvable", "disclosed_", "[similarity", "block\n"):
        assert code not in text, code
    assert not editor.sign_button.isEnabled()  # nothing changed yet
    editor.verdict_boxes["partial"].setChecked(False)
    combo = editor.controls[("similarity", "severity", "duplicate_in_batch")]
    combo.setCurrentIndex(combo.findData("warn"))
    assert editor.sign_button.isEnabled()
    assert "2 changes" in editor.changes.text()
    _shot(editor, "rules-editor.png")
    editor.sign_button.click()
    qtbot.waitUntil(lambda: "Signed" in editor.message.text(), timeout=10_000)
    shown = app.roster.show(root)
    assert shown["policy"]["set_by"] == "owner@brand.example"
    tables = shown["policy"]["tables"]
    assert tables["disclosure"]["approvable"] == ["disclosed"]
    assert tables["similarity"]["severity"] == {"duplicate_in_batch": "warn"}
    # The roster screen says it in words too.
    words = "AI disclosure a reviewer may approve: fully disclosed"
    qtbot.waitUntil(lambda: words in app.session.roster.policy, timeout=10_000)
    qtbot.waitUntil(lambda: app.session.approvable == frozenset({"disclosed"}), timeout=10_000)


def test_rules_editor_is_read_only_for_a_reviewer(qtbot: Any, tmp_path: Path, devices: Any):
    from twinreview.ui.owner.policy_editor import PolicyEditor

    root = _workspace(tmp_path)
    owner_of(root)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    enroll(root, sam, ("ava",))
    roster_service(sam).trust_workspace(root)
    app = devices(sam, _owner_config())
    open_workspace(qtbot, app, root)
    app.window.acts["rules"].trigger()
    editor = app.window.dialogs.current
    assert isinstance(editor, PolicyEditor)
    editor.verdict_boxes["missing"].setChecked(True)
    assert not editor.sign_button.isEnabled()
    assert "owner" in editor.why_not.text().lower()


# -- exports and checks ------------------------------------------------------------------------


def test_export_report_off_the_gui_thread_with_a_result_screen(
    qtbot: Any, tmp_path: Path, devices: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import twinreview.services.report.write as report_write
    from twinreview.ui.owner.report_dialog import ReportDialog

    threads: list[threading.Thread] = []
    real = report_write.make_report

    def spy(*args: Any, **kw: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kw)

    monkeypatch.setattr(report_write, "make_report", spy)
    app, _ = _as_owner(qtbot, tmp_path, devices, threads=True, real_scan=True)
    app.window.acts["export_report"].trigger()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, ReportDialog)
    out = tmp_path / "report.html"
    dialog.html.edit.setText(str(out))
    dialog.csv.setChecked(True)
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert threads and threads[0] is not threading.main_thread()
    assert dialog.error_text == ""
    assert out.is_file() and "<html" in out.read_text(encoding="utf-8").lower()
    assert out.with_suffix(".csv").is_file()
    text = dialog.summary.text()
    assert str(out) in text and "4 images" in text
    _shot(dialog, "export-report.png")


def test_export_logs_signs_an_export_anyone_can_check(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    from twinreview.ui.owner.export_dialog import ExportLogsDialog

    app, root = _as_owner(qtbot, tmp_path, devices, threads=True)
    app.window.acts["export_logs"].trigger()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, ExportLogsDialog)
    out = tmp_path / "export"
    dialog.folder.edit.setText(str(out))
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert dialog.error_text == ""
    heads = read_export_heads(out)  # the heads are signed by a key on the exported roster
    assert heads.workspace_id == SignedRoster.load(root / "roster").workspace_id
    assert "ssh-keygen" in dialog.summary.text() and str(out) in dialog.summary.text()
    _shot(dialog, "export-logs.png")
    # A second export into the same (now full) folder is refused, as an error, in words.
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert "not an empty folder" in dialog.error_text
    assert "#b3261e" in dialog.summary.styleSheet()


def test_check_a_published_file_in_the_app(qtbot: Any, tmp_path: Path, devices: Any) -> None:
    from publish_helpers import CLEARED, build_publish_ws
    from twinreview.core.workspace import Workspace
    from twinreview.services.export import export_workspace
    from twinreview.services.publish.publisher import publish_workspace
    from twinreview.services.publish.signer import load_credentials
    from twinreview.ui.owner.check_dialog import CheckPublishedDialog

    pw = build_publish_ws(tmp_path / "pub")
    out = tmp_path / "published"
    publish_workspace(
        Workspace.open(pw.root), out, load_credentials(pw.chain, pw.key), register=pw.register()
    )
    export = tmp_path / "export"
    identity, key = pw.agent.signer()
    export_workspace(pw.root, export, identity, key)
    app = devices(pw.agent, _owner_config(), threads=True)
    open_workspace(qtbot, app, pw.root)

    app.window.acts["check_published"].trigger()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, CheckPublishedDialog)
    good = out / CLEARED[0].removeprefix("assets/")
    dialog.set_files([good])
    dialog.export.edit.setText(str(export))
    dialog.check_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    text = dialog.result_text()
    assert "Approved" in text and "sam@agency.example" in text and "ava@example.com" in text
    _shot(dialog, "check-published.png")

    # A file whose pixels changed after publishing: said as a failure, in words.
    bad = tmp_path / "edited.jpg"
    data = bytearray(good.read_bytes())
    data[-200] ^= 0xFF
    bad.write_bytes(bytes(data))
    dialog.set_files([bad])
    dialog.check_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert "Not confirmed" in dialog.result_text()
    assert not _TECHNICAL.search(dialog.result_text())

    # A sign-off signed with the brand's key that names only Ava's approval of an image Sam
    # never approved: not cleared in the export, said in words.
    import hashlib

    from publish_helpers import PENDING, decision_ref, forge, manifest_assertion
    from twinreview.core.publish.imagedigest import image_digest
    from twinreview.core.publish.signoff import LABEL
    from twinreview.core.publish.xmpwrite import main_packet, put_main_packet
    from twinreview.services.publish.publisher import METADATA

    genuine = good.read_bytes()
    pending = (pw.root / PENDING).read_bytes()
    signoff = manifest_assertion(genuine, LABEL)
    signoff.update(
        asset=PENDING,
        asset_sha256=hashlib.sha256(pending).hexdigest(),
        image_digest=image_digest(pending),
        sidecar_sha256=None,
        decisions=[decision_ref(pw, PENDING, "model")],
    )
    forged = tmp_path / "pending.jpg"
    forged.write_bytes(
        forge(
            put_main_packet(pending, "jpeg", main_packet(genuine, "jpeg") or b""),
            [
                {"label": LABEL, "data": signoff},
                {"label": METADATA, "data": manifest_assertion(genuine, METADATA)},
            ],
            pw.pki,
        )
    )
    dialog.set_files([forged])
    dialog.check_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    text = dialog.result_text()
    assert "Not confirmed" in text and "not cleared in the export" in text, text
    assert "the model's consent requires an approval by the agent, and none stands" in text
    assert not _TECHNICAL.search(text), text
    _shot(dialog, "check-published-not-cleared.png")


def test_check_a_published_file_compares_a_labelled_copy_with_the_open_workspace(
    qtbot: Any, tmp_path: Path, devices: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from publish_helpers import CLEARED, build_publish_ws
    from twinreview.core.workspace import Workspace
    from twinreview.services.export import export_workspace
    from twinreview.services.publish import check as publish_check
    from twinreview.services.publish.publisher import PublishOptions, publish_workspace
    from twinreview.services.publish.signer import load_credentials
    from twinreview.ui.owner.check_dialog import CheckPublishedDialog

    pw = build_publish_ws(tmp_path / "pub")
    out = tmp_path / "labelled"
    publish_workspace(
        Workspace.open(pw.root),
        out,
        load_credentials(pw.chain, pw.key),
        register=pw.register(),
        assets=[CLEARED[0]],
        options=PublishOptions(label=True),
    )
    export = tmp_path / "export"
    identity, key = pw.agent.signer()
    export_workspace(pw.root, export, identity, key)
    app = devices(pw.agent, _owner_config(), threads=True)
    open_workspace(qtbot, app, pw.root)
    app.window.acts["check_published"].trigger()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, CheckPublishedDialog)
    # The open workspace is where the approved files are: it is the default.
    assert dialog.workspace.path() == pw.root
    dialog.set_files([out / CLEARED[0].removeprefix("assets/")])
    dialog.export.edit.setText(str(export))

    def check() -> str:
        dialog.check_button.click()
        qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
        return dialog.result_text()

    text = check()
    assert "Approved" in text and "every other pixel was compared" in text, text
    # Whose export: its workspace and owner key, pinned on this device.
    assert text.startswith("The export is of workspace 'Publish test'"), text
    assert text.splitlines()[0].endswith(": pinned on this device."), text
    assert dialog.summary.text().startswith("Confirmed: 1 of 1"), dialog.summary.text()
    _shot(dialog, "check-published-labelled.png")
    # On a device that never pinned that owner: said first, in words, and in the summary.
    from twinreview.services.trust import TrustStore

    fingerprint = text.splitlines()[0].split(" with key ")[1].split(":")[0:2]
    owner_key = ":".join(fingerprint)
    with monkeypatch.context() as mp:
        mp.setattr(TrustStore, "pinned", lambda self, ws_id: None)
        text = check()
        first = text.splitlines()[0]
        assert "not pinned on this device" in first and f"check {owner_key} with the brand" in first
        assert "type it under Owner key" in first and not _TECHNICAL.search(text), text
        assert "Approved" in text
        said = dialog.summary.text()
        assert "not trusted on this device" in said and "Confirmed: " not in said, said
        _shot(dialog, "check-published-unpinned-owner.png")
        dialog.owner.setText(owner_key)
        text = check()
        assert text.splitlines()[0].endswith(": the owner key typed under Owner key."), text
        assert dialog.summary.text().startswith("Confirmed: 1 of 1")
        dialog.owner.setText("SHA256:" + "B" * 43)
        check()
        assert "not the one typed under Owner key" in dialog.error_text, dialog.error_text
        assert not _TECHNICAL.search(dialog.error_text), dialog.error_text
        dialog.owner.setText("")
    # Without a workspace the pixels outside the label are not compared; said in the app's words.
    dialog.workspace.edit.setText("")
    text = check()
    assert "were not compared" in text and not _TECHNICAL.search(text), text

    # An export whose signed rules name no trust anchor: the auditor chooses the brand's CA.
    monkeypatch.setattr(publish_check, "export_anchors", lambda roster: [])
    dialog.workspace.edit.setText(str(pw.root))
    text = check()
    assert "Not confirmed" in text and "no trust anchor" in text, text
    assert not _TECHNICAL.search(text), text
    assert "Trust anchor" in text  # where to choose one
    ca = tmp_path / "brand-ca.pem"
    ca.write_bytes(pw.pki.ca_pem)
    dialog.anchor.edit.setText(str(ca))
    text = check()
    assert "Approved" in text, text
    # A file that is no certificate: refused in words, nothing checked.
    bad = tmp_path / "not-a-cert.pem"
    bad.write_text("hello")
    dialog.anchor.edit.setText(str(bad))
    dialog.check_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
    assert "holds no PEM certificate" in dialog.error_text, dialog.error_text
    assert not _TECHNICAL.search(dialog.error_text), dialog.error_text


# -- first run: identity, then create a workspace ----------------------------------------------


def test_after_creating_an_identity_the_owner_is_told_how_to_create_a_workspace(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    from decision_helpers import MemoryKeyring
    from twinreview.services.keys import IdentityStore, KeyService, KeyStore

    keys = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(tmp_path / "id")
    )
    app = devices(keys)
    app.window.dialogs.show_identity()
    dialog = app.window.dialogs.current
    dialog.principal.setText("olga@brand.example")
    dialog.display_name.setText("Olga")
    dialog.role.setCurrentIndex(dialog.role.findData("brand"))
    dialog.create_button.click()
    qtbot.waitUntil(lambda: dialog.done_identity is not None, timeout=10_000)
    said = dialog.message.text()
    assert "Create workspace" in said and "Join this workspace" in said
    assert not _TECHNICAL.search(said), said
    _shot(dialog, "identity-created.png")


def test_creating_a_workspace_asks_for_its_name(qtbot: Any, tmp_path: Path, devices: Any) -> None:
    from decision_helpers import MemoryKeyring
    from twinreview.services.keys import IdentityStore, KeyService, KeyStore
    from twinreview.ui.owner.create_dialog import CreateWorkspaceDialog

    keys = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(tmp_path / "id")
    )
    keys.init("olga@brand.example", "Olga", "brand")
    app = devices(keys)
    app.session.set_identity(app.backend.load_identity(), None)
    app.window.acts["create"].trigger()
    dialog = app.window.dialogs.current
    assert isinstance(dialog, CreateWorkspaceDialog)
    folder = tmp_path / "spring-26"
    dialog.folder.edit.setText(str(folder))
    assert dialog.name.text() == "spring-26"  # a suggestion from the folder, to overwrite
    dialog.name.setText("Spring campaign 2026")
    _shot(dialog, "create-workspace.png")
    dialog.create_button.click()
    qtbot.waitUntil(lambda: app.session.workspace is not None, timeout=10_000)
    roster = SignedRoster.load(folder / "roster")
    assert roster.name == "Spring campaign 2026"
    assert roster.owner == "olga@brand.example"
    assert "Spring campaign 2026" in app.window.windowTitle()


# -- errors in plain words -----------------------------------------------------------------------


def test_no_keyring_is_said_without_class_names_variables_or_options(
    qtbot: Any, tmp_path: Path, devices: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from keyring.backends import fail

    from twinreview.services.keys import KeyringRefused, check_backend
    from twinreview.ui.app_errors import keyring_problem

    with pytest.raises(KeyringRefused) as refused:
        check_backend(fail.Keyring())
    assert "PYTHON_KEYRING_BACKEND" in str(refused.value)  # the CLI's own advice
    reason = keyring_problem(refused.value)
    assert not _TECHNICAL.search(reason), reason
    assert "keyring" in reason.lower()
    app = devices(reason)
    app.session.set_identity(None, reason)
    app.window.dialogs.show_identity()
    dialog = app.window.dialogs.current
    said = dialog.message.text()
    assert "cannot be stored safely" in said and "What to do" in said
    assert not _TECHNICAL.search(said), said
    assert "#b3261e" in dialog.message.styleSheet()
    assert not _TECHNICAL.search(app.window.welcome.identity.text())
    _shot(dialog, "no-keyring.png")


@pytest.mark.parametrize(
    "message",
    [
        "this workspace has no signed roster; the owner runs 'twinreview init' (or 'twinreview "
        "roster migrate')",
        "this device has not pinned this workspace's owner yet; check the key SHA256:abc with "
        "the owner, then run 'twinreview trust /tmp/ws'",
        "no signing key: give --signer-key KEY.pem or import it once with 'twinreview keys "
        "import-c2pa'",
        "the keyring (SecretService) holds no signing key for the certificate CN=Brand; import "
        "it with 'twinreview keys import-c2pa' or give --signer-key",
        "no reviewer key on this device; create one with 'twinreview keys init --principal "
        "EMAIL --name NAME --role ROLE'",
        "the signed roster does not list sam@agency.example with this device's key SHA256:x; "
        "ask to join ('twinreview roster add WS --self' writes a request the owner approves)",
        "waiting for the model's consent ('twinreview consent', signed by her)",
        "the last line of sam.dlog is damaged; run 'twinreview verify'",
        "logs/x.dlog failed verification (bad_signature): decisions in it cannot be trusted; "
        "see 'twinreview verify'.",
        "this device does not trust this workspace yet (owner o@b.c SHA256:x); check the "
        "fingerprint with the owner, then run 'twinreview trust WS'",
        "KeyError",
        "",
    ],
)
def test_service_messages_are_said_in_the_apps_words(message: str) -> None:
    from twinreview.ui.app_errors import app_message

    said = app_message(message)
    assert said and not _TECHNICAL.search(said), said


def test_publishing_without_a_key_says_what_to_do_and_forgets_the_last_file(
    qtbot: Any, tmp_path: Path
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from decision_helpers import MemoryKeyring
    from publish_helpers import build_publish_ws
    from twinreview.core.workspace import Workspace
    from twinreview.services.keys import KeyStore
    from twinreview.services.publish.signer import C2paKeyStore
    from twinreview.ui.bridge import Bridge
    from twinreview.ui.publish_dialog import PublishDialog

    pw = build_publish_ws(tmp_path / "pub")
    pool = ThreadPoolExecutor(max_workers=2)
    bridge = Bridge(pool)
    try:
        store = C2paKeyStore(KeyStore(MemoryKeyring(), allow_untrusted_backend=True))
        dialog = PublishDialog(
            Workspace.open(pw.root), bridge, 3, keystore=lambda: store, register=pw.register
        )
        qtbot.addWidget(dialog)
        dialog.outdir.edit.setText(str(tmp_path / "out"))
        dialog.cert.edit.setText(str(pw.chain))
        dialog.key.edit.setText(str(pw.key))
        dialog.show()
        dialog.publish_button.click()
        qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
        assert dialog.files.count() == 3
        assert "Sign-off" in dialog.credentials.toPlainText()
        # The way to check it is the app's own, not a command line.
        assert "Check a published file" in dialog.credentials.toPlainText()
        assert not _TECHNICAL.search(dialog.credentials.toPlainText())
        # Again, with no key file and none in the keyring (and into the same, full folder).
        dialog.key.edit.setText("")
        dialog.publish_button.click()
        qtbot.waitUntil(lambda: not dialog.running, timeout=60_000)
        said = dialog.error_text
        assert said and not _TECHNICAL.search(said), said
        assert "Private key" in said
        assert "#b3261e" in dialog.summary.styleSheet()
        assert dialog.files.count() == 0
        assert "Sign-off" not in dialog.credentials.toPlainText()
        assert "look.jpg" not in dialog.credentials.toPlainText()
        _shot(dialog, "publish-no-key.png")
    finally:
        bridge.close()
        pool.shutdown(wait=True)


# -- the rest of `twinreview roster`: repair, accept, migrate ----------------------------------


def _unauthorised_roster_line(root: Path, keys: Any) -> None:
    """What a hostile writer can do: sign any entry with their own key and append it."""
    from decision_helpers import T0
    from twinreview.core.roster.write import build_roster_line

    ident, key = keys.signer()
    roster = SignedRoster.load(root / "roster")
    state = roster.current
    assert state is not None
    _, line = build_roster_line(
        key,
        ident.principal,
        seq=state.seq + 1,
        prev=state.head_hash,
        ts=T0,
        kind="policy",
        fields={"policy": {"disclosure": {"approvable": ["missing"]}}},
        workspace_id=roster.workspace_id,
    )
    with (root / "roster" / "roster.dlog").open("ab") as fh:
        fh.write(line)


def test_the_owner_sets_aside_bad_roster_lines_from_the_roster_screen(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    root = _workspace(tmp_path)
    owner = owner_of(root)
    kim = reviewer(tmp_path / "kim", "kim@brand.example", "brand", "Kim")
    enroll(root, kim, ("ava",))
    _unauthorised_roster_line(root, kim)  # Kim is no admin: this line never counts
    app = devices(owner, _owner_config())
    open_workspace(qtbot, app, root)
    roster = _roster(qtbot, app)
    assert roster.problems.isVisible()
    assert roster.repair_button.isVisible() and roster.repair_button.isEnabled()
    roster.repair_button.click()
    box = roster.child
    assert isinstance(box, QMessageBox)
    [ok] = [b for b in box.buttons() if "set aside" in b.text().replace("&", "").lower()]
    ok.click()
    qtbot.waitUntil(lambda: "Set aside" in roster.message.text(), timeout=10_000)
    assert SignedRoster.load(root / "roster").ok
    assert list((root / "roster").glob("roster.dlog.rejected-*"))
    qtbot.waitUntil(lambda: not roster.repair_button.isVisible(), timeout=10_000)


def test_the_owner_accepts_a_lost_laptops_log_from_the_roster_screen(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    from decision_helpers import decider

    root = _workspace(tmp_path)
    owner = owner_of(root)
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    kim = reviewer(tmp_path / "kim", "kim@brand.example", "brand", "Kim")
    enroll(root, sam, ("ava",))
    enroll(root, kim, ("ava",))
    decider(sam).decide(Workspace.open(root), "assets/ava/look1.jpg", "approve")
    decider(kim).decide(Workspace.open(root), "assets/ava/look1.jpg", "approve")  # saw Sam's
    sam_fp = sam.current().public_key.fingerprint  # type: ignore[union-attr]
    for log in (root / "logs").glob("sam*"):
        log.unlink()  # his laptop was lost before it synced again
    app = devices(owner, _owner_config())
    open_workspace(qtbot, app, root)
    roster = _roster(qtbot, app)
    qtbot.waitUntil(lambda: sam_fp in roster.gaps_text(), timeout=10_000)
    assert roster.accept_button.isEnabled()
    roster.accept_button.click()
    box = roster.child
    assert isinstance(box, QMessageBox) and sam_fp in box.text()
    [ok] = [b for b in box.buttons() if "accept" in b.text().replace("&", "").lower()]
    ok.click()
    qtbot.waitUntil(lambda: "Accepted" in roster.message.text(), timeout=10_000)
    state = SignedRoster.load(root / "roster").current
    assert state is not None and sam_fp in state.accepted


def test_make_me_the_owner_takes_a_plain_roster_over(
    qtbot: Any, tmp_path: Path, devices: Any
) -> None:
    from twinreview.core.roster.people import Person, format_allowed_signer, format_people

    root = _workspace(tmp_path)
    me = reviewer(tmp_path / "me", "owner@brand.example", "brand", "Olga")
    sam = reviewer(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    # A plain roster as hand-written files (no authority until it is taken over).
    signers, people = [], []
    for keys, models in ((me, ()), (sam, ("ava",))):
        ident = keys.current()
        signers.append(format_allowed_signer(ident.principal, ident.public_key) + "\n")
        people.append(Person(ident.principal, ident.display_name, ident.role, models))
    (root / "roster").mkdir(exist_ok=True)
    (root / "roster" / "allowed_signers").write_text("".join(signers))
    (root / "roster" / "people.toml").write_text(format_people(people))
    app = devices(me)
    open_workspace(qtbot, app, root)
    banner = app.window.trust_banner
    assert banner.owner_button.isVisible()
    banner.owner_button.click()
    box = app.window.dialogs.current
    assert isinstance(box, QMessageBox)
    [ok] = [b for b in box.buttons() if "owner" in b.text().lower()]
    ok.click()
    qtbot.waitUntil(lambda: app.session.trust is not None and app.session.trust.ok)
    state = SignedRoster.load(root / "roster").current
    assert state is not None and state.owner == "owner@brand.example"
    assert "sam@agency.example" in state.persons
