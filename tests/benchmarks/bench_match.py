"""Benchmark: match 10,000 asset fingerprints against 2,000 reference fingerprints.

Not collected by pytest. Run: ``uv run python tests/benchmarks/bench_match.py``.

The fingerprints: the references include scikit-image's bundled photos, each with
COPIES_PER_REF edited copies among the assets (crop, label, JPEG, mirror...), so the
alignment stage has real work; the rest are random hashes (unrelated images). Random hashes
make the all-pairs stage cost what it costs on any data; the fraction of unrelated real
photo pairs that reach the alignment stage is ~0.1 % (see the calibration test). Prints the
median of REPEATS runs of :func:`similarity.match`, in the calling thread and on a 2-thread
pool, then the self-join of the first 2,000 assets; the last line is JSON.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import photos as P
from twinreview.core import hashing, similarity

N_ASSETS = 10_000
N_REFS = 2_000
COPIES_PER_REF = 4
REPEATS = 5


def _random_fingerprint(rng: np.random.Generator) -> hashing.Fingerprint:
    def bits(n: int) -> np.ndarray:
        return rng.integers(0, 2**63, size=n, dtype=np.int64).view(np.uint64) ^ rng.integers(
            0, 2, size=n, dtype=np.int64
        ).view(np.uint64) << np.uint64(63)

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
    print(
        f"fingerprints: {len(refs)} references ({len(real_refs)} real), {len(assets)} assets "
        f"({len(copies)} edited copies); {fp_s * 1e3:.1f} ms per real fingerprint()"
    )

    def run(executor=None) -> tuple[float, similarity.MatchResult]:
        times, result = [], None
        for _ in range(REPEATS):
            t = time.perf_counter()
            result = similarity.match(assets, refs, executor=executor)
            times.append(time.perf_counter() - t)
        assert result is not None
        return statistics.median(times), result

    one_s, result = run()
    with ThreadPoolExecutor(2) as pool:
        two_s, _ = run(pool)
    found = len(result.matches)
    print(
        f"match {N_ASSETS} x {N_REFS}: {one_s * 1e3:.1f} ms (1 thread), {two_s * 1e3:.1f} ms "
        f"(2 threads); {found} matches, {len(result.undecided)} undecided "
        f"of {len(copies)} planted copies"
    )
    t = time.perf_counter()
    similarity.self_match(assets[:2000])
    self_s = time.perf_counter() - t
    print(f"self_match 2000 assets: {self_s * 1e3:.1f} ms")
    print(
        json.dumps(
            {
                "assets": N_ASSETS,
                "refs": N_REFS,
                "match_ms_1thread": round(one_s * 1e3, 1),
                "match_ms_2threads": round(two_s * 1e3, 1),
                "self_match_2000_ms": round(self_s * 1e3, 1),
                "planted": len(copies),
                "found": found,
                "fingerprint_ms": round(fp_s * 1e3, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
