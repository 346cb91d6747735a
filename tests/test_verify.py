"""Verification: every kind of tampering and fault is detected and named; nothing is repaired."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from twinreview.core.declog import LogWriter, read_log
from twinreview.core.roster import Person, add_to_roster
from twinreview.core.sshsig import SigningKey
from twinreview.core.verify import VerifyReport, verify_workspace

ANA = "ana@example.com"
BOB = "bob@agency.example"


def _key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(name.encode()).digest())


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    add_to_roster(root / "roster", Person(ANA, "Ana", "model", ("ana",)), _key("ana").public)
    add_to_roster(root / "roster", Person(BOB, "Bob", "agent", ("ana",)), _key("bob").public)
    return root


def _log(ws: Path, who: str = "ana", n: int = 4) -> Path:
    principal, role = (ANA, "model") if who == "ana" else (BOB, "agent")
    writer = LogWriter.for_workspace(ws, _key(who), principal, role)
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
    writer = LogWriter.for_workspace(ws, SigningKey.generate(), ANA, "model")
    writer.append("decision", {})
    report = verify_workspace(ws)
    assert _states(report, writer.path) == ["unknown_key", "unknown_key"]
    assert "allowed_signers" in report.problems[0].message


def test_key_allowed_for_another_principal_only(ws: Path) -> None:
    # Bob's key signing as Ana: allowed_signers binds the key to Bob only.
    writer = LogWriter(ws / "logs" / "x.dlog", _key("bob"), ANA, "model")
    writer.append("decision", {})
    report = verify_workspace(ws)
    assert set(_states(report, writer.path)) == {"unknown_key"}
    assert BOB in report.problems[0].message


def test_namespace_restriction_is_honoured(ws: Path) -> None:
    path = _log(ws)
    signers = ws / "roster" / "allowed_signers"
    signers.write_text(signers.read_text().replace('namespaces="twinreview-*"', 'namespaces="git"'))
    report = verify_workspace(ws)
    assert set(_states(report, path)) == {"unknown_key"}


def test_wrong_role(ws: Path) -> None:
    writer = LogWriter.for_workspace(ws, _key("bob"), BOB, "model")  # Bob is an agent
    writer.append("decision", {})
    report = verify_workspace(ws)
    assert _states(report, writer.path) == ["wrong_role", "wrong_role"]
    assert "agent" in report.problems[0].message


@pytest.mark.parametrize("form", ["key", "fingerprint"])
def test_revoked_key_plain_list(ws: Path, form: str) -> None:
    path, bob = _log(ws), _log(ws, "bob", 1)
    pub = _key("ana").public
    item = pub.openssh("ana old laptop") if form == "key" else pub.fingerprint
    (ws / "roster" / "revoked").write_text(f"# lost laptop\n{item}\n")
    report = verify_workspace(ws)
    assert set(_states(report, path)) == {"revoked_key"}
    assert set(_states(report, bob)) == {"good"}


def test_revoked_key_krl(ws: Path, tmp_path: Path) -> None:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        pytest.skip("ssh-keygen is needed to make a KRL")
    path = _log(ws)
    pub = tmp_path / "ana.pub"
    pub.write_text(_key("ana").public.openssh() + "\n")
    subprocess.run([exe, "-k", "-f", str(ws / "roster" / "revoked"), str(pub)], check=True)
    report = verify_workspace(ws)
    assert set(_states(report, path)) == {"revoked_key"}


def test_unreadable_revocation_list_fails_verification(ws: Path) -> None:
    _log(ws)
    (ws / "roster" / "revoked").write_bytes(b"\xff\xfe garbage")
    report = verify_workspace(ws)
    assert not report.ok
    assert "roster" in _kinds(report)


def test_copies_that_are_prefixes_merge(ws: Path) -> None:
    path = _log(ws, n=2)
    copy = ws / "logs" / "laptop2" / "anything.dlog"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    LogWriter(path, _key("ana"), ANA, "model").append("decision", {"n": "later"})
    report = verify_workspace(ws)
    assert report.ok, report.problems
    assert len(report.merged()) == 4


def test_fork_across_copies(ws: Path) -> None:
    path = _log(ws, n=2)
    copy = ws / "logs" / "laptop2" / path.name
    copy.parent.mkdir()
    shutil.copy(path, copy)
    LogWriter(path, _key("ana"), ANA, "model").append("decision", {"decision": "approve"})
    LogWriter(copy, _key("ana"), ANA, "model").append("decision", {"decision": "reject"})
    LogWriter(copy, _key("ana"), ANA, "model").append("decision", {"decision": "reject"})
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
    assert _kinds(report) == {"bad_signature"}
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
