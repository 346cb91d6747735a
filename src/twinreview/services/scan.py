"""Scanning a workspace: per-file analysis on an injected executor, then vectorised matching.

The scan has three phases, each reported through ``progress``:

1. **analyse**: every reference photo and asset is read once. From those bytes come its sha256,
   one reduced decode (see :mod:`twinreview.core.imageio`) and every cheap hash
   (:func:`twinreview.core.hashing.fingerprint`), and, when an inspector is given, the disclosure
   report. Files whose ``stat`` (size, mtime, change time, inode and device) is unchanged since
   the last scan are not read at all: their sha256 comes from the cache's fast path and their
   results from the content-keyed cache. A same-size swap with the mtime put back changes the
   change time, so it is read (see :mod:`twinreview.services.cache`).
2. **match**: assets against all references and against each other, vectorised in
   :mod:`twinreview.core.similarity`: the hashes find candidate pairs, and each candidate is
   verified geometrically (:mod:`twinreview.core.geometry`: ORB keypoints, a RANSAC transform,
   pixel agreement) before it becomes a finding. The grey working image of each decoded file is
   kept from phase 1 for this (up to :data:`RETAIN_WORK_BYTES`; files beyond that, or read from
   the cache, are decoded again if they are in a candidate pair). Verdicts are cached per pair
   of contents, so a rescan verifies nothing again.
3. **findings**: matches, disclosure and file problems become :class:`Finding` objects with the
   severities of the workspace policy. This is cheap and never cached, so a policy change applies
   at once.

Work runs on the executor the caller injects (a thread pool in the app and CLI: Pillow releases the
GIL while decoding and resizing, and threads avoid process start-up and forking after Qt started).
The cache is touched only from the thread that called :meth:`ScanService.scan`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import stat
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from twinreview.core import geometry, hashing, similarity
from twinreview.core.findings import (
    BAD_SIDECAR,
    DUPLICATE_IN_BATCH,
    MATCHES_OTHER_MODEL,
    NEAR_COPY_OF_REFERENCE,
    NO_REFERENCES,
    RESUBMITTED_REJECTED,
    UNKNOWN_MODEL,
    UNREADABLE,
    Finding,
    Severity,
)
from twinreview.core.imageio import ImageLoadError, load_image
from twinreview.core.likeness import (
    FaceScan,
    Gallery,
    Likeness,
    LikenessSettings,
    ReferenceFaces,
)
from twinreview.core.likeness import findings as likeness_findings
from twinreview.core.workspace import AssetRef, SkippedPath, Workspace, read_sidecar
from twinreview.services.cache import ResultCache
from twinreview.services.faces import FaceEngine

# Bump when imageio or the fields stored under "analysis" change; hashing.VERSION covers the hashes.
ANALYSIS_VERSION = "1"

RETAIN_WORK_BYTES = 128 * 1024 * 1024
"""Memory for the grey working images kept from phase 1 for geometric verification (about
110 KB each, so about 1,200 images): beyond it a file in a candidate pair is decoded again."""

# Cached verdicts of geometric verification, per pair of contents.
GEOMETRY_VERSION = f"geometry/{geometry.VERSION}"


@dataclass(frozen=True)
class FileFacts:
    """Facts about a file a reviewer may want: original pixel size, format and byte size."""

    width: int | None
    height: int | None
    format: str | None
    size: int

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "size": self.size,
        }


@dataclass(frozen=True)
class AssetResult:
    """Everything the scan learned about one asset.

    Attributes:
        asset: Where it is and which model it is attributed to.
        sha256: Hex digest of its bytes (None when it could not be read at all).
        error: Why it could not be analysed, or None.
        findings: What a reviewer should know, worst first.
        facts: Pixel size, format, byte size.
        disclosure: The disclosure report's JSON form, when an inspector ran.
        phash: 64-bit pHash as 16 hex digits (recorded in decisions), or None.
        sidecar: The parsed JSON sidecar, when present and valid.
        likeness: Whose faces are in it (None when faces were not looked for).
    """

    asset: AssetRef
    sha256: str | None
    error: str | None
    findings: tuple[Finding, ...]
    facts: FileFacts
    disclosure: Mapping[str, Any] | None = None
    phash: str | None = None
    sidecar: Mapping[str, Any] | None = None
    likeness: Likeness | None = None

    @property
    def worst(self) -> Severity | None:
        """Highest severity among the findings."""
        return max((f.severity for f in self.findings), default=None)

    def to_json(self) -> dict[str, Any]:
        """JSON form used by ``twinreview scan --json``."""
        out: dict[str, Any] = {
            "path": self.asset.rel,
            "model": self.asset.model_id,
            "sha256": self.sha256,
            "error": self.error,
            "findings": [f.to_json() for f in self.findings],
            "facts": self.facts.to_json(),
            "phash": self.phash,
        }
        if self.disclosure is not None:
            out["disclosure"] = dict(self.disclosure)
        if self.likeness is not None:
            out["likeness"] = self.likeness.to_json()
        return out


@dataclass(frozen=True)
class ReferenceResult:
    """One reference photo as the scan saw it."""

    model_id: str
    path: Path
    rel: str
    sha256: str | None
    error: str | None
    facts: FileFacts


@dataclass(frozen=True)
class ScanProgress:
    """Progress report: ``done`` of ``total`` in ``phase`` (analyse, detail, match)."""

    done: int
    total: int
    phase: str
    current: str = ""


@dataclass(frozen=True)
class ScanResult:
    """The outcome of one scan."""

    workspace: Workspace
    assets: tuple[AssetResult, ...]
    references: tuple[ReferenceResult, ...]
    notices: tuple[str, ...] = ()
    cancelled: bool = False
    stats: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The document printed by ``twinreview scan --json``."""
        return {
            "workspace": str(self.workspace.root),
            "cancelled": self.cancelled,
            "notices": list(self.notices),
            "assets": [a.to_json() for a in self.assets],
        }


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


class DisclosureInspector(Protocol):
    """Per-file disclosure check, run in a worker thread on the bytes the scan already read."""

    @property
    def cache_key(self) -> str:
        """Changes whenever settings that affect the report change (trust anchors, label...)."""
        ...

    def sidecar_key(self, path: Path) -> str:
        """Identifies metadata files next to ``path`` that the report depends on ("" if none)."""
        ...

    def inspect(self, data: bytes, path: Path) -> Mapping[str, Any]:
        """Return the JSON form of the disclosure report; must not raise for bad input."""
        ...

    def findings(self, report: Mapping[str, Any]) -> list[Finding]:
        """Turn a report into findings under the workspace policy."""
        ...


@dataclass(frozen=True)
class _Analysis:
    sha256: str | None
    error: str | None
    facts: FileFacts
    fingerprint: hashing.Fingerprint | None
    disclosure: Mapping[str, Any] | None
    # The grey working image for geometric verification, kept for this scan only (not cached).
    work: geometry.GreyArray | None = field(default=None, compare=False, repr=False)


class ScanService:
    """Scans workspaces. Build once in the composition root, reuse for every scan.

    Args:
        executor: Where per-file work runs (one worker per core is right for a thread pool).
        cache: Result cache; use ``ResultCache.in_memory()`` to scan without a persistent cache.
        inspector_factory: Builds the disclosure inspector for a workspace (its settings live in
            ``twinreview.toml``); None to skip disclosure.
        rejected_provider: Returns the assets rejected in the workspace's verified logs; None to
            skip ``resubmitted_rejected``.
        face_engine: Finds faces for the likeness check; None to skip it.
    """

    def __init__(
        self,
        executor: Executor,
        cache: ResultCache,
        *,
        inspector_factory: Callable[[Workspace], DisclosureInspector] | None = None,
        rejected_provider: Callable[[Workspace], Sequence[RejectedAsset]] | None = None,
        face_engine: FaceEngine | None = None,
    ) -> None:
        self._executor = executor
        self._cache = cache
        self._inspector_factory = inspector_factory
        self._rejected_provider = rejected_provider
        self._face_engine = face_engine

    def scan(
        self,
        ws: Workspace,
        *,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> ScanResult:
        """Scan ``ws`` under its settings (``ws.settings``) and return its findings.

        Blocking; call it off the GUI thread.
        """
        report = progress or (lambda _p: None)
        stop = cancel or threading.Event()
        thresholds = ws.settings.similarity
        severity = ws.settings.severities
        likeness_settings = ws.settings.likeness
        inspector = self._inspector_factory(ws) if self._inspector_factory else None

        refs: list[tuple[str, Path, str]] = [
            (m.id, p, ws.rel(p)) for m in ws.models.values() for p in m.references
        ]
        items = list(ws.walk_assets())
        assets = [a for a in items if isinstance(a, AssetRef)]
        skipped = [s for s in items if isinstance(s, SkippedPath)]

        jobs: list[tuple[Path, bool]] = [(p, False) for _m, p, _r in refs]
        jobs += [(a.path, inspector is not None) for a in assets]
        analyses, cancelled, stats = self._analyse_all(jobs, inspector, report, stop)

        if cancelled:
            return ScanResult(ws, (), (), ("scan cancelled",), True, stats)
        ref_results = tuple(
            ReferenceResult(mid, p, rel, an.sha256, an.error, an.facts)
            for (mid, p, rel), an in zip(refs, analyses[: len(refs)], strict=True)
        )
        asset_analyses = analyses[len(refs) :]

        match_findings = self._match(
            ws,
            refs,
            analyses[: len(refs)],
            assets,
            asset_analyses,
            thresholds,
            severity,
            report,
            stop,
        )
        if stop.is_set():
            return ScanResult(ws, (), (), ("scan cancelled",), True, stats)
        notices = [
            f"{r.rel}: reference photo unreadable: {r.error}" for r in ref_results if r.error
        ]
        for mid, model in ws.models.items():
            if not model.references:
                notices.append(f"model {mid!r} has no reference photos: similarity not checked")
        likeness_of, likeness_found, cancelled = self._likeness(
            ws, refs, ref_results, assets, asset_analyses, likeness_settings, severity, notices,
            stats, report, stop,
        )  # fmt: skip
        if cancelled:
            return ScanResult(ws, (), (), ("scan cancelled",), True, stats)

        results: list[AssetResult] = []
        for idx, (asset, an) in enumerate(zip(assets, asset_analyses, strict=True)):
            findings = list(match_findings.get(idx, ()))
            findings += likeness_found.get(idx, ())
            sidecar_data: Mapping[str, Any] | None = None
            if asset.sidecar is not None:
                sidecar_data, problem = read_sidecar(asset.sidecar)
                if problem:
                    findings.append(
                        _finding(
                            severity,
                            BAD_SIDECAR,
                            f"The sidecar file is broken: {problem}.",
                            {"sidecar": ws.rel(asset.sidecar), "reason": problem},
                        )
                    )
            if an.error:
                findings.append(
                    _finding(severity, UNREADABLE, f"Unreadable: {an.error}.", {"reason": an.error})
                )
            if asset.model_id not in ws.models:
                findings.append(
                    _finding(
                        severity,
                        UNKNOWN_MODEL,
                        f"This image is filed under model '{asset.model_id}', "
                        "which the workspace does not have.",
                        {"model": asset.model_id},
                    )
                )
            elif not ws.models[asset.model_id].references:
                findings.append(
                    _finding(
                        severity,
                        NO_REFERENCES,
                        "The model has no reference photos, so this image could not be "
                        "compared with their real photos.",
                        {"model": asset.model_id},
                    )
                )
            if inspector is not None and an.disclosure is not None:
                findings.extend(inspector.findings(an.disclosure))
            findings.sort(key=lambda f: (-f.severity, f.kind))
            phash = f"{an.fingerprint.phash:016x}" if an.fingerprint is not None else None
            results.append(
                AssetResult(
                    asset,
                    an.sha256,
                    an.error,
                    tuple(findings),
                    an.facts,
                    an.disclosure,
                    phash,
                    sidecar_data,
                    likeness_of.get(idx),
                )
            )
        for s in skipped:
            reason = f"not read: {s.reason}"
            results.append(
                AssetResult(
                    AssetRef(ws.root / s.rel, s.rel, s.rel.split("/")[1] if "/" in s.rel else ""),
                    None,
                    reason,
                    (_finding(severity, UNREADABLE, f"Unreadable: {reason}.", {"reason": reason}),),
                    FileFacts(None, None, None, 0),
                )
            )
        results.sort(key=lambda r: r.asset.rel)
        return ScanResult(ws, tuple(results), ref_results, tuple(notices), False, stats)

    # -- phase 1 -----------------------------------------------------------------------------

    def _analyse_all(
        self,
        jobs: Sequence[tuple[Path, bool]],
        inspector: DisclosureInspector | None,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
    ) -> tuple[list[_Analysis], bool, dict[str, int]]:
        total = len(jobs)
        out: list[_Analysis | None] = [None] * total
        version = f"{ANALYSIS_VERSION}/{hashing.VERSION}"
        dversions: dict[int, str] = {}
        stats = {"files": total, "read": 0, "decoded": 0, "cached": 0}
        pending: dict[Future[tuple[_Analysis, os.stat_result | None, bool]], int] = {}
        done = 0
        # Working images kept for geometric verification, counted at about 3:4 of a square.
        keep_work = RETAIN_WORK_BYTES // (geometry.WORK_SIDE * geometry.WORK_SIDE * 3 // 4)
        report(ScanProgress(0, total, "analyse"))
        for i, (path, want_disclosure) in enumerate(jobs):
            if stop.is_set():
                break
            dversion = ""
            if inspector is not None and want_disclosure:
                # The report depends on the file and on its XMP sidecar: key on both.
                dversion = f"disclosure/{inspector.cache_key}/{inspector.sidecar_key(path)}"
                dversions[i] = dversion
            hit = self._from_cache(path, want_disclosure, version, dversion)
            if hit is not None:
                out[i] = hit
                stats["cached"] += 1
                done += 1
                if done % 64 == 0:
                    report(ScanProgress(done, total, "analyse", path.name))
                continue
            fut = self._executor.submit(
                _analyse_file,
                path,
                inspector if want_disclosure else None,
                functools.partial(
                    self._cached_content,
                    want_disclosure=want_disclosure,
                    version=version,
                    dversion=dversion,
                ),
                keep_work=keep_work > 0,
            )
            keep_work -= 1
            pending[fut] = i
        report(ScanProgress(done, total, "analyse"))
        while pending:
            finished, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if stop.is_set():
                for fut in pending:
                    fut.cancel()
                return [], True, stats
            for fut in finished:
                i = pending.pop(fut)
                an, st, decoded = fut.result()
                out[i] = an
                stats["read"] += 1
                stats["decoded"] += decoded
                self._store(jobs[i][0], st, an, version, dversions.get(i, ""))
                done += 1
                report(ScanProgress(done, total, "analyse", jobs[i][0].name))
        if stop.is_set():
            return [], True, stats
        return [a for a in out if a is not None], False, stats

    def _from_cache(
        self, path: Path, want_disclosure: bool, version: str, dversion: str
    ) -> _Analysis | None:
        """The fast path: an unchanged ``stat`` (size, times, inode) means no read at all."""
        try:
            st = path.stat()
        except OSError:
            return None
        sha = self._cache.lookup_sha(path, st)
        if sha is None:
            return None
        return self._cached_content(
            sha, want_disclosure=want_disclosure, version=version, dversion=dversion
        )

    def _cached_content(
        self, sha: str, *, want_disclosure: bool, version: str, dversion: str
    ) -> _Analysis | None:
        """Results for these bytes, whatever their path. Thread-safe (the cache locks)."""
        data = self._cache.get(sha, "analysis", version)
        if data is None:
            return None
        disclosure = None
        if want_disclosure:
            disclosure = self._cache.get(sha, "disclosure", dversion)
            if disclosure is None:
                return None
        try:
            fp = data.get("fingerprint")
            return _Analysis(
                sha256=sha,
                error=data.get("error"),
                facts=FileFacts(**data["facts"]),
                fingerprint=hashing.Fingerprint.from_json(fp) if fp else None,
                disclosure=disclosure,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None  # a damaged cache row is a miss: the file is analysed again

    def _store(
        self, path: Path, st: os.stat_result | None, an: _Analysis, version: str, dversion: str
    ) -> None:
        if an.sha256 is None or st is None:
            return  # could not even read it: nothing content-keyed to remember
        self._cache.put(
            an.sha256,
            "analysis",
            version,
            {
                "error": an.error,
                "facts": an.facts.to_json(),
                "fingerprint": an.fingerprint.to_json() if an.fingerprint else None,
            },
        )
        if an.disclosure is not None:
            self._cache.put(an.sha256, "disclosure", dversion, dict(an.disclosure))
        self._cache.record_sha(path, st, an.sha256)

    # -- phase 2 -----------------------------------------------------------------------------

    def _match(
        self,
        ws: Workspace,
        refs: Sequence[tuple[str, Path, str]],
        ref_analyses: Sequence[_Analysis],
        assets: Sequence[AssetRef],
        asset_analyses: Sequence[_Analysis],
        thresholds: similarity.SimilarityThresholds,
        severity: Mapping[str, Severity],
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
    ) -> dict[int, list[Finding]]:
        """Return findings per asset index from all similarity checks."""
        ref_idx = [i for i, an in enumerate(ref_analyses) if an.fingerprint is not None]
        asset_idx = [i for i, an in enumerate(asset_analyses) if an.fingerprint is not None]
        ref_fps = [_fp(ref_analyses[i]) for i in ref_idx]
        asset_fps = [_fp(asset_analyses[i]) for i in asset_idx]
        out: dict[int, list[Finding]] = {}
        report(ScanProgress(0, 1, "match"))

        # Candidates from the hashes (assets against references, assets against each other),
        # each verified geometrically before it becomes a finding.
        cands = similarity.candidates(asset_fps, ref_fps, thresholds)
        dup_cands = similarity.self_candidates(asset_fps, thresholds)

        def asset_image(q: int) -> tuple[Path, _Analysis]:
            return assets[asset_idx[q]].path, asset_analyses[asset_idx[q]]

        def ref_image(r: int) -> tuple[Path, _Analysis]:
            return refs[ref_idx[r]][1], ref_analyses[ref_idx[r]]

        # Clear-cut candidates are copies whatever verification says (see similarity.decide):
        # only those that become findings are verified, after the others, for their evidence.
        pairs = [(asset_image(c.query), ref_image(c.ref), c) for c in cands]
        pairs += [(asset_image(c.query), asset_image(c.ref), c) for c in dup_cands]
        verdicts: list[geometry.Verification | None] = [None] * len(pairs)
        prepared: dict[str, geometry.Prepared] = {}

        def verify(todo: Sequence[int]) -> None:
            found = self._verify(
                [(pairs[i][0], pairs[i][1], pairs[i][2].mirrored) for i in todo],
                thresholds,
                report,
                stop,
                prepared,
            )
            for i, v in zip(todo, found, strict=True):
                verdicts[i] = v

        verify([i for i, (_q, _r, c) in enumerate(pairs) if not c.clear_cut(thresholds)])
        unverified = "the file could not be read again"
        confirmed = [
            m
            for c, v in zip(cands, verdicts, strict=False)
            if (m := similarity.decide(c, v, thresholds, unverified=unverified)) is not None
        ]
        best: dict[tuple[int, str], similarity.Match] = {}
        for m in confirmed:
            a = asset_idx[m.query]
            ref_model = refs[ref_idx[m.ref]][0]
            kind = (
                NEAR_COPY_OF_REFERENCE if ref_model == assets[a].model_id else MATCHES_OTHER_MODEL
            )
            slot = (a, kind if kind == NEAR_COPY_OF_REFERENCE else f"{kind}:{ref_model}")
            if slot not in best or m.distance < best[slot].distance:
                best[slot] = m
        pair_of = {(c.query, c.ref): i for i, c in enumerate(cands)}
        clear = [pair_of[m.query, m.ref] for m in best.values()]
        clear += [len(cands) + i for i, c in enumerate(dup_cands)]
        verify(sorted(i for i in clear if pairs[i][2].clear_cut(thresholds)))
        if stop.is_set():
            return out
        for (a, label), m in sorted(best.items(), key=lambda kv: (kv[0][0], kv[1].distance)):
            mid, _p, rel = refs[ref_idx[m.ref]]
            evidence = {"reference": rel, "model": mid, **m.evidence}
            c = pairs[pair_of[m.query, m.ref]][2]
            if c.clear_cut(thresholds):
                evidence.update(
                    clear_cut_geometry(verdicts[pair_of[m.query, m.ref]], thresholds, unverified)
                )
            if label == NEAR_COPY_OF_REFERENCE:
                msg = (
                    "This image looks like a copy of one of the model's own real photos "
                    f"({rel}), possibly retouched, cropped or mirrored, not a newly generated "
                    "image."
                )
                out.setdefault(a, []).append(
                    _finding(severity, NEAR_COPY_OF_REFERENCE, msg, evidence)
                )
            else:
                name = ws.models[mid].display_name if mid in ws.models else mid
                msg = (
                    f"This image looks like a copy of a reference photo of another model, {name} "
                    f"({rel}). The image may be filed under the wrong person."
                )
                out.setdefault(a, []).append(_finding(severity, MATCHES_OTHER_MODEL, msg, evidence))

        # Assets against each other: the same image twice in one batch.
        for c, v in zip(dup_cands, verdicts[len(cands) :], strict=True):
            a, b = asset_idx[c.query], asset_idx[c.ref]
            # Each side's evidence maps that side onto the other (the inverse for b).
            for x, y, seen in ((a, b, v), (b, a, v.inverse() if v is not None else None)):
                m = similarity.decide(c, seen, thresholds, unverified=unverified)
                if m is None:
                    break
                other = assets[y].rel
                evidence = {"reference": other, "asset": other, **m.evidence}
                if c.clear_cut(thresholds):
                    evidence.update(clear_cut_geometry(seen, thresholds, unverified))
                msg = f"This image is the same picture as another image in this batch ({other})."
                out.setdefault(x, []).append(_finding(severity, DUPLICATE_IN_BATCH, msg, evidence))

        # Assets against what reviewers rejected before.
        if self._rejected_provider is not None:
            rejected = list(self._rejected_provider(ws))
            if rejected:
                self._resubmitted(
                    rejected,
                    assets,
                    asset_analyses,
                    asset_idx,
                    asset_fps,
                    thresholds,
                    severity,
                    out,
                )
        report(ScanProgress(1, 1, "match"))
        return out

    def _resubmitted(
        self,
        rejected: Sequence[RejectedAsset],
        assets: Sequence[AssetRef],
        asset_analyses: Sequence[_Analysis],
        asset_idx: Sequence[int],
        asset_fps: Sequence[hashing.Fingerprint],
        thresholds: similarity.SimilarityThresholds,
        severity: Mapping[str, Severity],
        out: dict[int, list[Finding]],
    ) -> None:
        # The rejected bytes' fingerprints come from the content-keyed cache (they were scanned
        # when they were rejected), so a deleted or renamed rejected file still counts.
        version = f"{ANALYSIS_VERSION}/{hashing.VERSION}"
        cached = self._cache.get_many((r.sha256 for r in rejected), "analysis", version)
        rej_fps: list[hashing.Fingerprint] = []
        rej_of: list[RejectedAsset] = []
        for r in rejected:
            data = cached.get(r.sha256)
            try:
                fp = hashing.Fingerprint.from_json(data["fingerprint"]) if data else None
            except (ValueError, KeyError, TypeError):
                fp = None  # damaged row: the pHash fallback below covers it
            if fp is not None:
                rej_fps.append(fp)
                rej_of.append(r)
            else:
                cached.pop(r.sha256, None)
        hits: dict[int, list[tuple[RejectedAsset, Mapping[str, Any]]]] = {}
        by_sha: dict[str, list[RejectedAsset]] = {}
        for r in rejected:
            by_sha.setdefault(r.sha256, []).append(r)
        for a, an in enumerate(asset_analyses):
            for r in by_sha.get(an.sha256 or "", ()):
                hits.setdefault(a, []).append((r, {"distance": 0, "hash": "sha256"}))
        # Rejected bytes this machine never fingerprinted: compare the pHash the log recorded.
        unseen = RejectedPhashIndex([r for r in rejected if r.sha256 not in cached])
        if len(unseen):
            for q, a in enumerate(asset_idx):
                fp = asset_fps[q]
                for r, dist in unseen.match(
                    f"{fp.phash:016x}", mirrored_phash=f"{fp.phash_mirror:016x}"
                ):
                    hits.setdefault(a, []).append((r, {"distance": dist, "hash": "phash"}))
        for m in similarity.match(asset_fps, rej_fps, thresholds).matches:
            a = asset_idx[m.query]
            r = rej_of[m.ref]
            if all(
                prev.sha256 != r.sha256 or prev.principal != r.principal
                for prev, _ in hits.get(a, [])
            ):
                hits.setdefault(a, []).append((r, m.evidence))
        for a, pairs in hits.items():
            for r, ev in pairs:
                if r.path == assets[a].rel and r.sha256 == asset_analyses[a].sha256:
                    continue  # the very decision about this file, not a resubmission
                why = ", ".join(r.reasons) if r.reasons else "no reason given"
                note = f' ("{r.note}")' if r.note else ""
                msg = (
                    f"This image is a near copy of {r.path}, which {r.principal} ({r.role}) "
                    f"rejected on {r.ts[:10]}: {why}{note}."
                )
                evidence = {
                    "reference": r.path,
                    "rejected_by": r.principal,
                    "role": r.role,
                    "rejected_at": r.ts,
                    "reasons": list(r.reasons),
                    "note": r.note,
                    **ev,
                }
                out.setdefault(a, []).append(
                    _finding(severity, RESUBMITTED_REJECTED, msg, evidence)
                )

    def verify_pair(
        self,
        query: Path,
        reference: Path,
        thresholds: similarity.SimilarityThresholds | None = None,
        *,
        prefer_mirrored: bool = False,
    ) -> geometry.Verification | None:
        """Verify two files geometrically on demand, e.g. for the compare view.

        A copy finding whose verification failed carries no homography: this computes one.
        Blocking (reads and decodes both files, about 50 ms for two photos): call it off the
        GUI thread. Cached like the scan's verdicts.

        Returns:
            The verification (its ``homography`` maps ``query`` onto ``reference``), or None
            when either file cannot be read or decoded.
        """
        th = thresholds or similarity.SimilarityThresholds()
        try:
            shas = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (query, reference)]
        except OSError:
            return None
        key = _verdict_key(shas[0], shas[1], prefer_mirrored, th)
        cached = self._cache.get(key, "geometry", GEOMETRY_VERSION)
        if cached is not None:
            try:
                return geometry.Verification.from_json(cached)
            except ValueError:
                pass  # a damaged row is a miss
        pq, pr = _prepare_file(query, shas[0], None), _prepare_file(reference, shas[1], None)
        if pq is None or pr is None:
            return None
        verdict = geometry.verify(
            pq,
            pr,
            prefer_mirrored=prefer_mirrored,
            min_inliers=th.min_inliers,
            min_agreement=th.min_agreement / 100,
        )
        self._cache.put(key, "geometry", GEOMETRY_VERSION, verdict.to_json())
        return verdict

    def _verify(
        self,
        pairs: Sequence[tuple[tuple[Path, _Analysis], tuple[Path, _Analysis], bool]],
        thresholds: similarity.SimilarityThresholds,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
        prepared: dict[str, geometry.Prepared] | None = None,
    ) -> list[geometry.Verification | None]:
        """Geometric verification of candidate pairs ((query, reference, prefer mirrored)).

        Verdicts come from the cache when the same two contents were verified before (with the
        same thresholds, which decide whether the other orientation is tried). Otherwise
        each image involved is prepared once (its working image kept from phase 1, or decoded
        again; ``prepared`` keeps them by sha256 across calls) and each pair verified, both on
        the executor. A pair whose file cannot be read again, or changed since phase 1, gets
        None (the hashes then decide alone). Cancelling leaves the remaining pairs None; the
        caller checks ``stop``.
        """
        if prepared is None:
            prepared = {}
        out: list[geometry.Verification | None] = [None] * len(pairs)
        if not pairs:
            return out
        keys = [
            _verdict_key(q[1].sha256 or "", r[1].sha256 or "", mirr, thresholds)
            for q, r, mirr in pairs
        ]
        cached = self._cache.get_many(keys, "geometry", GEOMETRY_VERSION)
        todo: list[int] = []
        for i, key in enumerate(keys):
            try:
                if key in cached:
                    out[i] = geometry.Verification.from_json(cached[key])
                    continue
            except ValueError:
                pass  # a damaged row is a miss: the pair is verified again
            todo.append(i)
        # Each image once, by content: a file listed twice (or as a reference and an asset)
        # is prepared once.
        images: dict[str, tuple[Path, geometry.GreyArray | None]] = {}
        for i in todo:
            for path, an in pairs[i][:2]:
                sha = an.sha256
                if sha is not None and sha not in images and sha not in prepared:
                    images[sha] = (path, an.work)
        total, done = len(images) + len(todo), 0
        report(ScanProgress(0, total, "verify"))
        preparing = {
            self._executor.submit(_prepare_file, path, sha, work): sha
            for sha, (path, work) in images.items()
        }
        for fut in preparing:
            if stop.is_set():
                fut.cancel()
                continue
            prep = fut.result()
            if prep is not None:
                prepared[preparing[fut]] = prep
            done += 1
            report(ScanProgress(done, total, "verify"))
        verifying: dict[Future[geometry.Verification], int] = {}
        for i in todo:
            (_qp, qa), (_rp, ra), mirrored = pairs[i]
            pq, pr = prepared.get(qa.sha256 or ""), prepared.get(ra.sha256 or "")
            if pq is None or pr is None or stop.is_set():
                continue
            verifying[
                self._executor.submit(
                    geometry.verify,
                    pq,
                    pr,
                    prefer_mirrored=mirrored,
                    min_inliers=thresholds.min_inliers,
                    min_agreement=thresholds.min_agreement / 100,
                )
            ] = i
        results: list[tuple[str, Any]] = []
        for vfut, i in verifying.items():
            if stop.is_set():
                vfut.cancel()
                continue
            out[i] = verdict = vfut.result()
            results.append((keys[i], verdict.to_json()))
            done += 1
            report(ScanProgress(done, total, "verify"))
        if results:
            self._cache.put_many(results, "geometry", GEOMETRY_VERSION)
        return out

    # -- likeness: whose faces are in each asset ----------------------------------------------
    # Separate from the similarity phases above: faces of every readable reference photo and
    # asset (cached by content hash), then one vectorised comparison in core.likeness.

    def _likeness(
        self,
        ws: Workspace,
        refs: Sequence[tuple[str, Path, str]],
        ref_results: Sequence[ReferenceResult],
        assets: Sequence[AssetRef],
        asset_analyses: Sequence[_Analysis],
        settings: LikenessSettings,
        severity: Mapping[str, Severity],
        notices: list[str],
        stats: dict[str, int],
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
    ) -> tuple[dict[int, Likeness], dict[int, list[Finding]], bool]:
        """Faces of references and assets, compared: per asset index its likeness and findings.

        Returns:
            ``(likeness by asset index, findings by asset index, cancelled)``.
        """
        engine = self._face_engine
        if engine is None or not settings.enabled:
            return {}, {}, False
        # (path, sha256, width, height) of every readable file, references first.
        files: list[tuple[Path, str, int | None, int | None]] = [
            (r.path, r.sha256, r.facts.width, r.facts.height)
            for r in ref_results
            if r.sha256 is not None and r.error is None
        ]
        files += [
            (a.path, an.sha256, an.facts.width, an.facts.height)
            for a, an in zip(assets, asset_analyses, strict=True)
            if an.sha256 is not None and an.error is None
        ]
        scans = self._face_scans(engine, files, stats, report, stop)
        if scans is None:
            return {}, {}, True
        gallery = Gallery.build(
            [
                ReferenceFaces(r.model_id, r.rel, scans[r.sha256])
                for r in ref_results
                if r.sha256 is not None and r.sha256 in scans
            ],
            settings,
        )
        if engine.problem is not None:
            notices.append(f"likeness not checked: {engine.problem}")
        else:
            notices.extend(gallery.notices)
        known = {mid: len(m.references) for mid, m in ws.models.items()}
        order = [
            i for i, an in enumerate(asset_analyses) if an.sha256 is not None and an.error is None
        ]
        assessed = gallery.assess(
            [(assets[i].model_id, scans.get(asset_analyses[i].sha256 or "")) for i in order],
            known=known,
        )
        names = {mid: m.display_name for mid, m in ws.models.items()}
        likeness_of = dict(zip(order, assessed, strict=True))
        found = {i: likeness_findings(lk, severity, names) for i, lk in likeness_of.items()}
        return likeness_of, {i: f for i, f in found.items() if f}, False

    def _face_scans(
        self,
        engine: FaceEngine,
        files: Sequence[tuple[Path, str, int | None, int | None]],
        stats: dict[str, int],
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
    ) -> dict[str, FaceScan] | None:
        """The faces of each file by sha256: from the cache, else computed on the executor.

        Returns None when cancelled. Only the coordinating thread touches the cache.
        """
        version = engine.version
        unique = {sha: (path, w, h) for path, sha, w, h in reversed(files)}
        out: dict[str, FaceScan] = {}
        stats["faces_cached"] = stats["faces_computed"] = 0
        if engine.problem is not None:
            # Missing model files: every file says so; nothing is cached (installing fixes it).
            return {sha: FaceScan(error=engine.problem) for sha in unique}
        for sha, data in self._cache.get_many(unique, "faces", version).items():
            try:
                out[sha] = FaceScan.from_json(data)
                stats["faces_cached"] += 1
            except ValueError:
                pass  # a damaged row is a miss: the faces are found again
        todo: dict[Future[tuple[str | None, FaceScan]], str] = {}
        for sha, (path, w, h) in unique.items():
            if sha not in out:
                todo[self._executor.submit(_faces_file, engine, path, w, h)] = sha
        total, done = len(todo), 0
        report(ScanProgress(0, total, "faces"))
        pending = set(todo)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if stop.is_set():
                for fut in pending:
                    fut.cancel()
                return None
            for fut in finished:
                sha = todo[fut]
                read_sha, scan = fut.result()
                out[sha] = scan
                done += 1
                stats["faces_computed"] += 1
                report(ScanProgress(done, total, "faces", unique[sha][0].name))
                if read_sha is not None and scan.error is None:
                    # Keyed by the bytes actually read (a file changed since its analysis is
                    # stored under its new content, never under the old hash). A failure may
                    # be passing (memory, a model file): it is not remembered.
                    self._cache.put(read_sha, "faces", version, scan.to_json())
        return None if stop.is_set() else out


def _faces_file(
    engine: FaceEngine, path: Path, width: int | None, height: int | None
) -> tuple[str | None, FaceScan]:
    """Worker: the faces in one file and the sha256 of the bytes read. Never raises."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, FaceScan(error=f"cannot read the file ({exc.strerror or exc})")
    return hashlib.sha256(data).hexdigest(), engine.scan_bytes(data, width=width, height=height)


def _analyse_file(
    path: Path,
    inspector: DisclosureInspector | None,
    known: Callable[[str], _Analysis | None],
    *,
    keep_work: bool = False,
) -> tuple[_Analysis, os.stat_result | None, bool]:
    """Worker: read once, hash, decode once, fingerprint, inspect. Never raises.

    ``known(sha256)`` returns the cached analysis of identical bytes seen under another path or
    ``stat`` (a renamed, copied or touched file); then nothing is decoded. The last element of
    the returned tuple says whether the file was decoded. ``st`` is taken before the read, so a
    change during the read is recorded under an older change time: a later lookup misses rather
    than trusting a hash of bytes that are no longer there.
    """
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            # A FIFO or device would block the read forever or never end.
            reason = "not a regular file (a pipe, socket or device)"
            return _Analysis(None, reason, FileFacts(None, None, None, 0), None, None), None, False
        with path.open("rb") as fh:
            data = fh.read()
    except OSError as exc:
        reason = f"cannot read the file ({exc.strerror or exc})"
        return _Analysis(None, reason, FileFacts(None, None, None, 0), None, None), None, False
    sha = hashlib.sha256(data).hexdigest()
    seen = known(sha)
    if seen is not None:
        return seen, st, False
    fmt: str | None = None
    width = height = None
    fp = None
    work = None
    error = None
    try:
        loaded = load_image(data, min_side=hashing.MIN_SIDE)
        fmt, width, height = loaded.format, loaded.width, loaded.height
        grey = loaded.image.convert("L")
        fp = hashing.fingerprint(loaded.image, grey=grey)
        if keep_work:
            work = geometry.working_image(grey)
    except ImageLoadError as exc:
        error = str(exc)
    disclosure = None
    if inspector is not None:
        disclosure = inspector.inspect(data, path)
    facts = FileFacts(width, height, fmt, len(data))
    return _Analysis(sha, error, facts, fp, disclosure, work), st, True


def _verdict_key(
    query_sha: str, ref_sha: str, mirrored: bool, th: similarity.SimilarityThresholds
) -> str:
    """Cache key of a verdict: both contents, the orientation tried first, the thresholds.

    The thresholds decide whether the other orientation is tried.
    """
    text = f"{query_sha}:{ref_sha}:{int(mirrored)}:{th.min_inliers}:{th.min_agreement}"
    return hashlib.sha256(text.encode()).hexdigest()


def _prepare_file(
    path: Path, sha256: str, work: geometry.GreyArray | None
) -> geometry.Prepared | None:
    """Worker: what geometric verification needs of one image. Never raises.

    Uses the working image kept from phase 1, or reads and decodes the file again; None when
    it cannot be read or its bytes are no longer those of ``sha256``.
    """
    if work is None:
        try:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != sha256:
                return None
            work = geometry.working_image(load_image(data, min_side=hashing.MIN_SIDE).image)
        except (OSError, ImageLoadError):
            return None
    return geometry.Prepared(work)


def clear_cut_geometry(
    verification: geometry.Verification | None,
    th: similarity.SimilarityThresholds,
    unverified: str,
) -> dict[str, Any]:
    """Evidence of a clear-cut copy's geometric verification, added to its hash evidence.

    The hashes decide a clear-cut pair (:func:`similarity.decide`); the verification gives the
    compare view its mapping and the reviewer the inlier count. A verification that does not
    confirm the copy is recorded, and the finding stays.

    Returns:
        ``verification`` ("geometry" when it confirms the copy, else why not), ``clear_cut``,
        ``inliers``, ``min_inliers``, ``agreement``, ``min_agreement``, ``homography`` and
        ``asset_region`` (None unless the transform has at least ``min_inliers`` inliers),
        ``keypoints`` and, when confirmed, the verified ``mirrored``.
    """
    out: dict[str, Any] = {
        "clear_cut": True,
        "inliers": None,
        "min_inliers": th.min_inliers,
        "agreement": None,
        "min_agreement": th.min_agreement / 100,
        "homography": None,
        "asset_region": None,
        "keypoints": None,
    }
    v = verification
    if v is None or not v.possible:
        why = unverified if v is None else "too few keypoints to verify"
        out["verification"] = f"clear-cut hash match; geometry not possible: {why}"
        out["keypoints"] = None if v is None else list(v.keypoints)
        return out
    placed = v.inliers >= th.min_inliers and v.homography is not None
    confirmed = placed and v.agreement is not None and v.agreement * 100 >= th.min_agreement
    out.update(
        inliers=v.inliers,
        agreement=v.agreement,
        keypoints=list(v.keypoints),
        verification=(
            "geometry" if confirmed else "clear-cut hash match; not confirmed by geometry"
        ),
    )
    if placed:
        assert v.homography is not None
        out["homography"] = [list(r) for r in v.homography]
        out["asset_region"] = v.asset_region()
        out["mirrored"] = v.mirrored
    return out


def _fp(an: _Analysis) -> hashing.Fingerprint:
    assert an.fingerprint is not None
    return an.fingerprint


def _finding(
    severity: Mapping[str, Severity], kind: str, message: str, evidence: Mapping[str, Any]
) -> Finding:
    return Finding(kind, severity.get(kind, Severity.WARN), message, dict(evidence))
