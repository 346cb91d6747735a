"""The verified-prefix cache: only what was appended since the last verification is checked again,
and the cache can never turn a damaged log into a good one."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from decision_helpers import (
    T0,
    build_workspace,
    decider,
    enroll,
    owner_of,
    reviewer,
    roster_service,
)
from twinreview.core.logs import rules as verify_module
from twinreview.core.workspace import Workspace
from twinreview.services.keys import KeyService
from twinreview.services.trust import PrefixStore, Verifier

LOOK1 = "assets/ava/look1.jpg"
LOOK2 = "assets/ava/spring/look2.jpg"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, KeyService, KeyService]:
    root = build_workspace(tmp_path / "ws")
    ava = reviewer(tmp_path / "d", "ava@example.com", "model")
    kim = reviewer(tmp_path / "d", "kim@agency.example", "agent")
    enroll(root, ava, ("ava",))
    enroll(root, kim, ("ava",))
    for verdict in ("approve", "reject", "approve"):
        reasons = ["quality"] if verdict == "reject" else []
        decider(ava, T0).decide(Workspace.open(root), LOOK1, verdict, reasons=reasons)
    return root, ava, kim


class CountingVerify:
    """Counts SSHSIG checks of decision-log entries (the expensive part)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = verify_module.verify

        def counting(*args: object, **kw: object) -> object:
            self.calls += 1
            return real(*args, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(verify_module, "verify", counting)


def test_nothing_new_means_no_signature_checked_again(
    setup: tuple[Path, KeyService, KeyService], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, ava, _ = setup
    verifier = Verifier.default()
    first = verifier.verify(root)
    assert first.ok
    counter = CountingVerify(monkeypatch)
    second = verifier.verify(root)
    assert second.ok
    assert counter.calls == 0
    assert [(e.file, e.seq, e.kind) for e in second.entries] == [
        (e.file, e.seq, e.kind) for e in first.entries
    ]
    assert second.heads == first.heads
    # One more decision: exactly one more signature is checked.
    decider(ava, T0).decide(Workspace.open(root), LOOK2, "approve")
    third = verifier.verify(root)
    assert third.ok
    assert counter.calls == 1
    assert len(third.entries) == len(second.entries) + 1


def test_a_damaged_prefix_is_verified_in_full_and_caught(
    setup: tuple[Path, KeyService, KeyService],
) -> None:
    root, _, _ = setup
    verifier = Verifier.default()
    assert verifier.verify(root).ok
    (log,) = (root / "logs").glob("ava@example.com--*.dlog")
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"payload": "', b'"payload": "e', 1)  # garble one entry
    log.write_bytes(b"".join(lines))
    report = verifier.verify(root)
    assert not report.ok
    assert any(e.state == "malformed" for e in report.entries)


def test_a_roster_change_verifies_everything_again(
    setup: tuple[Path, KeyService, KeyService], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _, kim = setup
    verifier = Verifier.default()
    assert verifier.verify(root).ok
    ident = kim.current()
    assert ident is not None
    # A revocation can change the verdict of entries already verified: nothing is reused.
    roster_service(owner_of(root)).revoke_key(root, ident.principal, ident.public_key.fingerprint)
    counter = CountingVerify(monkeypatch)
    report = verifier.verify(root)
    assert report.ok
    assert counter.calls == len(report.entries)


def test_a_damaged_cache_file_is_ignored(setup: tuple[Path, KeyService, KeyService]) -> None:
    # The cache lives in the user's own cache folder (not in the shared workspace); damage there
    # (a crash, a full disk, an older version) must cost a full verification, never a wrong one.
    root, _, _ = setup
    verifier = Verifier.default()
    first = verifier.verify(root)
    ws_id = first.roster.workspace_id
    assert ws_id is not None
    path = PrefixStore.default().folder / f"{ws_id}.json"
    digest, _, body = path.read_bytes().partition(b"\n")
    assert hashlib.sha256(body).hexdigest().encode() == digest
    records = json.loads(body)
    for rec in records.values():
        rec["rows"][1] = ["not", "a", "row"]
    body = json.dumps(records).encode()
    path.write_bytes(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    assert verifier.verify(root).ok  # a damaged row: that file is verified in full
    path.write_bytes(digest + b"\n" + body[:-10])  # cut short on disk: dropped whole
    assert verifier.verify(root).ok
    path.write_text("{not json")
    again = verifier.verify(root)
    assert again.ok
    assert len(again.entries) == len(first.entries)


def test_a_log_rewritten_in_place_is_not_taken_from_the_cache(
    setup: tuple[Path, KeyService, KeyService],
) -> None:
    root, _, _ = setup
    verifier = Verifier.default()
    assert verifier.verify(root).ok
    (log,) = (root / "logs").glob("ava@example.com--*.dlog")
    st = log.stat()
    data = bytearray(log.read_bytes())
    data[200] ^= 1  # same size; the times put back: the change time still moves
    log.write_bytes(bytes(data))
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not verifier.verify(root).ok
