"""Print the README's keyboard list from the app's own key table (``actions.key_table``).

Run with ``uv run python tests/ui/make_shortcut_list.py``; paste the output between the README's
``<!-- keys -->`` markers (``test_the_readme_lists_the_app_s_keys`` fails until it matches).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: The scopes' words in the list.
WHERE = {
    "window": "in the window",
    "queue": "in the queue",
    "images": "on the images",
    "findings": "in the findings",
    "decision": "on the decision buttons",
    "filters": "in the filters",
    "search": "in the search box",
    "dialog": "in a dialog",
}


def shortcut_markdown() -> str:
    """The key table as a Markdown table: keys, what they do, where they work."""
    from PySide6.QtGui import QKeySequence

    from twinreview.ui.actions import key_table

    lines = ["| Keys | What | Where |", "|---|---|---|"]
    for row in key_table():
        keys = ", ".join(
            f"`{QKeySequence(k).toString(QKeySequence.SequenceFormat.PortableText)}`"
            for k in row.keys
        )
        keys = ", ".join(x for x in (keys, row.mouse) if x)
        lines.append(f"| {keys} | {row.what} | {WHERE.get(row.scope, row.scope)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    print(shortcut_markdown())
