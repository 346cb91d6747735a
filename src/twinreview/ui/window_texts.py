"""What the main window says and allows, from the session state: a presenter without Qt.

The window asks here for every sentence that depends on the state (the decision bar, the
selection, simple mode's sentences and header, the identity line, the log banner, the status
line) and for which commands are enabled, with the reason when one is not. Each function is a
plain function of :class:`~twinreview.ui.session_state.SessionState` and what is on screen, so
the words are tested without a display.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from twinreview.core.approval.policy import State
from twinreview.core.workspace import Workspace
from twinreview.ui.app_errors import app_message
from twinreview.ui.backend import Identity
from twinreview.ui.items import AssetItem, likeness_of
from twinreview.ui.plain import finding_sentences, plain_error, reference_caption, simple_status
from twinreview.ui.roster_view import MISMATCH
from twinreview.ui.session_state import SessionState
from twinreview.ui.status_words import NO_RESULTS, status_sentence

#: Commands that need an open workspace, and nothing more (a new command that does: add it).
WORKSPACE_COMMANDS = (
    "rescan",
    "next",
    "previous",
    "simple",
    "roster",
    "rules",
    "export_report",
    "export_logs",
    "publish",
    "published",
    "search",
    # The compare view's commands: nothing to look at before a workspace is open.
    "side",
    "wipe",
    "difference",
    "flip",
    "swap",
    "evidence",
    "faces",
    "fit",
    "actual",
    "zoom_in",
    "zoom_out",
    "next_ref",
    "prev_ref",
    "wipe_left",
    "wipe_right",
    "ref_left",
    "ref_right",
    "ref_up",
    "ref_down",
    # The queue's filters (actions.filter_action).
    "filter_all",
    "filter_pending",
    "filter_flagged",
    "filter_approved",
    "filter_rejected",
    "filter_cleared",
    "filter_flagged_mine",
)
#: Your latest decision, as the decision bar says it.
YOU_DID = {"approve": "you approved", "reject": "you rejected"}
#: How many log problems the banner lists before "… and N more".
BANNER_PROBLEMS = 5


@dataclass(frozen=True)
class Enabling:
    """Which commands are enabled now, and the tooltips that say why one is not.

    Attributes:
        enabled: Command id -> enabled, for every command whose state depends on the session.
        tips: Command id -> tooltip, for the commands whose tooltip carries the reason.
    """

    enabled: Mapping[str, bool]
    tips: Mapping[str, str]


def model_names(workspace: Workspace | None) -> dict[str, str]:
    """Model id -> display name of the open workspace."""
    return {mid: m.display_name for mid, m in workspace.models.items()} if workspace else {}


def you_models(identity: Identity | None) -> frozenset[str]:
    """The models the reviewer is herself (a model reviewing her own twin)."""
    if identity is None or identity.role != "model":
        return frozenset()
    return frozenset(identity.model_ids)


def enabling(state: SessionState, item: AssetItem | None, selected: int) -> Enabling:
    """The decision and workspace commands, for ``item`` on screen and ``selected`` rows."""
    can = state.can_decide and item is not None and item.result is not None
    no_approve = state.why_not_approve(item) if item is not None else None
    batch = selected > 1 and state.can_decide
    has_ws = state.workspace is not None
    roster = state.roster
    enabled = {
        "approve": batch or (can and no_approve is None),
        "reject": batch or can,
        "compare_two": selected == 2,
        "undo": has_ws and state.can_decide,
        "withdraw": has_ws and state.can_decide,
        **dict.fromkeys(WORKSPACE_COMMANDS, has_ws),
        "consent": has_ws and roster is not None and bool(roster.my_consent_models),
        "cancel_scan": state.scan.running,
    }
    blocker = state.why_not_decide
    why = "" if blocker is None else f" — {blocker}"
    approve_why = f" — {no_approve}" if no_approve and not blocker else why
    tips = {
        "approve": f"Approve this asset; signed at once (A){approve_why}",
        "reject": f"Reject this asset with reasons; signed at once (R){why}",
    }
    return Enabling(enabled, tips)


def selection_text(selected: int) -> str:
    """The decision bar when several rows are selected."""
    return f"{selected} selected: A approves them all, R rejects them all " + (
        "(one signed decision each)" + (", C compares the two" if selected == 2 else "")
    )


def decision_text(state: SessionState, item: AssetItem) -> str:
    """The decision bar for one asset: its status, your decision, why you cannot decide."""
    parts = []
    identity = state.identity
    trust = state.trust
    if trust is not None and trust.state == MISMATCH:
        # Every asset is blocked for the same reason, which the red line above explains.
        parts.append("Blocked: this workspace's owner changed (see the red line above)")
    elif item.status is not None:
        parts.append(status_sentence(item, identity))
    if identity is not None:
        mine = item.latest_by(identity.principal)
        if mine in YOU_DID:
            parts.append(YOU_DID[mine])
    if state.read_only_reason:
        parts.append(state.read_only_reason)
    elif trust is not None and not trust.ok:
        parts.append("decisions are off here")
    else:
        # Why Approve or Reject is greyed out, beside the buttons (not only in a tooltip).
        why = state.why_not_approve(item)
        if why is not None:
            parts.append(why)
    return " · ".join(parts) or (NO_RESULTS if item.result is None else "")


@dataclass(frozen=True)
class SimpleTexts:
    """Simple mode's words about one image.

    Attributes:
        sentences: One plain sentence per warning or blocking finding, worst first.
        status: Where the image stands, and why she cannot approve it when she cannot.
        header: Which image of how many, and what the right-hand picture is.
    """

    sentences: tuple[str, ...]
    status: str
    header: str


def simple_texts(
    state: SessionState,
    item: AssetItem,
    *,
    row: int,
    count: int,
    reference: str | None,
    reference_exists: bool = True,
) -> SimpleTexts:
    """Simple mode speaks to the model: plain sentences, no codes, what the right side is."""
    identity = state.identity
    you = (
        identity is not None
        and identity.role == "model"
        and item.ref.model_id in identity.model_ids
    )
    # A model sees an image filed under another model when it may show her: "you" there is
    # the model it is filed under, never her.
    elsewhere = (
        identity is not None
        and identity.role == "model"
        and bool(identity.model_ids)
        and item.ref.model_id not in identity.model_ids
    )
    names = model_names(state.workspace)
    sentences = finding_sentences(
        item.findings,
        error=item.result.error if item.result else None,
        model_names=names,
        you=not elsewhere and (you or identity is None or identity.role == "model"),
        likeness=likeness_of(item.result),
        my_models=you_models(identity),
    )
    status = item.status
    me = identity.principal if identity is not None else None
    mine = item.latest_by(me) if me is not None else None
    text = (
        simple_status(
            status.evaluation.state,
            missing_roles=status.evaluation.missing_roles,
            blocked_by=status.evaluation.blocked_by,
            problems=status.evaluation.problems,
            consent=status.consent,
            mine=mine,
            approved_by=[
                (first_name(state, d.principal), d.role)
                for d in status.evaluation.approvals
                if d.principal != me
            ],
        )
        if status is not None
        else simple_status(None)
    )
    if elsewhere and (status is None or status.evaluation.state not in (State.REJECTED,)):
        text = "It is filed under another model: it needs your own approval as well as theirs."
    why = state.why_not_approve(item)
    if why is not None:
        text += " " + plain_error(why)
    caption = reference_caption(
        reference,
        model_id="" if elsewhere else item.ref.model_id,
        names=names,
        exists=reference_exists,
    )
    header = f"Image {row + 1} of {count}: {item.ref.path.name} (left), beside {caption} (right)"
    return SimpleTexts(tuple(sentences), text, header)


def first_name(state: SessionState, principal: str) -> str:
    """How a person on the roster is called in a sentence (their display name)."""
    roster = state.roster
    for p in roster.people if roster is not None else ():
        if p.principal == principal and p.name:
            return p.name
    return principal.split("@", 1)[0].capitalize()


def identity_line(identity: Identity | None, read_only_reason: str | None) -> str:
    """Who signs on this device, or why nobody can (the welcome page's line)."""
    if identity is not None:
        return f"Signed in as {identity.display_name} <{identity.principal}>, {identity.role}"
    line = read_only_reason or ""
    if "keyring" in line.lower():
        line = (
            f"{line} — twinreview keeps your signing key only in the system keyring. "
            "Install or unlock one, then start twinreview again; until then you can "
            "look, but not approve or reject."
        )
    return line


def log_banner(state: SessionState) -> str | None:
    """The red banner's rich text when a decision log failed verification (None: hide it)."""
    problems = state.verification_problems
    if state.verification_ok or not problems:
        return None
    shown = "".join(f"<li>{html.escape(app_message(p))}</li>" for p in problems[:BANNER_PROBLEMS])
    more = (
        f"<li>… and {len(problems) - BANNER_PROBLEMS} more</li>"
        if len(problems) > BANNER_PROBLEMS
        else ""
    )
    return (
        "<b>Some decision logs failed verification.</b> Affected assets are blocked; "
        f"nothing was repaired.<ul>{shown}{more}</ul>"
    )


def restored_text(text: str, simple: bool) -> str:
    """What the status line says after signed lines were put back; to the model, plainly."""
    if not simple:
        return text
    if text.startswith("Nothing to put back"):
        return "Nothing to put back: everything you decided is there."
    return "Put back what you decided: it counts again."


def opened_text(state: SessionState) -> str:
    """The status line once a workspace is open."""
    ws = state.workspace
    if state.workspace_read_only:
        return state.workspace_read_only
    return f"{len(state.items)} assets in {ws.root}" if ws is not None else ""


def scan_format(phase: str) -> str:
    """The progress bar's text during a scan (``%v`` and ``%m`` are Qt's placeholders)."""
    return f"{phase or 'scan'}: %v / %m"


def scan_finished_text(cancelled: bool) -> str:
    """The status line after a scan."""
    return "Scan cancelled" if cancelled else "Scan finished"
