"""The decide flow: approve, reject, batches, withdraw and undo, and what a refusal does.

One object per window, on the GUI thread. It asks the reviewer what the decision needs (reasons,
a note, confirming an override), hands it to the session to sign in the background, keeps the
reviewer's place (a refused decision leaves them on its asset; a batch never moves the
selection) and remembers what Ctrl+Z takes back. The window it works for is a small
:class:`DecideHost`.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from twinreview.core.approval.policy import APPROVE, REJECT, WITHDRAW, suggest_reasons
from twinreview.core.reasons import REASON_CODES
from twinreview.ui.app_errors import app_message
from twinreview.ui.dialogs import SIMPLE_REASONS, RejectDialog
from twinreview.ui.items import AssetItem
from twinreview.ui.plain import finding_sentences, plain_error
from twinreview.ui.session import ReviewSession
from twinreview.ui.status_line import StatusLine
from twinreview.ui.status_words import batch_warnings


class DecideHost(Protocol):
    """What the decide flow needs from the window."""

    status_line: StatusLine

    def widget(self) -> QWidget:
        """The parent of the flow's dialogs."""
        ...

    def current_item(self) -> AssetItem | None:
        """The asset on screen."""
        ...

    def selected_items(self) -> list[AssetItem]:
        """The assets selected in the queue (several: a batch)."""
        ...

    def select_asset(self, rel: str) -> bool:
        """Show ``rel``."""
        ...

    def step(self, delta: int) -> None:
        """Move in the queue."""
        ...

    def has_next(self) -> bool:
        """True when there is an asset after the current one."""
        ...

    def is_simple(self) -> bool:
        """True in simple mode (plain words, plain reasons)."""
        ...

    def say(self, text: str) -> None:
        """Show ``text`` in the status line."""
        ...

    def set_dialog(self, dialog: QWidget | None) -> None:
        """Remember the dialog open now (None: none)."""
        ...

    def update_selection_label(self) -> None:
        """Say what is selected beside the decision buttons."""
        ...

    def why_not_approve(self, item: AssetItem | None) -> str | None:
        """Why ``item`` cannot be approved now (None: it can)."""
        ...


class DecideFlow(QObject):
    """Approve, reject (one or a batch), withdraw and undo for one window."""

    def __init__(self, session: ReviewSession, host: DecideHost, parent: QObject | None = None):
        super().__init__(parent)
        self._session = session
        self._host = host
        #: What Ctrl+Z withdraws: the assets of the decision (or batch) signed last.
        self._last_decided: list[str] = []
        self._batch_running = False
        session.decision_recorded.connect(self.on_decision_recorded)
        session.decision_failed.connect(self.on_decision_failed)
        session.batch_progress.connect(self.on_batch_progress)
        session.batch_finished.connect(self.on_batch_finished)

    def _batch(self) -> list[AssetItem] | None:
        """The selected assets when several are selected (a batch), else None."""
        items = self._host.selected_items()
        if len(items) < 2:
            return None
        if self._batch_running:
            self._host.say("Wait: the previous batch is still being signed.")
            return []
        why = self._session.why_not_decide
        if why is not None:
            self._host.say(why)
            return []
        return items

    def approve_selected(self, items: list[AssetItem]) -> None:
        """Approve every selected asset: one signed entry each, refusals listed per asset."""
        blocking = [i for i in items if i.blocking or (i.result and i.result.error)]
        count = len(items) - len(blocking)
        warnings = batch_warnings(items, self._session.approvable)
        if count:
            which = (
                f"the {count} of the {len(items)} selected assets without blocking findings"
                if blocking
                else f"the {len(items)} selected assets"
            )
            question = f"Approve {which}? Each gets its own signed decision."
            left_out = (
                f"\n\n{len(blocking)} of them have blocking findings and are left out: "
                "approve those one by one."
                if blocking
                else ""
            )
        else:
            question = (
                f"None of the {len(items)} selected can be approved together: each has "
                "blocking findings. Open them and approve them one by one."
            )
            left_out = ""
        box = QMessageBox(
            QMessageBox.Icon.Question,
            f"Approve {count} of {len(items)} assets?",
            question + (f"\n\n{warnings}" if warnings else "") + left_out,
            QMessageBox.StandardButton.Cancel,
            self._host.widget(),
        )
        ok = box.addButton(f"&Approve {count}", QMessageBox.ButtonRole.AcceptRole)
        ok.setToolTip("Sign one approval per asset without blocking findings")
        ok.setEnabled(count > 0)
        if count:
            box.setDefaultButton(ok)
        else:
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Cancel).setToolTip("Do not approve")

        def finished(_: int) -> None:
            self._host.set_dialog(None)
            if box.clickedButton() is ok:
                self._start_batch([i.rel for i in items], APPROVE)

        box.finished.connect(finished)
        self._host.set_dialog(box)
        box.open()

    def _start_batch(
        self, rels: list[str], decision: str, reasons: list[str] | None = None, note: str = ""
    ) -> None:
        self._batch_running = True
        self._host.say(f"Signing {len(rels)} decisions…")
        self._session.decide_many(rels, decision, reasons or [], note)

    def on_batch_progress(self, done: int, total: int) -> None:
        """Show the batch's progress in the status bar."""
        self._host.status_line.batch_progress(done, total)

    def on_batch_finished(self, ok: list[str], refused: list[tuple[str, str]]) -> None:
        """Say how many were signed; list the refusals per asset (the selection stays)."""
        self._batch_running = False
        if not self._session.scan.running:
            self._host.status_line.progress.hide()
        if ok:
            self._last_decided = list(ok)
        total = len(ok) + len(refused)
        self._host.say(
            f"Signed {len(ok)} of {total} decisions"
            + (f"; {len(refused)} refused" if refused else "")
            + (" (Ctrl+Z withdraws them)" if ok else "")
        )
        self._host.update_selection_label()
        if not refused:
            return
        # Listed per asset; the selection stays as it was, so the reviewer can act on them.
        lines = "\n".join(f"• {rel}: {why}" for rel, why in refused[:30])
        more = f"\n… and {len(refused) - 30} more" if len(refused) > 30 else ""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Some decisions were not recorded",
            f"{len(refused)} of {total} were not recorded:\n\n{lines}{more}",
            QMessageBox.StandardButton.Ok,
            self._host.widget(),
        )
        box.finished.connect(lambda _: self._host.set_dialog(None))
        self._host.set_dialog(box)
        box.open()

    def undo(self) -> None:
        """Withdraw the decision (or the batch) signed last in this window."""
        rels, self._last_decided = self._last_decided, []
        if not rels:
            self.withdraw()
            return
        if len(rels) == 1:
            self._host.select_asset(rels[0])
        self._host.say(
            f"Withdrawing your decision about {rels[0].rsplit('/', 1)[-1]}…"
            if len(rels) == 1
            else f"Withdrawing your {len(rels)} decisions…"
        )
        for rel in rels:
            self._session.withdraw(rel)

    def withdraw(self) -> None:
        """Withdraw your decision about the asset on screen."""
        item = self._host.current_item()
        identity = self._session.identity
        if item is None or identity is None:
            return
        if item.latest_by(identity.principal) is None:
            self._host.say(f"You have no decision about {item.ref.path.name} to withdraw.")
            return
        self._session.withdraw(item.rel)

    def approve(self) -> None:
        """Approve the asset on screen; blocking findings need an explicit confirmation."""
        batch = self._batch()
        if batch is not None:
            if batch:
                self.approve_selected(batch)
            return
        item = self._decidable()
        if item is None:
            return
        why = self._host.why_not_approve(item)
        if why is not None:
            # Never offer an override the decision service would refuse anyway.
            self._host.say(why)
            return
        blocking = item.blocking
        if not blocking and not (item.result and item.result.error):
            self._record(item, APPROVE)
            return
        if self._host.is_simple():
            # Her words: what is wrong with it, said to her, and what approving anyway means.
            said = finding_sentences(blocking, error=item.result.error if item.result else None)
            lines = "\n".join(f"• {t}" for t in said)
            question = "Approve it anyway?"
            text = (
                f"{item.ref.path.name}:\n\n{lines}\n\nIf you approve it anyway, your approval "
                "says that you saw this and approved it all the same."
            )
        else:
            lines = (
                "\n".join(f"• {f.message}" for f in blocking)
                or f"• {item.result.error if item.result else ''}"
            )
            question = "Approve despite blocking findings?"
            text = (
                f"{item.ref.path.name} has findings that block approval:\n\n{lines}\n\n"
                "If you approve anyway, your signed decision records that you overrode them."
            )
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            question,
            text,
            QMessageBox.StandardButton.Cancel,
            self._host.widget(),
        )
        ok = box.addButton("&Approve anyway", QMessageBox.ButtonRole.AcceptRole)
        ok.setToolTip("Sign an approval that records the override")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Cancel).setToolTip("Do not approve")

        def finished(_: int) -> None:
            self._host.set_dialog(None)
            if box.clickedButton() is ok:
                self._record(item, APPROVE, override=True)

        box.finished.connect(finished)
        self._host.set_dialog(box)
        box.open()

    def reject(self) -> None:
        """Reject the asset on screen (or every selected one) with reasons and a note."""
        batch = self._batch()
        if batch is not None:
            if batch:
                self._reject_batch(batch)
            return
        item = self._decidable()
        if item is None:
            return
        simple = self._host.is_simple()
        reasons = SIMPLE_REASONS if simple else REASON_CODES
        suggested = [c for c in suggest_reasons(item.findings) if c in reasons]
        dialog = RejectDialog(
            reasons, suggested, asset_name=item.ref.path.name, parent=self._host.widget()
        )

        def finished(result: int) -> None:
            self._host.set_dialog(None)
            if result == RejectDialog.DialogCode.Accepted:
                self._record(item, REJECT, dialog.reasons(), dialog.note_text())
            dialog.deleteLater()

        dialog.finished.connect(finished)
        self._host.set_dialog(dialog)
        dialog.open()

    def _reject_batch(self, items: list[AssetItem]) -> None:
        # One set of reasons and one note for all: the reasons every selected asset suggests.
        common: list[str] | None = None
        for item in items:
            mine = [c for c in suggest_reasons(item.findings) if c in REASON_CODES]
            common = mine if common is None else [c for c in common if c in mine]
        dialog = RejectDialog(
            REASON_CODES,
            common or [],
            asset_name=f"{len(items)} selected assets",
            parent=self._host.widget(),
        )
        rels = [i.rel for i in items]

        def finished(result: int) -> None:
            self._host.set_dialog(None)
            if result == RejectDialog.DialogCode.Accepted:
                self._start_batch(rels, REJECT, dialog.reasons(), dialog.note_text())
            dialog.deleteLater()

        dialog.finished.connect(finished)
        self._host.set_dialog(dialog)
        dialog.open()

    def _decidable(self) -> AssetItem | None:
        item = self._host.current_item()
        if item is None:
            return None
        why = self._session.why_not_decide
        if why is None and not item.ref.path.exists():
            why = f"{item.ref.path.name} is no longer in the workspace (deleted or moved)."
        if why is not None:
            self._host.say(why)
            return None
        if item.result is None:
            self._host.say("Wait until the scan has looked at this asset.")
            return None
        return item

    def _record(
        self,
        item: AssetItem,
        decision: str,
        reasons: list[str] | None = None,
        note: str = "",
        *,
        override: bool = False,
    ) -> None:
        self._session.decide(item.rel, decision, reasons or [], note, override)
        verb = "approval" if decision == APPROVE else "rejection"
        self._host.say(f"Signing your {verb} of {item.ref.path.name}…")
        # Keyboard-first: move on while the decision is signed in the background.
        if self._host.has_next():
            self._host.step(1)

    def on_decision_recorded(self, rel: str, decision: str) -> None:
        """Say it is signed; Ctrl+Z now withdraws it."""
        name = rel.rsplit("/", 1)[-1]
        if decision == WITHDRAW:
            self._host.say(f"Withdrawn: you are undecided about {name} again (signed)")
            return
        self._last_decided = [rel]
        verb = "Approved" if decision == APPROVE else "Rejected"
        self._host.say(f"{verb} {name}: signed (Ctrl+Z takes it back)")

    def on_decision_failed(self, rel: str, message: str) -> None:
        """Go back to the refused asset and say why, in plain words in simple mode."""
        # The reviewer stays on (or goes back to) the asset the refusal is about.
        current = self._host.current_item()
        if current is None or current.rel != rel:
            self._host.select_asset(rel)
        if self._host.is_simple():
            message = plain_error(message)
            rel = rel.rsplit("/", 1)[-1]
        else:
            message = app_message(message)
        self._host.say(f"Not recorded: {message}")
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "Decision not recorded",
            f"{rel}\n\n{message}",
            QMessageBox.StandardButton.Ok,
            self._host.widget(),
        )
        box.finished.connect(lambda _: self._host.set_dialog(None))
        self._host.set_dialog(box)
        box.open()
