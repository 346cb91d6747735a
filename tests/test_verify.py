"""Verification: every kind of tampering and fault is detected and named; nothing is repaired.

The workspace has a signed roster (roster/roster.dlog: an owner who added Ana and Bob) and every
entry names the roster head it was signed under, as the decision service writes them. The finer
rules of the signed roster (judging by the roster as it was, revocation points, rollbacks) are in
test_rosterlog.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from decision_helpers import blocking_problems
from twinreview.core.logs.log import LogWriter, read_log
from twinreview.core.logs.sshsig import SigningKey
from twinreview.core.logs.verify import VerifyReport, verify_workspace
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.people import Person
from twinreview.core.roster.views import write_views
from twinreview.core.roster.write import RosterWriter

ANA = "ana@example.com"
BOB = "bob@agency.example"
OWNER = "owner@brand.example"


def _key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(name.encode()).digest())


def _owner_of(ws: Path) -> RosterWriter:
    return RosterWriter(ws / "roster", _key("owner"), OWNER)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    owner = _owner_of(root)
    owner.genesis("test", Person(OWNER, "Owner", "brand", ()))
    for principal, name, role in ((ANA, "Ana", "model"), (BOB, "Bob", "agent")):
        roster = owner.append(
            "add_person",
            {
                "person": principal,
                "name": name,
                "role": role,
                "models": ["ana"],
                "keys": [_key(name.lower()).public.openssh()],
                "admin": False,
                "request": None,
            },
        )
    write_views(root / "roster", roster)
    return root


def _context(ws: Path) -> Callable[[], dict[str, Any]]:
    """What the decision service adds to each entry: workspace id and the roster head."""
    roster = SignedRoster.load(ws / "roster")
    assert roster.head is not None
    seq, head = roster.head
    fields: dict[str, Any] = {
        "ws": roster.workspace_id,
        "roster": {"seq": seq, "hash": head},
        "heads": [],
    }
    return lambda: fields


def _writer(ws: Path, path: Path | None, who: str, principal: str, role: str) -> LogWriter:
    if path is None:
        return LogWriter.for_workspace(ws, _key(who), principal, role, context=_context(ws))
    return LogWriter(path, _key(who), principal, role, context=_context(ws))


def _log(ws: Path, who: str = "ana", n: int = 4) -> Path:
    principal, role = (ANA, "model") if who == "ana" else (BOB, "agent")
    writer = _writer(ws, None, who, principal, role)
    for i in range(n):
        writer.append("decision", {"asset": f"assets/ana/{i}.png", "decision": "approve"})
    return writer.path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _states(report: VerifyReport, path: Path) -> list[str]:
    rel = path.relative_to(report.root).as_posix()
    return [e.state for e in report.entries if e.file == rel]


def _kinds(report: VerifyReport) -> set[str]:
    return {p.kind for p in report.problems}


def test_clean_logs_verify(ws: Path) -> None:
    a, b = _log(ws, "ana"), _log(ws, "bob", 2)
    report = verify_workspace(ws)
    assert report.ok, report.problems
    assert _states(report, a) == ["good"] * 5
    assert _states(report, b) == ["good"] * 3
    merged = report.merged()
    assert len(merged) == 8
    assert {e.principal for e in merged} == {ANA, BOB}
    entry = merged[-1]
    assert entry.payload["decision"] == "approve" and entry.file.startswith("logs/")


def test_edited_payload(ws: Path) -> None:
    path = _log(ws)
    lines = _lines(path)
    outer = json.loads(lines[2])
    payload = json.loads(base64.b64decode(outer["payload"]))
    payload["decision"] = "reject"
    outer["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    lines[2] = (json.dumps(outer) + "\n").encode()
    path.write_bytes(b"".join(lines))
    before = path.read_bytes()
    report = verify_workspace(ws)
    assert _states(report, path) == ["good", "good", "bad_signature", "broken_chain", "good"]
    assert {(p.seq, p.kind) for p in report.problems} == {(2, "bad_signature"), (3, "broken_chain")}
    assert path.read_bytes() == before


def test_edited_signature(ws: Path) -> None:
    path = _log(ws)
    lines = _lines(path)
    outer = json.loads(lines[1])
    other = json.loads(lines[3])
    outer["sig"] = other["sig"]  # a real signature, of another entry
    lines[1] = (json.dumps(outer) + "\n").encode()
    path.write_bytes(b"".join(lines))
    report = verify_workspace(ws)
    assert _states(report, path)[1] == "bad_signature"
    assert _states(report, path)[2] == "broken_chain"


def test_deleted_line(ws: Path) -> None:
    path = _log(ws)
    lines = _lines(path)
    del lines[2]
    path.write_bytes(b"".join(lines))
    report = verify_workspace(ws)
    assert _states(report, path) == ["good", "good", "broken_chain", "good"]
    (problem,) = report.problems
    assert (problem.kind, problem.seq, problem.line) == ("broken_chain", 3, 3)


def test_deleted_genesis(ws: Path) -> None:
    path = _log(ws)
    path.write_bytes(b"".join(_lines(path)[1:]))
    report = verify_workspace(ws)
    assert _states(report, path)[0] == "broken_chain"


def test_reordered_lines(ws: Path) -> None:
    path = _log(ws)
    lines = _lines(path)
    lines[2], lines[3] = lines[3], lines[2]
    path.write_bytes(b"".join(lines))
    report = verify_workspace(ws)
    assert _states(report, path) == ["good", "good", "broken_chain", "broken_chain", "broken_chain"]


def test_line_replayed_from_another_log(ws: Path) -> None:
    ana, bob = _log(ws, "ana"), _log(ws, "bob")
    ana_lines = _lines(ana)
    ana.write_bytes(b"".join(ana_lines) + _lines(bob)[3])
    report = verify_workspace(ws)
    assert _states(report, ana)[-1] == "replayed"
    assert _states(report, bob) == ["good"] * 5
    replayed = [p for p in report.problems if p.kind == "replayed"]
    assert len(replayed) == 1 and replayed[0].line == 6
    # The replayed line counts once, in its own log.
    assert len(report.merged()) == 10


def test_torn_tail(ws: Path) -> None:
    path = _log(ws)
    with path.open("ab") as fh:
        fh.write(b'{"payload": "eyJ2Ijox')
    report = verify_workspace(ws)
    assert _states(report, path) == ["good"] * 5 + ["torn_tail"]
    (problem,) = report.problems
    assert (problem.kind, problem.seq, problem.line) == ("torn_tail", 5, 6)
    assert len(report.merged()) == 5


def test_malformed_line(ws: Path) -> None:
    path = _log(ws)
    lines = _lines(path)
    lines.insert(2, b"not json\n")
    path.write_bytes(b"".join(lines))
    report = verify_workspace(ws)
    states = _states(report, path)
    assert states[2] == "malformed"
    assert states[3] == "broken_chain"


def test_unknown_key(ws: Path) -> None:
    writer = LogWriter.for_workspace(ws, SigningKey.generate(), ANA, "model", context=_context(ws))
    writer.append("decision", {})
    report = verify_workspace(ws)
    assert _states(report, writer.path) == ["unknown_key", "unknown_key"]
    # Judged by the signed roster (was: allowed_signers, which is now only a generated view).
    assert "signed roster" in report.problems[0].message


def test_key_allowed_for_another_principal_only(ws: Path) -> None:
    # Bob's key signing as Ana: the signed roster gives that key to Bob only.
    writer = _writer(ws, ws / "logs" / "x.dlog", "bob", ANA, "model")
    writer.append("decision", {})
    report = verify_workspace(ws)
    assert set(_states(report, writer.path)) == {"unknown_key"}
    assert BOB in report.problems[0].message


def test_hand_edited_allowed_signers_grants_nothing(ws: Path) -> None:
    # Was: a namespace restriction in allowed_signers was honoured. allowed_signers is now a
    # view generated from the signed roster: an edit to it (here: an intruder's key for Ana)
    # grants nothing and is reported.
    path = _log(ws)
    intruder = SigningKey.generate()
    signers = ws / "roster" / "allowed_signers"
    with signers.open("a") as fh:
        fh.write(f'{ANA} namespaces="twinreview-*" {intruder.public.openssh()}\n')
    forged = LogWriter(ws / "logs" / "forged.dlog", intruder, ANA, "model", context=_context(ws))
    forged.append("decision", {"decision": "approve"})
    report = verify_workspace(ws)
    assert set(_states(report, path)) == {"good"}
    assert set(_states(report, forged.path)) == {"unknown_key"}
    edited = [p for p in report.problems if p.kind == "view_edited"]
    assert len(edited) == 1 and "allowed_signers" in edited[0].message
    assert edited[0] not in blocking_problems(report)


def test_wrong_role(ws: Path) -> None:
    writer = _writer(ws, None, "bob", BOB, "model")  # Bob is an agent
    writer.append("decision", {})
    report = verify_workspace(ws)
    assert _states(report, writer.path) == ["wrong_role", "wrong_role"]
    assert "agent" in report.problems[0].message


def test_signed_revocation(ws: Path) -> None:
    # Was: roster/revoked (a plain list or a KRL) revoked keys. Revocation is now a signed
    # roster entry with an effective point: Ana's entries up to seq 2 keep counting.
    path, bob = _log(ws), _log(ws, "bob", 1)
    owner = _owner_of(ws)
    fp = _key("ana").public.fingerprint
    roster = owner.append("revoke_key", {"person": ANA, "fingerprint": fp, "after": {fp: 2}})
    write_views(ws / "roster", roster)
    report = verify_workspace(ws)
    assert _states(report, path) == ["good"] * 3 + ["revoked_key"] * 2
    assert set(_states(report, bob)) == {"good"}
    # The generated revoked view lists the key (for stock ssh-keygen -Y verify -r) ...
    assert _key("ana").public.openssh() in (ws / "roster" / "revoked").read_text()
    # ... and verification reads no view as authority: without the view it is the same.
    (ws / "roster" / "revoked").unlink()
    again = verify_workspace(ws)
    assert _states(again, path) == ["good"] * 3 + ["revoked_key"] * 2
    assert "view_edited" in _kinds(again)


@pytest.mark.parametrize("form", ["key", "fingerprint", "krl"])
def test_hand_written_revoked_file_is_ignored(ws: Path, tmp_path: Path, form: str) -> None:
    # Was: these forms of roster/revoked revoked Ana's key. The file is now a generated view:
    # writing to it revokes nothing (only a signed revoke_key entry can), and it is reported.
    path = _log(ws)
    pub = _key("ana").public
    revoked = ws / "roster" / "revoked"
    if form == "krl":
        exe = shutil.which("ssh-keygen")
        assert exe is not None, "ssh-keygen is needed to make a KRL"
        pubfile = tmp_path / "ana.pub"
        pubfile.write_text(pub.openssh() + "\n")
        subprocess.run([exe, "-k", "-f", str(revoked), str(pubfile)], check=True)
    else:
        item = pub.openssh("ana old laptop") if form == "key" else pub.fingerprint
        revoked.write_text(f"# lost laptop\n{item}\n")
    report = verify_workspace(ws)
    assert set(_states(report, path)) == {"good"}
    assert [p.kind for p in report.problems] == ["view_edited"]
    assert "roster/revoked" in report.problems[0].message
    assert blocking_problems(report) == []


def test_unreadable_revocation_view_is_reported(ws: Path) -> None:
    # Was: an unreadable revocation list failed verification as a roster problem. It is now a
    # damaged view: reported (verification is not ok), but it decides nothing.
    path = _log(ws)
    (ws / "roster" / "revoked").write_bytes(b"\xff\xfe garbage")
    report = verify_workspace(ws)
    assert not report.ok
    assert _kinds(report) == {"view_edited"}
    assert set(_states(report, path)) == {"good"}


def test_copies_that_are_prefixes_merge(ws: Path) -> None:
    path = _log(ws, n=2)
    copy = ws / "logs" / "laptop2" / "anything.dlog"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    _writer(ws, path, "ana", ANA, "model").append("decision", {"n": "later"})
    report = verify_workspace(ws)
    assert report.ok, report.problems
    assert len(report.merged()) == 4


def test_fork_across_copies(ws: Path) -> None:
    path = _log(ws, n=2)
    copy = ws / "logs" / "laptop2" / path.name
    copy.parent.mkdir()
    shutil.copy(path, copy)
    _writer(ws, path, "ana", ANA, "model").append("decision", {"decision": "approve"})
    _writer(ws, copy, "ana", ANA, "model").append("decision", {"decision": "reject"})
    _writer(ws, copy, "ana", ANA, "model").append("decision", {"decision": "reject"})
    report = verify_workspace(ws)
    assert _states(report, path) == ["good", "good", "good", "fork"]
    assert _states(report, copy) == ["good", "good", "good", "fork", "fork"]
    forks = [p for p in report.problems if p.kind == "fork"]
    rel = {path.relative_to(ws.resolve()).as_posix(), copy.relative_to(ws.resolve()).as_posix()}
    assert {p.file for p in forks} == rel and {p.seq for p in forks} == {3}
    assert "laptop2" in next(p.message for p in forks if "laptop2" not in p.file)
    assert len(report.merged()) == 3


def test_tampered_copy_is_tampering_not_a_fork(ws: Path) -> None:
    path = _log(ws, n=2)
    copy = ws / "logs" / "laptop2" / path.name
    copy.parent.mkdir()
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"sig": "', b'"sig": "x', 1)
    copy.write_bytes(b"".join(lines))
    report = verify_workspace(ws)
    # The copy in a subfolder is named as a copy (a notice), and its bad line as what it is.
    assert _kinds(report) == {"bad_signature", "sync_conflict"}
    assert _states(report, path) == ["good"] * 3


def test_no_logs_is_ok_and_json_is_serialisable(ws: Path) -> None:
    report = verify_workspace(ws)
    assert report.ok and report.entries == []
    _log(ws)
    data = json.loads(json.dumps(verify_workspace(ws).to_json()))
    assert data["ok"] is True and data["counts"] == {"good": 5}
    assert data["entries"][0]["kind"] == "genesis"


def test_verify_reads_only(ws: Path) -> None:
    path = _log(ws)
    with path.open("ab") as fh:
        fh.write(b"{")
    snapshot = {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()}
    verify_workspace(ws)
    assert {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()} == snapshot
    assert len(read_log(path).lines) == 5


def test_logs_link_leading_outside_is_refused(ws: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "x.dlog").write_bytes(b"not read\n")
    (ws / "logs").symlink_to(outside, target_is_directory=True)
    report = verify_workspace(ws)
    assert report.entries == []
    assert [(p.file, p.kind) for p in report.problems] == [("logs", "unreadable")]
