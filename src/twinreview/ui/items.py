"""One asset of the open workspace with what is known about it so far (no Qt).

Shared by the session (which fills it), the queue, the panels and the presenters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twinreview.core.approval.policy import State
from twinreview.core.findings import Finding, Severity, worst
from twinreview.core.likeness.model import Likeness
from twinreview.core.workspace import AssetRef
from twinreview.services.scan.service import AssetResult
from twinreview.ui.backend import AssetStatus


def likeness_of(result: Any) -> Likeness | None:
    """The likeness of a scan result, when the scan looked for faces (else None)."""
    lk = getattr(result, "likeness", None) if result is not None else None
    return lk if isinstance(lk, Likeness) else None


def disclosure_verdict(item: AssetItem) -> str | None:
    """The asset's AI-disclosure verdict (``disclosed`` … ``blocked``), None before the scan."""
    disclosure = item.result.disclosure if item.result is not None else None
    return disclosure.verdict.value if disclosure is not None else None


@dataclass
class AssetItem:
    """One row of the queue: an asset with whatever is known about it so far."""

    ref: AssetRef
    model_name: str
    result: AssetResult | None = None
    status: AssetStatus | None = None

    @property
    def rel(self) -> str:
        """Workspace-relative path."""
        return self.ref.rel

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Findings of the last scan (empty before it)."""
        return tuple(self.result.findings) if self.result is not None else ()

    @property
    def worst(self) -> Severity | None:
        """Worst finding severity, None when there are none (or no scan yet)."""
        return worst(self.findings)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Findings of severity block."""
        return tuple(f for f in self.findings if f.severity is Severity.BLOCK)

    @property
    def state(self) -> State | None:
        """Policy state, None until statuses are known."""
        return self.status.evaluation.state if self.status is not None else None

    def latest_by(self, principal: str) -> str | None:
        """The latest decision of ``principal`` about the current bytes, if any."""
        if self.status is None:
            return None
        for d in reversed(self.status.evaluation.counting):
            if d.principal == principal:
                return d.decision
        return None
