"""Export: the README's ssh-keygen one-liners really verify the exported roster, logs and heads with
stock tools, and ``verify --against`` catches what changed in the workspace since the export."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from decision_helpers import enroll, owner_of, reviewer, roster_service
from twinreview.cli import export_cmd
from twinreview.cli.main import main
from twinreview.core.logs.log import LogWriter, line_hash
from twinreview.core.logs.sshsig import NS_LOG, SigningKey, verify
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.people import Person
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import signing_context
from twinreview.services.export import ExportError, ExportResult, export_workspace
from twinreview.services.export_check import (
    HEADS,
    ExportCheckError,
    compare_with_export,
    read_export_heads,
)
from twinreview.services.keys import KeyService
from twinreview.services.trust import TrustStore, Verifier

TOOLS = ("ssh-keygen", "bash", "sed", "cut", "grep", "head", "base64", "sha256sum")


def _tools() -> None:
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        msg = f"the README one-liners need {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


def _writer(root: Path, keys: KeyService, path: Path | None = None) -> LogWriter:
    """A device's raw log writer binding what the app binds (workspace, roster head, heads)."""
    identity, key = keys.signer()
    ctx = signing_context(
        Workspace.open(root), Verifier.default(), TrustStore.default(), key.public
    )
    if path is None:
        return LogWriter.for_workspace(
            root, key, identity.principal, identity.role, context=ctx.fields
        )
    return LogWriter(path, key, identity.principal, identity.role, context=ctx.fields)


@pytest.fixture
def keys(tmp_path: Path) -> KeyService:
    """Bea, the brand reviewer who exports."""
    return reviewer(tmp_path / "devices", "bea@brand.example", "brand", "Bea Brand")


@pytest.fixture
def ana(tmp_path: Path) -> KeyService:
    return reviewer(tmp_path / "devices", "ana@example.com", "model", "Ana")


@pytest.fixture
def ws(tmp_path: Path, keys: KeyService, ana: KeyService) -> Path:
    root = tmp_path / "ws"
    (root / "models" / "ana").mkdir(parents=True)
    # The trust rules: the owner inits, enrolls both on the signed roster; Ana signs her consent.
    enroll(root, keys, ("ana",))
    enroll(root, ana, ("ana",))
    writer = _writer(root, ana)
    for i in range(3):
        writer.append("decision", {"asset": f"assets/ana/{i}.png", "note": "Zoë «ok»"})
    copy = _writer(root, keys, root / "logs" / "laptop 2" / "bea.dlog")
    copy.append("decision", {"asset": "assets/ana/0.png", "decision": "reject"})
    return root


def _export(ws: Path, out: Path, keys: KeyService) -> ExportResult:
    identity, key = keys.signer()
    return export_workspace(ws, out, identity, key)


def _commands(readme: str) -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def _bash(cmd: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, check=False, timeout=60
    )


def test_export_and_run_the_readme_one_liners(ws: Path, tmp_path: Path, keys: KeyService) -> None:
    _tools()
    out = tmp_path / "export"
    result = _export(ws, out, keys)
    assert result.report is not None and result.report.ok
    assert {
        "allowed_signers",
        "allowed_signers.sig",
        "roster/roster.dlog",
        "roster/roster.dlog.sig",
        "roster/people.toml",
        "heads.json",
        "heads.json.sig",
        "README.md",
        "logs/laptop 2/bea.dlog",
        "logs/laptop 2/bea.dlog.sig",
    } <= set(result.files)
    logs = sorted(f for f in result.files if f.endswith(".dlog") and f.startswith("logs/"))
    assert len(logs) == 2
    _, key = keys.signer()
    for log in [*logs, "roster/roster.dlog", "heads.json"]:
        if log != "heads.json":
            assert (out / log).read_bytes() == (ws / log).read_bytes()
        assert verify((out / (log + ".sig")).read_text(), (out / log).read_bytes(), NS_LOG) == (
            key.public
        )
    roster_lines = len((ws / "roster" / "roster.dlog").read_bytes().splitlines())

    commands = _commands((out / "README.md").read_text())
    exporter = [c for c in commands if c.startswith("ssh-keygen -Y verify")]
    roster_one = [c for c in commands if c.startswith("N=1;") and "twinreview-roster-v1" in c]
    every = [c for c in commands if c.startswith("bad=0; for N in $(seq 1 ")]
    roster_all = [c for c in every if "twinreview-roster-v1" in c]
    single = [c for c in commands if c.startswith("N=2;")]
    loops = [c for c in every if "twinreview-entry-v1" in c]
    chains = [c for c in commands if '"prev"' in c and "sha256sum" in c]
    key_check = [c for c in commands if "NOT ON THE ROSTER" in c]
    # Whole files: 2 logs, the roster log, heads.json (twinreview-log-v1) and allowed_signers.
    assert len(exporter) == 5
    assert any("heads.json.sig" in c for c in exporter)
    assert any("roster/roster.dlog.sig" in c for c in exporter)
    assert len(roster_one) == len(roster_all) == 1
    assert len(single) == 2 and len(loops) == 2 and len(chains) == 3 and len(key_check) == 1
    for cmd in commands:
        run = _bash(cmd, out)
        assert run.returncode == 0, (cmd, run.stdout, run.stderr)
        if "ssh-keygen -l" in cmd:
            owner = SignedRoster.load(ws / "roster").owner_key
            assert owner is not None and owner.fingerprint in run.stdout
        else:
            assert "Good" in run.stdout, cmd
    # Every roster entry checks, each under the principal its payload names.
    run = _bash(roster_all[0], out)
    assert run.stdout.count('Good "twinreview-roster-v1" signature') == roster_lines
    assert "signature for owner@brand.example with" in run.stdout
    assert "signature for ana@example.com with" in run.stdout  # her consent, her own key
    loop = _bash(loops[0], out)
    entries = {"ana": 4, "bea": 2}
    principal = "ana" if "ana@" in loops[0] else "bea"
    assert loop.stdout.count('Good "twinreview-entry-v1" signature') == entries[principal]

    # The same one-liners fail on a tampered copy: allowed_signers, a log entry, a roster entry,
    # the heads. A key slipped into allowed_signers: no roster entry gave it.
    signers = (out / "allowed_signers").read_bytes()
    with (out / "allowed_signers").open("a") as fh:
        fh.write(f"mallory@x.example {SigningKey.generate().public.openssh()}\n")
    run = _bash(key_check[0], out)
    assert run.returncode != 0 and "NOT ON THE ROSTER" in run.stdout
    assert _bash(next(c for c in exporter if "allowed_signers.sig" in c), out).returncode != 0
    (out / "allowed_signers").write_bytes(signers)
    target = out / logs[0]
    lines = target.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"payload": "', b'"payload": "e30', 1)  # prepend "{}"
    target.write_bytes(b"".join(lines))
    name = logs[0].split("/")[-1]
    for cmd in [c for c in exporter + single + chains if name in c]:
        assert _bash(cmd, out).returncode != 0, cmd
    roster = out / "roster" / "roster.dlog"
    lines = roster.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"payload": "', b'"payload": "e30', 1)
    roster.write_bytes(b"".join(lines))
    assert _bash(roster_all[0], out).returncode != 0
    assert _bash(next(c for c in chains if "roster.dlog" in c), out).returncode != 0
    assert _bash(next(c for c in exporter if "roster.dlog.sig" in c), out).returncode != 0
    heads = out / HEADS
    heads.write_text(heads.read_text().replace('"seq": 3', '"seq": 2', 1))
    assert _bash(next(c for c in exporter if "heads.json.sig" in c), out).returncode != 0


def test_export_heads_are_signed_and_name_every_head(
    ws: Path, tmp_path: Path, keys: KeyService
) -> None:
    out = tmp_path / "export"
    result = _export(ws, out, keys)
    doc = json.loads((out / HEADS).read_text())
    assert doc == result.heads
    roster = SignedRoster.load(ws / "roster")
    assert roster.owner_key is not None and roster.head is not None
    assert doc["workspace_id"] == roster.workspace_id
    assert doc["owner"] == {
        "principal": "owner@brand.example",
        "fingerprint": roster.owner_key.fingerprint,
    }
    assert (doc["roster"]["seq"], doc["roster"]["hash"]) == roster.head
    assert doc["exporter"]["principal"] == "bea@brand.example"
    assert len(doc["logs"]) == 2
    for log, head in doc["logs"].items():
        data = (ws / head["file"]).read_bytes()
        last = data.splitlines(keepends=True)[-1]
        assert head["hash"] == line_hash(last)
        assert head["seq"] == len(data.splitlines()) - 1
        assert log.startswith("SHA256:")
    checked = read_export_heads(out, trust=TrustStore.default())
    assert checked.workspace_id == roster.workspace_id
    assert checked.roster.seq == roster.head[0]
    report = Verifier.default().verify(ws)
    assert compare_with_export(report, checked) == []


def test_export_with_a_revoked_key(
    ws: Path, tmp_path: Path, keys: KeyService, ana: KeyService
) -> None:
    _tools()
    _, ana_key = ana.signer()
    # Rule change: a revocation is a signed roster entry with an effective point (not a hand-kept
    # roster/revoked file): Ana's entries up to the revocation count, later ones do not.
    roster_service(owner_of(ws)).revoke_key(ws, "ana@example.com", ana_key.public.fingerprint)
    _writer(ws, ana).append("decision", {"asset": "assets/ana/9.png"})
    out = tmp_path / "export"
    result = _export(ws, out, keys)
    assert result.report is not None and not result.report.ok
    readme = (out / "README.md").read_text()
    assert "revoked_key" in readme
    assert f"key `{ana_key.public.fingerprint}` of ana@example.com was revoked" in readme
    assert "up to seq 3" in readme
    commands = _commands(readme)
    exporter = [c for c in commands if c.startswith("ssh-keygen -Y verify")]
    assert exporter and all("-r roster/revoked" in c for c in exporter)
    for cmd in exporter:
        assert _bash(cmd, out).returncode == 0, cmd
    # Her entry signed before the revocation still checks (her key stays in allowed_signers)...
    ana_single = next(c for c in commands if c.startswith("N=2;") and "ana@" in c)
    assert _bash(ana_single, out).returncode == 0
    # ...and ssh-keygen honours roster/revoked (generated from the signed revocation) when asked.
    revoked = ana_single.replace(
        "-n twinreview-entry-v1", "-n twinreview-entry-v1 -r roster/revoked"
    )
    assert _bash(revoked, out).returncode != 0
    bea_single = next(c for c in commands if c.startswith("N=2;") and "bea@" in c)
    bea_revoked = bea_single.replace(
        "-n twinreview-entry-v1", "-n twinreview-entry-v1 -r roster/revoked"
    )
    assert _bash(bea_revoked, out).returncode == 0


def test_export_refusals(ws: Path, tmp_path: Path, keys: KeyService) -> None:
    identity, key = keys.signer()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(ExportError, match="not an empty folder"):
        export_workspace(ws, busy, identity, key)
    stranger = SigningKey.generate()
    with pytest.raises(ExportError, match="not on the signed roster"):
        export_workspace(ws, tmp_path / "o1", identity, stranger)
    # A hand edit of the allowed_signers view (a forged enrolment) never reaches the export.
    forged = f"mallory@x.example {stranger.public.openssh()}\n"
    with (ws / "roster" / "allowed_signers").open("a") as fh:
        fh.write(forged)
    export_workspace(ws, tmp_path / "o2", identity, key)
    assert stranger.public.openssh() not in (tmp_path / "o2" / "allowed_signers").read_text()
    # No signed roster: nothing to check the export against.
    (ws / "roster" / "roster.dlog").unlink()
    with pytest.raises(ExportError, match="no signed roster"):
        export_workspace(ws, tmp_path / "o3", identity, key)


def test_export_cli(
    ws: Path, tmp_path: Path, keys: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="twinreview")
    export_cmd.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli-export"
    assert export_cmd.cmd_export(parser.parse_args(["export", str(ws), str(out)]), keys) == 0
    printed = capsys.readouterr().out
    assert "exported 2 log(s) and the signed roster" in printed
    assert "heads.json" in printed
    assert export_cmd.cmd_export(parser.parse_args(["export", str(ws), str(out)]), keys) == 2
    assert "not an empty folder" in capsys.readouterr().err
    with (ws / "logs" / "laptop 2" / "bea.dlog").open("ab") as fh:
        fh.write(b"{")
    out2 = tmp_path / "cli-export2"
    assert export_cmd.cmd_export(parser.parse_args(["export", str(ws), str(out2)]), keys) == 1
    assert "problem" in capsys.readouterr().err
    assert (out2 / "README.md").is_file()


# --- verify --against ------------------------------------------------------------------------


def _against(
    capsys: pytest.CaptureFixture[str], ws: Path, out: Path, *extra: str
) -> tuple[int, dict[str, object] | str, str]:
    code = main(["verify", str(ws), "--against", str(out), *extra])
    stdout, err = capsys.readouterr()
    return code, (json.loads(stdout) if "--json" in extra and stdout else stdout), err


def _found(doc: dict[str, object] | str) -> list[dict[str, object]]:
    assert isinstance(doc, dict)
    against = doc["against"]
    assert isinstance(against, dict)
    problems = against["problems"]
    assert isinstance(problems, list)
    return problems


def test_verify_against_a_fresh_export_is_clean(
    ws: Path, tmp_path: Path, keys: KeyService, ana: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    _export(ws, out, keys)
    code, text, _ = _against(capsys, ws, out)
    assert code == 0, text
    assert "all 3 exported heads (roster and 2 log(s)) are still there" in str(text)
    # Growing is fine: the workspace extends every exported head.
    _writer(ws, ana).append("decision", {"asset": "assets/ana/5.png"})
    code, doc, _ = _against(capsys, ws, out, "--json")
    assert code == 0
    assert _found(doc) == []
    assert isinstance(doc, dict) and doc["ok"] is True


def test_verify_against_catches_a_log_truncated_after_export(
    ws: Path, tmp_path: Path, keys: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    _export(ws, out, keys)
    log = next((ws / "logs").glob("ana*.dlog"))
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) == 4
    log.write_bytes(b"".join(lines[:-1]))  # her last decision erased
    code, doc, _ = _against(capsys, ws, out, "--json")
    assert code == 1
    problems = _found(doc)
    assert [p["kind"] for p in problems] == ["rolled_back"]
    assert problems[0]["file"] == log.relative_to(ws).as_posix()
    assert problems[0]["seq"] == 3
    message = str(problems[0]["message"])
    assert "has 3 entries in the workspace" in message and "has 4" in message
    assert "ana@example.com" in message
    code, text, _ = _against(capsys, ws, out)
    assert code == 1
    assert "rolled_back" in str(text) and "1 of 3 exported head(s)" in str(text)


def test_verify_against_catches_a_deleted_log(
    ws: Path, tmp_path: Path, keys: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    _export(ws, out, keys)
    (ws / "logs" / "laptop 2" / "bea.dlog").unlink()
    code, doc, _ = _against(capsys, ws, out, "--json")
    assert code == 1
    problems = _found(doc)
    assert [p["kind"] for p in problems] == ["log_missing"]
    assert "bea@brand.example" in str(problems[0]["message"])
    assert "has 2 entries" in str(problems[0]["message"])


def test_verify_against_catches_a_rewritten_roster(
    ws: Path,
    tmp_path: Path,
    keys: KeyService,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "export"
    _export(ws, out, keys)
    roster_log = ws / "roster" / "roster.dlog"
    original = roster_log.read_bytes()
    lines = original.splitlines(keepends=True)
    # The owner (who holds the key) rewrites the last roster entry: same length, other content,
    # from another device (the one that signed it would refuse: it keeps what it signed).
    monkeypatch.setenv("TWINREVIEW_DATA_DIR", str(tmp_path / "another-device"))
    roster_log.write_bytes(b"".join(lines[:-1]))
    carl = reviewer(tmp_path / "devices", "carl@agency.example", "agent")
    identity = carl.current()
    assert identity is not None
    roster_service(owner_of(ws)).add_person(
        ws, Person(identity.principal, "Carl", "agent", ("ana",)), identity.public_key
    )
    assert len(roster_log.read_bytes().splitlines()) == len(lines)
    code, doc, _ = _against(capsys, ws, out, "--json")
    assert code == 1
    roster_problems = [p for p in _found(doc) if p["file"] == "roster/roster.dlog"]
    assert [p["kind"] for p in roster_problems] == ["fork"]
    assert f"seq {len(lines) - 1}" in str(roster_problems[0]["message"])

    # Rolled back instead: shorter than exported.
    roster_log.write_bytes(b"".join(lines[:2]))
    code, doc, _ = _against(capsys, ws, out, "--json")
    assert code == 1
    roster_problems = [p for p in _found(doc) if p["file"] == "roster/roster.dlog"]
    assert [p["kind"] for p in roster_problems] == ["rolled_back"]
    assert f"has 2 verified entries, but the export {out}" in str(roster_problems[0]["message"])
    assert f"has {len(lines)}" in str(roster_problems[0]["message"])

    # Gone altogether.
    roster_log.unlink()
    code, doc, _ = _against(capsys, ws, out, "--json")
    assert code == 1
    assert [p["kind"] for p in _found(doc) if p["file"] == "roster/roster.dlog"] == ["log_missing"]


def test_tampered_heads_json_is_refused(
    ws: Path,
    tmp_path: Path,
    keys: KeyService,
    ana: KeyService,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "export"
    _export(ws, out, keys)
    heads_path = out / HEADS
    good = heads_path.read_bytes()
    doc = json.loads(good)
    # Lower Ana's exported head so that a truncation would hide: the signature breaks.
    ana_log = next(k for k, v in doc["logs"].items() if v.get("principal") == "ana@example.com")
    doc["logs"][ana_log]["seq"] = 2
    heads_path.write_text(json.dumps(doc, indent=2))
    code, stdout, err = _against(capsys, ws, out, "--json")
    assert code == 1
    assert stdout == ""
    assert "signature does not verify" in err and "refusing" in err
    with pytest.raises(ExportCheckError, match="does not verify"):
        read_export_heads(out)

    # Re-signed by a key the exported roster does not give the exporter: refused too.
    data = heads_path.read_bytes()
    stranger = SigningKey.generate()
    (out / (HEADS + ".sig")).write_text(stranger.sign(data, NS_LOG))
    code, _, err = _against(capsys, ws, out)
    assert code == 1
    assert "does not give to the exporter bea@brand.example" in err
    # Even a roster member's key (Ana's) does not pass for Bea's.
    _, ana_key = ana.signer()
    (out / (HEADS + ".sig")).write_text(ana_key.sign(data, NS_LOG))
    with pytest.raises(ExportCheckError, match="does not give to the exporter"):
        read_export_heads(out)

    # Not an export at all: a usage error.
    heads_path.unlink()
    code, _, err = _against(capsys, ws, out)
    assert code == 2
    assert "heads.json is missing" in err
    code, _, err = _against(capsys, ws, tmp_path / "nowhere")
    assert code == 2
