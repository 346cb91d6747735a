"""Phase 2 of a scan: derived copies among the corpus, and resubmissions of rejected images.

Assets are matched against all references and against each other, vectorised in
:mod:`twinreview.core.similarity.match`: the hashes find candidate pairs, and each candidate is
verified geometrically (:mod:`twinreview.services.scan.verify`) before it becomes a finding. A
clear-cut candidate (within a few hash bits) is a copy by its hashes alone; the reference copies
among them that become findings are verified too, for the evidence the compare view aligns with
(:func:`clear_cut_geometry`). Clear-cut duplicates within the batch are not: there is one per
pair of near-identical assets, and the compare view verifies the pair it shows on demand
(:data:`CLEAR_CUT_DUPLICATE`). Assets are also matched against what reviewers rejected before
(``resubmitted_rejected``).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import Any, TypeVar, overload

import numpy as np

from twinreview.core import findings as make
from twinreview.core.findings import MATCHES_OTHER_MODEL, NEAR_COPY_OF_REFERENCE, Finding, Severity
from twinreview.core.settings import WorkspaceSettings
from twinreview.core.similarity import geometry, hashing
from twinreview.core.similarity import match as similarity
from twinreview.core.similarity.evidence import CopyEvidence
from twinreview.services.memory import release_freed
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.crops import CropCandidates
from twinreview.services.scan.history import RejectedAsset, RejectedPhashIndex
from twinreview.services.scan.model import (
    ANALYSIS_CACHE_VERSION,
    BATCH_PAIRS_VERSION,
    Corpus,
    ReferenceFile,
    ScanProgress,
    batch_pairs_key,
    fingerprint_of,
)
from twinreview.services.scan.verify import GeometryVerifier, ImageFile, Pair

# Why a pair has no verification although it was asked for.
UNVERIFIED = "the file could not be read again"

#: Why a batch pair similar by its hashes has no finding: nothing could check it.
UNCHECKED = "unchecked"

#: How a clear-cut duplicate within the batch, which the scan does not verify, says so.
CLEAR_CUT_DUPLICATE = "clear-cut hash match; geometry computed when compared"


class _Keypoints(Sequence[similarity.Keypoints | None]):
    """The keypoints of some of a corpus's assets, each loaded when first asked for."""

    def __init__(self, corpus: Corpus, indices: Sequence[int]) -> None:
        self._corpus = corpus
        self._indices = indices
        self._loaded: dict[int, similarity.Keypoints | None] = {}

    def __len__(self) -> int:
        return len(self._indices)

    @overload
    def __getitem__(self, q: int) -> similarity.Keypoints | None: ...

    @overload
    def __getitem__(self, q: slice) -> list[similarity.Keypoints | None]: ...

    def __getitem__(
        self, q: int | slice
    ) -> similarity.Keypoints | list[similarity.Keypoints | None] | None:
        if isinstance(q, slice):
            return [self[i] for i in range(*q.indices(len(self)))]
        if q < 0:
            q += len(self)
        if q not in self._loaded:
            self._loaded[q] = self._corpus.asset_keypoints(self._indices[q])
        return self._loaded[q]


T = TypeVar("T")


class _Subset(Sequence[T]):
    """Some items of a sequence, in the order given, read when asked for."""

    def __init__(self, items: Sequence[T], positions: Sequence[int]) -> None:
        self._items = items
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, i: int) -> T: ...

    @overload
    def __getitem__(self, i: slice) -> list[T]: ...

    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self._items[self._positions[i]]


@dataclass(frozen=True)
class _Context:
    """One scan's assets as the match phase sees them (by position among the fingerprinted)."""

    corpus: Corpus
    refs: Sequence[ReferenceFile]
    asset_idx: Sequence[int]
    fps: Sequence[hashing.Fingerprint]
    image: Callable[[int], ImageFile]
    desc: Sequence[similarity.Keypoints | None]
    prepared: dict[str, geometry.Prepared]


@dataclass(frozen=True)
class _Batch:
    """The batch's hash candidates and verdicts.

    Both stay valid while the two files keep their contents.

    Attributes:
        rels: The files the table's first two columns index (by position).
        pairs: The hash candidates (:func:`similarity.pair_table`), sorted by pair.
        verdicts: The verifications, by the two files' paths and the orientation.
    """

    rels: Sequence[str]
    pairs: similarity.PairTable
    decided: Mapping[tuple[str, str, bool], _Decided]
    verdicts: Mapping[tuple[str, str, bool], geometry.Verification]


@dataclass(frozen=True)
class _Decided:
    """How a batch pair was decided, and from what (see :meth:`Matcher._decide_pair`)."""

    sig: tuple[Any, ...]
    verdict: geometry.Verification | None
    outcome: tuple[Finding, Finding] | str | None


@dataclass(frozen=True)
class _Last:
    """What the last scan of a workspace matched, by asset path."""

    scope: str
    settings: WorkspaceSettings
    shas: Mapping[str, str]
    ref_key: tuple[Any, ...]
    references: Mapping[str, list[Finding]]
    rejected: tuple[RejectedAsset, ...]
    resubmitted: Mapping[str, list[Finding]]
    batch: _Batch


class Matcher:
    """Finds copies, duplicates and resubmissions among a scan's corpus.

    Args:
        verifier: Verifies candidate pairs geometrically.
        cache: The result cache (the fingerprints of rejected bytes come from it).
        executor: Spreads the hash join of a rescan's new files with the batch over threads.
        defer_saves: Leave the batch's pairs (several MB at 10,000 assets) to
            :meth:`settle`, so that they are written after the result went out; there too the
            crop stage's sketches of the batch are read for the next rescan.
    """

    def __init__(
        self,
        verifier: GeometryVerifier,
        cache: ResultCache,
        executor: Executor | None = None,
        *,
        defer_saves: bool = False,
    ) -> None:
        self._verifier = verifier
        self._executor = executor
        self._defer = defer_saves
        # The batch's pairs to store for the next process, when saving waits for settle(); and
        # the contents whose crop-stage sketches settle() reads for the next rescan.
        self._unsaved: tuple[Any, ...] | None = None
        self._unsketched: Sequence[str] = ()
        self._cache = cache
        self._crops = CropCandidates(cache)
        # What the last scan matched (one workspace at a time): the app's scan process keeps
        # it, so that a rescan matches the new and changed files only.
        self._last: _Last | None = None

    def findings(
        self,
        corpus: Corpus,
        settings: WorkspaceSettings,
        model_names: Mapping[str, str],
        rejected: Sequence[RejectedAsset],
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
        stats: dict[str, int] | None = None,
        scope: str = "",
    ) -> dict[int, list[Finding]]:
        """Findings per asset index from all similarity checks (empty lists left out).

        Args:
            corpus: The analysed files.
            settings: Thresholds and severities.
            model_names: Display name per model id, for the sentences.
            rejected: The assets rejected in the verified logs.
            report: Progress.
            stop: Cancels; the caller checks it afterwards.
            stats: Scan counts; ``crop_candidates`` (pairs the local features proposed, the
                batch's included), ``crop_candidates_cached`` (1 when they came from the cache)
                and ``crop_stage_cpu_us`` (CPU time of the crop stage, all threads) are set.
            scope: Names the batch (the workspace folder) for the incremental crop stage
                (:mod:`twinreview.services.scan.crops`).
        """
        refs = corpus.fingerprinted_references()
        asset_idx = corpus.fingerprinted_assets()
        asset_fps = [fingerprint_of(corpus.assets[i].analysis) for i in asset_idx]
        rels = [corpus.assets[i].rel for i in asset_idx]
        asset_shas = [corpus.assets[i].analysis.sha256 or "" for i in asset_idx]
        report(ScanProgress(0, 1, "match"))
        last = self._last if self._last is not None and self._last.scope == scope else None
        if last is not None and last.settings != settings:
            last = None  # other thresholds or severities: every pair is decided again
        # The assets whose findings cannot come from the last scan: new or changed files.
        fresh = [
            q
            for q, (rel, sha) in enumerate(zip(rels, asset_shas, strict=True))
            if last is None or last.shas.get(rel) != sha
        ]
        ref_key = (
            tuple((r.rel, r.model_id, r.analysis.sha256) for r in corpus.references),
            tuple(sorted(model_names.items())),
        )
        # Against the references each asset is on its own: only the fresh ones are matched,
        # unless a reference (or a model's name) changed.
        again = fresh if last is not None and last.ref_key == ref_key else range(len(rels))
        # Loaded from the cache when first needed: a scan with nothing new needs none.
        asset_desc = _Keypoints(corpus, asset_idx)
        prepared: dict[str, geometry.Prepared] = {}

        def asset_image(q: int) -> ImageFile:
            a = corpus.assets[asset_idx[q]]
            return a.path, a.analysis

        ctx = _Context(corpus, refs, asset_idx, asset_fps, asset_image, asset_desc, prepared)
        ref_found = self._against_references(
            ctx, sorted(again), asset_shas, settings, model_names, report, stop, stats
        )
        by_rel: dict[str, list[Finding]] = {}
        if last is not None:
            by_rel = {rel: found for rel, found in last.references.items() if rel in last.shas}
        for q in again:
            by_rel.pop(rels[q], None)
        for q, found in ref_found.items():
            by_rel[rels[q]] = found
        out: dict[int, list[Finding]] = {}
        if stop.is_set():
            return out
        for q, rel in enumerate(rels):
            if by_rel.get(rel):
                out.setdefault(asset_idx[q], []).extend(by_rel[rel])

        # The batch's pairs: the last scan's in this process, else those a process stored.
        before: _Batch | None
        if last is not None:
            known, before = last.shas, last.batch
        else:
            known, before = self._stored_pairs(scope, settings.similarity)
        joined = [
            q
            for q, (rel, sha) in enumerate(zip(rels, asset_shas, strict=True))
            if before is None or known.get(rel) != sha
        ]
        batch = self._within_batch(
            ctx, rels, asset_shas, joined, before, settings, report, stop, stats, scope, out
        )
        if stop.is_set():
            return out
        resubmitted: dict[int, list[Finding]] = {}
        rejected_key = tuple(rejected)
        if rejected:
            # An asset against the rejected images is on its own too.
            redo = fresh if last is not None and last.rejected == rejected_key else None
            self._resubmitted(rejected, corpus, asset_idx, asset_fps, settings, resubmitted, redo)
        resub_rel = {corpus.assets[a].rel: found for a, found in resubmitted.items()}
        if rejected and last is not None and last.rejected == rejected_key:
            fresh_rels = {rels[q] for q in fresh}
            for rel, found in last.resubmitted.items():
                if rel in last.shas and rel not in fresh_rels:
                    resub_rel[rel] = found
        for a, asset in enumerate(corpus.assets):
            if resub_rel.get(asset.rel):
                out.setdefault(a, []).extend(resub_rel[asset.rel])
        self._last = _Last(
            scope,
            settings,
            dict(zip(rels, asset_shas, strict=True)),
            ref_key,
            by_rel,
            rejected_key,
            resub_rel,
            batch,
        )
        if self._defer:
            self._unsketched = asset_shas
        if stats is not None:
            stats["matched_fresh"] = len(fresh)
            stats["matched_against_references"] = len(again)
        report(ScanProgress(1, 1, "match"))
        return out

    def settle(self) -> None:
        """Write what the last scans left for later, read what the next rescan needs.

        The batch's pairs are written; with ``defer_saves`` the batch's sketches are read from
        the cache (at the first scan of a process). Cheap when there is nothing to do.
        """
        unsaved, self._unsaved = self._unsaved, None
        if unsaved is not None:
            self._store_pairs(*unsaved)
        unsketched, self._unsketched = self._unsketched, ()
        if unsketched:
            self._crops.keep_sketches(unsketched)

    def _against_references(
        self,
        ctx: _Context,
        qs: Sequence[int],
        asset_shas: Sequence[str],
        settings: WorkspaceSettings,
        model_names: Mapping[str, str],
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
        stats: dict[str, int] | None,
    ) -> dict[int, list[Finding]]:
        """Copies of the references among some assets, by their position.

        ``qs`` are positions among the fingerprinted assets. Each asset is matched on its own
        against all references, so matching some of them gives those the findings a match of all
        would.
        """
        th, severities = settings.similarity, settings.severities
        refs, corpus = ctx.refs, ctx.corpus
        ref_fps = [fingerprint_of(r.analysis) for r in refs]
        sub_fps = [ctx.fps[q] for q in qs]
        out: dict[int, list[Finding]] = {}
        if stats is not None:
            stats["crop_candidates"] = 0
            stats["crop_lookups"] = 0
            stats["crop_stage_cpu_us"] = 0
        if not qs:
            return out

        def image(i: int) -> ImageFile:
            return ctx.image(qs[i])

        def ref_image(r: int) -> ImageFile:
            return refs[r].path, refs[r].analysis

        # Candidates from the hashes; ``query`` is a position in ``qs`` from here on.
        cands = similarity.candidates(sub_fps, ref_fps, th)
        pairs: list[Pair] = [(image(c.query), ref_image(c.ref), c.mirrored) for c in cands]
        verdicts: list[Verdict] = [None] * len(pairs)

        def verify(todo: Sequence[int]) -> None:
            found = self._verifier.verify([pairs[i] for i in todo], th, report, stop, ctx.prepared)
            for i, v in zip(todo, found, strict=True):
                verdicts[i] = v

        # Clear-cut candidates are copies whatever verification says (see similarity.decide):
        # only those that become findings are verified, after the others, for their evidence.
        verify([i for i, c in enumerate(cands) if not c.clear_cut(th)])
        # Per asset and label: the match, its candidate and that candidate's verification.
        best: dict[tuple[int, str], tuple[similarity.Match, similarity.Candidate, Verdict]] = {}

        def keep(c: similarity.Candidate, v: Verdict) -> None:
            m = similarity.decide(c, v, th, unverified=UNVERIFIED)
            if m is None:
                return
            a = ctx.asset_idx[qs[m.query]]
            ref_model = refs[m.ref].model_id
            own = ref_model == corpus.assets[a].model_id
            label = NEAR_COPY_OF_REFERENCE if own else f"{MATCHES_OTHER_MODEL}:{ref_model}"
            slot = (m.query, label)
            if slot not in best or m.distance < best[slot][0].distance:
                best[slot] = (m, c, v)

        for c, v in zip(cands, verdicts, strict=True):
            keep(c, v)
        matched = {(m.query, m.ref) for m, _c, _v in best.values()}

        # Candidates from the local features: crops, outpaintings and the like, verified
        # against the reference's fine image.
        crop_start = time.process_time()
        # Cached per asset: a rescan looks up the new and changed files only.
        crops = self._crops.references(
            [asset_shas[q] for q in qs],
            sub_fps,
            _Subset(ctx.desc, qs),
            [r.analysis.sha256 or "" for r in refs],
            ref_fps,
            [(r.analysis.keypoints, r.analysis.keypoints_mirrored) for r in refs],
            th,
            matched,
        )
        computed = self._crops.computed
        crop_pairs: list[Pair] = [(image(c.query), ref_image(c.ref), c.mirrored) for c in crops]
        found = self._verifier.verify(crop_pairs, th, report, stop, ctx.prepared, fine=True)
        # Not confirmed from the asset's working image, but promising: from a fine image of
        # the asset too (see similarity.worth_a_fine_look).
        again = [
            i
            for i, v in enumerate(found)
            if not (v is not None and th.confirms(v)) and similarity.worth_a_fine_look(v)
        ]
        refound = self._verifier.verify(
            [crop_pairs[i] for i in again],
            th,
            report,
            stop,
            ctx.prepared,
            fine=True,
            fine_query=True,
        )
        for i, v in zip(again, refound, strict=True):
            found[i] = v
        for c, v in zip(crops, found, strict=True):
            keep(c, v)
        if stats is not None:
            stats["crop_candidates"] = len(crops)
            stats["crop_lookups"] = computed
            stats["crop_stage_cpu_us"] = round((time.process_time() - crop_start) * 1e6)

        pair_of = {(c.query, c.ref): i for i, c in enumerate(cands)}
        clear = [pair_of[m.query, m.ref] for m, c, _v in best.values() if c.votes is None]
        verify(sorted(i for i in clear if cands[i].clear_cut(th)))
        if stop.is_set():
            return out

        ordered = sorted(best.items(), key=lambda kv: (kv[0][0], kv[1][0].distance))
        for (q, label), (m, c, v) in ordered:
            ref = refs[m.ref]
            evidence = m.evidence
            if c.clear_cut(th):
                seen = verdicts[pair_of[m.query, m.ref]] if c.votes is None else v
                evidence = clear_cut_geometry(evidence, seen, th, UNVERIFIED)
            if label == NEAR_COPY_OF_REFERENCE:
                finding = make.near_copy_of_reference(
                    severities, reference=ref.rel, model=ref.model_id, match=evidence.to_json()
                )
            else:
                finding = make.matches_other_model(
                    severities,
                    reference=ref.rel,
                    model=ref.model_id,
                    model_name=model_names.get(ref.model_id, ref.model_id),
                    match=evidence.to_json(),
                )
            out.setdefault(qs[q], []).append(finding)
        return out

    def _within_batch(
        self,
        ctx: _Context,
        rels: Sequence[str],
        asset_shas: Sequence[str],
        fresh: Sequence[int],
        last: _Batch | None,
        settings: WorkspaceSettings,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
        stats: dict[str, int] | None,
        scope: str,
        out: dict[int, list[Finding]],
    ) -> _Batch:
        """Assets against each other: the same image twice in one batch, or a crop of another.

        Adds the findings to ``out`` (by corpus index). With the last scan's pairs (``last``),
        only the ``fresh`` assets are joined with the batch and only pairs not verified then
        are verified; every pair is then decided as a whole scan decides it. The pairs are
        stored for the next process when they changed.

        Returns:
            The pairs and verdicts, for the next scan.
        """
        th, severities = settings.similarity, settings.severities
        fps, asset_idx = ctx.fps, ctx.asset_idx
        renew = set(fresh)
        if last is None:
            table = similarity.pair_table(similarity.self_candidates(fps, th))
            changed = True
        else:
            # The last scan's pairs at their files' positions in this scan (a table, not an
            # object per pair: a batch holds over 100,000 of them).
            pos = {rel: q for q, rel in enumerate(rels)}
            now = np.array(
                [-1 if (q := pos.get(rel)) is None or q in renew else q for rel in last.rels],
                dtype=np.int64,
            )
            qa, qb = now[last.pairs[:, 0]], now[last.pairs[:, 1]]
            stay = (qa >= 0) & (qb >= 0)  # not gone, nor to be joined again
            table = last.pairs[stay]
            table[:, 0], table[:, 1] = qa[stay], qb[stay]
            changed = bool(renew) or len(table) != len(last.pairs)
            touching = similarity.self_candidates_touching(fps, renew, th, self._executor)
            # The kept pairs are in order already: the files that stay keep their order.
            if touching:
                table = similarity.sort_pairs(
                    np.concatenate((table, similarity.pair_table(touching)))
                )
        if stats is not None:
            stats["batch_joined"] = len(renew)
        if changed:
            self._unsaved = (scope, th, tuple(rels), tuple(asset_shas), table)
            if not self._defer:
                self.settle()
        # Within the batch the hash candidates of an asset grow with the batch: the pairs
        # among the closest few of both their assets are verified (their findings say when
        # some were left out).
        keep, cut = similarity.rank_pairs(table, th)
        dup_cands = similarity.pair_candidates(table, keep.tolist())
        # Clear-cut duplicates are left to the compare view: a batch of near-identical images
        # has one per pair, and they are info findings. A pair of unchanged files keeps the
        # verdict of the last scan (verdicts depend on the two contents alone).
        verdicts: list[Verdict] = [None] * len(dup_cands)
        todo: list[int] = []
        before = last.verdicts if last is not None else {}
        for i, c in enumerate(dup_cands):
            if c.clear_cut_frame(th):
                continue
            key = (rels[c.query], rels[c.ref], c.mirrored)
            if key in before and c.query not in renew and c.ref not in renew:
                verdicts[i] = before[key]
            else:
                todo.append(i)
        pairs: list[Pair] = [
            (ctx.image(dup_cands[i].query), ctx.image(dup_cands[i].ref), dup_cands[i].mirrored)
            for i in todo
        ]
        found = self._verifier.verify(pairs, th, report, stop, ctx.prepared)
        for i, v in zip(todo, found, strict=True):
            verdicts[i] = v
        if stop.is_set():
            return _Batch((), similarity.pair_table([]), {}, {})
        duplicates = list(zip(dup_cands, verdicts, strict=True))
        crop_start = time.process_time()
        decided = [c for c, v in duplicates if _confirmed_duplicate(c, v, th)]
        batch_found = self._crops.batch(
            scope,
            asset_shas,
            fps,
            ctx.desc,
            th,
            {(min(c.query, c.ref), max(c.query, c.ref)) for c in decided},
        )
        release_freed()  # the self-join's temporaries
        batch_crops = self._batch_crops(batch_found, fps, ctx.image, th, report, stop, ctx.prepared)
        duplicates += batch_crops
        unchecked = 0
        no_clear_cut = replace(th, clear_cut=-1)
        if stats is not None:
            stats["crop_candidates"] = stats.get("crop_candidates", 0) + len(batch_crops)
            stats["crop_lookups"] = stats.get("crop_lookups", 0) + self._crops.computed
            stats["crop_candidates_cached"] = int(stats["crop_lookups"] == 0)
            stats["crop_stage_cpu_us"] = stats.get("crop_stage_cpu_us", 0) + round(
                (time.process_time() - crop_start) * 1e6
            )
            stats["batch_candidates"] = len(table)
            stats["batch_candidates_cut"] = sum(cut.values()) // 2
            stats["batch_assets_bounded"] = len(cut)
        # A pair of unchanged files with the same candidate, verdict and bounds is decided as
        # the last scan decided it: a rescan decides the pairs of the changed files only.
        before_decided = last.decided if last is not None else {}
        decisions: dict[tuple[str, str, bool], _Decided] = {}
        for c, v in duplicates:
            a, b = asset_idx[c.query], asset_idx[c.ref]
            key = (rels[c.query], rels[c.ref], c.votes is None)
            sig = (
                c.distance, c.dhash_distance, c.mirrored, c.box, c.whole_frame,
                c.whole_frame_dhash, c.votes, c.support, cut.get(c.query), cut.get(c.ref),
            )  # fmt: skip
            hit = before_decided.get(key)
            if (
                hit is not None
                and hit.sig == sig
                and (hit.verdict is v or hit.verdict == v)
                and c.query not in renew
                and c.ref not in renew
            ):
                outcome = hit.outcome
            else:
                outcome = self._decide_pair(c, v, th, no_clear_cut, fps, cut, rels, severities)
            decisions[key] = _Decided(sig, v, outcome)
            if outcome is None:
                continue
            if isinstance(outcome, str):
                unchecked += 1
                continue
            out.setdefault(a, []).append(outcome[0])
            out.setdefault(b, []).append(outcome[1])
        if stats is not None:
            stats["batch_pairs_unchecked"] = unchecked
        return _Batch(
            tuple(rels),
            table,
            decisions,
            {
                (rels[c.query], rels[c.ref], c.mirrored): v
                for c, v in zip(dup_cands, verdicts, strict=True)
                if v is not None and not c.clear_cut_frame(th)
            },
        )

    @staticmethod
    def _decide_pair(
        c: similarity.Candidate,
        v: Verdict,
        th: similarity.SimilarityThresholds,
        no_clear_cut: similarity.SimilarityThresholds,
        fps: Sequence[hashing.Fingerprint],
        cut: Mapping[int, int],
        rels: Sequence[str],
        severities: Mapping[str, Severity],
    ) -> tuple[Finding, Finding] | str | None:
        """A batch pair's findings (for its query, then its ref), or why there are none.

        Returns:
            The two findings; :data:`UNCHECKED` for a pair similar by its hashes that nothing
            could check; None for a pair that is no duplicate.
        """
        th_pair = th if c.clear_cut_frame(th) else no_clear_cut
        pair = similarity.decide(c, v, th_pair, unverified=UNVERIFIED)
        if pair is None:
            return None
        if not _confirmed_duplicate(c, v, th):
            # Similar by their hashes, but nothing could check it (too few keypoints: a
            # plain picture): "the same picture" would state what nobody verified.
            return UNCHECKED
        # The pair is decided once; each side's evidence maps that side onto the other (the
        # inverse for b), with the hash alignment seen from that side when it agrees too.
        back = similarity.reverse(c, fps)
        seen = v.inverse() if v is not None else None
        m_back = similarity.decide(back, seen, th_pair, unverified=UNVERIFIED) or similarity.decide(
            c, seen, th_pair, unverified=UNVERIFIED
        )
        assert m_back is not None  # the same verification, or the same hashes, decide it
        found = []
        for y, q, match in ((c.ref, c.query, pair), (c.query, c.ref, m_back)):
            evidence = match.evidence
            if c.clear_cut_frame(th):
                evidence = replace(evidence, clear_cut=True, verification=CLEAR_CUT_DUPLICATE)
            figures = evidence.to_json()
            if q in cut:
                # This asset resembled more images than are verified per asset.
                figures["candidates_left_out"] = cut[q]
                figures["candidates_verified"] = similarity.BATCH_PER_ASSET
            found.append(make.duplicate_in_batch(severities, other=rels[y], match=figures))
        return found[0], found[1]

    def _stored_pairs(
        self, scope: str, th: similarity.SimilarityThresholds
    ) -> tuple[Mapping[str, str], _Batch | None]:
        """The batch's hash candidates a process stored for ``scope`` (None: none, or damaged).

        Returns:
            The contents they were joined for (by path), and the candidates.
        """
        data: Any = self._cache.get(batch_pairs_key(scope, th), "batch-pairs", BATCH_PAIRS_VERSION)
        try:
            rels = [str(r) for r in data["rels"]]
            shas = [str(s) for s in data["shas"]]
            raw = base64.b64decode(str(data["pairs"]).encode("ascii"), validate=True)
            table = np.frombuffer(raw, dtype="<i4").reshape(-1, similarity.PAIR_FIELDS)
            if table.size and not (table[:, :2].min() >= 0 and table[:, :2].max() < len(rels)):
                return {}, None
            known = dict(zip(rels, shas, strict=True))
        except (TypeError, KeyError, ValueError, IndexError):
            return {}, None  # none stored, or a damaged row: the batch is joined whole
        return known, _Batch(tuple(rels), table.astype(np.int32), {}, {})

    def _store_pairs(
        self,
        scope: str,
        th: similarity.SimilarityThresholds,
        rels: Sequence[str],
        shas: Sequence[str],
        table: similarity.PairTable,
    ) -> None:
        self._cache.put(
            batch_pairs_key(scope, th),
            "batch-pairs",
            BATCH_PAIRS_VERSION,
            {
                "rels": list(rels),
                "shas": list(shas),
                "pairs": base64.b64encode(table.astype("<i4").tobytes()).decode("ascii"),
            },
        )

    def _batch_crops(
        self,
        crops: Sequence[similarity.Candidate],
        fps: Sequence[hashing.Fingerprint],
        image: Callable[[int], ImageFile],
        th: similarity.SimilarityThresholds,
        report: Callable[[ScanProgress], None],
        stop: threading.Event,
        prepared: dict[str, geometry.Prepared],
    ) -> list[tuple[similarity.Candidate, Verdict]]:
        """The batch's local-feature candidates, each verified both ways.

        Either image may be the crop of the other: the other one is verified as a fine image.

        Returns:
            Per pair, the candidate in the direction that verified best, and its verification.
        """
        if not crops:
            return []
        backs = [similarity.reverse(c, fps) for c in crops]
        both = [*crops, *backs]
        pairs: list[Pair] = [(image(c.query), image(c.ref), c.mirrored) for c in both]
        found = self._verifier.verify(pairs, th, report, stop, prepared, fine=True)
        out = []
        for i, (c, back) in enumerate(zip(crops, backs, strict=True)):
            v, w = found[i], found[i + len(crops)]
            out.append((c, v) if _strength(v, th) >= _strength(w, th) else (back, w))
        return out

    def _resubmitted(
        self,
        rejected: Sequence[RejectedAsset],
        corpus: Corpus,
        asset_idx: Sequence[int],
        asset_fps: Sequence[hashing.Fingerprint],
        settings: WorkspaceSettings,
        out: dict[int, list[Finding]],
        only: Sequence[int] | None = None,
    ) -> None:
        """``resubmitted_rejected`` findings into ``out`` (by corpus index).

        Each asset is matched on its own: ``only`` (positions among the fingerprinted assets)
        limits the match to those and the assets that were not fingerprinted.
        """
        if only is not None:
            keep = set(only)
            chosen = [q for q in range(len(asset_idx)) if q in keep]
            printed = set(asset_idx)
            assets = [a for a in range(len(corpus.assets)) if a not in printed] + [
                asset_idx[q] for q in chosen
            ]
            asset_idx = [asset_idx[q] for q in chosen]
            asset_fps = [asset_fps[q] for q in chosen]
        else:
            assets = list(range(len(corpus.assets)))
        # The rejected bytes' fingerprints come from the content-keyed cache (they were scanned
        # when they were rejected), so a deleted or renamed rejected file still counts.
        cached = self._cache.get_many(
            (r.sha256 for r in rejected), "analysis", ANALYSIS_CACHE_VERSION
        )
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
        for a in assets:
            for r in by_sha.get(corpus.assets[a].analysis.sha256 or "", ()):
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
        for m in similarity.match(asset_fps, rej_fps, settings.similarity).matches:
            a = asset_idx[m.query]
            r = rej_of[m.ref]
            if all(
                prev.sha256 != r.sha256 or prev.principal != r.principal
                for prev, _ in hits.get(a, [])
            ):
                hits.setdefault(a, []).append((r, m.evidence.to_json()))
        for a, found in hits.items():
            asset = corpus.assets[a]
            # The very decision about this file is not a resubmission.
            found = [
                (r, ev)
                for r, ev in found
                if not (r.path == asset.rel and r.sha256 == asset.analysis.sha256)
            ]
            if not found:
                continue
            # One finding per asset, however many rejected images it resembles (re-edits of one
            # picture resemble each other): the closest, and how many others.
            r, ev = min(found, key=lambda hit: _closeness(hit[1]))
            others = list(dict.fromkeys((o.path, o.sha256) for o, _ in found))
            others.remove((r.path, r.sha256))
            out.setdefault(a, []).append(
                make.resubmitted_rejected(
                    settings.severities,
                    path=r.path,
                    principal=r.principal,
                    role=r.role,
                    ts=r.ts,
                    reasons=r.reasons,
                    note=r.note,
                    match=ev,
                    others=[path for path, _ in others],
                )
            )


def _confirmed_duplicate(
    c: similarity.Candidate, v: geometry.Verification | None, th: similarity.SimilarityThresholds
) -> bool:
    """A batch pair that may be called the same picture: clear-cut, or confirmed by geometry.

    The hash rule alone (:func:`similarity.decide` when verification was not possible) is not
    enough within a batch: plain pictures (gradients, soft blobs) have too few keypoints to
    verify and hashes close enough by chance.
    """
    if c.clear_cut_frame(th):
        return True
    return v is not None and v.possible and th.confirms(v)


def _closeness(evidence: Mapping[str, Any]) -> tuple[int, float]:
    """Sort key of a resubmission's match: identical bytes first, then the smallest distance."""
    distance = evidence.get("distance")
    exact = evidence.get("hash") == "sha256"
    return (0 if exact else 1, float(distance) if isinstance(distance, (int, float)) else 1e9)


Verdict = geometry.Verification | None


def _strength(v: Verdict, th: similarity.SimilarityThresholds) -> tuple[bool, float, int]:
    """Orders two verifications of one pair: a confirmed copy first, then the closer one."""
    if v is None:
        return (False, 0.0, 0)
    return (th.confirms(v), v.agreement or 0.0, v.inliers)


def clear_cut_geometry(
    evidence: CopyEvidence,
    verification: geometry.Verification | None,
    th: similarity.SimilarityThresholds,
    unverified: str,
) -> CopyEvidence:
    """A clear-cut copy's evidence with its geometric verification.

    The hashes decide a clear-cut pair (:func:`similarity.decide`); the verification gives the
    compare view its mapping and the reviewer the inlier count. A verification that does not
    confirm the copy is recorded, and the finding stays.

    Returns:
        ``evidence`` marked ``clear_cut``, with ``verification`` ("geometry" when it confirms
        the copy, else why not), the inliers and agreement, and ``homography`` and
        ``asset_region`` (None unless the transform has at least ``min_inliers`` inliers); the
        verified ``mirrored`` with a homography.
    """
    v = verification
    if v is None or not v.possible:
        why = unverified if v is None else "too few keypoints to verify"
        return replace(
            evidence,
            clear_cut=True,
            verification=f"clear-cut hash match; geometry not possible: {why}",
            keypoints=None if v is None else v.keypoints,
            min_inliers=th.min_inliers,
            min_agreement=th.min_agreement / 100,
        )
    fields = similarity.verified(v, th)
    if fields["homography"] is None:
        del fields["mirrored"]  # an unplaced transform says nothing of the orientation
    if not th.confirms(v):
        fields["verification"] = "clear-cut hash match; not confirmed by geometry"
    return replace(evidence, clear_cut=True, **fields)
