"""Benchmark: the likeness check's face pass (find faces + describe them) on real photos.

Not collected by pytest. Run: ``uv run python tests/benchmarks/bench_faces.py [--rounds N]``.

Photos: the one-face photos of ../shared/corpus/faces, read in place (never copied into the
project). Each is found and described ``--rounds`` times in the calling thread (one core, one
BLAS thread, dlib's own threading unused); its figure is the median of its rounds, and the
headline is the median over the photos: the issue-10 goal is <= 150 ms per image with one face
on one core, decoding included. Beside it: a full-length frame whose face is 5% of the height (the
cheap pass misses it, the enlarged pass finds it), an image with no face (both passes run), the
per-thread model load, and a scan of a temporary workspace of those photos cold then warm (the
warm rescan must take every face from the cache: none looked for again). The last line is JSON.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import csv
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from twinreview.core.workspace import Workspace
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.faces import FaceEngine
from twinreview.services.scan.service import ScanService

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "faces"


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _timed(engine: FaceEngine, data: bytes, size: tuple[int, int], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        engine.scan_bytes(data, width=size[0], height=size[1])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _scene(size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    chans = [127 + 90 * np.sin(x * rng.uniform(0.002, 0.01) + y * rng.uniform(0.002, 0.01))]
    arr = np.stack(chans * 3, -1) + rng.normal(0, 10, (h, w, 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not (CORPUS / "MANIFEST.tsv").is_file():
        print(f"face corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    rows = list(csv.DictReader((CORPUS / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))
    names = [r["file"] for r in rows if r["faces"] == "1"]
    engine = FaceEngine()
    if engine.problem:
        print(engine.problem, file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    engine.scan_bytes(_jpeg(_scene((64, 64), 0)))  # loads this thread's models
    engine.numpy_network()  # and the descriptor network (once per process)
    load_ms = (time.perf_counter() - t0) * 1000

    per_image: dict[str, float] = {}
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for name in names:
        data = (CORPUS / name).read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            size = im.size
        found = engine.scan_bytes(data, width=size[0], height=size[1])
        assert len(found.faces) == 1, (name, found)
        per_image[name] = _timed(engine, data, size, args.rounds) * 1000
    cpu_ratio = (time.process_time() - cpu0) / max(1e-9, time.perf_counter() - wall0)
    values = sorted(per_image.values())
    median = statistics.median(values)

    # Full-length frames whose face is 5% of the height: portrait (2000 x 3000; the cheap pass
    # still sees it) and landscape (3000 x 2000; only the enlarged pass finds it).
    src = engine.scan_bytes((CORPUS / "obama_3.jpg").read_bytes())
    box = src.faces[0].box
    small: dict[str, tuple[bool, bool, float]] = {}
    for label, size in (("portrait", (2000, 3000)), ("landscape", (3000, 2000))):
        with Image.open(CORPUS / "obama_3.jpg") as im:
            person = im.convert("RGB")
        scale = 0.05 * size[1] / ((box[3] - box[1]) * person.height)
        person = person.resize((round(person.width * scale), round(person.height * scale)))
        frame = _scene(size, 1)
        x = int(0.45 * size[0] - box[0] * person.width)
        frame.paste(person, (x, int(0.1 * size[1] - box[1] * person.height)))
        data = _jpeg(frame)
        got = engine.scan_bytes(data, width=size[0], height=size[1])
        ms = _timed(engine, data, size, args.rounds) * 1000
        small[label] = (len(got.faces) == 1, got.upsampled, ms)
    no_face = _jpeg(_scene((3000, 2000), 2))
    no_face_ms = _timed(engine, no_face, (3000, 2000), args.rounds) * 1000

    # A scan of those photos, cold then warm (one worker: the per-image cost on one core).
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        (root / "models" / "m" / "references").mkdir(parents=True)
        shutil.copyfile(CORPUS / names[0], root / "models" / "m" / "references" / names[0])
        (root / "assets" / "m").mkdir(parents=True)
        for n in names[1:]:
            shutil.copyfile(CORPUS / n, root / "assets" / "m" / n)
        cache = ResultCache(Path(tmp) / "cache.sqlite3")
        with ThreadPoolExecutor(1) as pool:
            service = ScanService(pool, cache, face_engine=engine)
            t0 = time.perf_counter()
            cold = service.scan(Workspace.open(root))
            cold_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            warm = service.scan(Workspace.open(root))
            warm_s = time.perf_counter() - t0
        cache.close()

    out = {
        "images": len(values),
        "rounds": args.rounds,
        "median_ms": round(median, 1),
        "p90_ms": round(values[min(len(values) - 1, int(0.9 * len(values)))], 1),
        "min_ms": round(values[0], 1),
        "max_ms": round(values[-1], 1),
        "slowest": max(per_image, key=lambda k: per_image[k]),
        "cpu_per_wall": round(cpu_ratio, 2),
        "model_load_ms": round(load_ms, 1),
        "small_face_found": all(found for found, _up, _ms in small.values()),
        "small_face_portrait_ms": round(small["portrait"][2], 1),
        "small_face_portrait_upsampled": small["portrait"][1],
        "small_face_landscape_ms": round(small["landscape"][2], 1),
        "small_face_landscape_upsampled": small["landscape"][1],
        "no_face_ms": round(no_face_ms, 1),
        "scan_files": cold.stats.get("files", 0),
        "cold_scan_ms_per_file": round(cold_s / max(1, cold.stats.get("files", 1)) * 1000, 1),
        "cold_faces_computed": cold.stats.get("faces_computed", 0),
        "warm_scan_ms_per_file": round(warm_s / max(1, warm.stats.get("files", 1)) * 1000, 2),
        "warm_faces_computed": warm.stats.get("faces_computed", 0),
        "warm_faces_cached": warm.stats.get("faces_cached", 0),
    }
    for name, ms in sorted(per_image.items(), key=lambda kv: kv[1]):
        print(f"{name:28s} {ms:6.1f} ms", file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
