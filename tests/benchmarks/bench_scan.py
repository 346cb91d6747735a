"""Scan throughput: twinreview against naive imagehash and the JPEG decode floor.

Run with ``uv run python tests/benchmarks/bench_scan.py [--jpegs N] [--pngs N]``. Not collected by
pytest. It builds its own photo-like corpus in a temporary folder (12 MP JPEGs and 4 MP PNGs made
from scikit-image's bundled photos, with sensor-like noise so they compress like photos), then
measures, in one run:

- naive: ``imagehash.phash(Image.open(p))`` per file (full decode), one core;
- cold: a twinreview scan with an empty cache, one worker;
- warm: the same scan again (unchanged files: the stat + SQLite fast path), one worker;
- floor: JPEG decode at 1/8 scale (``draft``), the least any decoder-based scan can do;
- cold on all cores: a thread pool with one worker per core;
- portraits (``--portraits N``): a workspace of 12 MP portrait JPEGs made from the face corpus
  (``../shared/corpus/faces``, read in place), scanned cold as the app and ``twinreview scan``
  scan it (similarity with the crop stage, disclosure, the face pass), in CPU time of the whole
  process per file, against the 1/8-scale decode floor of the same files in CPU time; beside
  it the same scan without the face pass, and the crop stage's own CPU time; the floor and the
  scans are measured in turns (``--rounds``, 3), each figure the median of its rounds. What a
  process pays once (the modules a scan imports on first use, the face models) is paid before
  and reported on its own. ``--only-portraits`` measures this part alone.

Figures are seconds per image. The last line is JSON with the JPEG figures.
"""

from __future__ import annotations

import os

# As the twinreview command does: BLAS threads would fight the scan's workers.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import skimage.data
from PIL import Image

from twinreview.core.imageio import load_image
from twinreview.core.similarity import hashing
from twinreview.core.workspace import Workspace
from twinreview.services.compose import make_scan_service
from twinreview.services.scan.cache import ResultCache
from twinreview.services.scan.faces import (
    QUICK_SIDE,
    REFERENCE_QUICK_SIDE,
    FaceEngine,
    Located,
    Sighted,
    detection_image,
)
from twinreview.services.scan.likeness import DESCRIBE_BATCH
from twinreview.services.scan.model import REFERENCE_MIN_SIDE
from twinreview.services.scan.service import ScanService

SOURCES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "hubble_deep_field", "retina")


def _photo(name: str, size: tuple[int, int], seed: int) -> Image.Image:
    arr = getattr(skimage.data, name)()
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, -1)
    img = Image.fromarray(arr[..., :3]).resize(size, Image.Resampling.BICUBIC)
    rng = np.random.default_rng(seed)
    noisy = np.asarray(img, dtype=np.int16) + rng.normal(0, 6, (size[1], size[0], 3)).astype(
        np.int16
    )
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def build_corpus(root: Path, jpegs: int, pngs: int) -> tuple[list[Path], list[Path]]:
    """Create a workspace with ``jpegs`` 12 MP JPEGs and ``pngs`` 4 MP PNGs as assets."""
    (root / "twinreview.toml").write_text("")
    ref_dir = root / "models" / "m" / "references"
    ref_dir.mkdir(parents=True)
    _photo("moon", (1200, 900), 0).save(ref_dir / "ref.jpg", quality=90)
    adir = root / "assets" / "m"
    adir.mkdir(parents=True)
    jpeg_paths, png_paths = [], []
    for i in range(jpegs):
        p = adir / f"img{i:03d}.jpg"
        _photo(SOURCES[i % len(SOURCES)], (4000, 3000), i).save(p, quality=90)
        jpeg_paths.append(p)
    for i in range(pngs):
        p = adir / f"img{i:03d}.png"
        _photo(SOURCES[i % len(SOURCES)], (2309, 1732), 100 + i).save(p, compress_level=6)
        png_paths.append(p)
    return jpeg_paths, png_paths


def per_image(fn: object, paths: list[Path]) -> float:
    t0 = time.perf_counter()
    for p in paths:
        fn(p)  # type: ignore[operator]
    return (time.perf_counter() - t0) / len(paths)


def naive(p: Path) -> None:
    imagehash.phash(Image.open(p))


def floor(p: Path) -> None:
    with Image.open(p) as im:
        im.draft("RGB", (im.size[0] // 8, im.size[1] // 8))
        im.load()


def decode_and_hash(p: Path) -> str:
    """The per-file work of a cold scan, as a picklable function for the pool comparison."""
    data = p.read_bytes()
    fp = hashing.fingerprint(load_image(data, min_side=hashing.MIN_SIDE).image)
    return f"{fp.phash:016x}"


def pool_seconds(pool_cls: type[Executor], workers: int, paths: list[Path]) -> float:
    """Wall time per image of decode+fingerprint on a fresh pool, start-up included."""
    t0 = time.perf_counter()
    with pool_cls(workers) as pool:
        list(pool.map(decode_and_hash, paths))
    return (time.perf_counter() - t0) / len(paths)


def scan_seconds(
    ws_root: Path, workers: int, cache: ResultCache, *, disclosure: bool = True
) -> float:
    with ThreadPoolExecutor(workers) as pool:
        # Without disclosure: the similarity scan alone, the part the decode-floor goal is about.
        # The face pass (likeness) is measured on its own, by bench_faces.py.
        service = (
            make_scan_service(pool, cache, faces=False) if disclosure else ScanService(pool, cache)
        )
        ws = Workspace.open(ws_root)
        t0 = time.perf_counter()
        service.scan(ws)
        return time.perf_counter() - t0


FACES = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "faces"
PORTRAIT_SOURCES = (
    "alex_2.jpg", "alex_3.jpg", "biden_2.jpg", "kit_3.jpg", "obama_3.jpg", "rose_1.jpg",
    "obama_2.jpg", "rose_2.jpg", "kit_1.jpg", "alex_1.png", "lin_1.png", "biden_1_fullbody.jpg",
)  # fmt: skip
PORTRAIT_REFERENCES = ("obama_1.jpg", "kit_1.jpg", "alex_3.jpg")
PORTRAIT_FRAMING = (
    "each portrait keeps its source photo's shape (fitted into a 3:4 camera frame, the backdrop "
    "continued from the photo's edges): stretched to the frame, a full-length photo's face lost "
    "its shape, was never found, and sent that file through every larger decode"
)


def _portrait(name: str, seed: int) -> Image.Image:
    """A corpus photo as a 12 MP camera JPEG of the same sitting would be, with sensor-like noise.

    A camera frame is 3:4 (or 4:3) whatever its subject, and the subject keeps its shape: the
    photo is enlarged to fit the frame, its orientation kept, and the rest of the frame is its
    backdrop, continued from the photo's edge pixels (as a studio backdrop runs on past the
    subject). Neither stretched to the frame (which would make a full-length figure twice as wide
    and its face unlike any face) nor cropped to it (a 3:4 crop about the centre of a full-length
    photo cuts the head off): the face keeps the size and shape it has in the photo.
    """
    with Image.open(FACES / name) as src:
        img = src.convert("RGB")
    frame = (3000, 4000) if img.height >= img.width else (4000, 3000)
    scale = min(frame[0] / img.width, frame[1] / img.height)
    fit = (min(frame[0], round(img.width * scale)), min(frame[1], round(img.height * scale)))
    arr = np.asarray(img.resize(fit, Image.Resampling.BICUBIC))
    left, top = (frame[0] - fit[0]) // 2, (frame[1] - fit[1]) // 2
    pad = ((top, frame[1] - fit[1] - top), (left, frame[0] - fit[0] - left), (0, 0))
    arr = np.pad(arr, pad, mode="edge")
    rng = np.random.default_rng(seed)
    noisy = arr.astype(np.int16) + rng.normal(0, 4, arr.shape).astype(np.int16)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def portrait_figures(tmp: Path, count: int, rounds: int = 3) -> dict[str, Any]:
    """The cold scan users run, on 12 MP portraits, in CPU seconds per file."""
    root = tmp / "portraits"
    (root / "models" / "m" / "references").mkdir(parents=True)
    (root / "assets" / "m").mkdir(parents=True)
    (root / "twinreview.toml").write_text("")
    files = []
    for i, name in enumerate(PORTRAIT_REFERENCES):
        p = root / "models" / "m" / "references" / f"ref{i}.jpg"
        _portrait(name, 1000 + i).save(p, quality=90)
        files.append(p)
    for i in range(count):
        p = root / "assets" / "m" / f"p{i:03d}.jpg"
        _portrait(PORTRAIT_SOURCES[i % len(PORTRAIT_SOURCES)], i).save(p, quality=90)
        files.append(p)
    for p in files[:2]:
        floor(p)

    def floor_once() -> float:
        t0 = time.process_time()
        for p in files:
            floor(p)
        return (time.process_time() - t0) / len(files)

    # What a process pays once, whatever the number of files (the modules a scan imports on
    # first use, scipy's FFT among them, and the face models of a worker thread): paid first,
    # on a workspace of one photo, and reported on its own.
    startup = _startup_cpu(tmp, files[len(PORTRAIT_REFERENCES)])

    def cold(faces: bool) -> tuple[float, dict[str, int]]:
        with ThreadPoolExecutor(1) as pool:
            service = make_scan_service(pool, ResultCache.in_memory(), faces=faces)
            ws = Workspace.open(root)
            t = time.process_time()
            result = service.scan(ws)
            return (time.process_time() - t) / len(files), dict(result.stats)

    # The floor and both scans in turns, each figure the median of its rounds: on a shared
    # machine the CPU time of the same work drifts by a tenth or more within a minute, and
    # a floor measured only before the scans would carry that drift into the ratio.
    floors, withs, withouts = [], [], []
    stats: dict[str, int] = {}
    for _ in range(rounds):
        floors.append(floor_once())
        with_one, stats = cold(True)
        withs.append(with_one)
        withouts.append(cold(False)[0])
    floor_cpu = statistics.median(floors)
    with_faces, without = statistics.median(withs), statistics.median(withouts)
    split = face_split(files, len(PORTRAIT_REFERENCES))
    return {
        **split,
        "portraits": count,
        "portrait_rounds": rounds,
        "portrait_round_ratios": [round(w / f, 2) for w, f in zip(withs, floors, strict=True)],
        "portrait_framing": PORTRAIT_FRAMING,
        "portrait_startup_cpu_s": round(startup, 4),
        "portrait_floor_cpu_s": round(floor_cpu, 5),
        "portrait_cold_cpu_s": round(with_faces, 5),
        "portrait_cold_no_faces_cpu_s": round(without, 5),
        "portrait_crop_stage_cpu_s": round(stats.get("crop_stage_cpu_us", 0) / 1e6 / len(files), 5),
        "portrait_crop_candidates": stats.get("crop_candidates", 0),
    }


def _startup_cpu(tmp: Path, photo: Path) -> float:
    """CPU seconds of a first scan, with faces, of a workspace holding one photo."""
    root = tmp / "startup"
    (root / "assets" / "m").mkdir(parents=True)
    (root / "models" / "m" / "references").mkdir(parents=True)
    (root / "twinreview.toml").write_text("")
    (root / "assets" / "m" / photo.name).write_bytes(photo.read_bytes())
    with ThreadPoolExecutor(1) as pool:
        service = make_scan_service(pool, ResultCache.in_memory(), faces=True)
        t = time.process_time()
        service.scan(Workspace.open(root))
        FaceEngine().numpy_network()  # read by the first face described: already, unless none
        return time.process_time() - t


def face_split(files: list[Path], references: int) -> dict[str, float]:
    """Where the face pass's CPU goes on these files, each step as the scan runs it.

    Finding and aligning faces on the decode the scan makes anyway (1/8 for an asset, 1/4 for a
    reference photo, each looked at on the side the scan gives the detector), describing each
    face, and the larger decodes of a file where no usable face was found at that size. Beside
    the finding: dlib's detector alone, on the same grey image, its whole pyramid (the least a
    look for faces from a sixth of the picture up, beside a larger one, costs with it). Models
    are loaded before timing, as in the scan figures.
    """
    import dlib  # type: ignore[import-untyped]

    engine = FaceEngine()
    engine.numpy_network()
    detector = dlib.get_frontal_face_detector()
    locate = detect = describe = full = 0.0
    faces = full_files = 0
    batch: list[Located] = []
    for i, p in enumerate(files):
        data = p.read_bytes()
        reference = i < references
        loaded = load_image(data, min_side=REFERENCE_MIN_SIDE if reference else hashing.MIN_SIDE)
        side = REFERENCE_QUICK_SIDE if reference else QUICK_SIDE
        grey = loaded.image.convert("L")
        t = time.process_time()
        found, covered = engine.quick(loaded.image, grey, side=side)
        locate += time.process_time() - t
        grey = detection_image(grey, side)[0]
        t = time.process_time()
        detector.run(np.asarray(grey), 0, 0.0)
        detect += time.process_time() - t
        if not isinstance(found, Located):
            t = time.process_time()
            found = engine.find(
                data,
                width=loaded.width,
                height=loaded.height,
                quick=False,
                covered=covered,
                sighted=found if isinstance(found, Sighted) else None,
            )
            full += time.process_time() - t
            full_files += 1
        if isinstance(found, Located):
            batch.append(found)
            faces += len(found.chips)
        if batch and (i == len(files) - 1 or sum(len(b.chips) for b in batch) >= DESCRIBE_BATCH):
            t = time.process_time()
            engine.describe_all(batch)  # as the face pass does: a few files at once
            describe += time.process_time() - t
            batch = []
    return {
        "portrait_face_locate_cpu_s": round(locate / len(files), 5),
        "portrait_face_detector_cpu_s": round(detect / len(files), 5),
        "portrait_faces": faces,
        "portrait_face_describe_cpu_s": round(describe / max(1, faces), 5),
        "portrait_full_pass_files": full_files,
        "portrait_full_pass_cpu_s": round(full / max(1, full_files), 5),
    }


def print_portraits(portraits: dict[str, Any]) -> None:
    """The portrait figures, one file per line."""
    pf = portraits["portrait_floor_cpu_s"]
    print(
        f"\n12 MP portraits, {portraits['portraits']} + {len(PORTRAIT_REFERENCES)} references, "
        f"CPU per file (median of {portraits['portrait_rounds']} rounds): floor "
        f"{pf * 1000:.1f} ms; cold scan with faces "
        f"{portraits['portrait_cold_cpu_s'] * 1000:.1f} ms "
        f"({portraits['portrait_cold_cpu_s'] / pf:.2f}x); without the face pass "
        f"{portraits['portrait_cold_no_faces_cpu_s'] * 1000:.1f} ms; crop stage "
        f"{portraits['portrait_crop_stage_cpu_s'] * 1000:.1f} ms; each round's ratio "
        f"{', '.join(f'{r:.2f}x' for r in portraits['portrait_round_ratios'])}"
    )
    print(
        f"  face pass: find + align on the scan's decode "
        f"{portraits['portrait_face_locate_cpu_s'] * 1000:.1f} ms per file (the detector "
        f"alone {portraits['portrait_face_detector_cpu_s'] * 1000:.1f} ms); describe "
        f"{portraits['portrait_face_describe_cpu_s'] * 1000:.1f} ms per face "
        f"({portraits['portrait_faces']} faces); larger decodes "
        f"{portraits['portrait_full_pass_cpu_s'] * 1000:.1f} ms per file "
        f"({portraits['portrait_full_pass_files']} files)"
    )
    print(f"  portraits: {portraits['portrait_framing']}")
    print(
        f"  once per process (imports, face models), not in the figures above: "
        f"{portraits['portrait_startup_cpu_s'] * 1000:.0f} ms CPU (a first scan of one photo)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jpegs", type=int, default=24)
    ap.add_argument("--pngs", type=int, default=6)
    ap.add_argument("--portraits", type=int, default=12)
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="portrait floor and scans measured in this many turns (the median of each)",
    )
    ap.add_argument(
        "--only-portraits",
        action="store_true",
        help="measure the portrait cold scan only (its floor in the same run)",
    )
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    if args.only_portraits:
        with tempfile.TemporaryDirectory() as tmp:
            portraits = portrait_figures(Path(tmp), args.portraits, args.rounds)
        print_portraits(portraits)
        print(json.dumps(portraits))
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        root.mkdir()
        print(f"building {args.jpegs} x 12 MP JPEG + {args.pngs} x 4 MP PNG ...", file=sys.stderr)
        jpegs, pngs = build_corpus(root, args.jpegs, args.pngs)
        mb = statistics.mean(p.stat().st_size for p in jpegs) / 1e6
        print(f"JPEG mean size {mb:.1f} MB; {cores} cores")

        for p in jpegs[:2]:  # warm the OS page cache and Pillow's plugin registry
            floor(p)
        n_jpeg = len(jpegs)
        naive_s = per_image(naive, jpegs)
        floor_s = per_image(floor, jpegs)
        naive_png = per_image(naive, pngs) if pngs else float("nan")
        # Threads or processes? The same per-file work on each kind of pool, start-up included.
        pools = {
            "threads": pool_seconds(ThreadPoolExecutor, cores, jpegs),
            "processes": pool_seconds(ProcessPoolExecutor, cores, jpegs),
            "one thread": pool_seconds(ThreadPoolExecutor, 1, jpegs),
        }

        # JPEG-only workspace figures: scan a workspace that holds only the JPEGs.
        for p in pngs:
            p.rename(p.with_suffix(".png.off"))
        off = [p.with_suffix(".png.off") for p in pngs]
        for p in off:  # keep them out of assets/ entirely
            p.rename(Path(tmp) / p.name)
        cache_path = Path(tmp) / "cache.sqlite3"
        cache = ResultCache(cache_path)
        files = n_jpeg + 1  # plus the reference
        cold_s = scan_seconds(root, 1, cache) / files
        warm_s = scan_seconds(root, 1, cache) / files
        cache.close()
        cache_path.unlink()
        for suffix in ("-wal", "-shm"):
            Path(str(cache_path) + suffix).unlink(missing_ok=True)
        par = ResultCache.in_memory()
        cold_all_s = scan_seconds(root, cores, par) / files
        cold_sim_s = scan_seconds(root, 1, ResultCache.in_memory(), disclosure=False) / files

        # PNG figures: a workspace of PNGs only.
        for p in jpegs:
            p.unlink()
        for p, orig in zip(off, pngs, strict=True):
            (Path(tmp) / p.name).rename(orig)
        png_cold_s = (
            scan_seconds(root, 1, ResultCache.in_memory()) / (len(pngs) + 1) if pngs else 0.0
        )
        portraits = (
            portrait_figures(Path(tmp), args.portraits, args.rounds)
            if args.portraits and FACES.is_dir()
            else {}
        )

    rows = [
        ("naive imagehash.phash(Image.open(p)), 1 core", naive_s, ""),
        (
            "twinreview cold scan, 1 worker",
            cold_s,
            f"{naive_s / cold_s:.1f}x faster than naive (goal >= 3x)",
        ),
        (
            "twinreview warm rescan, 1 worker",
            warm_s,
            f"{naive_s / warm_s:.0f}x faster than naive (goal >= 100x)",
        ),
        (
            "JPEG decode at 1/8 scale (floor)",
            floor_s,
            f"cold is {cold_s / floor_s:.2f}x the floor (goal <= 1.2x)",
        ),
        (
            "cold scan without disclosure checks, 1 worker",
            cold_sim_s,
            f"{cold_sim_s / floor_s:.2f}x the floor; disclosure adds "
            f"{(cold_s - cold_sim_s) * 1000:.1f} ms",
        ),
        (
            f"twinreview cold scan, {cores} workers",
            cold_all_s,
            f"{naive_s / cold_all_s:.1f}x the naive 1-core rate (goal >= 5x)",
        ),
    ]
    print(f"\n12 MP JPEG, {n_jpeg} images, seconds per image")
    for name, value, note in rows:
        print(f"  {name:<48} {value * 1000:8.1f} ms   {note}")
    print(f"\ndecode + fingerprint per image, {cores} workers, pool start-up included:")
    for name, value in pools.items():
        print(f"  {name:<12} {value * 1000:8.1f} ms")
    print(
        f"  threads scale {pools['one thread'] / pools['threads']:.2f}x, "
        f"processes {pools['one thread'] / pools['processes']:.2f}x over one thread"
    )
    if pngs:
        print(
            f"\n4 MP PNG, {len(pngs)} images: naive {naive_png * 1000:.1f} ms, "
            f"twinreview cold {png_cold_s * 1000:.1f} ms per image"
        )
    if portraits:
        print_portraits(portraits)
    print(
        json.dumps(
            {
                **portraits,
                "images": n_jpeg,
                "naive_s": round(naive_s, 5),
                "cold_s": round(cold_s, 5),
                "warm_s": round(warm_s, 6),
                "floor_s": round(floor_s, 5),
                "cold_all_cores_s": round(cold_all_s, 5),
                "cold_similarity_only_s": round(cold_sim_s, 5),
                "threads_s": round(pools["threads"], 5),
                "processes_s": round(pools["processes"], 5),
            }
        )
    )


if __name__ == "__main__":
    main()
