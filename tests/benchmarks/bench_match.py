"""Benchmark: match 10,000 asset fingerprints against 2,000 reference fingerprints.

Not collected by pytest. Run: ``uv run python tests/benchmarks/bench_match.py``.

The fingerprints: the references include scikit-image's bundled photos, each with
COPIES_PER_REF edited copies among the assets (crop, label, JPEG, mirror...), so the
alignment stage has real work; the rest are random hashes (unrelated images). For the
bucket join of the candidate stage, random hashes are a fair load: on the calibration photos
unrelated pairs collide on a key about as often as random hashes do (see the similarity
module docstring).

The machine may be shared, so every figure comes from one run, the current matcher and
:func:`reference_match` (the dense candidate stage it replaced, kept here as the yardstick)
measured alternately; the ratio is the figure to trust. Prints wall-clock medians, CPU time
and the agreement of both on the planted copies; the last line is JSON.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: BLAS must not add threads

import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import photos as P
from twinreview.core.similarity import hashing
from twinreview.core.similarity import join as hashjoin
from twinreview.core.similarity import match as similarity

N_ASSETS = 10_000
N_REFS = 2_000
COPIES_PER_REF = 4
REPEATS = 7

# --- The previous algorithm, as a reference -------------------------------------------

REFERENCE_BOXES = (102, 159, 177, 78, 149, 22)
"""Grid boxes of the dense candidate stage that the bucket join replaced."""


def _reference_candidates(
    probes: npt.NDArray[np.uint64], boxes: npt.NDArray[np.uint64], limit: int, self_join: bool
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """All pairs: both probes against REFERENCE_BOXES, in blocks of 128 queries."""
    rows_out, cols_out = [], []
    n_ref = boxes.shape[1]
    for start in range(0, probes.shape[1], 128):
        block = probes[:, start : start + 128]
        n = block.shape[1]
        work = np.empty((n, n_ref), dtype=np.uint64)
        dist = np.empty((n, n_ref), dtype=np.uint8)
        best = np.full((n, n_ref), 255, dtype=np.uint8)
        for p in range(block.shape[0]):
            for k in range(boxes.shape[0]):
                np.bitwise_xor(block[p][:, None], boxes[k][None, :], out=work)
                np.bitwise_count(work, out=dist)
                np.minimum(best, dist, out=best)
        if self_join:
            rows = np.arange(n)
            ok = rows + start < n_ref
            best[rows[ok], rows[ok] + start] = 255
        r, c = np.nonzero(best <= limit)
        rows_out.append(r + start)
        cols_out.append(c)
    return np.concatenate(rows_out), np.concatenate(cols_out)


def _reference_align(
    q_idx: npt.NDArray[np.intp],
    r_idx: npt.NDArray[np.intp],
    q_probes: npt.NDArray[np.uint64],
    q_probe_d: npt.NDArray[np.uint64],
    r_grid: npt.NDArray[np.uint64],
    r_grid_d: npt.NDArray[np.uint64],
) -> Any:
    out_p, out_d, out_m, out_b = [], [], [], []
    for s in range(0, len(q_idx), 2048):
        qi, ri = q_idx[s : s + 2048], r_idx[s : s + 2048]
        flat = np.bitwise_count(q_probes[qi][:, :, None] ^ r_grid[ri][:, None, :]).reshape(
            len(qi), -1
        )
        arg = flat.argmin(axis=1)
        probe, box = np.divmod(arg, r_grid.shape[1])
        out_p.append(flat[np.arange(len(qi)), arg].astype(np.intp))
        out_d.append(np.bitwise_count(q_probe_d[qi, probe] ^ r_grid_d[ri, box]).astype(np.intp))
        out_m.append(probe == 1)
        out_b.append(box)
    empty = np.zeros(0, dtype=np.intp)
    return hashjoin.Aligned(
        q_idx,
        r_idx,
        np.concatenate(out_p) if out_p else empty,
        np.concatenate(out_d) if out_d else empty,
        np.concatenate(out_m) if out_m else np.zeros(0, dtype=bool),
        np.concatenate(out_b) if out_b else empty,
    )


def _stack(fps: Sequence[hashing.Fingerprint], name: str) -> npt.NDArray[np.uint64]:
    """One array field of every fingerprint, as rows."""
    if not fps:
        width = hashing.GRID_SIZE if name.startswith("grid") else 2
        return np.zeros((0, width), dtype=np.uint64)
    return np.stack([getattr(fp, name) for fp in fps])


def reference_match(
    queries: Sequence[hashing.Fingerprint],
    refs: Sequence[hashing.Fingerprint],
    self_join: bool = False,
) -> similarity.MatchResult:
    """The previous matcher (dense candidate stage), deciding with the same rules."""
    th = similarity.SimilarityThresholds()
    q_probes = _stack(queries, "probes")
    q_probe_d = _stack(queries, "probe_dhashes")
    r_grid = _stack(refs, "grid")
    r_grid_d = _stack(refs, "grid_dhash")
    boxes = np.ascontiguousarray(r_grid[:, list(REFERENCE_BOXES)].T)
    qi, ri = _reference_candidates(np.ascontiguousarray(q_probes.T), boxes, 16, self_join)
    aligned = _reference_align(qi, ri, q_probes, q_probe_d, r_grid, r_grid_d)
    found = similarity._candidate_list(aligned, queries, refs)
    return similarity.MatchResult(
        [
            similarity.Match(c.query, c.ref, c.distance, c.mirrored, c.hash_rule(th))
            for c in found
            if c.hash_match(th)
        ]
    )


# --- Data ------------------------------------------------------------------------------


def _random_fingerprint(rng: np.random.Generator) -> hashing.Fingerprint:
    def bits(n: int) -> np.ndarray:
        return rng.integers(0, 2**64, size=n, dtype=np.uint64)

    h = [int(x) for x in bits(4)]
    return hashing.Fingerprint(
        phash=h[0],
        phash_mirror=h[1],
        dhash=h[2],
        colorhash=h[3] >> 22,
        probes=bits(2),
        probe_dhashes=bits(2),
        grid=bits(hashing.GRID_SIZE),
        grid_dhash=bits(hashing.GRID_SIZE),
    )


def _photos() -> list:
    return [P.load_photo(n) for n in P.PHOTO_NAMES + P.SYNTHETIC_NAMES]


def _edit(img, rng: random.Random):
    img = P.crop(img, *(rng.uniform(0, 0.1) for _ in range(4)))
    if rng.random() < 0.5:
        img = P.mirror(img)
    if rng.random() < 0.5:
        img = P.label(img, corner=rng.choice(["tl", "tr", "bl", "br"]))
    return P.jpeg(img, rng.randint(55, 90))


# --- Timing ----------------------------------------------------------------------------


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _pairs(result: similarity.MatchResult) -> set[tuple[int, int]]:
    return {(m.query, m.ref) for m in result.matches}


def main() -> None:
    rng = np.random.default_rng(1)
    prng = random.Random(1)
    t0 = time.perf_counter()
    tiles = _photos()
    real_refs = [hashing.fingerprint(t) for t in tiles]
    copies = [hashing.fingerprint(_edit(t, prng)) for t in tiles for _ in range(COPIES_PER_REF)]
    fp_s = (time.perf_counter() - t0) / (len(tiles) + len(copies))
    refs = real_refs + [_random_fingerprint(rng) for _ in range(N_REFS - len(real_refs))]
    assets = copies + [_random_fingerprint(rng) for _ in range(N_ASSETS - len(copies))]
    prng.shuffle(assets)
    planted = {
        (assets.index(c), i // COPIES_PER_REF) for i, c in enumerate(copies)
    }  # (asset index, reference index) of every planted copy
    print(
        f"fingerprints: {len(refs)} references ({len(real_refs)} real), {len(assets)} assets "
        f"({len(copies)} edited copies); {fp_s * 1e3:.1f} ms per real fingerprint(); "
        f"load average {os.getloadavg()[0]:.1f}"
    )

    # Alternate the two matchers so that both see the same load.
    new_wall, new_cpu, old_wall, old_cpu = [], [], [], []
    new_res = old_res = None
    similarity.match(assets, refs)  # warm-up (first-touch of memory, caches)
    for _ in range(REPEATS):
        w, c, new_res = _timed(lambda: similarity.match(assets, refs))
        new_wall.append(w)
        new_cpu.append(c)
        w, c, old_res = _timed(lambda: reference_match(assets, refs))
        old_wall.append(w)
        old_cpu.append(c)
    assert new_res is not None and old_res is not None
    with ThreadPoolExecutor(2) as pool:
        two = [_timed(lambda: similarity.match(assets, refs, executor=pool))[0] for _ in range(5)]
    new_found, old_found = _pairs(new_res) & planted, _pairs(old_res) & planted
    med = statistics.median
    print(
        f"match {N_ASSETS} x {N_REFS}: {med(new_wall) * 1e3:.1f} ms wall median "
        f"(min {min(new_wall) * 1e3:.1f}, CPU {med(new_cpu) * 1e3:.1f}), "
        f"{med(two) * 1e3:.1f} ms on 2 threads; reference (dense) {med(old_wall) * 1e3:.1f} ms "
        f"(min {min(old_wall) * 1e3:.1f}, CPU {med(old_cpu) * 1e3:.1f}); "
        f"speed-up x{med(old_wall) / med(new_wall):.1f} wall, "
        f"x{med(old_cpu) / med(new_cpu):.1f} CPU"
    )
    print(
        f"  planted copies found: {len(new_found)} of {len(planted)} "
        f"(reference {len(old_found)}); other matches {len(_pairs(new_res) - planted)} "
        "(motorcycle_left/right: one stereo pair) "
        f"(reference {len(_pairs(old_res) - planted)})"
    )

    self_wall, self_cpu = [], []
    for _ in range(3):
        w, c, self_res = _timed(lambda: _self_match(assets))
        self_wall.append(w)
        self_cpu.append(c)
    old_self_wall, old_self_cpu, old_self = _timed(lambda: _reference_self_match(assets))
    print(
        f"self_match {N_ASSETS} assets: {med(self_wall) * 1e3:.1f} ms wall median "
        f"(CPU {med(self_cpu) * 1e3:.1f}), {len(self_res)} duplicate pairs; reference "
        f"{old_self_wall * 1e3:.1f} ms (CPU {old_self_cpu * 1e3:.1f}), {len(old_self)} pairs; "
        f"speed-up x{old_self_wall / med(self_wall):.1f}"
    )
    print(
        json.dumps(
            {
                "assets": N_ASSETS,
                "refs": N_REFS,
                "match_ms": round(med(new_wall) * 1e3, 1),
                "match_cpu_ms": round(med(new_cpu) * 1e3, 1),
                "match_ms_2threads": round(med(two) * 1e3, 1),
                "reference_match_ms": round(med(old_wall) * 1e3, 1),
                "reference_match_cpu_ms": round(med(old_cpu) * 1e3, 1),
                "speedup": round(med(old_wall) / med(new_wall), 1),
                "self_match_ms": round(med(self_wall) * 1e3, 1),
                "reference_self_match_ms": round(old_self_wall * 1e3, 1),
                "planted": len(planted),
                "found": len(new_found),
                "reference_found": len(old_found),
                "fingerprint_ms": round(fp_s * 1e3, 2),
                "load_average": round(os.getloadavg()[0], 1),
            }
        )
    )


def _self_match(fps: Sequence[hashing.Fingerprint]) -> set[tuple[int, int]]:
    """Duplicates in one batch by the hash rule, from the scan's self-join."""
    th = similarity.SimilarityThresholds()
    found = similarity.self_candidates(fps, th)
    return {(min(c.query, c.ref), max(c.query, c.ref)) for c in found if c.hash_match(th)}


def _reference_self_match(fps: Sequence[hashing.Fingerprint]) -> set[tuple[int, int]]:
    result = reference_match(fps, fps, self_join=True)
    return {(min(m.query, m.ref), max(m.query, m.ref)) for m in result.matches}


if __name__ == "__main__":
    main()
