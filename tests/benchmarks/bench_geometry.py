"""Margins of the copy detector's geometric verification, on real photos, and its cost.

Run with ``uv run python tests/benchmarks/bench_geometry.py``. Not collected by pytest. For each
set of tests/copies.py (the real portraits of ``../shared/corpus/faces`` when present, and the
scikit-image calibration photos), every (query, reference) pair is matched in both orientations
(:func:`geometry.match`) and, where a transform has enough inliers, its agreement measured:

- inliers: the fewest of a true copy against the most of two different photos (the two frames of
  one sitting, :data:`copies.SAME_SITTING`, apart); the threshold is ``min_inliers``;
- agreement: the lowest of a true copy against the highest of another subject photographed
  before the same textured backdrop by a locked-off camera (synthetic: scikit-image subjects
  pasted on scikit-image textures, 36 % of the frame), the case inliers alone cannot tell;
- the pipeline as the scan runs it (:func:`copies.run`): recall, false copies, false duplicates
  within one batch, and how far the closest different photos stay from the clear-cut band;
- cost: preparing one image (ORB), verifying one pair.

The last stdout line is JSON (tests/benchmarks/run_all.py turns it into rows of RESULTS.md).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import copies
import photos as P
from twinreview.core.similarity import geometry
from twinreview.core.similarity import match as similarity

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
TH = similarity.SimilarityThresholds()


def margins(cs: copies.CopySet) -> dict[str, Any]:
    """Inliers and agreement over every pair of the set; the pipeline's decisions."""
    t0 = time.perf_counter()
    qp = copies.prepare_all([q.image for q in cs.queries])
    rp = copies.prepare_all([cs.originals[n] for n in cs.refs])
    prep_ms = (time.perf_counter() - t0) / (len(qp) + len(rp)) * 1000
    copy_inl, copy_agree, diff_inl, diff_agree, sit_inl = [], [], [], [], []
    verify_s, verified, plain = 0.0, 0, 0
    for q, r in itertools.product(range(len(cs.queries)), range(len(cs.refs))):
        if cs.is_itself(q, r) or not (cs.is_copy(q, r) or cs.is_different(q, r)):
            continue
        if min(qp[q].keypoints, rp[r].keypoints) < geometry.MIN_KEYPOINTS:
            plain += 1  # not verifiable: the hashes decide alone (a tiny or flat picture)
            continue
        t1 = time.perf_counter()
        best = max(
            (geometry.match(qp[q].oriented(m), rp[r].features) for m in (False, True)),
            key=lambda x: x[0],
        )
        verify_s += time.perf_counter() - t1
        verified += 1
        inliers, _n, h = best
        agree = geometry.agreement(qp[q], rp[r], h) if h is not None and inliers >= 10 else None
        if cs.is_copy(q, r):
            copy_inl.append(inliers)
            if agree is not None and inliers >= TH.min_inliers:
                copy_agree.append(agree)
        elif cs.sitting(q, r):
            sit_inl.append(inliers)
        else:
            diff_inl.append(inliers)
            if agree is not None and inliers >= TH.min_inliers:
                diff_agree.append(agree)
    out = copies.run(cs, TH, (qp, rp))
    positives = [
        (q, r) for q in range(len(cs.queries)) for r in range(len(cs.refs)) if cs.is_copy(q, r)
    ]
    found = sum(p in out.matches for p in positives)
    false = sum(cs.is_different(q, r) and not cs.sitting(q, r) for q, r in out.matches)
    beyond = [
        max(c.distance - TH.clear_cut, c.dhash_distance - TH.clear_cut_dhash)
        for c in out.candidates
        if cs.is_different(c.query, c.ref) and not cs.sitting(c.query, c.ref)
    ]
    pair_s = []
    for c in out.candidates[:200]:
        t3 = time.perf_counter()
        geometry.verify(
            qp[c.query],
            rp[c.ref],
            prefer_mirrored=c.mirrored,
            min_inliers=TH.min_inliers,
            min_agreement=TH.min_agreement / 100,
        )
        pair_s.append(time.perf_counter() - t3)
    copy_inl.sort()
    return {
        "queries": len(cs.queries),
        "refs": len(cs.refs),
        "copies": len(positives),
        "different_pairs": len(diff_inl),
        "unverifiable_pairs": plain,
        "copy_min_inliers": copy_inl[0],
        "copy_p05_inliers": copy_inl[len(copy_inl) // 20],
        "copy_min_agreement": min(copy_agree),
        "different_max_inliers": max(diff_inl),
        "different_max_agreement": max(diff_agree, default=None),
        "same_sitting_pairs": len(sit_inl),
        "same_sitting_max_inliers": max(sit_inl, default=None),
        "recall": round(found / len(positives), 4),
        "found": found,
        "false_copies": false,
        "clear_cut_margin_bits": min(beyond, default=None),
        "prepare_ms": round(prep_ms, 2),
        "match_ms_per_orientation": round(verify_s / verified / 2 * 1000, 2),
        "verify_pair_ms": round(statistics.median(pair_s) * 1000, 2) if pair_s else None,
    }


def batch(cs: copies.CopySet) -> dict[str, Any]:
    """All queries as one batch: true and false ``duplicate_in_batch`` pairs.

    Two photos that share a region pixel for pixel (:data:`copies.SAME_SITTING`) are copies by
    their pixels: counted apart, not as false duplicates.
    """
    out = copies.run_batch(cs, TH)
    shared = sum(cs.shares_pixels(a, b) for a, b in out.matches)
    false = sum(not cs.same_picture(a, b) and not cs.shares_pixels(a, b) for a, b in out.matches)
    return {
        "batch_candidates": len(out.candidates),
        "batch_false_duplicates": false,
        "batch_shared_pixels": shared,
    }


def backdrop() -> dict[str, Any]:
    """Another subject before the same textured backdrop (36 % of the frame), fixed camera."""
    subjects = ["astronaut", "coffee", "chelsea", "camera", "rocket", "horse"]
    agree, inl = [], []
    for texture in ("gravel", "brick", "grass", "hubble_deep_field"):
        bg = P.load_photo(texture).resize((900, 600))
        frames = []
        for name in subjects:
            img = bg.copy()
            img.paste(P.load_photo(name).resize((405, 480)), (247, 120))
            frames.append(copies.as_file(img))
        prep = copies.prepare_all(frames)
        for a, b in itertools.combinations(range(len(prep)), 2):
            inliers, _n, h = geometry.match(prep[a].features, prep[b].features)
            inl.append(inliers)
            if h is not None and inliers >= TH.min_inliers:
                agree.append(geometry.agreement(prep[a], prep[b], h))
    return {
        "backdrop_pairs": len(inl),
        "backdrop_over_min_inliers": len(agree),
        "backdrop_max_inliers": max(inl),
        "backdrop_max_agreement": max(agree, default=None),
    }


def main() -> None:
    started = time.perf_counter()
    doc: dict[str, Any] = {
        "min_inliers": TH.min_inliers,
        "min_agreement": TH.min_agreement / 100,
        "clear_cut": [TH.clear_cut, TH.clear_cut_dhash],
        "work_side": geometry.WORK_SIDE,
        "features": geometry.N_FEATURES,
    }
    if (CORPUS / "faces" / "MANIFEST.tsv").is_file():
        faces = copies.face_set(CORPUS)
        doc["faces"] = {**margins(faces), **batch(faces)}
        print(f"faces: {doc['faces']}", file=sys.stderr)
    else:
        doc["faces"] = None
        print(f"face corpus not found at {CORPUS}: portraits skipped", file=sys.stderr)
    doc["calibration"] = margins(copies.calibration_set())
    print(f"calibration: {doc['calibration']}", file=sys.stderr)
    doc["backdrop"] = backdrop()
    print(f"same textured backdrop: {doc['backdrop']}", file=sys.stderr)
    doc["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
