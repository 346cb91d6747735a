"""Export: the README's ssh-keygen one-liners really verify the exported logs, with stock tools."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from decision_helpers import MemoryKeyring
from twinreview.cli import export_cmd
from twinreview.core.declog import LogWriter
from twinreview.core.roster import Person, add_to_roster
from twinreview.core.sshsig import NS_LOG, SigningKey, verify
from twinreview.services.export import ExportError, export_workspace
from twinreview.services.keys import IdentityStore, KeyService, KeyStore


def _tools() -> None:
    missing = [t for t in ("ssh-keygen", "bash", "sed", "cut", "base64") if not shutil.which(t)]
    if missing:
        msg = f"the README one-liners need {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture
def keys(tmp_path: Path) -> KeyService:
    return KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(tmp_path / "cfg")
    )


@pytest.fixture
def ws(tmp_path: Path, keys: KeyService) -> Path:
    root = tmp_path / "ws"
    (root / "models" / "ana").mkdir(parents=True)
    brand = keys.init("bea@brand.example", "Bea Brand", "brand")
    add_to_roster(
        root / "roster", Person(brand.principal, "Bea", "brand", ("ana",)), brand.public_key
    )
    ana = SigningKey.from_seed(hashlib.sha256(b"ana").digest())
    add_to_roster(root / "roster", Person("ana@example.com", "Ana", "model", ("ana",)), ana.public)
    writer = LogWriter.for_workspace(root, ana, "ana@example.com", "model")
    for i in range(3):
        writer.append("decision", {"asset": f"assets/ana/{i}.png", "note": "Zoë «ok»"})
    copy = LogWriter(
        root / "logs" / "laptop 2" / "bea.dlog", keys.signer()[1], brand.principal, "brand"
    )
    copy.append("decision", {"asset": "assets/ana/0.png", "decision": "reject"})
    return root


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
    identity, key = keys.signer()
    result = export_workspace(ws, out, identity, key)
    assert result.report is not None and result.report.ok
    assert {
        "allowed_signers",
        "allowed_signers.sig",
        "roster/people.toml",
        "README.md",
        "logs/laptop 2/bea.dlog",
        "logs/laptop 2/bea.dlog.sig",
    } <= set(result.files)
    logs = sorted(f for f in result.files if f.endswith(".dlog"))
    assert len(logs) == 2
    for log in logs:
        assert (out / log).read_bytes() == (ws / log).read_bytes()
        assert verify((out / (log + ".sig")).read_text(), (out / log).read_bytes(), NS_LOG) == (
            key.public
        )
    commands = _commands((out / "README.md").read_text())
    whole = [c for c in commands if "twinreview-log-v1" in c]
    single = [c for c in commands if c.startswith("N=2;")]
    loops = [c for c in commands if c.startswith("for N in")]
    assert len(whole) == 2 and len(single) == 2 and len(loops) == 2
    for cmd in commands:
        run = _bash(cmd, out)
        assert run.returncode == 0, (cmd, run.stdout, run.stderr)
        assert "Good" in run.stdout
    loop = _bash(loops[0], out)
    entries = {"ana": 4, "bea": 2}
    principal = "ana" if "ana@" in loops[0] else "bea"
    assert loop.stdout.count('Good "twinreview-entry-v1" signature') == entries[principal]

    # The same one-liners fail on a tampered copy.
    target = out / logs[0]
    lines = target.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"payload": "', b'"payload": "e30', 1)  # prepend "{}"
    target.write_bytes(b"".join(lines))
    for cmd in [c for c in whole + single if logs[0].split("/")[-1] in c]:
        assert _bash(cmd, out).returncode != 0, cmd


def test_export_with_revocation_list(ws: Path, tmp_path: Path, keys: KeyService) -> None:
    _tools()
    ana_pub = SigningKey.from_seed(hashlib.sha256(b"ana").digest()).public
    (ws / "roster" / "revoked").write_text(ana_pub.openssh() + "\n")
    out = tmp_path / "export"
    identity, key = keys.signer()
    result = export_workspace(ws, out, identity, key)
    assert result.report is not None and not result.report.ok
    readme = (out / "README.md").read_text()
    assert "revoked_key" in readme
    commands = _commands(readme)
    assert all("-r roster/revoked" in c for c in commands if "ssh-keygen" in c)
    ana_single = next(c for c in commands if c.startswith("N=2;") and "ana@" in c)
    assert _bash(ana_single, out).returncode != 0  # ssh-keygen honours the revocation too
    bea_single = next(c for c in commands if c.startswith("N=2;") and "bea@" in c)
    assert _bash(bea_single, out).returncode == 0


def test_export_refusals(ws: Path, tmp_path: Path, keys: KeyService) -> None:
    identity, key = keys.signer()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    with pytest.raises(ExportError, match="not an empty folder"):
        export_workspace(ws, busy, identity, key)
    stranger = SigningKey.generate()
    with pytest.raises(ExportError, match="not in roster/allowed_signers"):
        export_workspace(ws, tmp_path / "o1", identity, stranger)
    (ws / "roster" / "allowed_signers").unlink()
    with pytest.raises(ExportError, match="missing"):
        export_workspace(ws, tmp_path / "o2", identity, key)


def test_export_cli(
    ws: Path, tmp_path: Path, keys: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="twinreview")
    export_cmd.register(parser.add_subparsers(dest="command"))
    out = tmp_path / "cli-export"
    assert export_cmd.cmd_export(parser.parse_args(["export", str(ws), str(out)]), keys) == 0
    assert "exported 2 log(s)" in capsys.readouterr().out
    assert export_cmd.cmd_export(parser.parse_args(["export", str(ws), str(out)]), keys) == 2
    assert "not an empty folder" in capsys.readouterr().err
    with (ws / "logs" / "laptop 2" / "bea.dlog").open("ab") as fh:
        fh.write(b"{")
    out2 = tmp_path / "cli-export2"
    assert export_cmd.cmd_export(parser.parse_args(["export", str(ws), str(out2)]), keys) == 1
    assert "problem" in capsys.readouterr().err
    assert (out2 / "README.md").is_file()
