"""A campaign of thousands of images: does the scan stay linear, bounded and incremental?

Run with ``uv run python tests/benchmarks/bench_scale.py [--sizes 2000,5000,10000] [--quick]``.
Not collected by pytest. Workspaces come from ``wsgen.py`` (1024 x 1280 JPEGs, 10 models with 5
references each, real portraits of ``../shared/corpus/faces`` among them, about 2 % copies of
references, shoots on one shared backdrop, smooth low-texture images, the rest distinct). One
pool of the largest size is generated once (kept in ``--dir``, default a folder under the
system's temporary folder) and each size is a workspace of hard links to its first N assets.

Each measurement runs in a child process of its own, so that peak memory is the measurement's:

- cold: a scan with an empty cache, faces off (the command line's executor and services):
  CPU time per asset, wall time, peak RSS, candidate pairs verified geometrically per asset,
  false ``duplicate_in_batch`` and copy findings against the ground truth, copy recall, the
  pairs of copies of one reference found as duplicates in the batch;
- warm: the same scan again on the warm cache (a fresh process, as after a restart);
- status: ``twinreview status``'s computation with nothing new;
- app (unless ``--no-app``): the real app, offscreen, opening the warm workspace: the time until
  every row is filled, and the app's own CPU time for it (all its threads, not the scan
  process: unlike wall times, hardly moved by other work on a shared machine); the resident
  memory of the app and its scan process once idle; the time (and the CPU of each process)
  until 50 added files show in the queue, 50 changed ones show their new contents, 50 deleted
  ones are gone, and one replaced reference photo shows; the GUI-thread time of a search and of
  going back to All.

The last stdout line is JSON (one object per size under ``"sizes"``).
"""

from __future__ import annotations

import os

# As the twinreview command does: BLAS threads would fight the scan's workers.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import wsgen  # noqa: E402  (beside this file)
from wsgen import shared_backdrop  # noqa: E402

DEFAULT_SIZES = (2000, 5000, 10000)
QUICK_SIZES = (300,)
CHANGED = 50
POLL_MS = 20  # how often the app child looks whether a step is done


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _rss_mb(pid: int) -> float:
    """Resident memory of a running process (Linux /proc; NaN elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a running process has used (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def _children(pid: int) -> list[int]:
    """Process ids of ``pid``'s children (Linux /proc; empty elsewhere)."""
    out: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


# --- the workspaces -----------------------------------------------------------------------------


def prepare(base: Path, sizes: list[int], faces: bool) -> dict[int, Path]:
    """Generate the pool once and link one workspace per size; return size -> workspace."""
    pool = base / "pool"
    largest = max(sizes)
    print(f"generating the pool of {largest} assets in {pool} ...", file=sys.stderr)
    truth = wsgen.build(pool, largest, faces=faces)
    order = list(truth)
    out: dict[int, Path] = {}
    for n in sizes:
        ws = base / f"ws-{n}"
        if ws.exists():
            shutil.rmtree(ws)
        for sub in ("models",):
            shutil.copytree(pool / sub, ws / sub, copy_function=os.link)
        shutil.copy(pool / "twinreview.toml", ws / "twinreview.toml")
        for rel in order[:n]:
            dst = ws / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(pool / rel, dst)
        (base / f"ws-{n}.manifest.json").write_text(
            json.dumps({rel: [truth[rel].kind, truth[rel].source] for rel in order[:n]})
        )
        out[n] = ws
    return out


def _extra_assets(base: Path, count: int, name: str = "added", seed: int = 900) -> list[Path]:
    """``count`` distinct images for the watcher measurement, made once, outside every ws."""
    extra = base / "extra"
    extra.mkdir(parents=True, exist_ok=True)
    paths = sorted(extra.glob(f"{name}*.jpg"))
    if len(paths) >= count:
        return paths[:count]
    import numpy as np

    tile = np.random.default_rng(9).normal(0, 1, (512, 512, 3)).astype(np.float32)
    for i in range(len(paths), count):
        rng = np.random.default_rng([seed, i])
        img = wsgen._finish(wsgen._texture(rng, wsgen.SIZE, 40), rng, tile, 5)
        img.save(extra / f"{name}{i:03d}.jpg", quality=88)
    return sorted(extra.glob(f"{name}*.jpg"))[:count]


# --- children -----------------------------------------------------------------------------------


def child_scan(ws_root: Path, cache_path: Path, faces: bool) -> dict[str, Any]:
    from twinreview.core.findings import (
        DUPLICATE_IN_BATCH,
        MATCHES_OTHER_MODEL,
        NEAR_COPY_OF_REFERENCE,
    )
    from twinreview.core.similarity import geometry
    from twinreview.core.workspace import Workspace
    from twinreview.services.compose import make_executor, make_scan_service
    from twinreview.services.scan.cache import ResultCache

    verified = {"pairs": 0}
    real_verify = geometry.verify

    def counting_verify(*args: Any, **kwargs: Any) -> Any:
        verified["pairs"] += 1
        return real_verify(*args, **kwargs)

    geometry.verify = counting_verify  # type: ignore[assignment]
    truth = wsgen.read_truth(ws_root)
    cpu0, t0 = _cpu_s(), time.perf_counter()
    cache = ResultCache(cache_path)
    with make_executor() as pool:
        service = make_scan_service(pool, cache, faces=faces)
        result = service.scan(Workspace.open(ws_root))
    cache.close()
    wall, cpu = time.perf_counter() - t0, _cpu_s() - cpu0

    n = len(result.assets)
    false_dups = false_copies = found_copies = unverified_dups = backdrop_dups = 0
    copies = [r for r, s in truth.items() if s.kind == "copy"]
    by_rel = {a.asset.rel: a for a in result.assets}
    for a in result.assets:
        spec = truth.get(a.asset.rel)
        for f in a.findings:
            ev = f.evidence or {}
            if f.kind == DUPLICATE_IN_BATCH:
                other = truth.get(str(ev.get("asset", "")))
                if spec is not None and other is not None and shared_backdrop(spec, other):
                    backdrop_dups += 1  # share most of their pixels: counted apart
                elif spec is None or other is None or not wsgen.true_duplicate(spec, other):
                    false_dups += 1
                if "could not" in f.message:
                    unverified_dups += 1
            elif f.kind in (NEAR_COPY_OF_REFERENCE, MATCHES_OTHER_MODEL) and (
                spec is None or not wsgen.true_copy(spec, str(ev.get("reference", "")))
            ):
                false_copies += 1
    # Batch duplicates that should be found: two copies of one reference, each with the other
    # in its view (a crop of one and a crop of another part may share nothing: an upper bound).
    found_pairs = {
        tuple(sorted((a.asset.rel, str((f.evidence or {}).get("asset", "")))))
        for a in result.assets
        for f in a.findings
        if f.kind == DUPLICATE_IN_BATCH
    }
    by_source: dict[str, list[str]] = {}
    for rel in copies:
        by_source.setdefault(str(truth[rel].source), []).append(rel)
    true_pairs = {
        tuple(sorted((x, y)))
        for rels in by_source.values()
        for i, x in enumerate(rels)
        for y in rels[i + 1 :]
    }
    for rel in copies:
        a = by_rel.get(rel)
        if a and any(f.kind in (NEAR_COPY_OF_REFERENCE, MATCHES_OTHER_MODEL) for f in a.findings):
            found_copies += 1
    return {
        "assets": n,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_per_asset_ms": round(cpu / max(n, 1) * 1000, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "verified_pairs": verified["pairs"],
        "verified_per_asset": round(verified["pairs"] / max(n, 1), 3),
        "false_duplicates": false_dups,
        "backdrop_duplicates": backdrop_dups,
        "unverified_duplicate_findings": unverified_dups,
        "false_copies": false_copies,
        "copy_recall": round(found_copies / len(copies), 3) if copies else None,
        "copies": len(copies),
        "cache_mb": round(cache_path.stat().st_size / 1e6, 1) if cache_path.exists() else 0.0,
        "true_duplicate_pairs": len(true_pairs),
        "true_duplicate_pairs_found": len(true_pairs & found_pairs),
        "decoded": result.stats.get("decoded", 0),
        "batch_candidates": result.stats.get("batch_candidates", 0),
        "batch_candidates_cut": result.stats.get("batch_candidates_cut", 0),
        "batch_assets_bounded": result.stats.get("batch_assets_bounded", 0),
        "batch_pairs_unchecked": result.stats.get("batch_pairs_unchecked", 0),
        "crop_candidates": result.stats.get("crop_candidates", 0),
    }


def child_status(ws_root: Path, cache_path: Path) -> dict[str, Any]:
    from twinreview.core.workspace import Workspace
    from twinreview.services.scan.cache import ResultCache
    from twinreview.services.status import cached_sha256, compute_status
    from twinreview.services.trust import Verifier

    cache = ResultCache(cache_path)
    t0 = time.perf_counter()
    ws = Workspace.open(ws_root)
    report = compute_status(
        ws,
        report=Verifier.default().verify(ws.root),
        sha256_of=lambda a: cached_sha256(cache, a),
    )
    wall = time.perf_counter() - t0
    cache.close()
    return {"status_s": round(wall, 3), "assets": len(report.assets)}


def child_app(ws_root: Path, extra: list[Path]) -> dict[str, Any]:
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QSettings, QTimer

    from twinreview.ui.app import _qapp, build_app

    def wait(predicate: Any, timeout: float = 600.0) -> float:
        """Run the app's own event loop until ``predicate()`` holds.

        The loop sleeps between events; the predicate is looked at every :data:`POLL_MS`, which
        is all the measurement costs (a busy loop of ``processEvents`` would burn the CPU it
        measures and delay the app's timers). Figures are late by at most that much.
        """
        t0 = time.perf_counter()
        if predicate():
            return 0.0
        loop = QEventLoop()
        timed_out = False

        def check() -> None:
            nonlocal timed_out
            if predicate():
                loop.quit()
            elif time.perf_counter() - t0 > timeout:
                timed_out = True
                loop.quit()

        poll = QTimer()
        poll.setInterval(POLL_MS)
        poll.timeout.connect(check)
        poll.start()
        loop.exec()
        poll.stop()
        if timed_out:
            raise TimeoutError("benchmark step timed out")
        return time.perf_counter() - t0

    app = _qapp()
    settings = QSettings(str(Path(os.environ["TWINREVIEW_CONFIG_DIR"]) / "ui.ini"),
                         QSettings.Format.IniFormat)  # fmt: skip
    parts = build_app(settings)
    window, session = parts.window, parts.session
    window.resize(1600, 1000)
    window.show()
    n_expected = sum(1 for _ in (ws_root / "assets").rglob("*.jpg"))

    def settled() -> bool:
        return (
            session.workspace is not None
            and not session.scan.running
            and not session.busy
            and parts.bridge.pending() == 0
        )

    t0, app_cpu0 = time.perf_counter(), _cpu_s()
    window.open_workspace(ws_root)
    wait(lambda: session.workspace is not None and session.scan_result is not None)
    wait(settled)
    load_s, load_cpu = time.perf_counter() - t0, _cpu_s() - app_cpu0
    shown = len(session.scan_result.assets) if session.scan_result else 0
    time.sleep(2.0)  # let the scan process go idle
    app_rss = _rss_mb(os.getpid())
    scan_rss = sum(_rss_mb(pid) for pid in _children(os.getpid()))

    def count() -> int:
        return len(session.scan_result.assets) if session.scan_result else 0

    def scan_cpu() -> float:
        return sum(_cpu_of(pid) for pid in _children(os.getpid()))

    def result_sha(rel: str) -> str | None:
        item = session.item(rel)
        return item.result.sha256 if item is not None and item.result is not None else None

    dest = ws_root / "assets" / "m00" / "added"
    dest.mkdir(parents=True, exist_ok=True)
    rels = [f"assets/m00/added/{p.name}" for p in extra]
    cpu0, t0, app_cpu0 = scan_cpu(), time.perf_counter(), _cpu_s()
    for p in extra:
        shutil.copy(p, dest / p.name)
    wait(lambda: count() >= shown + len(extra) and settled(), 900)
    added_s, added_cpu = time.perf_counter() - t0, scan_cpu() - cpu0
    added_app_cpu = _cpu_s() - app_cpu0
    # Changed in place (the same files rewritten with other pictures: no file appears or goes;
    # the OS reports the writes, or else the watcher's backstop sweep finds them).
    import hashlib

    later = sorted(extra[0].parent.glob("changed*.jpg"))[: len(extra)]
    new_sha = {
        rel: hashlib.sha256(q.read_bytes()).hexdigest() for rel, q in zip(rels, later, strict=True)
    }
    time.sleep(1.1)  # a coarse file system clock must see a new modification time
    cpu0, t0, app_cpu0 = scan_cpu(), time.perf_counter(), _cpu_s()
    for p, q in zip(extra, later, strict=True):
        with (dest / p.name).open("r+b") as fh:
            fh.write(q.read_bytes())
            fh.truncate()
    wait(lambda: all(result_sha(r) == new_sha[r] for r in rels) and settled(), 900)
    changed_s, changed_cpu = time.perf_counter() - t0, scan_cpu() - cpu0
    changed_app_cpu = _cpu_s() - app_cpu0
    cpu0, t0, app_cpu0 = scan_cpu(), time.perf_counter(), _cpu_s()
    for p in extra:
        (dest / p.name).unlink()
    wait(lambda: count() <= shown and settled(), 900)
    deleted_s, deleted_cpu = time.perf_counter() - t0, scan_cpu() - cpu0
    deleted_app_cpu = _cpu_s() - app_cpu0
    dest.rmdir()
    # One reference photo replaced by another picture (written beside it and renamed over it,
    # as an editor saves): the new photo must show among the results' references.
    ref = ws_root / "models" / "m03" / "references" / "ref2.jpg"
    ref_rel = "models/m03/references/ref2.jpg"
    original = ref.read_bytes()

    def ref_sha() -> str | None:
        res = session.scan_result
        found = [r.sha256 for r in res.references if r.rel == ref_rel] if res else []
        return found[0] if found else None

    def replace_ref(data: bytes) -> None:
        part = ref.with_name("ref2.part")
        part.write_bytes(data)
        os.replace(part, ref)

    replacement = later[0].read_bytes()
    wanted = hashlib.sha256(replacement).hexdigest()
    time.sleep(1.1)
    cpu0, t0, app_cpu0 = scan_cpu(), time.perf_counter(), _cpu_s()
    replace_ref(replacement)
    wait(lambda: ref_sha() == wanted and settled(), 900)
    ref_s, ref_cpu = time.perf_counter() - t0, scan_cpu() - cpu0
    ref_app_cpu = _cpu_s() - app_cpu0
    replace_ref(original)
    wait(lambda: ref_sha() == hashlib.sha256(original).hexdigest() and settled(), 900)
    watcher = parts.session.watcher
    watched = watcher.watched() if watcher is not None else {}
    watch_live = watcher.live if watcher is not None else False

    # GUI-thread time of a search that hides almost every row, and of clearing it again.
    timer = QElapsedTimer()
    timer.start()
    window.review.search.setText("img0001")
    QCoreApplication.processEvents()
    search_ms = timer.nsecsElapsed() / 1e6
    timer.start()
    window.review.search.setText("")
    QCoreApplication.processEvents()
    clear_ms = timer.nsecsElapsed() / 1e6
    window.close()
    parts.shutdown()
    del app
    return {
        "expected_rows": n_expected,
        "app_warm_load_s": round(load_s, 2),
        # The app's own CPU (all its threads, not the scan process): unlike the wall times,
        # hardly moved by other work on the machine.
        "app_warm_load_cpu_s": round(load_cpu, 2),
        "app_rss_mb": round(app_rss, 1),
        "scan_process_rss_mb": round(scan_rss, 1),
        "added_50_shown_s": round(added_s, 2),
        "added_50_scan_cpu_s": round(added_cpu, 2),
        "added_50_app_cpu_s": round(added_app_cpu, 2),
        "changed_50_shown_s": round(changed_s, 2),
        "changed_50_scan_cpu_s": round(changed_cpu, 2),
        "changed_50_app_cpu_s": round(changed_app_cpu, 2),
        "deleted_50_shown_s": round(deleted_s, 2),
        "deleted_50_scan_cpu_s": round(deleted_cpu, 2),
        "deleted_50_app_cpu_s": round(deleted_app_cpu, 2),
        "reference_replaced_shown_s": round(ref_s, 2),
        "reference_replaced_scan_cpu_s": round(ref_cpu, 2),
        "reference_replaced_app_cpu_s": round(ref_app_cpu, 2),
        "watched_directories": watched.get("directories", -1),
        "watched_files": watched.get("files", -1),
        "watch_live": watch_live,
        "search_ms": round(search_ms, 1),
        "clear_search_ms": round(clear_ms, 1),
    }


def run_child(
    kind: str, ws: Path, cache: Path, env: dict[str, str], extra: str = "", *, faces: bool = False
) -> Any:
    cmd = [sys.executable, __file__, "--child", kind, "--ws", str(ws), "--cache", str(cache)]
    if faces:
        cmd.append("--faces")
    if extra:
        cmd += ["--extra", extra]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        return {"error": f"{kind} child exited {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    ap.add_argument("--quick", action="store_true", help=f"one small size {QUICK_SIZES}")
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "twinreview-scale")
    ap.add_argument("--no-app", action="store_true", help="skip the app measurements")
    ap.add_argument("--faces", action="store_true", help="with the likeness check (face pass)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--ws", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--extra", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        if args.child == "scan":
            res = child_scan(args.ws, args.cache, args.faces)
        elif args.child == "status":
            res = child_status(args.ws, args.cache)
        else:
            res = child_app(args.ws, [Path(p) for p in args.extra.split(os.pathsep)])
        print(json.dumps(res))
        return 0

    sizes = list(QUICK_SIZES) if args.quick else [int(s) for s in args.sizes.split(",")]
    base = args.dir
    base.mkdir(parents=True, exist_ok=True)
    workspaces = prepare(base, sizes, args.faces)
    extra = _extra_assets(base, CHANGED)
    _extra_assets(base, CHANGED, "changed", 901)  # the same files rewritten with these
    results: dict[str, Any] = {}
    for n, ws in workspaces.items():
        run_dir = Path(tempfile.mkdtemp(prefix=f"twinreview-scale-{n}-"))
        env = dict(os.environ)
        env.update(
            TWINREVIEW_CACHE_DIR=str(run_dir / "cache"),
            TWINREVIEW_CONFIG_DIR=str(run_dir / "config"),
            TWINREVIEW_DATA_DIR=str(run_dir / "data"),
            QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
        )
        (run_dir / "cache").mkdir()
        (run_dir / "config").mkdir()
        cache = run_dir / "cache" / "scan-cache.sqlite3"
        print(f"N={n}: cold scan ...", file=sys.stderr)
        cold = run_child("scan", ws, cache, env, faces=args.faces)
        print(f"N={n}: {cold}", file=sys.stderr)
        print(f"N={n}: warm scan ...", file=sys.stderr)
        warm = run_child("scan", ws, cache, env, faces=args.faces)
        status = run_child("status", ws, cache, env)
        row: dict[str, Any] = {"cold": cold, "warm": warm, "status": status}
        if not args.no_app:
            print(f"N={n}: app ...", file=sys.stderr)
            row["app"] = run_child("app", ws, cache, env, os.pathsep.join(map(str, extra)))
        results[str(n)] = row
        print(f"N={n}: {json.dumps(row)}", file=sys.stderr)
        shutil.rmtree(run_dir, ignore_errors=True)

    print(f"{'N':>6} {'cold ms/asset':>14} {'peak MB':>8} {'pairs/asset':>12} "
          f"{'false dups':>10} {'recall':>7} {'warm s':>7} {'status s':>9}")  # fmt: skip
    for n, row in results.items():
        c, w, s = row["cold"], row["warm"], row["status"]
        print(
            f"{n:>6} {c.get('cpu_per_asset_ms', float('nan')):>14} "
            f"{c.get('peak_rss_mb', float('nan')):>8} {c.get('verified_per_asset', '-'):>12} "
            f"{c.get('false_duplicates', '-'):>10} {c.get('copy_recall', '-')!s:>7} "
            f"{w.get('wall_s', float('nan')):>7} {s.get('status_s', float('nan')):>9}"
        )
    print(json.dumps({"sizes": results, "cpus": os.cpu_count()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
