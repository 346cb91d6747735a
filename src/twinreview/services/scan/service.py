"""Scanning a workspace: per-file analysis on an injected executor, then vectorised matching.

The scan has three phases, each reported through ``progress``, each in its own module:

1. **analyse** (:mod:`twinreview.services.scan.analyse`): every reference photo and asset is read
   once, hashed, decoded once, fingerprinted and (assets) inspected for disclosure, into a
   :class:`~twinreview.services.scan.model.Corpus`. Unchanged files are not read at all: their
   results come from the content-keyed cache. With a face engine, the faces are located on the
   same decode (the quick pass).
2. **match** (:mod:`twinreview.services.scan.match`): assets against all references and against
   each other, vectorised in :mod:`twinreview.core.similarity.match`: the hashes find candidate
   pairs, and each candidate is verified geometrically (:mod:`twinreview.services.scan.verify`)
   before it becomes a finding; assets against what reviewers rejected before. Verdicts are cached
   per pair of contents, so a rescan verifies nothing again. Then the face pass
   (:mod:`twinreview.services.scan.likeness`), when a face engine is given: its progress carries
   what is known already (``ScanProgress.known``: copies, disclosure), usable before it ends.
3. **findings** (here): matches, likeness, disclosure and file problems become
   :class:`~twinreview.core.findings.Finding` objects (the factories of
   :mod:`twinreview.core.findings`) with the severities of the workspace's settings
   (``ws.settings``). This is cheap and never cached, so a policy change applies at once.

Work runs on the executor the caller injects (a thread pool in the app and CLI: Pillow releases the
GIL while decoding and resizing, and threads avoid process start-up and forking after Qt started).
The cache is touched only from the thread that called :meth:`ScanService.scan`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinreview.core import findings as make
from twinreview.core.disclosure import DisclosureReport
from twinreview.core.findings import Finding, Severity
from twinreview.core.likeness.model import Likeness, near_identical
from twinreview.core.similarity import geometry
from twinreview.core.similarity import match as similarity
from twinreview.core.workspace import (
    AssetRef,
    AssetWalk,
    SkippedPath,
    Workspace,
    read_sidecar,
    rel_of,
)
from twinreview.services.memory import release_freed
from twinreview.services.scan.analyse import Analyser, kept_analysis
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.faces import FaceEngine
from twinreview.services.scan.history import RejectedAsset
from twinreview.services.scan.likeness import FacePass
from twinreview.services.scan.match import Matcher
from twinreview.services.scan.model import (
    NO_FACTS,
    AssetFile,
    Corpus,
    DisclosureInspector,
    FileFacts,
    ScanProgress,
)
from twinreview.services.scan.verify import GeometryVerifier


@dataclass(frozen=True)
class AssetResult:
    """Everything the scan learned about one asset.

    Attributes:
        asset: Where it is and which model it is attributed to.
        sha256: Hex digest of its bytes (None when it could not be read at all).
        error: Why it could not be analysed, or None.
        findings: What a reviewer should know, worst first.
        facts: Pixel size, format, byte size.
        disclosure: The disclosure report, when an inspector ran.
        phash: 64-bit pHash as 16 hex digits (recorded in decisions), or None.
        sidecar: The parsed JSON sidecar, when present and valid.
        likeness: Whose faces are in it (None when faces were not looked for).
    """

    asset: AssetRef
    sha256: str | None
    error: str | None
    findings: tuple[Finding, ...]
    facts: FileFacts
    disclosure: DisclosureReport | None = None
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
            out["disclosure"] = self.disclosure.to_json()
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


class ScanService:
    """Scans workspaces. Build once in the composition root, reuse for every scan.

    Args:
        executor: Where per-file work runs (one worker per core is right for a thread pool).
        cache: Result cache; use ``ResultCache.in_memory()`` to scan without a persistent cache.
        inspector_factory: Builds the disclosure inspector for a workspace (from its settings);
            None to skip disclosure.
        rejected_provider: Returns the assets rejected in the workspace's verified logs; None to
            skip ``resubmitted_rejected``.
        face_engine: Finds faces for the likeness check; None to skip it.
        defer_saves: Leave the cache writes that only a later process needs to
            :meth:`settle` (a long-lived scan process calls it once the result went out).
    """

    def __init__(
        self,
        executor: Executor,
        cache: ResultCache,
        *,
        inspector_factory: Callable[[Workspace], DisclosureInspector] | None = None,
        rejected_provider: Callable[[Workspace], Sequence[RejectedAsset]] | None = None,
        face_engine: FaceEngine | None = None,
        defer_saves: bool = False,
    ) -> None:
        self._analyser = Analyser(executor, cache, face_engine)
        self._verifier = GeometryVerifier(executor, cache)
        self._matcher = Matcher(self._verifier, cache, executor, defer_saves=defer_saves)
        self._faces = FacePass(executor, cache, face_engine) if face_engine else None
        self._inspector_factory = inspector_factory
        self._rejected_provider = rejected_provider
        # What the last scan saw (one workspace at a time): a rescan told which paths changed
        # looks at those only.
        self._seen: _Seen | None = None
        self._result_memo: dict[str, _Made] = {}
        self._problems: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {})
        # Paths named to a scan that did not finish: the next one looks at them too.
        self._unseen: tuple[Path, set[str] | None] | None = None

    def scan(
        self,
        ws: Workspace,
        *,
        progress: Callable[[ScanProgress], None] | None = None,
        cancel: threading.Event | None = None,
        changed: Collection[str] | None = None,
    ) -> ScanResult:
        """Scan ``ws`` under its settings (``ws.settings``) and return its findings.

        Blocking; call it off the GUI thread.

        Args:
            ws: The workspace.
            progress: Called with the progress of each phase.
            cancel: Set to stop the scan (its result then says ``cancelled``).
            changed: The absolute paths of the files and folders that changed since this
                service's last scan of ``ws`` (as the OS reported them:
                :class:`twinreview.services.watch.FolderWatch`). The folders they name are
                listed again and the files they name (with their sidecars) analysed again;
                every other asset keeps what the last scan found. None (and a first scan):
                every file is looked at, as it must be when changes may have gone unreported.
        """
        self.settle()  # what an earlier scan left for later, before this one replaces it
        report = progress or (lambda _p: None)
        stop = cancel or threading.Event()
        settings = ws.settings
        inspector = self._inspector_factory(ws) if self._inspector_factory else None
        want_faces = self._faces is not None and settings.likeness.enabled

        refs = [(m.id, p, ws.rel(p)) for m in ws.models.values() for p in m.references]
        changed = self._named(ws.root, changed)
        seen = self._seen if self._seen is not None and self._seen.root == ws.root else None
        walk = None
        if changed is not None and seen is not None:
            walk = ws.walk_again(seen.walk, changed)
        if walk is None or seen is None or changed is None:
            seen, walk = None, ws.walk()
        else:
            seen = dataclasses.replace(seen, names_stand=_names_stand(seen, walk, changed))
        items = list(walk.items)
        assets = [a for a in items if isinstance(a, AssetRef)]
        skipped = [s for s in items if isinstance(s, SkippedPath)]
        if seen is None:
            corpus, stats = self._analyser.corpus(
                refs, assets, inspector, report, stop, faces=want_faces
            )
            touched = None
        else:
            assert changed is not None
            named = _named_files(ws.root, changed)
            todo = [a for a in assets if _touched(a, seen.assets.get(a.rel), named)]
            touched = {a.rel for a in todo}
            some, stats = self._analyser.corpus(
                refs, todo, inspector, report, stop, faces=want_faces, some=True
            )
            corpus = None
            if some is not None:
                fresh = {a.rel: a for a in some.assets}
                files = tuple(fresh.get(a.rel) or seen.assets[a.rel] for a in assets)
                corpus = Corpus(some.references, files, some.load_keypoints)
        if corpus is None:
            return self._stopped(ws, stats, seen, changed)
        stats["assets_looked_at"] = stats.get("files", 0) - len(refs)
        release_freed()  # the decodes of phase 1 are done with

        rejected = list(self._rejected_provider(ws)) if self._rejected_provider else []
        names = {mid: m.display_name for mid, m in ws.models.items()}
        found = self._matcher.findings(
            corpus, settings, names, rejected, report, stop, stats, scope=str(ws.root)
        )
        if stop.is_set():
            return self._stopped(ws, stats, seen, changed)
        notices = [
            f"{r.rel}: reference photo unreadable: {r.analysis.error}"
            for r in corpus.references
            if r.analysis.error
        ]
        for mid, model in ws.models.items():
            if not model.references:
                notices.append(f"model {mid!r} has no reference photos: similarity not checked")
        likeness: dict[int, Likeness] = {}
        if self._faces is not None and settings.likeness.enabled:
            # What is known before the face pass (copies, disclosure) goes out with its
            # progress, so that a reviewer can use it while the faces are checked.
            known = self._result(
                ws, corpus, found, {}, inspector, skipped, notices, stats, seen, touched
            )

            def report_faces(p: ScanProgress) -> None:
                report(dataclasses.replace(p, known=known))

            faces = self._faces.likeness(
                corpus, ws.models, settings.likeness, settings.severities, notices, stats,
                report_faces, stop,
            )  # fmt: skip
            if faces is None:
                return self._stopped(ws, stats, seen, changed)
            likeness = faces[0]
            for i, more in faces[1].items():
                found.setdefault(i, []).extend(more)
            for i, lk in likeness.items():
                found.setdefault(i, []).extend(_possible_copies(lk, found.get(i, []), ws))
        result = self._result(
            ws, corpus, found, likeness, inspector, skipped, notices, stats, seen, touched
        )
        kept = dict(seen.assets) if seen is not None else {}
        if seen is not None:
            for rel in seen.assets.keys() - {a.rel for a in corpus.assets}:
                del kept[rel]
        for a in corpus.assets:
            if seen is None or a.rel in (touched or ()):
                kept[a.rel] = _kept(a)
        self._seen = _Seen(
            ws.root, walk, kept, self._result_memo, _context(ws, inspector), self._problems
        )
        return result

    def settle(self) -> None:
        """Write what the last scan left for later (with ``defer_saves``); cheap when nothing.

        Blocking, on the thread that scans.
        """
        self._matcher.settle()

    def _named(self, root: Path, changed: Collection[str] | None) -> set[str] | None:
        """The paths named to this scan, and to the last one of ``root`` if it did not finish.

        None: every file must be looked at.
        """
        unseen, self._unseen = self._unseen, None
        if changed is None:
            return None
        named = set(changed)
        if unseen is not None and unseen[0] == root:
            if unseen[1] is None:
                return None
            named |= unseen[1]
        return named

    def _stopped(
        self,
        ws: Workspace,
        stats: Mapping[str, int],
        seen: _Seen | None,
        changed: set[str] | None,
    ) -> ScanResult:
        """A cancelled scan's result; what was named to it is named to the next scan too."""
        self._unseen = (ws.root, None if seen is None or changed is None else changed)
        return _cancelled(ws, stats)

    def _result(
        self,
        ws: Workspace,
        corpus: Corpus,
        found: Mapping[int, list[Finding]],
        likeness: Mapping[int, Likeness],
        inspector: DisclosureInspector | None,
        skipped: Sequence[SkippedPath],
        notices: Sequence[str],
        stats: Mapping[str, int],
        seen: _Seen | None = None,
        touched: Collection[str] | None = None,
    ) -> ScanResult:
        """The scan's result.

        With ``seen`` (the last scan's), an asset not ``touched`` whose analysis, findings and
        likeness are those of the last scan keeps its result, and the path problems stand when
        no name changed.
        """
        settings = ws.settings
        context = _context(ws, inspector)
        before = seen.results if seen is not None and seen.context == context else {}
        memo: dict[str, _Made] = {}
        # Findings per disclosure report: files that share one report (read once from the
        # cache) share its findings too, and go to the app as one object.
        said: dict[int, tuple[DisclosureReport, tuple[Finding, ...]]] = {}
        results = []
        for i, asset in enumerate(corpus.assets):
            more = tuple(found.get(i, ()))
            lk = likeness.get(i)
            last = before.get(asset.rel)
            if (
                last is not None
                and (last.analysis is asset.analysis or last.analysis == asset.analysis)
                and asset.rel not in (touched or ())
                and last.found == more
                and last.likeness == lk
            ):
                made = last
            else:
                made = _Made(
                    asset.analysis,
                    more,
                    lk,
                    self._asset_result(ws, asset, list(more), lk, inspector, said),
                )
            memo[asset.rel] = made
            results.append(made.result)
        self._result_memo = memo
        for s in skipped:
            reason = f"not read: {s.reason}"
            model_id = s.rel.split("/")[1] if "/" in s.rel else ""
            results.append(
                AssetResult(
                    AssetRef(ws.root / s.rel, s.rel, model_id),
                    None,
                    reason,
                    (make.unreadable(settings.severities, reason),),
                    NO_FACTS,
                )
            )
        # A copy: the early result and the final one each add the path notices to their own.
        notes = list(notices)
        # When only contents changed, the names are those the last scan saw.
        stand = seen is not None and seen.names_stand
        problems = seen.problems if seen is not None and stand else ws.portability()
        self._problems = problems
        results = _with_path_problems(ws, results, notes, problems)
        results.sort(key=lambda r: r.asset.rel)
        return ScanResult(
            ws, tuple(results), _reference_results(corpus), tuple(notes), False, dict(stats)
        )

    @staticmethod
    def _asset_result(
        ws: Workspace,
        asset: AssetFile,
        found: list[Finding],
        likeness: Likeness | None,
        inspector: DisclosureInspector | None,
        said: dict[int, tuple[DisclosureReport, tuple[Finding, ...]]] | None = None,
    ) -> AssetResult:
        """One asset's result: the findings of the match and face phases, and its own.

        ``said`` keeps the disclosure findings of each report object seen (by its id, with the
        report, which keeps the id from being reused).
        """
        severities = ws.settings.severities
        an = asset.analysis
        findings = list(found)
        sidecar_data: Mapping[str, Any] | None = None
        if asset.ref.sidecar is not None:
            sidecar_data, problem = read_sidecar(asset.ref.sidecar)
            if problem:
                findings.append(
                    make.bad_sidecar(severities, sidecar=ws.rel(asset.ref.sidecar), reason=problem)
                )
        if an.error:
            findings.append(make.unreadable(severities, an.error))
        if an.ambiguous:
            findings.append(make.ambiguous_image(severities, an.ambiguous))
        if asset.model_id not in ws.models:
            findings.append(make.unknown_model(severities, asset.model_id))
        elif not ws.models[asset.model_id].references:
            findings.append(make.no_references(severities, asset.model_id))
        if inspector is not None and an.disclosure is not None:
            known = said.get(id(an.disclosure)) if said is not None else None
            if known is None:
                known = (an.disclosure, tuple(inspector.findings(an.disclosure)))
                if said is not None:
                    said[id(an.disclosure)] = known
            findings.extend(known[1])
        findings.sort(key=lambda f: (-f.severity, f.kind))
        phash = f"{an.fingerprint.phash:016x}" if an.fingerprint is not None else None
        return AssetResult(
            asset.ref,
            an.sha256,
            an.error,
            tuple(findings),
            an.facts,
            an.disclosure,
            phash,
            sidecar_data,
            likeness,
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
        return self._verifier.verify_files(query, reference, th, prefer_mirrored=prefer_mirrored)


def _possible_copies(lk: Likeness, found: Sequence[Finding], ws: Workspace) -> list[Finding]:
    """Never clean by omission: a warning per reference face near-identical to a face here.

    Only for photos that no copy finding names (the geometry could not confirm a copy).
    """
    named = {
        f.evidence.get("reference")
        for f in found
        if f.kind in (make.NEAR_COPY_OF_REFERENCE, make.MATCHES_OTHER_MODEL)
    }
    out = []
    for face, ref in near_identical(lk):
        if ref.reference in named:
            continue
        other = ref.model != lk.model
        model = ws.models.get(ref.model)
        out.append(
            make.possible_copy_of_reference(
                ws.settings.severities,
                reference=ref.reference,
                model=ref.model,
                model_name=(model.display_name if model else ref.model) if other else None,
                distance=ref.distance,
                box=face.box,
                reference_box=ref.box,
            )
        )
    return out


def _cancelled(ws: Workspace, stats: Mapping[str, int]) -> ScanResult:
    return ScanResult(ws, (), (), ("scan cancelled",), True, stats)


def _reference_results(corpus: Corpus) -> tuple[ReferenceResult, ...]:
    return tuple(
        ReferenceResult(
            r.model_id, r.path, r.rel, r.analysis.sha256, r.analysis.error, r.analysis.facts
        )
        for r in corpus.references
    )


def _with_path_problems(
    ws: Workspace,
    results: list[AssetResult],
    notices: list[str],
    found: tuple[Mapping[str, str], Mapping[str, str]],
) -> list[AssetResult]:
    """Report the paths a Mac or Windows laptop cannot keep (``found``: by path, by name).

    A finding on each such asset; a notice for every other file or folder whose own name is at
    fault (a model folder, a reference photo).
    """
    problems, names = found
    if not problems:
        return results
    severities = ws.settings.severities
    out = []
    for r in results:
        problem = problems.get(r.asset.rel)
        if problem is not None:
            extra = make.path_not_portable(severities, path=r.asset.rel, problem=problem)
            findings = sorted((*r.findings, extra), key=lambda f: (-f.severity, f.kind))
            r = dataclasses.replace(r, findings=tuple(findings))
        out.append(r)
    assets = {r.asset.rel for r in results}
    notices.extend(f"{rel}: {why}" for rel, why in sorted(names.items()) if rel not in assets)
    return out


@dataclass(frozen=True)
class _Made:
    """How one asset's result was made: from this analysis, these findings and likeness."""

    analysis: Any
    found: tuple[Finding, ...]
    likeness: Likeness | None
    result: AssetResult


@dataclass(frozen=True)
class _Seen:
    """What the last finished scan of a workspace saw (for a rescan told what changed).

    Attributes:
        root: The workspace folder.
        walk: Its assets and folders.
        assets: Each asset's analysis (without images), by path.
        results: How each asset's result was made, by path.
        context: What every result depends on besides its asset (:func:`_context`).
        problems: The paths and names a Mac or Windows laptop cannot keep.
        names_stand: Set for the scan being made: only contents changed since (no name).
    """

    root: Path
    walk: AssetWalk
    assets: Mapping[str, AssetFile]
    results: Mapping[str, _Made]
    context: tuple[Any, ...]
    problems: tuple[Mapping[str, str], Mapping[str, str]]
    names_stand: bool = False


def _context(ws: Workspace, inspector: DisclosureInspector | None) -> tuple[Any, ...]:
    """What an asset's own findings depend on besides the asset: settings, models, policy."""
    return (
        ws.settings,
        tuple((mid, bool(m.references)) for mid, m in sorted(ws.models.items())),
        inspector.cache_key if inspector is not None else None,
    )


def _kept(asset: AssetFile) -> AssetFile:
    """An asset as kept between scans: without its images; its keypoints left in the cache."""
    an = asset.analysis
    if an.keypoints is None and all(
        x is None for x in (an.work, an.grey, an.prepared, an.features, an.located)
    ):
        return asset
    return AssetFile(asset.ref, kept_analysis(an, reference=False))


def _named_files(root: Path, changed: Collection[str]) -> dict[str, set[str]]:
    """The names of the changed paths, by their folder (relative to ``root``)."""
    out: dict[str, set[str]] = {}
    for path in changed:
        rel = rel_of(root, path)
        if rel is not None and "/" in rel:
            folder, name = rel.rsplit("/", 1)
            out.setdefault(folder, set()).add(name)
    return out


def _touched(asset: AssetRef, before: AssetFile | None, named: Mapping[str, set[str]]) -> bool:
    """Whether an asset must be looked at again.

    It is new or moved, or a change names it or a file beside it of the same stem (its JSON or
    XMP sidecar).
    """
    if before is None or before.ref != asset:
        return True
    folder, name = asset.rel.rsplit("/", 1)
    names = named.get(folder)
    if not names:
        return False
    stem = name.rsplit(".", 1)[0] + "."
    return any(n == name or n.startswith(stem) for n in names)


def _names_stand(seen: _Seen, walk: AssetWalk, changed: Collection[str]) -> bool:
    """Whether every path and name is as the last scan saw it: the changes were of contents.

    Every changed path is an asset or a folder seen then, and the walk finds what it found.
    """
    assets = {a.rel for a in walk.items if isinstance(a, AssetRef)}
    for path in changed:
        rel = rel_of(seen.root, path)
        if rel is None or not (rel in assets or rel in walk.folders):
            return False
    return walk == seen.walk
