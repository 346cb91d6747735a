"""Decision-log speed: append latency (with fsync) and verification of a 100k-entry log.

Run with ``uv run python tests/benchmarks/bench_log.py [--entries N] [--appends N] [--dir D]``.
Not collected by pytest. It builds a workspace in a temporary folder (or ``--dir``, to measure a
particular disk), then measures, on one core:

- append: ``LogWriter.append`` of a decision-sized entry (lock, tail re-read, sign, write, fsync),
  median and 95th percentile over ``--appends`` appends;
- build: signing ``--entries`` entries in memory (``build_entry``), for scale;
- verify: ``verify_workspace`` over the ``--entries``-entry log (read, decode, SSHSIG Ed25519
  verify, roster and chain checks), total and per entry;
- floor: bare ``cryptography`` Ed25519 verification of the same number of signatures, the least
  any verifier can do.

Wall and CPU (process) time are both printed: on a shared machine CPU time is the steadier figure,
and the verify/floor CPU ratio is the one to compare across machines.

The goal (issue 4) is at most 15 s for 100k entries. The last line is JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from twinreview.core.declog import LogWriter, build_entry, log_filename
from twinreview.core.roster import Person, add_to_roster
from twinreview.core.sshsig import SigningKey
from twinreview.core.verify import verify_workspace

PRINCIPAL = "ana@example.com"


def _fields(i: int) -> dict[str, object]:
    # Roughly what a decision carries: path, hashes, reasons, a note and two findings shown.
    return {
        "asset": f"assets/ana/campaign-2025/look-{i:06d}.jpg",
        "sha256": hashlib.sha256(str(i).encode()).hexdigest(),
        "phash": f"{i * 2654435761 % 2**64:016x}",
        "model": "ana",
        "decision": "approve" if i % 5 else "reject",
        "reasons": [] if i % 5 else ["likeness", "styling"],
        "note": "Looks like me; fine for the spring lookbook.",
        "findings": [
            {"kind": "duplicate_in_batch", "severity": "info", "distance": 3},
            {"kind": "disclosure_missing", "severity": "warn", "field": "XMP:DigitalSourceType"},
        ],
    }


def bench_append(root: Path, key: SigningKey, count: int) -> list[float]:
    """Seconds per append over ``count`` appends to a fresh log."""
    writer = LogWriter.for_workspace(root, key, PRINCIPAL, "model")
    writer.prepare()
    times: list[float] = []
    for i in range(count):
        start = time.perf_counter()
        writer.append("decision", _fields(i))
        times.append(time.perf_counter() - start)
    writer.path.unlink()
    return times


def build_log(path: Path, key: SigningKey, entries: int) -> float:
    """Write an ``entries``-line log (genesis + decisions) in one go; return build seconds."""
    start = time.perf_counter()
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    lines: list[bytes] = []
    prev: str | None = None
    for seq in range(entries):
        kind = "genesis" if seq == 0 else "decision"
        fields = {"key": key.public.openssh(), "name": "Ana"} if seq == 0 else _fields(seq)
        entry = build_entry(
            key,
            PRINCIPAL,
            "model",
            seq=seq,
            prev=prev,
            ts=t0 + timedelta(seconds=seq),
            kind=kind,
            fields=fields,
        )
        lines.append(entry.line)
        prev = entry.line_hash
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return time.perf_counter() - start


def bench_floor(n: int) -> float:
    """Seconds for ``n`` bare Ed25519 verifications of a 64-byte-ish message."""
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    message = b"x" * 600
    sig = private.sign(message)
    start = time.perf_counter()
    for _ in range(n):
        public.verify(sig, message)
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary folder)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp) / "ws"
        key = SigningKey.from_seed(hashlib.sha256(b"bench").digest())
        add_to_roster(root / "roster", Person(PRINCIPAL, "Ana", "model", ("ana",)), key.public)

        appends = bench_append(root, key, args.appends)
        append_med = statistics.median(appends)
        append_p95 = statistics.quantiles(appends, n=20)[-1]
        print(
            f"append ({args.appends}x, fsync each): median {append_med * 1000:.2f} ms, "
            f"p95 {append_p95 * 1000:.2f} ms"
        )

        log = root / "logs" / log_filename(PRINCIPAL, key.public)
        build_s = build_log(log, key, args.entries)
        size_mb = log.stat().st_size / 1e6
        print(f"build: {args.entries} signed entries in {build_s:.2f} s ({size_mb:.1f} MB)")

        start, cpu_start = time.perf_counter(), time.process_time()
        report = verify_workspace(root)
        verify_s = time.perf_counter() - start
        verify_cpu_s = time.process_time() - cpu_start
        assert report.ok and len(report.entries) == args.entries, report.counts()
        per_entry_us = verify_s / args.entries * 1e6
        print(
            f"verify: {args.entries} entries in {verify_s:.2f} s, {verify_cpu_s:.2f} s CPU "
            f"({per_entry_us:.1f} us per entry; goal <= 15 s per 100k)"
        )
        cpu_start = time.process_time()
        floor_s = bench_floor(args.entries)
        floor_cpu_s = time.process_time() - cpu_start
        print(
            f"floor: bare Ed25519 verify {floor_s:.2f} s, {floor_cpu_s:.2f} s CPU "
            f"({floor_s / args.entries * 1e6:.1f} us each); verify/floor CPU ratio "
            f"{verify_cpu_s / floor_cpu_s:.2f}"
        )
    print(
        json.dumps(
            {
                "entries": args.entries,
                "append_median_ms": round(append_med * 1000, 3),
                "append_p95_ms": round(append_p95 * 1000, 3),
                "build_s": round(build_s, 3),
                "verify_s": round(verify_s, 3),
                "verify_cpu_s": round(verify_cpu_s, 3),
                "verify_us_per_entry": round(per_entry_us, 2),
                "ed25519_floor_s": round(floor_s, 3),
                "ed25519_floor_cpu_s": round(floor_cpu_s, 3),
                "log_mb": round(size_mb, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
