"""What the window asks of a page that shows assets (review page, simple mode)."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel

from twinreview.ui.compare_view import CompareView
from twinreview.ui.items import AssetItem
from twinreview.ui.queue_model import ItemRole, QueueProxy


class AssetPage(Protocol):
    """A page with its own filtered queue (:attr:`proxy`) and compare view (:attr:`view`).

    The page says when its current asset changed (its ``current_changed`` signal); the window
    then shows that asset.
    """

    @property
    def proxy(self) -> QueueProxy:
        """The page's queue, filtered and sorted."""
        ...

    @property
    def view(self) -> CompareView:
        """The page's compare view."""
        ...

    def current_item(self) -> AssetItem | None:
        """The asset on screen."""
        ...

    def is_empty(self) -> bool:
        """True when the page shows no asset and none is on its way (start at the top)."""
        ...

    def select(self, rel: str) -> bool:
        """Make ``rel`` current; False when the page's queue does not show it."""
        ...

    def select_first(self) -> None:
        """Make the first asset current (none when the queue is empty)."""
        ...

    def step(self, delta: int) -> None:
        """Move by ``delta`` in the queue (clamped)."""
        ...

    def neighbour(self, delta: int) -> AssetItem | None:
        """The asset ``delta`` rows away from the current one, if any."""
        ...

    def selected_items(self) -> list[AssetItem]:
        """The assets selected for a batch (in queue order; empty where there is none)."""
        ...


def item_at(proxy: QSortFilterProxyModel, row: int) -> AssetItem | None:
    """The asset of a proxy row (None out of range)."""
    if not 0 <= row < proxy.rowCount():
        return None
    found = proxy.index(row, 0).data(ItemRole)
    return found if isinstance(found, AssetItem) else None


def row_of(proxy: QSortFilterProxyModel, rel: str) -> int:
    """The proxy row showing ``rel``, -1 when it is filtered out or absent."""
    for row in range(proxy.rowCount()):
        item = item_at(proxy, row)
        if item is not None and item.rel == rel:
            return row
    return -1


Index = QModelIndex | QPersistentModelIndex
