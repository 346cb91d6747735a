"""This device's copy of what it signed: the check before an append, and putting lines back."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from twinreview.core.logs.log import LogError, LogWriter, build_entry
from twinreview.core.logs.signedcopy import CopyError, SignedCopies
from twinreview.core.logs.sshsig import SigningKey

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"signedcopy").digest())


def _writer(root: Path, copies: SignedCopies, key: SigningKey) -> LogWriter:
    writer = LogWriter.for_workspace(root, key, "ana@example.com", "model")
    writer.copy = copies.for_file(writer.path)
    return writer


def _three(tmp_path: Path, key: SigningKey) -> tuple[LogWriter, SignedCopies, bytes]:
    root = tmp_path / "ws"
    copies = SignedCopies(tmp_path / "copies", root)
    writer = _writer(root, copies, key)
    for i in range(2):
        writer.append("decision", {"n": i})
    return writer, copies, writer.path.read_bytes()


def test_the_copy_is_the_log_as_signed(tmp_path: Path, key: SigningKey) -> None:
    writer, copies, whole = _three(tmp_path, key)
    copy = copies.for_file(writer.path)
    assert copy.path.read_bytes() == whole
    assert copies.heads() == {
        key.public.fingerprint: (2, hashlib.sha256(whole.splitlines(keepends=True)[-1]).hexdigest())
    }
    assert copy.rel == f"logs/{writer.path.name}"


def test_nothing_is_signed_on_top_of_a_shortened_log(tmp_path: Path, key: SigningKey) -> None:
    writer, _, whole = _three(tmp_path, key)
    writer.path.write_bytes(b"".join(whole.splitlines(keepends=True)[:-1]))
    with pytest.raises(LogError, match="verify --restore"):
        writer.append("decision", {"n": 9})
    writer.path.unlink()
    with pytest.raises(LogError, match="gone from the workspace"):
        writer.append("decision", {"n": 9})  # not a new genesis either


def test_only_the_final_newline_missing_is_finished_not_refused(
    tmp_path: Path, key: SigningKey
) -> None:
    writer, copies, whole = _three(tmp_path, key)
    writer.path.write_bytes(whole[:-1])
    writer.append("decision", {"n": 3})
    assert writer.path.read_bytes().startswith(whole)
    assert copies.for_file(writer.path).path.read_bytes() == writer.path.read_bytes()


def test_restore_puts_back_the_very_bytes_and_sets_a_damaged_end_aside(
    tmp_path: Path, key: SigningKey
) -> None:
    writer, copies, whole = _three(tmp_path, key)
    lines = whole.splitlines(keepends=True)
    writer.path.write_bytes(b"".join(lines[:1]) + b'{"payload": "garbage')
    (done,) = copies.restore()
    assert done.lines == 2 and done.moved_aside is not None
    assert writer.path.read_bytes() == whole
    assert (writer.path.parent / done.moved_aside).read_bytes() == b'{"payload": "garbage'
    # A torn end that is the start of the missing line is simply finished.
    writer.path.write_bytes(whole[:-10])
    (done,) = copies.restore()
    assert done.lines == 1 and done.moved_aside is None
    assert writer.path.read_bytes() == whole
    # Gone altogether: written anew.
    writer.path.unlink()
    (done,) = copies.restore()
    assert done.created and writer.path.read_bytes() == whole
    assert copies.restore()[0].lines == 0  # nothing missing now


def test_a_log_that_holds_other_entries_is_left_alone(tmp_path: Path, key: SigningKey) -> None:
    writer, copies, whole = _three(tmp_path, key)
    lines = whole.splitlines(keepends=True)
    # The same key signed another entry at seq 2 somewhere else: a fork, not a gap.
    other = build_entry(
        key,
        "ana@example.com",
        "model",
        seq=2,
        prev=hashlib.sha256(lines[1]).hexdigest(),
        ts=T0,
        kind="decision",
        fields={"n": "other"},
    )
    forked = b"".join(lines[:2]) + other.line
    writer.path.write_bytes(forked)
    with pytest.raises(CopyError, match="a fork"):
        copies.restore()
    assert writer.path.read_bytes() == forked
