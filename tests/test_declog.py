"""The decision log: format, chaining, durability, torn tails, locking, SIGKILL safety."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from twinreview.core.errors import file_stamp
from twinreview.core.logs.log import (
    LogError,
    LogLockedError,
    LogWriter,
    build_entry,
    format_ts,
    line_hash,
    log_filename,
    read_log,
)
from twinreview.core.logs.sshsig import NS_ENTRY, SigningKey, verify
from twinreview.core.logs.verify import verify_workspace
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.people import Person
from twinreview.core.roster.views import write_views
from twinreview.core.roster.write import RosterWriter

PRINCIPAL = "ana@example.com"


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"ana").digest())


@pytest.fixture
def ws(tmp_path: Path, key: SigningKey) -> Path:
    # A signed roster whose owner is Ana herself (verification needs a signed roster now).
    root = tmp_path / "ws"
    roster = RosterWriter(root / "roster", key, PRINCIPAL).genesis(
        "test", Person(PRINCIPAL, "Ana", "model", ("ana",))
    )
    write_views(root / "roster", roster)
    return root


def _context(ws: Path) -> dict[str, Any]:
    """The fields the decision service adds to every entry: workspace id and roster head."""
    roster = SignedRoster.load(ws / "roster")
    assert roster.head is not None
    seq, head = roster.head
    return {"ws": roster.workspace_id, "roster": {"seq": seq, "hash": head}, "heads": []}


def _writer(ws: Path, key: SigningKey, **kwargs: Any) -> LogWriter:
    fields = _context(ws)
    return LogWriter.for_workspace(
        ws, key, PRINCIPAL, "model", display_name="Ana", context=lambda: fields, **kwargs
    )


def test_first_append_writes_genesis_and_chains(ws: Path, key: SigningKey) -> None:
    fixed = datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    writer = _writer(ws, key, clock=lambda: fixed)
    entry = writer.append("decision", {"asset": "assets/ana/a.png", "decision": "approve"})
    assert writer.path == ws / "logs" / log_filename(PRINCIPAL, key.public)
    assert writer.path.name == f"ana@example.com--{key.public.fp16}.dlog"
    content = read_log(writer.path)
    assert content.torn_tail == b""
    assert len(content.lines) == 2
    genesis, decision = content.lines
    assert genesis.payload is not None and decision.payload is not None
    assert genesis.payload["kind"] == "genesis"
    assert genesis.payload["seq"] == 0 and genesis.payload["prev"] is None
    assert genesis.payload["key"] == key.public.openssh()
    assert decision.payload["seq"] == 1
    assert decision.payload["prev"] == hashlib.sha256(genesis.data).hexdigest()
    assert decision.payload["log"] == key.public.fingerprint
    assert decision.payload["ts"] == "2025-03-01T10:00:00.123Z"
    assert decision.payload["asset"] == "assets/ana/a.png"
    # The context fields are in every entry, the genesis included.
    assert genesis.payload["ws"] == decision.payload["ws"] == _context(ws)["ws"]
    assert decision.payload["roster"] == _context(ws)["roster"]
    assert entry.seq == 1 and entry.line == decision.data
    # Each line is exactly {"payload", "sig"}; the payload bytes are what was signed.
    outer = json.loads(decision.data)
    assert list(outer) == ["payload", "sig"]
    assert base64.b64decode(outer["payload"]) == entry.payload_bytes
    assert verify(outer["sig"], entry.payload_bytes, NS_ENTRY) == key.public
    assert verify_workspace(ws).ok


def test_appends_continue_across_writers(ws: Path, key: SigningKey) -> None:
    for i in range(3):
        _writer(ws, key).append("decision", {"n": i})
    lines = read_log(_writer(ws, key).path).lines
    assert [ln.payload["seq"] for ln in lines if ln.payload] == [0, 1, 2, 3]
    for a, b in itertools.pairwise(lines):
        assert b.payload is not None and b.payload["prev"] == line_hash(a.data)
    assert verify_workspace(ws).ok


def test_unicode_fields_are_kept_exactly(ws: Path, key: SigningKey) -> None:
    note = "Zoë: «ok» \u2014 🙂\nsecond line"
    entry = _writer(ws, key).append("decision", {"note": note})
    assert entry.payload["note"] == note
    line = read_log(_writer(ws, key).path).lines[-1]
    assert line.payload is not None and line.payload["note"] == note
    assert b"\n" not in line.data[:-1]


def test_bad_appends_are_refused(ws: Path, key: SigningKey) -> None:
    writer = _writer(ws, key)
    with pytest.raises(LogError, match="header"):
        writer.append("decision", {"seq": 99})
    with pytest.raises(LogError, match="kind"):
        writer.append("genesis", {})
    with pytest.raises(LogError, match="kind"):
        writer.append("vote", {})
    with pytest.raises(LogError, match="JSON"):
        writer.append("decision", {"x": object()})
    with pytest.raises(LogError, match="JSON"):
        writer.append("decision", {"x": float("nan")})
    # Nothing half-written: the log holds only the genesis entry from the first attempt, or none.
    if writer.path.exists():
        assert len(read_log(writer.path).lines) <= 1
    writer.append("close", {})
    with pytest.raises(LogError, match="closed"):
        writer.append("decision", {})


def test_foreign_or_damaged_log_is_not_appended_to(ws: Path, key: SigningKey) -> None:
    writer = _writer(ws, key)
    writer.append("decision", {})
    other = SigningKey.generate()
    intruder = LogWriter(writer.path, other, PRINCIPAL, "model")
    with pytest.raises(LogError, match="another key"):
        intruder.append("decision", {})
    # A complete but garbled last line: refuse, never "fix".
    with writer.path.open("ab") as fh:
        fh.write(b"garbage\n")
    before = writer.path.read_bytes()
    with pytest.raises(LogError, match="damaged"):
        writer.append("decision", {})
    assert writer.path.read_bytes() == before


def test_torn_tail_is_moved_aside_and_recorded(ws: Path, key: SigningKey) -> None:
    writer = _writer(ws, key)
    writer.append("decision", {"n": 1})
    clean = writer.path.read_bytes()
    torn = b'{"payload": "eyJ2IjoxLCJsb2ciOi'
    with writer.path.open("ab") as fh:
        fh.write(torn)
    report = verify_workspace(ws)
    assert not report.ok
    assert [p.kind for p in report.problems] == ["torn_tail"]
    assert writer.path.read_bytes() == clean + torn  # verify never repairs

    entry = writer.append("decision", {"n": 2})
    asides = list(writer.path.parent.glob(writer.path.name + ".torn-*"))
    assert len(asides) == 1
    assert asides[0].read_bytes() == torn
    lines = read_log(writer.path).lines
    assert writer.path.read_bytes().startswith(clean)
    recovery = lines[2].payload
    assert recovery is not None
    assert recovery["kind"] == "recovery"
    assert recovery["torn_file"] == asides[0].name
    assert recovery["torn_bytes"] == len(torn)
    assert recovery["torn_sha256"] == hashlib.sha256(torn).hexdigest()
    assert entry.seq == 3
    assert verify_workspace(ws).ok


def _next_entry(ws: Path, writer: LogWriter, signer: SigningKey, **changes: Any) -> bytes:
    """The full line of the entry that would come next in ``writer``'s log, signed by ``signer``."""
    last = read_log(writer.path).lines[-1]
    assert last.payload is not None
    args: dict[str, Any] = {"seq": last.payload["seq"] + 1, "prev": line_hash(last.data)}
    args.update(changes)
    entry = build_entry(
        signer,
        PRINCIPAL,
        "model",
        ts=datetime.now(UTC),
        kind="decision",
        fields={**_context(ws), "decision": "reject"},
        **args,
    )
    return entry.line


def test_whole_signed_entry_missing_only_its_newline_is_kept(ws: Path, key: SigningKey) -> None:
    # Issue 9: the recovery used to move a complete, validly signed last entry aside (and sign
    # a recovery entry over it), which erased a decision. Now the line is finished instead.
    writer = _writer(ws, key)
    writer.append("decision", {"n": 1})
    line = _next_entry(ws, writer, key)
    with writer.path.open("ab") as fh:
        fh.write(line[:-1])
    report = verify_workspace(ws)
    assert [p.kind for p in report.problems] == ["torn_tail"]  # until the next append
    entry = writer.append("decision", {"n": 2})
    assert list(writer.path.parent.glob("*.torn-*")) == []
    lines = read_log(writer.path).lines
    assert [ln.payload["kind"] for ln in lines if ln.payload] == [
        "genesis",
        "decision",
        "decision",
        "decision",
    ]
    assert lines[2].data == line  # kept byte for byte, newline appended
    assert entry.seq == 3 and entry.payload["prev"] == line_hash(line)
    report = verify_workspace(ws)
    assert report.ok, report.problems
    assert [e.payload.get("decision") for e in report.merged()][2] == "reject"


def _kinds(path: Path) -> list[str]:
    return [str(line.payload["kind"]) for line in read_log(path).lines if line.payload]


def test_stripped_final_newline_is_put_back_before_the_next_entry(
    ws: Path, key: SigningKey
) -> None:
    # A sync tool that strips the final newline: the next append finishes the line and adds
    # nothing but its own entry.
    writer = _writer(ws, key)
    writer.append("decision", {"n": 1})
    clean = writer.path.read_bytes()
    writer.path.write_bytes(clean[:-1])
    writer.append("decision", {"n": 2})
    assert writer.path.read_bytes().startswith(clean)
    assert _kinds(writer.path) == ["genesis", "decision", "decision"]
    # The same for a log that holds only its genesis entry.
    other = SigningKey.from_seed(hashlib.sha256(b"ana-laptop2").digest())
    second = LogWriter(ws / "logs" / "second.dlog", other, PRINCIPAL, "model")
    genesis = build_entry(
        other,
        PRINCIPAL,
        "model",
        seq=0,
        prev=None,
        ts=datetime.now(UTC),
        kind="genesis",
        fields={"key": other.public.openssh(), "name": ""},
    )
    second.path.write_bytes(genesis.line[:-1])
    second.append("decision", {"n": 1})
    assert second.path.read_bytes().startswith(genesis.line)
    assert _kinds(second.path) == ["genesis", "decision"]


@pytest.mark.parametrize("why", ["another_key", "skips_a_seq", "wrong_prev"])
def test_whole_line_that_is_not_the_next_entry_is_moved_aside(
    ws: Path, key: SigningKey, why: str
) -> None:
    # Complete and signed, but not this log's next entry: that is no entry of this log, so the
    # old rule stands (moved aside, a recovery entry records it).
    writer = _writer(ws, key)
    writer.append("decision", {"n": 1})
    clean = writer.path.read_bytes()
    if why == "another_key":
        line = _next_entry(ws, writer, SigningKey.generate())
    elif why == "skips_a_seq":
        line = _next_entry(ws, writer, key, seq=3)
    else:
        line = _next_entry(ws, writer, key, prev="0" * 64)
    with writer.path.open("ab") as fh:
        fh.write(line[:-1])
    writer.append("decision", {"n": 2})
    assert _kinds(writer.path) == ["genesis", "decision", "recovery", "decision"]
    (aside,) = writer.path.parent.glob(writer.path.name + ".torn-*")
    assert aside.read_bytes() == line[:-1]
    assert writer.path.read_bytes().startswith(clean)
    assert verify_workspace(ws).ok


def test_a_torn_line_is_recovered_before_the_next_entry(ws: Path, key: SigningKey) -> None:
    writer = _writer(ws, key)
    writer.append("decision", {"n": 1})
    with writer.path.open("ab") as fh:
        fh.write(b"{")
    writer.append("decision", {"n": 2})
    assert _kinds(writer.path) == ["genesis", "decision", "recovery", "decision"]
    assert verify_workspace(ws).ok


def test_lock_timeout_is_a_clear_error(ws: Path, key: SigningKey) -> None:
    import filelock

    writer = _writer(ws, key, lock_timeout=0.2)
    writer.append("decision", {"n": 0})
    holder = filelock.FileLock(str(writer.path.with_name(f".{writer.path.name}.lock")))
    # filelock is re-entrant per object and thread; a second process is the real contender.
    code = textwrap.dedent(
        f"""
        import filelock, sys, time
        with filelock.FileLock({str(holder.lock_file)!r}):
            print("held", flush=True)
            time.sleep(5)
        """
    )
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"held"
            with pytest.raises(LogLockedError, match="another twinreview process"):
                writer.append("decision", {})
        finally:
            proc.kill()


_APPENDER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from twinreview.core.logs.log import LogWriter
    from twinreview.core.logs.sshsig import SigningKey
    ws, seed, tag = Path(sys.argv[1]), bytes.fromhex(sys.argv[2]), sys.argv[3]
    count = int(sys.argv[4])
    fields = json.loads(sys.argv[5])
    key = SigningKey.from_seed(seed)
    writer = LogWriter.for_workspace(
        ws, key, "ana@example.com", "model", context=lambda: fields
    )
    i = 0
    while count < 0 or i < count:
        entry = writer.append("decision", {"tag": tag, "n": i, "pad": "x" * (i % 3000)})
        print(entry.seq, tag, i, flush=True)  # acknowledged: the entry is on disk
        i += 1
    """
)


def test_two_processes_append_without_interleaving(ws: Path, key: SigningKey) -> None:
    context = json.dumps(_context(ws))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, str(ws), key.seed.hex(), tag, "40", context],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for tag in ("a", "b")
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    lines = read_log(_writer(ws, key).path).lines
    assert len(lines) == 81
    payloads = [ln.payload for ln in lines]
    assert all(p is not None for p in payloads)
    assert [p["seq"] for p in payloads if p] == list(range(81))
    assert sorted((p["tag"], p["n"]) for p in payloads[1:] if p) == sorted(
        [("a", i) for i in range(40)] + [("b", i) for i in range(40)]
    )
    assert verify_workspace(ws).ok


@pytest.mark.skipif(os.name == "nt", reason="SIGKILL is POSIX")
def test_sigkill_loses_no_acknowledged_entry(ws: Path, key: SigningKey) -> None:
    acknowledged: dict[int, tuple[str, int]] = {}
    context = json.dumps(_context(ws))
    for round_no in range(8):
        argv = [sys.executable, "-c", _APPENDER, str(ws), key.seed.hex(), f"r{round_no}", "-1"]
        proc = subprocess.Popen(
            [*argv, context],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None
        # Let it write a varying number of entries, then kill it mid-flight.
        for _ in range(5 + round_no * 7):
            line = proc.stdout.readline().split()
            acknowledged[int(line[0])] = (line[1].decode(), int(line[2]))
        time.sleep(0.002 * round_no)
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate()
        # Lines printed before the kill are acknowledged too.
        for raw in rest.splitlines():
            parts = raw.split()
            if len(parts) == 3:
                acknowledged[int(parts[0])] = (parts[1].decode(), int(parts[2]))
        # The next append recovers whatever the kill left first, and the log verifies.
        _writer(ws, key).append("decision", {"tag": "next", "n": round_no})
        report = verify_workspace(ws)
        assert report.ok, [p.message for p in report.problems]
        lines = read_log(_writer(ws, key).path).lines
        payloads = {ln.payload["seq"]: ln.payload for ln in lines if ln.payload}
        for seq, (tag, n) in acknowledged.items():
            assert payloads[seq]["tag"] == tag and payloads[seq]["n"] == n


def test_format_ts_is_utc_millis() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, 678999, tzinfo=UTC)
    assert format_ts(when) == "2025-01-02T03:04:05.678Z"


def test_log_filename_sanitises_principal(key: SigningKey) -> None:
    assert log_filename("a b/c:d@x.org", key.public) == f"a_b_c_d@x.org--{key.public.fp16}.dlog"
    assert not log_filename("../../etc", key.public).startswith(".")
    assert "/" not in log_filename("../../etc", key.public)


def test_file_stamps_are_utc_and_safe_in_file_names() -> None:
    cet = datetime(2025, 3, 1, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert file_stamp(cet) == "20250301T100000123456Z"
    assert file_stamp(datetime(2025, 3, 1, 10, 0)) == "20250301T100000000000Z"  # naive is UTC
