"""Publishing throughput: ``publish`` of N cleared 12 MP JPEGs against a plain copy of them.

Run with ``uv run python tests/benchmarks/bench_publish.py [--images N]`` (default 100). Not
collected by pytest. It builds a signed workspace in a temporary folder whose N assets are 12 MP
photo-like JPEGs (a few distinct photos, each file made distinct by a JPEG comment), has the model
and the agent approve every one, then measures, in one run:

- publish: ``services.publish.publisher.publish_workspace`` over all of them (verification of the
logs, the
  status with every file hashed, then per file: read, hash again, inspect its disclosure, add the
  XMP, sign with c2pa-python, read the signed copy back, write and fsync; then one signed
  ``published`` entry per file in the publisher's log), one thread, then on a
  thread pool of one worker per core (as the command and the app run it);
- copy floor: read each file and write it elsewhere with fsync (what any publisher must do);
- hash floor: sha256 of each file;
- re-encode: decoding and encoding one of the JPEGs (what publishing never does without
  ``--label``), on 5 of them.

Figures are seconds per image; the last line is JSON.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
_TMP = Path(tempfile.mkdtemp(prefix="twinreview-bench-publish-"))
for _name in ("CACHE", "DATA", "CONFIG", "LOG"):
    os.environ[f"TWINREVIEW_{_name}_DIR"] = str(_TMP / _name.lower())

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from bench_scan import SOURCES, _photo  # noqa: E402
from PIL import Image  # noqa: E402

from decision_helpers import decider, enroll, owner_of, reviewer  # noqa: E402
from tools.c2pa_pki import make_pki  # noqa: E402
from twinreview.core.workspace import Workspace  # noqa: E402
from twinreview.services.publish.publisher import PublishOptions, publish_workspace  # noqa: E402
from twinreview.services.publish.register import PublishRegister  # noqa: E402
from twinreview.services.publish.signer import SignerCredentials  # noqa: E402
from wsbuild import add_model, make_workspace, pattern  # noqa: E402

SIZE = (4000, 3000)


def build(root: Path, n: int) -> tuple[Path, SignerCredentials]:
    """The workspace with ``n`` cleared 12 MP JPEGs, and brand credentials it trusts."""
    pki = make_pki("Bench Brand", dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    make_workspace(root, toml='[disclosure]\ntrust_anchors = ["brand-ca.pem"]\n')
    (root / "brand-ca.pem").write_bytes(pki.ca_pem)
    add_model(root, "ava", {"ref.jpg": pattern(1)})
    bases = []
    for i, name in enumerate(SOURCES[:4]):
        buf = io.BytesIO()
        _photo(name, SIZE, i).save(buf, "JPEG", quality=90)
        bases.append(buf.getvalue())
    assets = root / "assets" / "ava"
    assets.mkdir(parents=True)
    for i in range(n):
        base = bases[i % len(bases)]
        comment = f"bench {i}".encode()
        com = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
        (assets / f"look-{i:03d}.jpg").write_bytes(base[:2] + com + base[2:])
    owner_of(root)
    model = reviewer(root.parent / "people", "ava@example.com", "model")
    agent = reviewer(root.parent / "people", "sam@example.com", "agent")
    enroll(root, model, ("ava",))
    enroll(root, agent, ("ava",))
    ws = Workspace.open(root)
    rels = [f"assets/ava/look-{i:03d}.jpg" for i in range(n)]
    for keys in (model, agent):
        d = decider(keys)
        for rel in rels:
            d.decide(ws, rel, "approve", phash="0" * 16)
    return root, SignerCredentials.load(pki.chain_pem, pki.key_pem)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures and a JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100)
    args = parser.parse_args(argv)
    root, credentials = build(_TMP / "ws", args.images)
    files = sorted((root / "assets" / "ava").glob("*.jpg"))
    total_mb = sum(p.stat().st_size for p in files) / 1e6

    register = PublishRegister(owner_of(root))  # the owner publishes and records each file
    started = time.perf_counter()
    result = publish_workspace(
        Workspace.open(root),
        _TMP / "published",
        credentials,
        register=register,
        options=PublishOptions(no_training=True),
    )
    publish_s = time.perf_counter() - started
    assert result.ok and len(result.published) == args.images, result.refused[:3]
    out_mb = sum(p.size for p in result.published) / 1e6
    workers = os.cpu_count() or 2
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        again = publish_workspace(
            Workspace.open(root),
            _TMP / "published-pool",
            credentials,
            register=register,
            options=PublishOptions(no_training=True),
            executor=pool,
        )
    pool_s = time.perf_counter() - started
    assert again.ok

    copy_dir = _TMP / "copy"
    copy_dir.mkdir()
    started = time.perf_counter()
    for p in files:
        data = p.read_bytes()
        with (copy_dir / p.name).open("xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    copy_s = time.perf_counter() - started

    started = time.perf_counter()
    for p in files:
        hashlib.sha256(p.read_bytes()).hexdigest()
    hash_s = time.perf_counter() - started

    # The cost publishing avoids by never re-encoding: decode and encode one 12 MP JPEG.
    sample = files[: min(5, len(files))]
    started = time.perf_counter()
    for p in sample:
        with Image.open(p) as img:
            img.load()
            img.save(io.BytesIO(), "JPEG", quality=90)
    reencode_s = (time.perf_counter() - started) / len(sample)

    n = args.images
    figures = {
        "reencode_s": reencode_s,
        "images": n,
        "megapixels": SIZE[0] * SIZE[1] / 1e6,
        "input_mb": round(total_mb, 1),
        "output_mb": round(out_mb, 1),
        "publish_s": publish_s / n,
        "publish_total_s": publish_s,
        "publish_pool_s": pool_s / n,
        "workers": workers,
        "copy_floor_s": copy_s / n,
        "hash_s": hash_s / n,
    }
    print(
        f"{n} x {figures['megapixels']:.0f} MP JPEG ({total_mb / n:.1f} MB each): publish "
        f"{publish_s / n * 1000:.1f} ms per image ({publish_s:.1f} s in all), on {workers} "
        f"threads {pool_s / n * 1000:.1f} ms; re-encode {reencode_s * 1000:.1f} ms; copy with "
        f"fsync {copy_s / n * 1000:.1f} ms; sha256 {hash_s / n * 1000:.1f} ms; output "
        f"{(out_mb - total_mb) / n * 1000:.1f} kB larger per image",
        file=sys.stderr,
    )
    print(json.dumps(figures))
    shutil.rmtree(_TMP, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
