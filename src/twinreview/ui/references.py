"""Which pictures an asset is compared with, and which comes first: a presenter without Qt.

The compare view shows an asset beside one picture at a time; this decides the list (the
evidence pairs of its findings first, then the face check's photos, then the rest of its model's
reference photos) and the one preselected (the evidence pair, else the closest by perceptual hash).
The asset itself is never in the list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twinreview.core.findings import (
    DUPLICATE_IN_BATCH,
    LOOKS_LIKE_OTHER_MODEL,
    MATCHES_OTHER_MODEL,
    NEAR_COPY_OF_REFERENCE,
    POSSIBLE_COPY_OF_REFERENCE,
    RESUBMITTED_REJECTED,
)
from twinreview.core.likeness.model import strength as likeness_strength
from twinreview.core.workspace import Workspace
from twinreview.services.scan.service import ScanResult
from twinreview.ui.items import AssetItem, likeness_of

SIMILARITY_KINDS = (
    NEAR_COPY_OF_REFERENCE,
    MATCHES_OTHER_MODEL,
    POSSIBLE_COPY_OF_REFERENCE,
    RESUBMITTED_REJECTED,
    DUPLICATE_IN_BATCH,
)


@dataclass(frozen=True)
class RefEntry:
    """A picture to compare against.

    Attributes:
        path: Absolute path.
        rel: Workspace-relative path (the key).
        label: Short text under the thumbnail.
        distance: Perceptual-hash distance to the asset (lower: more alike), when known.
        why: Why it is offered (e.g. ``evidence: near copy``), for the tooltip.
    """

    path: Path
    rel: str
    label: str
    distance: int | None = None
    why: str = ""


def hamming_hex(a: str | None, b: str | None) -> int | None:
    """Bit distance between two hex hashes of equal length (None when unknown)."""
    if not a or not b or len(a) != len(b):
        return None
    try:
        return (int(a, 16) ^ int(b, 16)).bit_count()
    except ValueError:
        return None


def _name(rel: str) -> str:
    return rel.rsplit("/", 1)[-1]


class ReferencePresenter:
    """Lists what an asset is compared with; reads the open workspace and scan when asked.

    Args:
        workspace: Returns the open workspace (None: none).
        scan_result: Returns the last scan result (its references' pHashes give distances).
    """

    def __init__(
        self,
        workspace: Callable[[], Workspace | None],
        scan_result: Callable[[], ScanResult | None],
    ) -> None:
        self._workspace = workspace
        self._scan_result = scan_result
        self._phash_cache: tuple[object, dict[str, str]] | None = None

    def references_for(self, item: AssetItem) -> list[RefEntry]:
        """The pictures to compare ``item`` with: evidence first, then its model's references."""
        ws = self._workspace()
        if ws is None:
            return []
        phashes = self._reference_phashes()
        asset_phash = item.result.phash if item.result else None
        out: list[RefEntry] = []
        seen: set[str] = {item.rel}  # never the asset itself (e.g. its own rejected bytes)
        for f in item.findings:
            ref = f.evidence.get("reference")
            if f.kind in SIMILARITY_KINDS and isinstance(ref, str) and ref and ref not in seen:
                seen.add(ref)
                dist = f.evidence.get("distance")
                out.append(
                    RefEntry(
                        ws.root / ref,
                        ref,
                        _name(ref),
                        int(dist) if isinstance(dist, int) else None,
                        f"Evidence: {f.kind.replace('_', ' ')}",
                    )
                )
        # The face check's evidence: another model's photo her face matched, else the model's
        # own photo with the closest face.
        lk = likeness_of(item.result)
        face_refs: list[tuple[str, str]] = []
        for f in item.findings:
            ref = f.evidence.get("reference")
            if f.kind == LOOKS_LIKE_OTHER_MODEL and isinstance(ref, str) and ref:
                face_refs.append((ref, "Evidence: the face looks like another model"))
        best = lk.best_own if lk is not None else None
        if best is not None and best.own is not None:
            why = f"Closest face: {likeness_strength(best.own.distance)} ({best.own.distance:.2f})"
            face_refs.append((best.own.reference, why))
        for ref, why in face_refs:
            if ref not in seen:
                seen.add(ref)
                dist = hamming_hex(asset_phash, phashes.get(ref))
                out.append(RefEntry(ws.root / ref, ref, _name(ref), dist, why))
        model = ws.models.get(item.ref.model_id)
        if model is not None:
            for p in model.references:
                rel = ws.rel(p) if p.is_relative_to(ws.root) else str(p)
                if rel in seen:
                    continue
                seen.add(rel)
                out.append(RefEntry(p, rel, p.name, hamming_hex(asset_phash, phashes.get(rel)), ""))
        return out

    @staticmethod
    def preselect(refs: list[RefEntry]) -> str | None:
        """The picture shown first: the evidence pair, else the closest, else the first."""
        for r in refs:
            if r.why:
                return r.rel
        known = [r for r in refs if r.distance is not None]
        if known:
            return min(known, key=lambda r: r.distance if r.distance is not None else 1 << 30).rel
        return refs[0].rel if refs else None

    def evidence_entry(self, rel: str) -> RefEntry | None:
        """An entry for an evidence link (a reference or another asset); None: no workspace."""
        ws = self._workspace()
        if ws is None:
            return None
        return RefEntry(ws.root / rel, rel, _name(rel), None, "Evidence")

    def _reference_phashes(self) -> dict[str, str]:
        result = self._scan_result()
        if result is None:
            return {}
        if self._phash_cache is not None and self._phash_cache[0] is result:
            return self._phash_cache[1]
        phashes = {}
        for r in result.references:
            ph = getattr(r, "phash", None)
            rel = getattr(r, "rel", None)
            if isinstance(ph, str) and isinstance(rel, str):
                phashes[rel] = ph
        self._phash_cache = (result, phashes)
        return phashes
