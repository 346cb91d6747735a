"""Every command of the main window as one table: id, text, icon, keys, tip.

The window builds its ``QAction`` objects from :data:`ACTIONS` in one loop
(:func:`build_actions`), gives each its slot by id, and lays out its menus (:data:`MENUS`) and
toolbar (:data:`TOOLBAR`) from the ids. The shortcut sheet lists the same table. Simple mode has
one menu of its own (:data:`SIMPLE_MENU`): the few commands a model needs, in her words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar

from twinreview.ui.queue_model import QueueFilter
from twinreview.ui.resources import icon


def filter_action(mode: QueueFilter) -> str:
    """The id of the action that applies the queue filter ``mode``."""
    return f"filter_{mode.name.lower()}"


@dataclass(frozen=True)
class Spec:
    """One command.

    Attributes:
        id: The key the window finds it (and its slot) by.
        text: Menu text, with its ``&`` mnemonic.
        icon: Bundled icon name, or None.
        keys: Shortcuts (``QKeySequence`` strings); the first is the one shown in tooltips first.
        tip: What it does, in one line (tooltip and status tip; the keys are appended).
        checkable: A toggle.
        checked: Checked at start.
        group: Exclusive group name (one of the group checked at a time), or "".
    """

    id: str
    text: str
    icon: str | None
    keys: tuple[str, ...]
    tip: str
    checkable: bool = False
    checked: bool = False
    group: str = ""


ACTIONS: tuple[Spec, ...] = (
    Spec(
        "open",
        "&Open workspace…",
        "open",
        ("Ctrl+O",),
        "Open a workspace folder",
    ),
    Spec(
        "create",
        "&Create workspace…",
        "roster",
        ("Ctrl+N",),
        "Make a new workspace folder; your key becomes its owner",
    ),
    Spec(
        "demo",
        "Open the &demo",
        "demo",
        ("Ctrl+Shift+D",),
        "Build the demo workspace and open it",
    ),
    Spec(
        "rescan",
        "&Rescan",
        "rescan",
        ("F5", "Ctrl+R"),
        "Scan the workspace again",
    ),
    Spec(
        "cancel_scan",
        "&Cancel scan",
        "cancel",
        ("Ctrl+.",),
        "Stop the running scan",
    ),
    Spec(
        "quit",
        "&Quit",
        None,
        ("Ctrl+Q",),
        "Close twinreview (what is signed is saved; a running scan stops)",
    ),
    Spec(
        "approve",
        "&Approve",
        "approve",
        ("A",),
        "Approve this asset; signed at once",
    ),
    Spec(
        "reject",
        "&Reject…",
        "reject",
        ("R",),
        "Reject this asset with reasons; signed at once",
    ),
    Spec(
        "undo",
        "&Undo my last decision",
        None,
        ("Ctrl+Z",),
        "Withdraw the decision you just signed (a signed withdraw entry: you are undecided again)",
    ),
    Spec(
        "withdraw",
        "&Withdraw my decision",
        None,
        ("Ctrl+Backspace",),
        "Withdraw your decision about this asset (signed; you are undecided again)",
    ),
    Spec(
        "compare_two",
        "&Compare the two selected",
        None,
        ("C",),
        "Select two assets (Ctrl + click) and compare them side by side",
    ),
    Spec(
        "next",
        "&Next",
        "next",
        ("N", "J", "Ctrl+Down"),
        "Next asset in the queue",
    ),
    Spec(
        "previous",
        "&Previous",
        "previous",
        ("P", "K", "Ctrl+Up"),
        "Previous asset in the queue",
    ),
    Spec(
        "side",
        "&Side by side",
        "side-by-side",
        ("S",),
        "Asset and reference side by side",
        checkable=True,
        checked=True,
        group="compare_mode",
    ),
    Spec(
        "wipe",
        "&Wipe",
        "wipe",
        ("W",),
        "One view with a divider between asset and reference",
        checkable=True,
        group="compare_mode",
    ),
    Spec(
        "difference",
        "&Difference",
        "difference",
        ("D",),
        "Show where asset and reference differ (black: identical)",
        checkable=True,
        group="compare_mode",
    ),
    Spec(
        "flip",
        "&Flip",
        "flip",
        ("X",),
        "Mirror the reference left-right in place (a mirrored copy then lines up)",
        checkable=True,
    ),
    Spec(
        "swap",
        "S&wap sides",
        None,
        ("B",),
        "Show the reference in the asset's place and back (blink comparison)",
        checkable=True,
    ),
    Spec(
        "evidence",
        "&Evidence regions",
        None,
        ("E",),
        "Outline where each image lies in the other, from the copy evidence (cyan dashes)",
        checkable=True,
        checked=True,
    ),
    Spec(
        "faces",
        "Face &boxes",
        None,
        ("F",),
        "Outline the faces the likeness check found (green: the model, red: another model, "
        "amber: nobody in this workspace)",
        checkable=True,
        checked=True,
    ),
    Spec(
        "fit",
        "&Fit",
        "zoom-fit",
        ("0", "Ctrl+0"),
        "Fit the whole image; lines both sides up again",
    ),
    Spec(
        "actual",
        "&100 %",
        "zoom-100",
        ("1", "Ctrl+1"),
        "One image pixel per screen pixel",
    ),
    Spec(
        "zoom_in",
        "Zoom &in",
        "zoom-in",
        ("+", "=", "Ctrl++"),
        "Zoom in (both sides)",
    ),
    Spec(
        "zoom_out",
        "Zoom &out",
        "zoom-out",
        ("-", "Ctrl+-"),
        "Zoom out (both sides)",
    ),
    Spec(
        "next_ref",
        "Next reference",
        None,
        ("]",),
        "Compare with the next reference photo",
    ),
    Spec(
        "prev_ref",
        "Previous reference",
        None,
        ("[",),
        "Compare with the previous reference photo",
    ),
    Spec(
        "wipe_left",
        "Wipe left",
        None,
        (",",),
        "Move the wipe divider left",
    ),
    Spec(
        "wipe_right",
        "Wipe right",
        None,
        (".",),
        "Move the wipe divider right",
    ),
    Spec(
        "ref_left",
        "Move reference left",
        None,
        ("Alt+Shift+Left",),
        "Move the reference side alone",
    ),
    Spec(
        "ref_right",
        "Move reference right",
        None,
        ("Alt+Shift+Right",),
        "Move the reference side alone",
    ),
    Spec(
        "ref_up",
        "Move reference up",
        None,
        ("Alt+Shift+Up",),
        "Move the reference side alone",
    ),
    Spec(
        "ref_down",
        "Move reference down",
        None,
        ("Alt+Shift+Down",),
        "Move the reference side alone",
    ),
    Spec(
        "simple",
        "Si&mple mode",
        "simple-mode",
        ("Ctrl+M",),
        "Large images and two buttons, only your own assets",
        checkable=True,
    ),
    Spec(
        "identity",
        "&Identity…",
        "identity",
        ("Ctrl+I",),
        "Who you are on this computer: create your identity, or show your key line again",
    ),
    Spec(
        "roster",
        "R&oster…",
        "roster",
        ("Ctrl+Shift+R",),
        "Who may approve here: people, join requests, the signed rules",
    ),
    Spec(
        "consent",
        "My &consent…",
        "consent",
        ("Ctrl+Shift+C",),
        "As a model: which uses of your images you allow, until when",
    ),
    Spec(
        "rules",
        "Workspace &rules…",
        None,
        ("Ctrl+Shift+W",),
        "Every rule of the workspace in words: what blocks approval, which AI disclosure may be "
        "approved; the owner or an admin signs a change",
    ),
    Spec(
        "export_report",
        "&Export report…",
        None,
        ("Ctrl+Shift+E",),
        "Write the sign-off report: every image, its findings, disclosure and signed decisions",
    ),
    Spec(
        "export_logs",
        "Export &logs…",
        None,
        ("Ctrl+Shift+L",),
        "Export the signed roster and every decision log, signed with your key, for an auditor",
    ),
    Spec(
        "check_published",
        "Chec&k a published file…",
        None,
        ("Ctrl+Shift+K",),
        "Was a published image really approved, and by whom? Checked against an export",
    ),
    Spec(
        "publish",
        "&Publish cleared…",
        None,
        ("Ctrl+Shift+P",),
        "Copy the cleared assets out with their AI disclosure and Content Credentials signed by "
        "the brand, carrying who signed them off",
    ),
    Spec(
        "published",
        "Pu&blished files…",
        None,
        ("Ctrl+Shift+U",),
        "Every file that was published, and whether it is still in consent (out of consent "
        "first); in simple mode, where your images went",
    ),
    Spec(
        "search",
        "Filter by path",
        None,
        ("Ctrl+F",),
        "Type to filter the queue",
    ),
    *(
        Spec(
            filter_action(mode),
            f"Show: {mode.value}",
            None,
            (f"Alt+{i}",),
            f"{mode.tooltip}; the keyboard stays in the queue",
            checkable=True,
            checked=mode is QueueFilter.ALL,
            group="queue_filter",
        )
        for i, mode in enumerate(QueueFilter, 1)
    ),
    Spec(
        "shortcuts",
        "&Keyboard shortcuts",
        "keyboard",
        ("?", "F1"),
        "Show every keyboard shortcut",
    ),
)


@dataclass(frozen=True)
class KeyRow:
    """One row of the key table: what a key does, and where it works.

    Attributes:
        what: What it does.
        keys: Key sequences (``QKeySequence`` strings).
        scope: ``window`` (anywhere in the window, an action's shortcut), an area of the review
            page (``queue``, ``images``, ``findings``, ``decision``, ``filters``, ``search``:
            only while it has the keyboard), or ``dialog`` (inside the open dialog).
        mouse: The same with the mouse, for the shortcut sheet.
    """

    what: str
    keys: tuple[str, ...]
    scope: str
    mouse: str = ""


_ARROWS = ("Left", "Right", "Up", "Down")

#: Keys that are not actions: moving between and inside the areas, selecting, dialogs.
OTHER_KEYS: tuple[KeyRow, ...] = (
    KeyRow(
        "Next / previous area (queue, images, findings, decisions, filters)",
        ("Tab", "Shift+Tab"),
        "window",
    ),
    KeyRow("Move in the queue", ("Up", "Down", "PgUp", "PgDown", "Home", "End"), "queue"),
    KeyRow(
        "Select several assets",
        ("Shift+Up", "Shift+Down", "Shift+PgUp", "Shift+PgDown", "Shift+Home", "Shift+End"),
        "queue",
        "Shift+click, Ctrl+click",
    ),
    KeyRow("Select every asset the filter shows", ("Ctrl+A",), "queue"),
    KeyRow("Back to the queue from the search box", ("Esc", "Return"), "search"),
    KeyRow("Pan the image", _ARROWS, "images", "drag"),
    KeyRow(
        "Pan one side alone",
        tuple(f"Shift+{k}" for k in _ARROWS),
        "images",
        "Shift+drag, Shift+wheel zooms one side",
    ),
    KeyRow("Zoom about the pointer", (), "images", "mouse wheel"),
    KeyRow("Fit / 100 %", (), "images", "double click"),
    KeyRow("Scroll the findings", ("Up", "Down", "PgUp", "PgDown"), "findings"),
    KeyRow("Move between the decision buttons", ("Left", "Right"), "decision"),
    KeyRow("Press the decision button", ("Space",), "decision"),
    KeyRow("Move between the filters", ("Left", "Right"), "filters"),
    KeyRow(
        "Change a filter list (finding, model, disclosure); between buttons: move",
        ("Up", "Down"),
        "filters",
    ),
    KeyRow("Confirm a dialog (reject reasons, note)", ("Ctrl+Return",), "dialog"),
    KeyRow("Close a dialog", ("Esc",), "dialog"),
)


def key_table() -> list[KeyRow]:
    """Every key of the app: each action's shortcuts (window-wide), then :data:`OTHER_KEYS`."""
    return [
        *(KeyRow(spec.text.replace("&", ""), spec.keys, "window") for spec in ACTIONS),
        *OTHER_KEYS,
    ]


def other_keys() -> list[tuple[str, str]]:
    """The shortcut sheet's rows for keys that are not actions: (what, keys and mouse)."""
    rows = []
    for row in OTHER_KEYS:
        keys = keys_text(row.keys) if row.keys else ""
        where = {"window": "", "dialog": " (in a dialog)"}.get(row.scope, f" (in the {row.scope})")
        rows.append((row.what + where, ", ".join(x for x in (keys, row.mouse) if x)))
    return rows


#: The menu bar: (title, ids; None is a separator).
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("open", "create", "demo", None, "rescan", "cancel_scan", None, "quit")),
    (
        "&Review",
        (
            "approve",
            "reject",
            "undo",
            "withdraw",
            None,
            "next",
            "previous",
            "compare_two",
            None,
            "simple",
        ),
    ),
    (
        "&Queue",
        (
            *(filter_action(mode) for mode in QueueFilter),
            None,
            "search",
        ),
    ),
    (
        "&View",
        (
            "side",
            "wipe",
            "difference",
            "flip",
            "swap",
            "evidence",
            "faces",
            None,
            "fit",
            "actual",
            "zoom_in",
            "zoom_out",
            None,
            "next_ref",
            "prev_ref",
            "wipe_left",
            "wipe_right",
            "ref_left",
            "ref_right",
            "ref_up",
            "ref_down",
        ),
    ),
    (
        "&Workspace",
        (
            "identity",
            "roster",
            "consent",
            "rules",
            None,
            "export_report",
            "export_logs",
            "check_published",
            None,
            "publish",
            "published",
        ),
    ),
    ("&Help", ("shortcuts",)),
)

#: Simple mode's one menu: its title, then (the command it runs, its words, its tip); None is a
#: separator. No word a model would not know: her consent, where her images went, leaving.
SIMPLE_MENU: tuple[str, tuple[tuple[str, str, str] | None, ...]] = (
    "&Menu",
    (
        (
            "consent",
            "My &consent (what I allow)…",
            "Which uses of your images you allow, and until when",
        ),
        (
            "published",
            "&Where your images went…",
            "Where your approved images were published, and which may no longer be used",
        ),
        None,
        ("simple", "&Leave simple mode", "Back to the full review window"),
        None,
        ("quit", "&Quit", "Close twinreview; what you decided is kept"),
    ),
)

#: The toolbar (None is a separator).
TOOLBAR: tuple[str | None, ...] = (
    "open",
    "rescan",
    None,
    "side",
    "wipe",
    "difference",
    "flip",
    None,
    "fit",
    "actual",
    "zoom_in",
    "zoom_out",
    None,
    "simple",
    "identity",
    "roster",
    "consent",
    "shortcuts",
)


def keys_text(keys: tuple[str, ...]) -> str:
    """``("N", "J")`` -> ``"N, J"`` in the platform's notation."""
    return ", ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in keys)


def build_actions(parent: QObject, slots: Mapping[str, Callable[[], None]]) -> dict[str, QAction]:
    """Make every action of :data:`ACTIONS`, connected to ``slots[id]``, in one loop.

    Raises:
        KeyError: when a slot is missing (every command must do something).
    """
    acts: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in ACTIONS:
        slot = slots[spec.id]
        a = QAction(spec.text, parent)
        if spec.icon:
            a.setIcon(icon(spec.icon))
        a.setShortcuts([QKeySequence(k) for k in spec.keys])
        shown = keys_text(spec.keys)
        a.setToolTip(f"{spec.tip} ({shown})" if shown else spec.tip)
        a.setStatusTip(spec.tip)
        a.setCheckable(spec.checkable)
        a.setChecked(spec.checked)
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.triggered.connect(lambda _=False, slot=slot: slot())
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(parent)).addAction(a)
        acts[spec.id] = a
    unused = set(slots) - set(acts)
    if unused:
        raise KeyError(f"slots without an action: {', '.join(sorted(unused))}")
    return acts


def build_toolbar(acts: Mapping[str, QAction]) -> QToolBar:
    """The main toolbar, laid out from :data:`TOOLBAR`."""
    tb = QToolBar("Main")
    tb.setObjectName("main_toolbar")
    tb.setIconSize(QSize(22, 22))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
    for name in TOOLBAR:
        if name is None:
            tb.addSeparator()
        else:
            tb.addAction(acts[name])
    return tb


def fill_menus(bar: QMenuBar, acts: Mapping[str, QAction]) -> None:
    """The menu bar, laid out from :data:`MENUS`: every action found by reading, not only by key.

    Simple mode's menu (:data:`SIMPLE_MENU`) is added hidden; :func:`show_simple_menus` swaps.
    """
    for title, names in MENUS:
        menu = bar.addMenu(title)
        for name in names:
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(acts[name])
    title, items = SIMPLE_MENU
    simple = bar.addMenu(title)
    simple.setObjectName("simple_menu")
    for item in items:
        if item is None:
            simple.addSeparator()
            continue
        name, text, tip = item
        source = acts[name]
        keys = source.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        # Its own words, the same command: the window's action keeps the keys (one owner each).
        a = simple.addAction(f"{text}\t{keys}" if keys else text)
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.triggered.connect(lambda _=False, source=source: source.trigger())
        a.setEnabled(source.isEnabled())
        source.changed.connect(lambda a=a, source=source: a.setEnabled(source.isEnabled()))
    simple.menuAction().setVisible(False)


def show_simple_menus(bar: QMenuBar, simple: bool) -> None:
    """Show simple mode's menu alone (``simple``), or every other menu."""
    for a in bar.actions():
        menu = a.menu()
        if isinstance(menu, QMenu):
            a.setVisible((menu.objectName() == "simple_menu") == simple)
