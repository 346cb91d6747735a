"""The command line: scan output formats, exit codes, the demo, and a real subprocess run."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from twinreview import __version__
from twinreview.cli.main import build_parser, main
from twinreview.services.demo import build_demo
from wsbuild import add_model, make_workspace, pattern, save_jpeg

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

# What `twinreview demo` promises to show: every kind a scan of it can raise.
DEMO_KINDS = {
    "near_copy_of_reference",
    "matches_other_model",
    "duplicate_in_batch",
    "resubmitted_rejected",
    "unreadable",
    "unknown_model",
    "missing_disclosure",
    "partial_disclosure",
    "tampered_provenance",
}


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "ws")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"twinreview {__version__}"


def test_scan_json_document(capsys: pytest.CaptureFixture[str], demo_ws: Path) -> None:
    code, out, err = run(capsys, "scan", str(demo_ws), "--json")
    assert code == 0
    doc = json.loads(out)  # exactly one document: json.loads rejects trailing data
    assert doc["workspace"] == str(demo_ws.resolve())
    kinds = set()
    for asset in doc["assets"]:
        assert asset["path"].startswith("assets/")
        assert "\\" not in asset["path"]
        assert asset["model"] == asset["path"].split("/")[1]
        assert asset["error"] is None or isinstance(asset["error"], str)
        assert asset["sha256"] is None or len(asset["sha256"]) == 64
        for f in asset["findings"]:
            assert f["severity"] in ("info", "warn", "block")
            assert isinstance(f["message"], str)
            assert f["message"]
            ev = f["evidence"]
            if f["kind"] in ("near_copy_of_reference", "matches_other_model"):
                assert ev["reference"].startswith("models/")
                assert "/references/" in ev["reference"]
                assert isinstance(ev["distance"], int)
            kinds.add(f["kind"])
    assert kinds >= DEMO_KINDS
    assert "Traceback" not in err


def test_scan_csv(capsys: pytest.CaptureFixture[str], demo_ws: Path) -> None:
    code, out, _ = run(capsys, "scan", str(demo_ws), "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["kind"] for r in rows} >= DEMO_KINDS
    near = next(r for r in rows if r["kind"] == "near_copy_of_reference")
    assert near["reference"].startswith("models/milo/references/")
    assert near["distance"].isdigit()


def test_scan_table(capsys: pytest.CaptureFixture[str], demo_ws: Path) -> None:
    code, out, _ = run(capsys, "scan", str(demo_ws))
    assert code == 0
    assert "assets/milo/autumn/look-02.jpg" in out
    assert "near_copy_of_reference" in out


def test_fail_on(capsys: pytest.CaptureFixture[str], demo_ws: Path, tmp_path: Path) -> None:
    assert run(capsys, "scan", str(demo_ws), "--json", "--fail-on", "block")[0] == 1
    # Only informational findings (this brand records missing disclosure as info): no trip.
    clean = make_workspace(
        tmp_path / "clean", toml='[disclosure.severity]\nmissing_disclosure = "info"\n'
    )
    add_model(clean, "ava", {"a.jpg": pattern(1)})
    save_jpeg(pattern(2), clean / "assets" / "ava" / "x.jpg")
    assert run(capsys, "scan", str(clean), "--fail-on", "warn")[0] == 0


@pytest.mark.parametrize("make", ["missing", "file", "plain"])
def test_not_a_workspace(capsys: pytest.CaptureFixture[str], tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make == "file":
        target.write_text("hello")
    elif make == "plain":
        target.mkdir()
    code, out, err = run(capsys, "scan", str(target), "--json")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("twinreview: ")


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["scan", "--json", "--csv", "somewhere"])
    assert info.value.code == 2


def test_demo_no_gui_builds_and_summarises(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "demo", str(tmp_path / "d"), "--no-gui")
    assert code == 0
    assert "near_copy_of_reference" in out
    assert "demo workspace at" in err
    # Rebuilding over an existing demo works; a user's non-empty folder is refused.
    assert run(capsys, "demo", str(tmp_path / "d"), "--no-gui")[0] == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("important")
    code, _, err = run(capsys, "demo", str(mine), "--no-gui")
    assert code == 2
    assert "not empty" in err
    assert (mine / "thesis.txt").read_text() == "important"


def test_console_script_in_a_real_process(demo_ws: Path, tmp_path: Path) -> None:
    env = {**os.environ, "TWINREVIEW_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "twinreview", "scan", str(demo_ws), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    json.loads(proc.stdout)
    # stderr is not a terminal here: no progress bar, only notes.
    assert "\r" not in proc.stderr


def test_closed_pipe_is_not_a_traceback(
    demo_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``twinreview scan --json | head``: the reader leaves early; we exit quietly."""

    class ClosedPipe(io.TextIOWrapper):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    with (tmp_path / "stdout").open("wb") as raw:
        monkeypatch.setattr(sys, "stdout", ClosedPipe(raw))
        code = main(["scan", str(demo_ws), "--json"])
    assert code == 1


def test_demo_with_a_model_identity_on_this_device(tmp_path: Path) -> None:
    from twinreview.core.logs.sshsig import SigningKey
    from twinreview.core.roster.people import Person
    from twinreview.services.trust import TrustStore

    me = (Person("me@example.com", "Me", "model", ("milo", "nova")), SigningKey.generate().public)
    root = build_demo(tmp_path / "demo", me, TrustStore.default())
    assert (root / "roster" / "roster.dlog").is_file()
    text = (root / "roster" / "people.toml").read_text()
    assert "me@example.com" not in text


def test_an_unexpected_error_is_one_line_and_logged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from twinreview.cli import main as cli_main
    from twinreview.cli import status_cmd
    from twinreview.services.diagnostics import log_path

    def broken(args: object) -> int:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(status_cmd, "run", broken)
    (tmp_path / "models").mkdir()
    code = cli_main.main(["status", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == cli_main.EXIT_SOFTWARE
    assert err.count("\n") == 1
    assert "unexpected error: a bug over two lines" in err
    assert str(log_path()) in err
    assert "Traceback" in log_path().read_text()
    assert cli_main.main(["--log-file"]) == 0
    assert capsys.readouterr().out.strip() == str(log_path())


# --- hostile names: formulas in CSV, escape sequences on the terminal ---------------------------

# ESC [2K erases the line being read; U+202E (right-to-left override) makes "gpj.exe" read as
# "exe.jpg"; a newline would start a fake line of its own.
ERASE = "\x1b[2K"
RLO = "\u202e"
TERMINAL_NAME = f"{ERASE}cleared{RLO}gpj.exe\nok     assets/ava/fake.jpg.jpg"


def test_scan_csv_neutralises_formulas(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    add_model(ws, "ava", {"a.jpg": pattern(1)})
    # Model folders are the cells a workspace writer controls from the first character on.
    save_jpeg(pattern(2), ws / "assets" / "=HYPERLINK(1)" / "x.jpg")
    save_jpeg(pattern(3), ws / "assets" / "@SUM(A1)" / "-2+3.jpg")
    save_jpeg(pattern(4), ws / "assets" / "ava" / "=cmd|'x'!A1.jpg")
    code, out, _ = run(capsys, "scan", str(ws), "--csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    models = {r["model"] for r in rows}
    assert models == {"ava", "'=HYPERLINK(1)", "'@SUM(A1)"}
    assert "assets/ava/=cmd|'x'!A1.jpg" in {r["path"] for r in rows}
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


def test_scan_table_escapes_terminal_controls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws")
    add_model(ws, "ava", {"a.jpg": pattern(1)}, toml='display_name = "Ava\\u001b[2K"\n')
    save_jpeg(pattern(2), ws / "assets" / "ava" / f"{TERMINAL_NAME}.jpg")
    save_jpeg(pattern(3), ws / "assets" / f"x{RLO}y" / "a.jpg")
    code, out, err = run(capsys, "scan", str(ws))
    assert code == 0
    for text in (out, err):
        assert "\x1b" not in text and RLO not in text
    assert "\\x1b[2Kcleared\\u202egpj.exe\\nok     assets/ava/fake.jpg.jpg.jpg" in out
    assert "[x\\u202ey]" in out
    # Each asset is one line: the newline in the name did not start a line of its own.
    assert not any(line.startswith("ok     assets/ava/fake") for line in out.splitlines())


def test_report_messages_escape_terminal_controls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws")
    add_model(ws, "ava", {"a.jpg": pattern(1)})
    save_jpeg(pattern(2), ws / "assets" / "ava" / f"{ERASE}{RLO}.jpg")
    out_dir = tmp_path / f"out{ERASE}"
    out_dir.mkdir()
    target = out_dir / f"r{RLO}.csv"
    code, _, err = run(capsys, "report", str(ws), "--csv", str(target))
    assert code == 0, err
    assert target.is_file()
    assert "\x1b" not in err and RLO not in err
    assert "wrote " in err and "out\\x1b[2K/r\\u202e.csv" in err.replace("\\\\", "/")
    code, _, err = run(capsys, "report", str(ws), "--html", str(out_dir / "no" / f"{ERASE}.html"))
    assert code == 2
    assert "\x1b" not in err and "\\x1b[2K" in err


def test_csv_output_shows_terminal_controls_as_escapes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws")
    add_model(ws, "ava", {"a.jpg": pattern(1)})
    save_jpeg(pattern(2), ws / "assets" / "ava" / f"{ERASE}cleared{RLO}gpj.jpg")
    save_jpeg(pattern(3), ws / "assets" / f"x{ERASE}" / "a.jpg")
    code, out, _ = run(capsys, "scan", str(ws), "--csv")  # to a terminal, often
    assert code == 0
    target = tmp_path / "report.csv"
    code, _, err = run(capsys, "report", str(ws), "--csv", str(target))
    assert code == 0, err
    for text in (out, target.read_text(encoding="utf-8")):
        assert "\x1b" not in text and RLO not in text
        rows = list(csv.DictReader(io.StringIO(text)))
        paths = {r["path"] for r in rows}
        assert "assets/ava/\\x1b[2Kcleared\\u202egpj.jpg" in paths
        assert "x\\x1b[2K" in {r["model"] for r in rows}


def test_keys_init_advice_never_points_at_a_generated_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from decision_helpers import MemoryKeyring
    from twinreview.cli.keys_cmd import cmd_init
    from twinreview.services.keys import IdentityStore, KeyService, KeyStore

    service = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(tmp_path / "cfg")
    )
    args = argparse.Namespace(principal="ava@example.com", name="Ava", role="model")
    assert cmd_init(args, service) == 0
    err = capsys.readouterr().err
    # roster/allowed_signers is generated from the signed roster: a line added by hand is ignored.
    assert "add the line above to roster/allowed_signers" not in err
    assert "roster add WS --self" in err
    help_text = build_parser()._subparsers._group_actions[0].choices["keys"].format_help()  # type: ignore[union-attr]
    assert "to a workspace's roster/allowed_signers" not in help_text


def test_twinreview_ws_opens_the_app_on_that_workspace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from twinreview.cli import main as cli_main

    opened: list[object] = []
    monkeypatch.setattr(
        cli_main, "_open_app", lambda args: opened.append(getattr(args, "workspace", None)) or 0
    )
    (tmp_path / "models").mkdir()
    assert cli_main.main([str(tmp_path)]) == 0
    assert opened == [tmp_path]
    # A command name is a command, and no argument opens the app on the last workspace.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "status").mkdir()
    with pytest.raises(SystemExit):
        cli_main.main(["status"])  # the status command, which needs WS
    assert cli_main.main([]) == 0
    assert len(opened) == 2


@pytest.mark.parametrize("command", ["scan", "report"])
def test_a_bug_during_the_scan_is_exit_70_and_logged(
    command: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A ValueError out of the scan is a bug, not a usage error: exit 70, traceback logged."""
    from twinreview.services.diagnostics import log_path
    from twinreview.services.scan.service import ScanService

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("a bug deep in the scan")

    monkeypatch.setattr(ScanService, "scan", broken)
    ws = make_workspace(tmp_path / "ws")
    args = [command, str(ws)] + (
        ["--json", str(tmp_path / "r.json")] if command == "report" else []
    )
    code, _, err = run(capsys, *args)
    assert code == 70, err
    assert err.count("\n") == 1
    assert "unexpected error: a bug deep in the scan" in err
    assert "Traceback" in log_path().read_text()


def test_a_workspace_setting_at_fault_is_still_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ws = make_workspace(tmp_path / "ws", toml='[disclosure]\nlabel = "missing.png"\n')
    code, _, err = run(capsys, "scan", str(ws))
    assert code == 2
    assert err.startswith("twinreview: twinreview.toml: disclosure.label: cannot read missing.png")
    assert err.count("\n") == 1
