"""Benchmark: ``inspect_bytes`` over every file of ../shared/corpus/disclosure.

Not collected by pytest. Run: ``uv run python tests/benchmarks/bench_inspect.py [--label]``.

Each file is read once into memory (as the scan does), then inspected REPEATS times in the
calling thread; the per-file figure is the median. A second pass inspects the whole corpus on a
thread pool (one worker per core) to show the shared offline c2pa context scales. ``--label``
also runs the visible-label search (a synthetic badge; the corpus has no labels, so this is the
cost of a search that finds nothing, the worst case). The last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

from twinreview.core.disclosure import InspectSettings, LabelTemplate, inspect_bytes

REPEATS = 5
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "disclosure"


def _label() -> LabelTemplate:
    img = Image.new("RGBA", (240, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, 239, 63), radius=14, fill=(20, 20, 20, 255))
    draw.text((16, 12), "AI made", fill=(255, 255, 255, 255), font_size=34)
    return LabelTemplate.from_image(img)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", action="store_true", help="also search for a visible label")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    files = sorted(p for p in CORPUS.iterdir() if p.name != "MANIFEST.tsv")
    blobs = {p.name: p.read_bytes() for p in files}
    settings = InspectSettings.offline(label=_label() if args.label else None)
    inspect_bytes(
        blobs[files[0].name], settings=settings
    )  # warm-up: library load, first context use

    per_file: dict[str, float] = {}
    for name, data in blobs.items():
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            inspect_bytes(data, path_hint=name, settings=settings)
            times.append(time.perf_counter() - start)
        per_file[name] = statistics.median(times)
        print(f"{per_file[name] * 1000:8.1f} ms  {len(data) / 1024:8.0f} kB  {name}")

    workers = os.cpu_count() or 2
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(
            pool.map(lambda d: inspect_bytes(d, settings=settings), list(blobs.values()) * REPEATS)
        )
    pooled = (time.perf_counter() - start) / (len(blobs) * REPEATS)

    values = list(per_file.values())
    slowest = max(per_file, key=per_file.__getitem__)
    result = {
        "files": len(values),
        "label_search": args.label,
        "mean_ms": round(statistics.mean(values) * 1000, 2),
        "median_ms": round(statistics.median(values) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
        "slowest_file": slowest,
        "total_corpus_ms": round(sum(values) * 1000, 1),
        "pool_workers": workers,
        "pool_ms_per_file": round(pooled * 1000, 2),
    }
    print(
        f"{len(values)} files: mean {result['mean_ms']} ms, median {result['median_ms']} ms, "
        f"max {result['max_ms']} ms ({slowest}); "
        f"pool of {workers}: {result['pool_ms_per_file']} ms/file"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
