"""The main window: the pages, the status bar, and what ties them to the session.

Its parts live in their own modules: the commands in an action table (:mod:`.actions`), one
module per page (:mod:`.welcome_page`, :mod:`.review_page`, :mod:`.simple_page`, the last two
behind the :class:`~twinreview.ui.page.AssetPage` interface), the decide flow
(:mod:`.decide_flow`) and what each asset is compared with (:mod:`.references`, no Qt).
Dialogs open with ``open()``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QByteArray,
    QSettings,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twinreview.core.errors import one_line
from twinreview.core.workspace import Workspace
from twinreview.ui.actions import MENUS, TOOLBAR, build_actions
from twinreview.ui.backend import PairVerification
from twinreview.ui.bridge import PREFETCH
from twinreview.ui.compare_view import CompareMode, CompareView, PairKey
from twinreview.ui.decide_flow import DecideFlow
from twinreview.ui.dialogs import IdentityDialog, ShortcutSheet
from twinreview.ui.evidence import alignment_from, alignments, region_only
from twinreview.ui.faces import face_boxes, likeness_of
from twinreview.ui.items import AssetItem
from twinreview.ui.loader import ImageLoader, ThumbnailProvider
from twinreview.ui.page import AssetPage
from twinreview.ui.plain import (
    finding_sentences,
    likeness_sentence,
    plain_error,
    reference_caption,
    simple_status,
)
from twinreview.ui.queue_model import (
    QueueFilter,
    QueueModel,
    status_sentence,
)
from twinreview.ui.references import RefEntry, ReferencePresenter
from twinreview.ui.resources import app_icon
from twinreview.ui.review_page import ReviewPage
from twinreview.ui.roster_dialogs import (
    ConsentDialog,
    JoinDialog,
    RosterDialog,
    TrustBanner,
    TrustDialog,
)
from twinreview.ui.roster_view import MISMATCH, UNPINNED
from twinreview.ui.session import ReviewSession
from twinreview.ui.simple_page import SimplePage
from twinreview.ui.welcome_page import WelcomePage

PAGE_WELCOME, PAGE_REVIEW, PAGE_SIMPLE = range(3)
_log = logging.getLogger(__name__)

#: Keys that are not actions, for the shortcut sheet: (what, keys).
EXTRA_KEYS: tuple[tuple[str, str], ...] = (
    ("Select several assets", "Shift+click, Ctrl+click, Shift+Up/Down"),
    ("Back to the queue from the search box", "Esc, Enter"),
    ("Pan the image", "Arrow keys, drag"),
    ("Pan or zoom one side alone", "Shift+arrows, Shift+drag, Shift+wheel"),
    ("Zoom about the pointer", "Mouse wheel"),
    ("Fit / 100 %", "Double click"),
    ("Confirm a dialog (reject reasons, note)", "Ctrl+Enter"),
    ("Close a dialog", "Esc"),
)


class MainWindow(QMainWindow):
    """The app window. Takes its collaborators; builds nothing global.

    Signals:
        asset_shown(str): an asset (relative path) has been painted in the visible compare view
            for the first time (a quick draft of a large JPEG counts).
        asset_sharp(str): the asset has been painted from its display-sized decode.
    """

    asset_shown = Signal(str)
    asset_sharp = Signal(str)

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
        self.acts: dict[str, QAction] = {}
        self._dialog: QWidget | None = None  # the open dialog, if any (tests look at it)
        self._current_rel: str | None = None
        self._refreshing = False  # a refresh of the asset on screen is scheduled
        #: Screenshot mode: decision buttons look live (nobody can click; the window closes) and
        #: the status line says why decisions are off, instead of greyed-out buttons.
        self.presentation_note: str | None = None
        #: What each asset is compared with, and which picture comes first (no Qt).
        self.references = ReferencePresenter(lambda: session.workspace, lambda: session.scan_result)
        self._make_actions()

        self.model = QueueModel(session, thumbnails, self)
        # The review page: queue, compare view, findings, decision bar.
        self.compare = CompareView(loader, thumbnails)
        self.review = ReviewPage(self.model, self.compare, self.acts, thumbnails.size)
        # Simple mode: the reviewer's own assets, large, plain words, two buttons.
        self.simple_compare = CompareView(loader, thumbnails, simple=True)
        self.simple_page = SimplePage(self.model, self.simple_compare, self.acts)
        self.welcome = WelcomePage(
            [self.acts["open"], self.acts["create"], self.acts["demo"], self.acts["identity"]]
        )
        # The review page's parts, by the names the rest of the window (and tests) use.
        self.splitter = self.review
        self.proxy = self.review.proxy
        self.table = self.review.table
        self.findings = self.review.findings
        self.decision_label = self.review.decision_label
        self.search = self.review.search
        self.count_label = self.review.count_label
        self.banner = self.review.banner
        self.filter_group = self.review.filter_group
        self.kind_filter = self.review.kind_filter
        self.model_filter = self.review.model_filter
        self.verdict_filter = self.review.verdict_filter
        self.simple_proxy = self.simple_page.proxy
        for page in (self.review, self.simple_page):
            view = page.view
            view.asset_painted.connect(lambda rel, v=view: self._on_painted(v, rel))
            view.asset_sharp.connect(lambda rel, v=view: self._on_sharp(v, rel))
            view.alignment_wanted.connect(lambda key, v=view: self._verify_pair(v, key))
        self.review.current_changed.connect(self._show_current)
        self.simple_page.current_changed.connect(self._show_current)
        self.review.selection_changed.connect(self._on_selection)
        self.findings.evidence_requested.connect(self.open_evidence)
        self.simple_compare.reference_changed.connect(self._on_simple_reference)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.welcome)
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.simple_page)
        # Who may sign here: an owner not trusted yet, a replaced owner, no roster, not on it.
        self.trust_banner = TrustBanner()
        self.trust_banner.trust_requested.connect(self.ask_trust)
        self.trust_banner.owner_requested.connect(self.make_owner)
        self.trust_banner.join_requested.connect(self.show_join)
        self.trust_banner.consent_requested.connect(self.show_consent)
        central = QWidget()
        cv = QVBoxLayout(central)
        cv.setContentsMargins(0, 0, 0, 0)  # the pages keep their own margins and minimum size
        cv.setSpacing(0)
        cv.addWidget(self.trust_banner)
        cv.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        #: Workspaces whose owner this window already asked about: (root, owner fingerprint).
        self._asked_trust: set[tuple[str, str]] = set()

        self._make_toolbar()
        self._make_menus()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setMinimumWidth(260)  # room for what the scan does and its time left
        self.progress.setToolTip("Scan progress")
        self.progress.setTextVisible(True)
        self.cancel_button = QToolButton()
        self.cancel_button.setDefaultAction(self.acts["cancel_scan"])
        self.status_text = QLabel()
        self.status_text.setToolTip("What twinreview is doing")
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        # Keep their place while hidden: showing them when a scan starts must not re-lay out the
        # whole window on the GUI thread.
        for w in (self.progress, self.cancel_button):
            policy = w.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            w.setSizePolicy(policy)
        self.progress.hide()
        self.cancel_button.hide()

        #: Approve, reject, batches, withdraw, undo (its own module).
        self.decide = DecideFlow(session, self, self)
        session.workspace_opened.connect(self._on_workspace_opened)
        session.workspace_failed.connect(self._on_workspace_failed)
        session.scan_progress.connect(self._on_scan_progress)
        session.scan_finished.connect(self._on_scan_finished)
        session.items_changed.connect(self._on_items_changed)
        session.identity_changed.connect(self._on_identity_changed)
        session.statuses_refreshed.connect(self._on_statuses_refreshed)
        session.trust_changed.connect(self._on_trust_changed)
        session.roster_changed.connect(self._on_roster_changed)
        self.pages.setCurrentIndex(PAGE_WELCOME)
        self._restore_ui_state()
        self._update_actions()
        self._update_recent()

    # -- actions --------------------------------------------------------------------------------

    def _make_actions(self) -> None:
        """Every command from the action table (:mod:`twinreview.ui.actions`), in one loop."""
        self.acts = build_actions(self, self._slots())
        for a in self.acts.values():
            self.addAction(a)

    def _slots(self) -> dict[str, Callable[[], None]]:
        """What each action of the table does, by id."""
        return {
            "open": self.choose_workspace,
            "create": self.create_workspace,
            "demo": self.open_demo,
            "rescan": self.session.start_scan,
            "cancel_scan": self.session.cancel_scan,
            "approve": lambda: self.decide.approve(),
            "reject": lambda: self.decide.reject(),
            "undo": lambda: self.decide.undo(),
            "withdraw": lambda: self.decide.withdraw(),
            "compare_two": self.compare_selected,
            "next": lambda: self.step(1),
            "previous": lambda: self.step(-1),
            "side": lambda: self.set_mode(CompareMode.SIDE_BY_SIDE),
            "wipe": lambda: self.set_mode(CompareMode.WIPE),
            "difference": lambda: self.set_mode(CompareMode.DIFFERENCE),
            "flip": self._flip,
            "swap": self._swap,
            "evidence": self._toggle_evidence,
            "faces": self._toggle_faces,
            "fit": lambda: self._view().fit(),
            "actual": lambda: self._view().actual_size(),
            "zoom_in": lambda: self._view().zoom_by(1.25),
            "zoom_out": lambda: self._view().zoom_by(0.8),
            "next_ref": lambda: self._view().step_reference(1),
            "prev_ref": lambda: self._view().step_reference(-1),
            "wipe_left": lambda: self.compare.nudge_wipe(-0.05),
            "wipe_right": lambda: self.compare.nudge_wipe(0.05),
            "ref_left": lambda: self._view().pan(0.02, 0, local=True),
            "ref_right": lambda: self._view().pan(-0.02, 0, local=True),
            "ref_up": lambda: self._view().pan(0, 0.02, local=True),
            "ref_down": lambda: self._view().pan(0, -0.02, local=True),
            "simple": self.toggle_simple,
            "identity": self.show_identity_dialog,
            "roster": self.show_roster,
            "consent": lambda: self.show_consent(""),
            "publish": self.show_publish,
            "search": lambda: self.search.setFocus(),
            "shortcuts": self.show_shortcuts,
        }

    def _make_toolbar(self) -> None:
        tb = QToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.setIconSize(QSize(22, 22))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        for name in TOOLBAR:
            if name is None:
                tb.addSeparator()
            else:
                tb.addAction(self.acts[name])
        self.addToolBar(tb)
        self.toolbar = tb

    def _make_menus(self) -> None:
        """Every action in a menu too: found by reading, not only by key."""
        bar = self.menuBar()
        for title, names in MENUS:
            menu = bar.addMenu(title)
            for name in names:
                if name is None:
                    menu.addSeparator()
                else:
                    menu.addAction(self.acts[name])
        self.menus = bar

    def _view(self) -> CompareView:
        return self._page().view

    # -- workspace ------------------------------------------------------------------------------

    def choose_workspace(self) -> None:
        """Ask for a folder and open it."""
        dialog = QFileDialog(self, "Open a twinreview workspace")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda p: self.open_workspace(Path(p)))
        self._dialog = dialog
        dialog.open()

    def open_demo(self) -> None:
        """Build the demo workspace (in the background) and open it."""
        if self._build_demo is None:
            return
        self.status_text.setText("Building the demo workspace…")
        self.session.bridge.submit(
            self._build_demo,
            on_done=self.open_workspace,
            on_error=lambda e: self._on_workspace_failed(f"cannot build the demo: {e}"),
        )

    def open_workspace(self, path: Path) -> None:
        """Open a workspace folder."""
        self.status_text.setText(f"Opening {path}…")
        self.session.open_workspace(path)

    def _on_workspace_opened(self, ws: Workspace) -> None:
        self.setWindowTitle(f"{ws.name} — twinreview")
        self.settings.setValue("last_workspace", str(ws.root))
        self.loader.cancel_all()
        self.loader.cache.clear()
        self.thumbnails.clear()
        self._current_rel = None
        self.compare.clear()
        self.simple_compare.clear()
        self.findings.show_item(None)
        self.pages.setCurrentIndex(PAGE_SIMPLE if self.acts["simple"].isChecked() else PAGE_REVIEW)
        self._apply_simple_filter()
        self.review.set_models(self._model_names())
        self.review.set_kinds(self.session.items)
        self.proxy.set_approvable(self.session.approvable)
        read_only = self.session.workspace_read_only
        self.status_text.setText(
            read_only if read_only else f"{len(self.session.items)} assets in {ws.root}"
        )
        self._select_first()

    def create_workspace(self) -> None:
        """Choose a folder for a new workspace; this device's key becomes its owner."""
        if self.session.identity is None:
            self.status_text.setText(
                "Create your identity first: the new workspace is signed with your key."
            )
            self.show_identity_dialog()
            return
        dialog = QFileDialog(self, "Create a twinreview workspace in this folder")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setLabelText(QFileDialog.DialogLabel.Accept, "Create here")
        dialog.fileSelected.connect(lambda p: self.create_workspace_at(Path(p)))
        self._dialog = dialog
        dialog.open()

    def create_workspace_at(self, path: Path, name: str = "") -> None:
        """Make ``path`` a workspace owned by this device's key, then open it."""
        name = name or path.name
        self.status_text.setText(f"Creating the workspace “{name}”…")

        def done(_: object) -> None:
            self.status_text.setText(
                f"Created “{name}”: you are its owner. Put the models' real photos in "
                "models/<id>/references and the generated images in assets/<id>/."
            )
            self.open_workspace(path)

        def failed(exc: BaseException) -> None:
            self._roster_error("Workspace not created", one_line(exc))

        self.session.bridge.submit(
            self.session.backend.create_workspace, path, name, on_done=done, on_error=failed
        )

    def _on_workspace_failed(self, message: str) -> None:
        self.status_text.setText(message)
        if self.pages.currentIndex() == PAGE_WELCOME:
            self.welcome.error.setText(message)

    def _update_recent(self) -> None:
        last = self.settings.value("last_workspace", "")
        self.welcome.recent.setText(f"Last workspace: {last}" if last else "")

    # -- scan -----------------------------------------------------------------------------------

    def _on_scan_progress(self, done: int, total: int, phase: str) -> None:
        self.progress.show()
        self.cancel_button.show()
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(done, max(1, total)))
        self.progress.setFormat(f"{phase or 'scan'}: %v / %m")
        self.acts["cancel_scan"].setEnabled(True)

    def _on_scan_finished(self, cancelled: bool) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self.acts["cancel_scan"].setEnabled(False)
        self.status_text.setText("Scan cancelled" if cancelled else "Scan finished")
        self.review.set_kinds(self.session.items)
        if not cancelled:
            for view in (self.compare, self.simple_compare):
                view.forget_verified()
        # Findings re-sort the queue; the asset on screen stays on screen (the reviewer keeps
        # their place). Only an empty view starts at the top.
        if self._current_item() is None:
            self._select_first()
        else:
            self._scroll_to_current()

    def _on_items_changed(self, rels: list[str]) -> None:
        if self._current_rel is not None and self._current_rel in rels and not self._refreshing:
            # Redraw the asset on screen in its own event-loop turn, not inside the slice of
            # results that brought it: each turn stays short.
            self._refreshing = True
            QTimer.singleShot(0, self._refresh_current)
        self._update_count()

    def _refresh_current(self) -> None:
        self._refreshing = False
        self._show_current(keep_reference=True)

    def _on_statuses_refreshed(self) -> None:
        problems = self.session.verification_problems
        if self.session.verification_ok or not problems:
            self.banner.hide()
            return
        shown = "".join(f"<li>{html.escape(p)}</li>" for p in problems[:5])
        more = f"<li>… and {len(problems) - 5} more</li>" if len(problems) > 5 else ""
        self.banner.setText(
            "<b>Some decision logs failed verification.</b> Affected assets are blocked; "
            f"nothing was repaired.<ul>{shown}{more}</ul>"
        )
        self.banner.show()

    # -- navigation -----------------------------------------------------------------------------

    def _page(self) -> AssetPage:
        """The page showing assets now (simple mode or the review page)."""
        return self.simple_page if self.pages.currentIndex() == PAGE_SIMPLE else self.review

    def _current_item(self) -> AssetItem | None:
        if self.pages.currentIndex() == PAGE_WELCOME:
            return None
        return self._page().current_item()

    def current_item(self) -> AssetItem | None:
        """The asset on screen."""
        return self._current_item()

    def select_asset(self, rel: str) -> bool:
        """Show the asset ``rel`` (in the visible queue); False when it is not in it."""
        return self._page().select(rel)

    def _scroll_to_current(self) -> None:
        self.review.scroll_to_current()

    def _select_first(self) -> None:
        self._page().select_first()

    def step(self, delta: int) -> None:
        """Move to the next (+1) or previous (-1) asset of the visible queue."""
        self._page().step(delta)

    def selected_items(self) -> list[AssetItem]:
        """The assets selected in the queue (review page), in queue order."""
        if self.pages.currentIndex() != PAGE_REVIEW:
            return []
        return self.review.selected_items()

    def _show_current(self, *, keep_reference: bool = False) -> None:
        item = self._current_item()
        view = self._view()
        if item is None:
            self._current_rel = None
            view.clear("No asset to show" if self.session.workspace else "")
            self.findings.show_item(None)
            self._update_actions()
            return
        same = item.rel == self._current_rel and view.asset_rel == item.rel
        self._current_rel = item.rel
        refs = self.references_for(item)
        # New scan results may bring evidence or distances: then the strip (and the preselected
        # best match) changes; otherwise keep what the reviewer picked.
        if not (same and keep_reference and refs == view.references):
            view.show_asset(
                item.ref.path, item.rel, item.ref.path.name, refs, self._preselect(item, refs)
            )
        self._show_likeness(view, item)
        self.findings.show_item(item)
        self._update_decision_label(item)
        self._update_actions()
        if view.asset_painted_now:
            self._prefetch_neighbours()
        # Otherwise prefetching starts once this asset is sharp on screen (_on_sharp).

    def _prefetch_neighbours(self) -> None:
        view = self._view()
        for delta in (1, -1):
            item = self._neighbour(delta)
            if item is None:
                continue
            view.prefetch(item.ref.path)
            refs = self.references_for(item)
            best = self._preselect(item, refs)
            ref = next((r for r in refs if r.rel == best), None)
            if ref is not None:
                view.prefetch(ref.path)
            self.thumbnails.get(item.ref.path)

    def _neighbour(self, delta: int) -> AssetItem | None:
        return self._page().neighbour(delta)

    def references_for(self, item: AssetItem) -> list[RefEntry]:
        """The pictures to compare ``item`` with (see :class:`ReferencePresenter`)."""
        return self.references.references_for(item)

    def _preselect(self, item: AssetItem, refs: list[RefEntry]) -> str | None:
        return self.references.preselect(refs)

    def open_evidence(self, rel: str) -> None:
        """Show the asset beside the evidence ``rel`` (a reference or another asset)."""
        item = self._current_item()
        view = self._view()
        ws = self.session.workspace
        if item is None or ws is None:
            return
        if rel not in {r.rel for r in view.references}:
            entry = self.references.evidence_entry(rel)
            refs = [entry, *view.references] if entry is not None else view.references
            view.show_asset(item.ref.path, item.rel, item.ref.path.name, refs, rel)
        else:
            view.select_reference(rel)
        if self.pages.currentIndex() == PAGE_REVIEW:
            self.set_mode(CompareMode.SIDE_BY_SIDE)

    def _on_painted(self, view: CompareView, rel: str) -> None:
        if rel == self._current_rel and view is self._view():
            self.asset_shown.emit(rel)

    def _on_sharp(self, view: CompareView, rel: str) -> None:
        if rel == self._current_rel and view is self._view():
            self.asset_sharp.emit(rel)
            # Only now: decoding the neighbours earlier would compete for the cores with the
            # decode the reviewer waits for.
            self._prefetch_neighbours()

    # -- compare --------------------------------------------------------------------------------

    def set_mode(self, mode: CompareMode) -> None:
        """Side by side, wipe or difference."""
        self.compare.set_mode(mode)
        name = {
            CompareMode.SIDE_BY_SIDE: "side",
            CompareMode.WIPE: "wipe",
            CompareMode.DIFFERENCE: "difference",
        }[mode]
        self.acts[name].setChecked(True)

    def _toggle_faces(self) -> None:
        show = self.acts["faces"].isChecked()
        for view in (self.compare, self.simple_compare):
            view.set_show_faces(show)

    def _model_names(self) -> dict[str, str]:
        ws = self.session.workspace
        return {mid: m.display_name for mid, m in ws.models.items()} if ws else {}

    def _you_models(self) -> frozenset[str]:
        """The models the reviewer is herself (a model reviewing her own twin)."""
        identity = self.session.identity
        if identity is None or identity.role != "model":
            return frozenset()
        return frozenset(identity.model_ids)

    def _show_likeness(self, view: CompareView, item: AssetItem) -> None:
        view.set_evidence(
            alignments(item.findings),
            {
                ref: region
                for f in item.findings
                if isinstance(ref := f.evidence.get("reference"), str)
                and (region := region_only(f.evidence)) is not None
            },
        )
        lk = likeness_of(item.result)
        names = self._model_names()
        view.set_faces(*face_boxes(lk, names))
        self.findings.model_names = names
        self.findings.you_models = self._you_models()
        # Simple mode speaks to the model in her words (ui.plain), as its finding sentences do.
        identity = self.session.identity
        you = identity is None or identity.role == "model"
        text = likeness_sentence(lk, names, you=you) if lk is not None else ""
        self.simple_page.likeness.setText(text)
        self.simple_page.likeness.setVisible(bool(text))

    def _verify_pair(self, view: CompareView, key: PairKey) -> None:
        """Verify the pair on screen, whose evidence has no alignment, and align with it."""
        ws = self.session.workspace
        ref = view.reference
        if ws is None or ref is None:
            view.set_verified(key, None)
            return
        item = self._current_item()
        # The hashes' orientation goes first, so a mirrored copy is matched on the first try.
        mirrored = item is not None and any(
            f.evidence.get("reference") == ref.rel and f.evidence.get("mirrored") is True
            for f in item.findings
        )

        def done(v: PairVerification | None) -> None:
            found = None
            if v is not None and v.homography is not None:
                found = alignment_from(
                    {"homography": v.homography, "inliers": v.inliers, "mirrored": v.mirrored}
                )
            view.set_verified(key, found)

        def failed(exc: BaseException) -> None:
            # The fitted view stays; nothing to tell the reviewer about.
            _log.info("on-demand verification of %s failed: %s", key, one_line(exc))
            view.set_verified(key, None)

        self.session.bridge.submit(
            self.session.backend.verify_pair,
            ws,
            key[0],
            key[1],
            mirrored,
            on_done=done,
            on_error=failed,
            priority=PREFETCH,
        )

    def _flip(self) -> None:
        view = self._view()
        view.toggle_mirror()
        self.acts["flip"].setChecked(view.mirrored)

    def _swap(self) -> None:
        view = self._view()
        view.toggle_swap()
        self.acts["swap"].setChecked(view.swapped)

    def _toggle_evidence(self) -> None:
        show = self.acts["evidence"].isChecked()
        for view in (self.compare, self.simple_compare):
            view.set_show_evidence(show)

    # -- filters and simple mode ----------------------------------------------------------------

    def set_kind_filter(self, kind: str | None) -> None:
        """Show only assets with a finding of ``kind`` (None: any)."""
        self.review.set_kind_filter(kind)

    def set_model_filter(self, model_id: str | None) -> None:
        """Show only assets of ``model_id`` (None: any)."""
        self.review.set_model_filter(model_id)

    def set_verdict_filter(self, verdict: str | None) -> None:
        """Show only assets with this disclosure verdict (None: any)."""
        self.review.set_verdict_filter(verdict)

    def set_filter(self, mode: QueueFilter) -> None:
        """Apply a queue filter; the current asset stays if it passes."""
        self.review.set_filter(mode)

    def toggle_simple(self) -> None:
        """Switch between the full review page and simple mode."""
        if self.session.workspace is None:
            self.acts["simple"].setChecked(False)
            return
        simple = self.acts["simple"].isChecked()
        current = self._current_item()
        self._apply_simple_filter()
        self.pages.setCurrentIndex(PAGE_SIMPLE if simple else PAGE_REVIEW)
        self.toolbar.setVisible(not simple)
        self._current_rel = None
        # The other page takes over at the asset this one was showing (where you stopped).
        page = self._page()
        if (current is None or not page.select(current.rel)) and simple:
            page.select_first()
        self._show_current()

    def _apply_simple_filter(self) -> None:
        identity = self.session.identity
        models = frozenset(identity.model_ids) if identity and identity.model_ids else None
        self.simple_proxy.set_models(models)

    # -- decisions ------------------------------------------------------------------------------

    # -- the decide flow's host ---------------------------------------------------------------

    def widget(self) -> QWidget:
        """The parent of the decide flow's dialogs."""
        return self

    def has_next(self) -> bool:
        """True when an asset follows the current one in the visible queue."""
        return self._neighbour(1) is not None

    def is_simple(self) -> bool:
        """True in simple mode."""
        return self.pages.currentIndex() == PAGE_SIMPLE

    def say(self, text: str) -> None:
        """Show ``text`` in the status line."""
        self.status_text.setText(text)

    def set_dialog(self, dialog: QWidget | None) -> None:
        """Remember the dialog open now (tests and the trust prompt look at it)."""
        self._dialog = dialog

    def update_selection_label(self) -> None:
        """Say what is selected beside the decision buttons."""
        self._update_selection_label()

    def why_not_approve(self, item: AssetItem | None) -> str | None:
        """Why ``item`` cannot be approved now (the screenshot mode's note aside)."""
        return self._why_not_approve(item)

    def approve_current(self) -> None:
        """Approve the asset on screen (or every selected one)."""
        self.decide.approve()

    def reject_current(self) -> None:
        """Reject the asset on screen (or every selected one)."""
        self.decide.reject()

    def compare_selected(self) -> None:
        """Compare the two selected assets side by side (the first on the left)."""
        items = self.selected_items()
        if len(items) != 2:
            self.status_text.setText("Select two assets (Ctrl + click) to compare them.")
            return
        a, b = items
        self.compare.show_asset(
            a.ref.path,
            a.rel,
            a.ref.path.name,
            [RefEntry(b.ref.path, b.rel, b.ref.path.name, None, "The other selected asset")],
            b.rel,
        )
        self.compare.set_faces((), {})
        self.compare.set_evidence({})
        self.set_mode(CompareMode.SIDE_BY_SIDE)
        self.status_text.setText(f"Comparing {a.ref.path.name} with {b.ref.path.name}")

    def _on_selection(self) -> None:
        self._update_selection_label()
        self._update_actions()

    def _update_selection_label(self) -> None:
        items = self.selected_items()
        if len(items) > 1:
            self.decision_label.setText(
                f"{len(items)} selected: A approves them all, R rejects them all "
                "(one signed decision each)" + (", C compares the two" if len(items) == 2 else "")
            )
        else:
            item = self._current_item()
            if item is not None:
                self._update_decision_label(item)

    def _update_decision_label(self, item: AssetItem) -> None:
        if len(self.selected_items()) > 1:
            self._update_selection_label()
            return
        parts = []
        identity = self.session.identity
        trust = self.session.trust
        if trust is not None and trust.state == MISMATCH:
            # Every asset is blocked for the same reason, which the red line above explains.
            parts.append("Blocked: this workspace's owner changed (see the red line above)")
        elif item.status is not None:
            parts.append(status_sentence(item, identity))
        if identity is not None:
            mine = item.latest_by(identity.principal)
            if mine:
                parts.append(f"you: {mine}")
        if self.session.read_only_reason:
            parts.append(self.presentation_note or self.session.read_only_reason)
        elif self.session.trust is not None and not self.session.trust.ok:
            parts.append("decisions are off here")
        else:
            # Why Approve or Reject is greyed out, beside the buttons (not only in a tooltip).
            why = self._why_not_approve(item)
            if why is not None:
                parts.append(why)
        text = " · ".join(parts) or ("Scanning…" if item.result is None else "")
        self.decision_label.setText(text)
        if self.is_simple():
            self._update_simple_texts(item)

    def _on_simple_reference(self, _rel: str) -> None:
        item = self._current_item()
        if item is not None and self.is_simple():
            self._update_simple_texts(item)

    def _update_simple_texts(self, item: AssetItem) -> None:
        """Simple mode speaks to the model: plain sentences, no codes, what the right side is."""
        identity = self.session.identity
        you = (
            identity is not None
            and identity.role == "model"
            and (item.ref.model_id in identity.model_ids)
        )
        names = self._model_names()
        self.simple_page.show_sentences(
            finding_sentences(
                item.findings,
                error=item.result.error if item.result else None,
                model_names=names,
                you=you or identity is None or identity.role == "model",
            )
        )
        status = item.status
        mine = item.latest_by(identity.principal) if identity is not None else None
        text = (
            simple_status(
                status.evaluation.state,
                missing_roles=status.evaluation.missing_roles,
                blocked_by=status.evaluation.blocked_by,
                problems=status.evaluation.problems,
                consent=status.consent,
                mine=mine,
            )
            if status is not None
            else simple_status(None)
        )
        why = self._why_not_approve(item)
        if why is not None and self.presentation_note is None:
            text += " " + plain_error(why)
        self.simple_page.status.setText(text)
        n = self.simple_proxy.rowCount()
        ref = self.simple_compare.reference
        caption = reference_caption(
            ref.rel if ref is not None else None,
            model_id=item.ref.model_id,
            names=names,
            exists=ref is None or ref.path.exists(),
        )
        self.simple_page.header.setText(
            f"Image {self.simple_page.row + 1} of {n}: {item.ref.path.name} (left), "
            f"beside {caption} (right)"
        )

    def _update_actions(self) -> None:
        item = self._current_item()
        can = (self.session.can_decide or self.presentation_note is not None) and (
            item is not None and item.result is not None
        )
        no_approve = self._why_not_approve(item)
        batch = len(self.selected_items()) > 1 and self.session.can_decide
        self.acts["approve"].setEnabled(batch or (can and no_approve is None))
        self.acts["reject"].setEnabled(batch or can)
        self.acts["compare_two"].setEnabled(len(self.selected_items()) == 2)
        for name in ("undo", "withdraw"):
            self.acts[name].setEnabled(self.session.can_decide)
        blocker = self.session.why_not_decide
        why = "" if blocker is None else f" — {blocker}"
        approve_why = f" — {no_approve}" if no_approve and not blocker else why
        self.acts["approve"].setToolTip(f"Approve this asset; signed at once (A){approve_why}")
        self.acts["reject"].setToolTip(f"Reject this asset with reasons; signed at once (R){why}")
        has_ws = self.session.workspace is not None
        for name in ("rescan", "next", "previous", "simple", "roster"):
            self.acts[name].setEnabled(has_ws)
        roster = self.session.roster
        self.acts["consent"].setEnabled(
            has_ws and roster is not None and bool(roster.my_consent_models)
        )
        self.acts["cancel_scan"].setEnabled(self.session.scan.running)

    def _why_not_approve(self, item: AssetItem | None) -> str | None:
        """Why the asset cannot be approved now (the screenshot mode's note aside)."""
        if item is None:
            return None
        if self.presentation_note is not None and self.session.read_only_reason:
            return None
        return self.session.why_not_approve(item)

    def _update_count(self) -> None:
        self.review.update_count()

    # -- identity -------------------------------------------------------------------------------

    def show_identity_dialog(self) -> None:
        """Create an identity (first run), or show the current one and its key line again."""
        dialog = IdentityDialog(self.session.bridge, self.session.backend.create_identity, self)
        if self.session.identity is not None:
            dialog.show_existing(self.session.identity)
        elif self.session.read_only_reason and "keyring" in self.session.read_only_reason.lower():
            dialog.show_no_keyring(self.session.read_only_reason)

        def finished(_: int) -> None:
            self._dialog = None
            if dialog.done_identity is not None:
                self.session.set_identity(dialog.done_identity, None)
            elif self.session.identity is None:
                self.session.set_identity(None, dialog.read_only_reason)
            dialog.deleteLater()
            # A workspace opened meanwhile may still need its owner confirmed.
            self._on_trust_changed()

        dialog.finished.connect(finished)
        self._dialog = dialog
        dialog.open()

    def _on_identity_changed(self) -> None:
        identity = self.session.identity
        if identity is not None:
            line = f"Signed in as {identity.display_name} <{identity.principal}>, {identity.role}"
            self.acts["identity"].setToolTip(f"{line}: show your key line again")
        else:
            line = self.session.read_only_reason or ""
            if "keyring" in line.lower():
                line = (
                    f"{line} — twinreview keeps your signing key only in the system keyring. "
                    "Install or unlock one, then start twinreview again; until then you can "
                    "look, but not approve or reject."
                )
        self.welcome.identity.setText(line)
        self._apply_simple_filter()
        self._update_actions()
        item = self._current_item()
        if item is not None:
            self._update_decision_label(item)

    # -- trust and the signed roster ------------------------------------------------------------

    def _on_trust_changed(self) -> None:
        self.trust_banner.show_for(self.session)
        self._update_actions()
        trust, ws = self.session.trust, self.session.workspace
        if trust is None or ws is None or trust.state != UNPINNED:
            return
        # Trust on first use: ask once per workspace and owner key, never over another dialog
        # and never in a screenshot (nobody is there to answer; the banner offers it later).
        key = (str(ws.root), trust.owner_fingerprint or "")
        if key in self._asked_trust or self._visible_dialog() or self.presentation_note:
            return
        self._asked_trust.add(key)
        self.ask_trust()

    def _on_roster_changed(self) -> None:
        self.trust_banner.show_for(self.session)
        self.proxy.set_approvable(self.session.approvable)
        self._update_actions()

    def _visible_dialog(self) -> bool:
        try:
            return self._dialog is not None and self._dialog.isVisible()
        except RuntimeError:  # already deleted by Qt
            return False

    def _open_dialog(self, dialog: QWidget, on_finished: Callable[[int], None]) -> None:
        """Open ``dialog`` (window-modal) over the roster screen if that is open."""
        below = self._dialog

        def finished(result: int) -> None:
            self._dialog = below if below is not None and below.isVisible() else None
            on_finished(result)
            dialog.deleteLater()

        dialog.finished.connect(finished)  # type: ignore[attr-defined]
        self._dialog = dialog
        dialog.open()  # type: ignore[attr-defined]

    def _parent_for_dialog(self) -> QWidget:
        below = self._dialog
        return below if isinstance(below, RosterDialog) and below.isVisible() else self

    def ask_trust(self) -> None:
        """Show the owner's key code; Trust pins it on this device, Not now changes nothing."""
        trust = self.session.trust
        if trust is None or trust.state != UNPINNED or self.session.workspace is None:
            return
        dialog = TrustDialog(trust, self._parent_for_dialog())

        def finished(result: int) -> None:
            if result != TrustDialog.DialogCode.Accepted:
                self.status_text.setText(
                    "Not trusted: you can look, but not approve or reject in this workspace."
                )
                return
            fingerprint = dialog.info.owner_fingerprint or ""
            self.status_text.setText("Trusting the owner on this device…")
            self.session.roster_action(
                self.session.backend.trust_workspace,
                fingerprint,
                on_done=lambda _: self.status_text.setText(
                    f"Trusted: this device now knows the owner's key {fingerprint}."
                ),
                on_error=lambda msg: self._roster_error("Not trusted", msg),
            )

        self._open_dialog(dialog, finished)

    def make_owner(self) -> None:
        """Create the workspace's signed roster with this device's key as the owner."""
        ws, identity = self.session.workspace, self.session.identity
        if ws is None or identity is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Make yourself the owner?",
            f"You become the owner of “{ws.name}”: your key signs who may approve here, and "
            "the workspace's rules. Everyone else checks your key's code with you once, the "
            "first time they open it.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        ok = box.addButton("Make me the &owner", QMessageBox.ButtonRole.AcceptRole)
        ok.setToolTip("Sign the first roster entry with your key")

        def finished(_: int) -> None:
            if box.clickedButton() is not ok:
                return
            self.status_text.setText("Signing the roster…")
            self.session.roster_action(
                self.session.backend.make_owner,
                on_done=lambda _: self.status_text.setText(
                    "You are the owner: add people from the Roster, or approve their join "
                    "requests there."
                ),
                on_error=lambda msg: self._roster_error("Not created", msg),
            )

        self._open_dialog(box, finished)

    def _roster_error(self, what: str, message: str) -> None:
        self.status_text.setText(f"{what}: {message}")
        box = QMessageBox(
            QMessageBox.Icon.Warning, what, message, QMessageBox.StandardButton.Ok, self
        )
        self._open_dialog(box, lambda _: None)

    def show_roster(self) -> None:
        """Open the roster screen of the open workspace."""
        if self.session.workspace is None:
            return
        self.session.refresh_roster()
        dialog = RosterDialog(
            self.session,
            open_join=self.show_join,
            open_consent=self.show_consent,
            open_trust=self.ask_trust,
            parent=self,
        )
        self._open_dialog(dialog, lambda _: None)

    def show_join(self) -> None:
        """Choose models and write a signed join request."""
        if self.session.roster is None or self.session.identity is None:
            return
        dialog = JoinDialog(self.session, self._parent_for_dialog())
        self._open_dialog(dialog, lambda _: None)

    def show_consent(self, model_id: str = "") -> None:
        """As a model: give, narrow or withdraw consent for ``model_id`` (default: the first)."""
        roster = self.session.roster
        if roster is None or not roster.my_consent_models:
            self.status_text.setText("Only a model on this workspace's roster gives consent here.")
            return
        if model_id not in roster.my_consent_models:
            model_id = roster.my_consent_models[0]
        dialog = ConsentDialog(self.session, model_id, self._parent_for_dialog())
        self._open_dialog(dialog, lambda _: None)

    def show_publish(self) -> None:
        """Open the "Publish cleared…" dialog for the open workspace."""
        ws = self.session.workspace
        if ws is None:
            self.status_text.setText("Open a workspace to publish its cleared assets.")
            return
        from twinreview.core.policy import State
        from twinreview.ui.publish_dialog import PublishDialog

        cleared = sum(
            1
            for i in self.session.items
            if i.status is not None and i.status.evaluation.state is State.CLEARED
        )
        dialog = PublishDialog(ws, self.session.bridge, cleared, parent=self)
        self._open_dialog(dialog, lambda _: None)

    def show_shortcuts(self) -> None:
        """Show the shortcut sheet."""
        filters = [(f"Filter: {mode.value}", f"Alt+{i + 1}") for i, mode in enumerate(QueueFilter)]
        sheet = ShortcutSheet(list(self.acts.values()), self, extra=[*filters, *EXTRA_KEYS])

        def finished(_: int) -> None:
            self._dialog = None
            sheet.deleteLater()

        sheet.finished.connect(finished)
        self._dialog = sheet
        sheet.open()

    @property
    def open_dialog(self) -> QWidget | None:
        """The dialog currently open, if any."""
        return self._dialog

    # -- UI state -------------------------------------------------------------------------------

    def _restore_ui_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 860)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        split = self.settings.value("window/splitter")
        if isinstance(split, QByteArray):
            self.splitter.restoreState(split)
        else:
            self.splitter.setSizes([480, 560, 280])

    def save_ui_state(self) -> None:
        """Remember window geometry and splitters (UI state only)."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Save UI state and stop the scan."""
        self.save_ui_state()
        self.session.cancel_scan()
        super().closeEvent(event)
