"""What the signed logs say was decided before: decisions per asset, and rejected assets.

``rejected_assets`` feeds the scan's ``resubmitted_rejected`` check (``ScanService``'s
``rejected_provider``; :func:`rejected_provider` is a ready-made one).

How a resubmission is matched (the scan does it, see :mod:`twinreview.services.scan.match`): the
log records each rejected asset's sha256 and pHash. The scan looks the rejected bytes up by sha256
in its content-keyed cache, which holds the full similarity fingerprint of every file it ever
scanned, and runs the same similarity engine as for reference photos, so a crop, re-encode or
mirror of a rejected image is caught even after the rejected file was deleted or renamed.
Identical bytes (same sha256) always match. The pHash in the log is the portable fallback for a
machine whose cache never saw the rejected bytes: :class:`RejectedPhashIndex` compares it by
Hamming distance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from twinreview.core.approval.policy import REJECT, Decision
from twinreview.core.errors import iso_utc
from twinreview.core.logs.verify import VerifyReport, verify_workspace
from twinreview.core.workspace import Workspace
from twinreview.services.status import verified_decisions


@dataclass(frozen=True)
class RejectedAsset:
    """An asset rejected in the signed logs, for ``resubmitted_rejected``."""

    path: str
    sha256: str
    phash: str | None
    principal: str
    role: str
    ts: str
    reasons: tuple[str, ...] = ()
    note: str = ""


# Hamming distance (of 64 bits) at or below which two recorded pHashes are taken as the same
# picture, for rejected bytes this machine never fingerprinted. Eight bits is the usual pHash cut
# for re-encodes and small edits; unrelated photos sit near 32.
PHASH_MAX_DISTANCE = 8


class RejectedPhashIndex:
    """The recorded pHashes of rejected assets, packed for vectorised Hamming distances.

    The fallback when the similarity engine has no fingerprint for the rejected bytes. Build once
    per scan; :meth:`match` costs one numpy XOR and popcount over all rejected assets.
    """

    def __init__(self, rejected: Sequence[RejectedAsset]) -> None:
        """Index the rejected assets that recorded a well-formed pHash."""
        keep: list[RejectedAsset] = []
        values: list[int] = []
        for r in rejected:
            value = _phash_int(r.phash)
            if value is not None:
                keep.append(r)
                values.append(value)
        self._rejected = keep
        self._hashes = np.array(values, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._rejected)

    def match(
        self,
        phash: str | None,
        *,
        mirrored_phash: str | None = None,
        max_distance: int = PHASH_MAX_DISTANCE,
    ) -> list[tuple[RejectedAsset, int]]:
        """Rejected assets whose pHash is within ``max_distance`` bits of ``phash``.

        Pass the pHash of the mirrored image too, to catch a flipped resubmission.

        Returns:
            ``(rejected asset, distance)`` pairs, closest first.
        """
        probes = [v for v in (_phash_int(phash), _phash_int(mirrored_phash)) if v is not None]
        if not probes or not self._rejected:
            return []
        dist = np.min(
            [np.bitwise_count(self._hashes ^ np.uint64(p)) for p in probes], axis=0
        ).astype(np.int64)
        idx = np.flatnonzero(dist <= max_distance)
        order = idx[np.argsort(dist[idx], kind="stable")]
        return [(self._rejected[i], int(dist[i])) for i in order]


def _phash_int(text: str | None) -> int | None:
    if text is None or len(text) != 16:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


def latest_per_principal_and_bytes(decisions: Iterable[Decision]) -> list[Decision]:
    """The latest decision of each principal about each (asset path, sha256).

    Within one log the order is ``seq``; across logs the timestamp (see ``core.approval.policy``).
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
