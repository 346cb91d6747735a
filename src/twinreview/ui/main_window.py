"""The main window: the pages, the toolbar and menus, and what ties them to the session.

Its parts live in their own modules: the commands in an action table (:mod:`.actions`), one
module per page (:mod:`.welcome_page`, :mod:`.review_page`, :mod:`.simple_page`, the last two
behind the :class:`~twinreview.ui.page.AssetPage` interface), what the compare views show
(:mod:`.compare_flow`), the decide flow (:mod:`.decide_flow`), the dialogs
(:mod:`.window_dialogs`), the status bar (:mod:`.status_line`) and every sentence and enabled
state that depends on the session (:mod:`.window_texts`, no Qt).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import shiboken6
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QMainWindow, QStackedWidget, QVBoxLayout, QWidget

from twinreview.core.errors import one_line
from twinreview.core.workspace import Workspace
from twinreview.ui import window_texts as texts
from twinreview.ui.actions import (
    build_actions,
    build_toolbar,
    fill_menus,
    filter_action,
    other_keys,
    show_simple_menus,
)
from twinreview.ui.compare_flow import CompareFlow
from twinreview.ui.compare_view import CompareMode, CompareView
from twinreview.ui.decide_flow import DecideFlow
from twinreview.ui.items import AssetItem
from twinreview.ui.loader import ImageLoader, ThumbnailProvider
from twinreview.ui.log_notices import LogNotices
from twinreview.ui.owner.screens import OwnerScreens
from twinreview.ui.page import AssetPage
from twinreview.ui.queue_model import QueueFilter, QueueModel
from twinreview.ui.resources import app_icon
from twinreview.ui.review_page import ReviewPage
from twinreview.ui.roster import TrustBanner
from twinreview.ui.session import ReviewSession
from twinreview.ui.simple_page import SimplePage
from twinreview.ui.status_line import StatusLine
from twinreview.ui.welcome_page import WelcomePage
from twinreview.ui.window_dialogs import WindowDialogs
from twinreview.ui.window_state import restore_layout, save_layout

PAGE_WELCOME, PAGE_REVIEW, PAGE_SIMPLE = range(3)


class MainWindow(QMainWindow):
    """The app window. Takes its collaborators; builds nothing global."""

    def __init__(
        self,
        session: ReviewSession,
        loader: ImageLoader,
        thumbnails: ThumbnailProvider,
        settings: QSettings,
        *,
        build_demo: Callable[[], Path] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.loader = loader
        self.thumbnails = thumbnails
        self.settings = settings
        self._build_demo = build_demo
        self.setWindowTitle("twinreview")
        self.setWindowIcon(app_icon())
        self._refreshing = False  # a refresh of the asset on screen is scheduled
        self.acts: dict[str, QAction] = build_actions(self, self._slots())
        for a in self.acts.values():
            self.addAction(a)

        # A model per page: each keeps its rows in its page's order, so filters never sort.
        self.model = QueueModel(session, thumbnails, self)
        self.simple_model = QueueModel(session, thumbnails, self)
        # The review page (queue, compare view, findings, decision bar) and simple mode (the
        # reviewer's own assets, large, plain words, two buttons).
        self.review = ReviewPage(
            self.model, CompareView(loader, thumbnails), self.acts, thumbnails.size
        )
        self.simple_page = SimplePage(
            self.simple_model, CompareView(loader, thumbnails, simple=True), self.acts
        )
        self.welcome = WelcomePage(
            [self.acts["open"], self.acts["create"], self.acts["demo"], self.acts["identity"]]
        )
        self.pages = QStackedWidget()
        for page in (self.welcome, self.review, self.simple_page):
            self.pages.addWidget(page)
        self.review.current_changed.connect(self._show_current)
        self.simple_page.current_changed.connect(self._show_current)
        self.review.selection_changed.connect(self._on_selection)
        self.simple_page.view.reference_changed.connect(self._on_simple_reference)
        self.compare_flow = CompareFlow(
            session,
            thumbnails,
            (self.review, self.simple_page),
            self.review.findings,
            self.acts,
            self._page,
            self,
        )
        self.status_line = StatusLine(self.statusBar(), self.acts["cancel_scan"], session)
        self.dialogs = WindowDialogs(session, self, self.status_line.say, self)
        self.dialogs.identity_closed = self._on_trust_changed
        #: The owner's screens: rules, report, export, check, create (their own modules).
        self.owner = OwnerScreens(session, self, self.dialogs.open, self.status_line.say)
        # Who may sign here: an owner not trusted yet, a replaced owner, no roster, not on it.
        self.trust_banner = TrustBanner()
        self.trust_banner.trust_requested.connect(self.dialogs.ask_trust)
        self.trust_banner.owner_requested.connect(self.dialogs.make_owner)
        self.trust_banner.join_requested.connect(self.dialogs.show_join)
        self.trust_banner.consent_requested.connect(self.dialogs.show_consent)
        central = QWidget()
        cv = QVBoxLayout(central)
        cv.setContentsMargins(0, 0, 0, 0)  # the pages keep their own margins and minimum size
        cv.setSpacing(0)
        cv.addWidget(self.trust_banner)
        # Signed lines the workspace lost (with the button that puts them back), key resets.
        self.log_notices = LogNotices()
        self.log_notices.restore_requested.connect(session.restore_signed)
        session.statuses_refreshed.connect(
            lambda: self.log_notices.show_for(session, simple=self.is_simple())
        )
        session.restored.connect(lambda text: self.say(texts.restored_text(text, self.is_simple())))
        cv.addWidget(self.log_notices)
        cv.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        self.toolbar = build_toolbar(self.acts)
        self.addToolBar(self.toolbar)
        fill_menus(self.menuBar(), self.acts)
        #: Approve, reject, batches, withdraw, undo (its own module).
        self.decide = DecideFlow(session, self, self)
        session.workspace_opened.connect(self._on_workspace_opened)
        session.workspace_failed.connect(self._on_workspace_failed)
        session.scan_progress.connect(self.status_line.scan_progress)
        session.scan_finished.connect(self._on_scan_finished)
        session.items_changed.connect(self._on_items_changed)
        session.identity_changed.connect(self._on_identity_changed)
        session.statuses_refreshed.connect(self._on_statuses_refreshed)
        session.trust_changed.connect(self._on_trust_changed)
        session.roster_changed.connect(self._on_roster_changed)
        self.pages.setCurrentIndex(PAGE_WELCOME)
        restore_layout(self.settings, self, self.review)
        self._update_actions()
        last = self.settings.value("last_workspace", "")
        self.welcome.recent.setText(f"Last workspace: {last}" if last else "")

    # -- commands -------------------------------------------------------------------------------

    def _slots(self) -> dict[str, Callable[[], None]]:
        """What each command of the action table does, by id (one line each)."""
        # The compare flow and the pages are built after the actions: looked up when called.
        flow, view = self._flow, self._view
        return {
            "open": lambda: self.dialogs.choose_folder(
                "Open a twinreview workspace", self.open_workspace
            ),
            "create": self.create_workspace,
            "demo": self.open_demo,
            "rescan": self.session.start_scan,
            "cancel_scan": self.session.cancel_scan,
            "quit": self._quit,
            "approve": lambda: self.decide.approve(),
            "reject": lambda: self.decide.reject(),
            "undo": lambda: self.decide.undo(),
            "withdraw": lambda: self.decide.withdraw(),
            "compare_two": self.compare_selected,
            "next": lambda: self.step(1),
            "previous": lambda: self.step(-1),
            "side": lambda: flow().set_mode(CompareMode.SIDE_BY_SIDE),
            "wipe": lambda: flow().set_mode(CompareMode.WIPE),
            "difference": lambda: flow().set_mode(CompareMode.DIFFERENCE),
            "flip": lambda: flow().flip(),
            "swap": lambda: flow().swap(),
            "evidence": lambda: flow().toggle_evidence(),
            "faces": lambda: flow().toggle_faces(),
            "fit": lambda: view().fit(),
            "actual": lambda: view().actual_size(),
            "zoom_in": lambda: view().zoom_by(1.25),
            "zoom_out": lambda: view().zoom_by(0.8),
            "next_ref": lambda: view().step_reference(1),
            "prev_ref": lambda: view().step_reference(-1),
            "wipe_left": lambda: self.review.view.nudge_wipe(-0.05),
            "wipe_right": lambda: self.review.view.nudge_wipe(0.05),
            "ref_left": lambda: view().pan(0.02, 0, local=True),
            "ref_right": lambda: view().pan(-0.02, 0, local=True),
            "ref_up": lambda: view().pan(0, 0.02, local=True),
            "ref_down": lambda: view().pan(0, -0.02, local=True),
            "simple": self.toggle_simple,
            "identity": lambda: self.dialogs.show_identity(),
            "roster": lambda: self.dialogs.show_roster(),
            "consent": lambda: self.dialogs.show_consent(""),
            "publish": lambda: self.dialogs.show_publish(),
            "published": lambda: self.dialogs.show_published(simple=self.is_simple()),
            "rules": lambda: self.owner.edit_rules(),
            "export_report": lambda: self.owner.export_report(),
            "export_logs": lambda: self.owner.export_logs(),
            "check_published": lambda: self.owner.check_published(),
            "search": lambda: self.review.search.setFocus(),
            **{filter_action(mode): partial(self._filter_key, mode) for mode in QueueFilter},
            "shortcuts": self.show_shortcuts,
        }

    def _quit(self) -> None:
        self.close()

    def _filter_key(self, mode: QueueFilter) -> None:
        self.review.filter_from_key(mode)

    def _flow(self) -> CompareFlow:
        return self.compare_flow

    def _view(self) -> CompareView:
        return self._page().view

    def show_shortcuts(self) -> None:
        """Show the shortcut sheet."""
        self.dialogs.show_shortcuts(list(self.acts.values()), other_keys())

    # -- workspace ------------------------------------------------------------------------------

    def open_demo(self) -> None:
        """Build the demo workspace (in the background) and open it."""
        if self._build_demo is None:
            return
        self.status_line.say("Building the demo workspace…")
        self.session.bridge.submit(
            self._build_demo,
            on_done=self.open_workspace,
            on_error=lambda e: self._on_workspace_failed(f"cannot build the demo: {e}"),
        )

    def open_workspace(self, path: Path) -> None:
        """Open a workspace folder."""
        self.status_line.say(f"Opening {path}…")
        self.session.open_workspace(path)

    def create_workspace(self) -> None:
        """Choose a folder for a new workspace; this device's key becomes its owner."""
        if self.session.identity is None:
            self.status_line.say(
                "Create your identity first: the new workspace is signed with your key."
            )
            self.dialogs.show_identity()
            return
        self.owner.create_workspace(self.create_workspace_at)

    def create_workspace_at(self, path: Path, name: str = "") -> None:
        """Make ``path`` a workspace owned by this device's key, then open it."""
        name = name or path.name
        self.status_line.say(f"Creating the workspace “{name}”…")

        def done(_: object) -> None:
            self.status_line.say(
                f"Created “{name}”: you are its owner. Put the models' real photos in "
                "models/<id>/references and the generated images in assets/<id>/."
            )
            self.open_workspace(path)

        def failed(exc: BaseException) -> None:
            self.dialogs.error("Workspace not created", one_line(exc))

        self.session.bridge.submit(
            self.session.backend.create_workspace, path, name, on_done=done, on_error=failed
        )

    def _on_workspace_opened(self, ws: Workspace) -> None:
        self.setWindowTitle(f"{ws.name} — twinreview")
        self.settings.setValue("last_workspace", str(ws.root))
        self.loader.cancel_all()
        self.loader.cache.clear()
        self.thumbnails.clear()
        self.compare_flow.clear()
        self.pages.setCurrentIndex(PAGE_SIMPLE if self.acts["simple"].isChecked() else PAGE_REVIEW)
        self._apply_simple_filter()
        self.review.set_models(texts.model_names(ws))
        self.review.set_kinds(self.session.items)
        self.review.proxy.set_approvable(self.session.approvable)
        self.status_line.say(texts.opened_text(self.session.state))
        self._page().select_first()
        if not self.is_simple():
            self.review.table.setFocus(Qt.FocusReason.OtherFocusReason)  # keyboard first

    def _on_workspace_failed(self, message: str) -> None:
        self.status_line.say(message)
        if self.pages.currentIndex() == PAGE_WELCOME:
            self.welcome.error.setText(message)

    # -- what the session says ------------------------------------------------------------------

    def _on_scan_finished(self, cancelled: bool) -> None:
        self.status_line.scan_finished(cancelled)
        self.review.set_kinds(self.session.items)
        if not cancelled:
            self.compare_flow.forget_verified()
        # Findings re-sort the queue; the asset on screen stays on screen (the reviewer keeps
        # their place). Only an empty view starts at the top.
        if self._page().is_empty():
            self._page().select_first()
        else:
            self.review.scroll_to_current()

    def _on_items_changed(self, rels: list[str]) -> None:
        current = self.compare_flow.current_rel
        if current is not None and current in rels and not self._refreshing:
            # Redrawn in its own event-loop turn, not in the slice that brought it (short turns).
            self._refreshing = True
            QTimer.singleShot(0, self._refresh_current)
        self.review.update_count()

    def _refresh_current(self) -> None:
        if shiboken6.isValid(self):  # not deleted before this deferred turn came
            self._refreshing = False
            self._show_current(keep_reference=True)

    def _on_statuses_refreshed(self) -> None:
        banner = texts.log_banner(self.session.state)
        self.review.banner.setText(banner or "")
        self.review.banner.setVisible(banner is not None)

    def _on_identity_changed(self) -> None:
        identity = self.session.identity
        if identity is not None:
            self.acts["identity"].setToolTip(
                f"{texts.identity_line(identity, None)}: show your key line again"
            )
        self.welcome.identity.setText(texts.identity_line(identity, self.session.read_only_reason))
        self._apply_simple_filter()
        self.review.proxy.set_principal(identity.principal if identity is not None else None)
        self._update_actions()
        item = self.current_item()
        if item is not None:
            self._update_decision_label(item)

    def _on_trust_changed(self) -> None:
        self.trust_banner.show_for(self.session)
        self._update_actions()
        self.dialogs.trust_changed()

    def _on_roster_changed(self) -> None:
        self.trust_banner.show_for(self.session)
        self.review.proxy.set_approvable(self.session.approvable)
        self._update_actions()

    # -- navigation -----------------------------------------------------------------------------

    def _page(self) -> AssetPage:
        """The page showing assets now (simple mode or the review page)."""
        return self.simple_page if self.pages.currentIndex() == PAGE_SIMPLE else self.review

    def current_item(self) -> AssetItem | None:
        """The asset on screen."""
        if self.pages.currentIndex() == PAGE_WELCOME:
            return None
        return self._page().current_item()

    def select_asset(self, rel: str) -> bool:
        """Show the asset ``rel`` (in the visible queue); False when it is not in it."""
        return self._page().select(rel)

    def step(self, delta: int) -> None:
        """Move to the next (+1) or previous (-1) asset of the visible queue."""
        self._page().step(delta)

    def has_next(self) -> bool:
        """True when an asset follows the current one in the visible queue."""
        return self._page().neighbour(1) is not None

    def selected_items(self) -> list[AssetItem]:
        """The assets selected in the queue (review page), in queue order."""
        if self.pages.currentIndex() != PAGE_REVIEW:
            return []
        return self.review.selected_items()

    def is_simple(self) -> bool:
        """True in simple mode."""
        return self.pages.currentIndex() == PAGE_SIMPLE

    def toggle_simple(self) -> None:
        """Switch between the full review page and simple mode."""
        if self.session.workspace is None:
            self.acts["simple"].setChecked(False)
            return
        simple = self.acts["simple"].isChecked()
        current = self.current_item()
        self._apply_simple_filter()
        self.pages.setCurrentIndex(PAGE_SIMPLE if simple else PAGE_REVIEW)
        self.toolbar.setVisible(not simple)
        show_simple_menus(self.menuBar(), simple)
        self.log_notices.show_for(self.session, simple=simple)
        self.compare_flow.current_rel = None
        # The other page takes over at the asset this one was showing (where you stopped).
        page = self._page()
        if (current is None or not page.select(current.rel)) and simple:
            page.select_first()
        self._show_current()

    def _apply_simple_filter(self) -> None:
        identity = self.session.identity
        models = frozenset(identity.model_ids) if identity and identity.model_ids else None
        self.simple_page.proxy.set_models(models)

    def compare_selected(self) -> None:
        """Compare the two selected assets side by side (the first on the left)."""
        self.status_line.say(self.compare_flow.compare_selection(self.selected_items()))

    # -- what is on screen ----------------------------------------------------------------------

    def _show_current(self, *, keep_reference: bool = False) -> None:
        item = self.current_item()
        empty = ""
        if self.session.workspace is not None:
            gone = self.simple_page.gone if self.is_simple() else None
            empty = f"{gone} was moved or deleted" if gone else "Nothing to show here"
        self.compare_flow.show(item, keep_reference=keep_reference, empty=empty)
        if item is not None:
            self._update_decision_label(item)
        self._update_actions()

    def _on_selection(self) -> None:
        self.update_selection_label()
        self._update_actions()

    def update_selection_label(self) -> None:
        """Say what is selected beside the decision buttons."""
        selected = len(self.selected_items())
        if selected > 1:
            self.review.decision_label.setText(texts.selection_text(selected))
            return
        item = self.current_item()
        if item is not None:
            self._update_decision_label(item)

    def _update_decision_label(self, item: AssetItem) -> None:
        if len(self.selected_items()) > 1:
            self.update_selection_label()
            return
        self.review.decision_label.setText(texts.decision_text(self.session.state, item))
        if self.is_simple():
            self._update_simple_texts(item)

    def _on_simple_reference(self, _rel: str) -> None:
        item = self.current_item()
        if item is not None and self.is_simple():
            self._update_simple_texts(item)

    def _update_simple_texts(self, item: AssetItem) -> None:
        ref = self.simple_page.view.reference
        words = texts.simple_texts(
            self.session.state,
            item,
            row=self.simple_page.row,
            count=self.simple_page.proxy.rowCount(),
            reference=ref.rel if ref is not None else None,
            reference_exists=ref is None or ref.path.exists(),
        )
        self.simple_page.show_texts(words)

    def _update_actions(self) -> None:
        state = texts.enabling(self.session.state, self.current_item(), len(self.selected_items()))
        for name, on in state.enabled.items():
            self.acts[name].setEnabled(on)
        for name, tip in state.tips.items():
            self.acts[name].setToolTip(tip)

    # -- the decide flow's host -----------------------------------------------------------------

    def widget(self) -> QWidget:
        """The parent of the decide flow's dialogs."""
        return self

    def say(self, text: str) -> None:
        """Show ``text`` in the status line."""
        self.status_line.say(text)

    def set_dialog(self, dialog: QWidget | None) -> None:
        """Remember the dialog open now (tests and the trust prompt look at it)."""
        self.dialogs.set_current(dialog)

    def why_not_approve(self, item: AssetItem | None) -> str | None:
        """Why ``item`` cannot be approved now."""
        return self.session.why_not_approve(item) if item is not None else None

    # -- UI state -------------------------------------------------------------------------------

    def save_ui_state(self) -> None:
        """Remember window geometry and splitters (UI state only)."""
        save_layout(self.settings, self, self.review)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save UI state and stop the scan."""
        self.save_ui_state()
        self.session.cancel_scan()
        super().closeEvent(event)
