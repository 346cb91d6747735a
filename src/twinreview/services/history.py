"""What the signed logs say was decided before: decisions per asset, and rejected assets.

``rejected_assets`` feeds the scan's ``resubmitted_rejected`` check (``ScanService``'s
``rejected_provider``; :func:`rejected_provider` is a ready-made one).

How a resubmission is matched (the scan does it, see ``ScanService._resubmitted``): the log records
each rejected asset's sha256 and pHash. The scan looks the rejected bytes up by sha256 in its
content-keyed cache, which holds the full similarity fingerprint of every file it ever scanned, and
runs the same similarity engine as for reference photos, so a crop, re-encode or mirror of a
rejected image is caught even after the rejected file was deleted or renamed. Identical bytes
(same sha256) always match. The pHash in the log is the portable fallback for a machine whose cache
never saw the rejected bytes: :class:`RejectedPhashIndex` compares it by Hamming distance.
"""

from __future__ import annotations

from collections.abc import Iterable

from twinreview.core.errors import iso_utc
from twinreview.core.policy import REJECT, Decision
from twinreview.core.verify import VerifyReport, verify_workspace
from twinreview.core.workspace import Workspace
from twinreview.services.scan import (  # re-exported: the history's public API
    PHASH_MAX_DISTANCE,
    RejectedAsset,
    RejectedPhashIndex,
)
from twinreview.services.status import verified_decisions

__all__ = [
    "PHASH_MAX_DISTANCE",
    "RejectedAsset",
    "RejectedPhashIndex",
    "latest_per_principal_and_bytes",
    "rejected_assets",
    "rejected_provider",
]


def latest_per_principal_and_bytes(decisions: Iterable[Decision]) -> list[Decision]:
    """The latest decision of each principal about each (asset path, sha256).

    Within one log the order is ``seq``; across logs the timestamp (see ``core.policy``).
    """
    best: dict[tuple[str, str, str], Decision] = {}
    for d in decisions:
        key = (d.principal, d.asset, d.sha256)
        prev = best.get(key)
        if prev is None or _later(d, prev):
            best[key] = d
    return sorted(best.values(), key=lambda d: (d.ts, d.principal, d.asset))


def rejected_assets(report: VerifyReport) -> list[RejectedAsset]:
    """Assets whose bytes a principal rejected and did not approve again afterwards.

    One record per (principal, asset path, sha256) whose latest verified decision is a reject;
    the same bytes rejected by two people give two records (both are named in the finding).
    """
    return [
        RejectedAsset(
            path=d.asset,
            sha256=d.sha256,
            phash=d.phash,
            principal=d.principal,
            role=d.role,
            ts=iso_utc(d.ts, "milliseconds"),
            reasons=d.reasons,
            note=d.note,
        )
        for d in latest_per_principal_and_bytes(verified_decisions(report))
        if d.decision == REJECT
    ]


def rejected_provider(ws: Workspace) -> list[RejectedAsset]:
    """``ScanService`` ``rejected_provider``: verify the workspace's logs, return what was rejected.

    Only verified entries count: a forged or tampered reject must not raise findings either.
    """
    return rejected_assets(verify_workspace(ws))


def _later(a: Decision, b: Decision) -> bool:
    if a.log == b.log:
        return a.seq > b.seq
    return (a.ts, a.log) > (b.ts, b.log)
