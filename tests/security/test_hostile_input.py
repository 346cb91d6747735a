"""Hostile files in a workspace: no hang, no read outside the folder, no traceback, bounded
memory. Every command runs with a time limit, so a hang fails the test instead of freezing the
suite: in a daemon thread of this process (``main(argv)``, as the console script calls it), or in a
child process where the process's own start-up is under test (the keyring backend chosen from the
environment)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from decision_helpers import build_workspace, enroll, owner_of, reviewer, roster_service
from twinreview.cli.main import main
from twinreview.core.disclosure import xmp
from twinreview.core.logs import log as declog
from twinreview.core.logs.sshsig import SigningKey
from twinreview.core.roster.people import parse_allowed_signers

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")


def twinreview(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``twinreview ARGS`` in this process, on a daemon thread: a hang fails after ``timeout``."""
    out, err = io.StringIO(), io.StringIO()
    codes: list[int] = []

    def run() -> None:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            codes.append(main(list(args)))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    assert not worker.is_alive(), f"twinreview {' '.join(args)} hung"
    assert codes, err.getvalue()
    return subprocess.CompletedProcess(args, codes[0], out.getvalue(), err.getvalue())


def twinreview_process(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m twinreview ARGS`` in a child process."""
    env = dict(os.environ)
    return subprocess.run(
        [sys.executable, "-m", "twinreview", *args],
        capture_output=True,
        text=True,
        timeout=timeout,  # a hang is a failure, not a frozen suite
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("twinreview:")]
    assert lines, proc.stderr
    return lines[0]


@needs_fifo
def test_a_fifo_among_the_assets_does_not_hang_status(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    os.mkfifo(root / "assets" / "ava" / "trap.jpg")
    proc = twinreview("status", str(root), "--json")
    assert proc.returncode == 0, proc.stderr
    assert '"assets/ava/trap.jpg"' in proc.stdout
    assert "not a regular file" in proc.stdout


@needs_fifo
def test_a_fifo_among_the_assets_does_not_hang_report(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    os.mkfifo(root / "assets" / "ava" / "trap.jpg")
    out = tmp_path / "report.json"
    proc = twinreview("report", str(root), "--json", str(out), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert all(ln.startswith("twinreview:") for ln in proc.stderr.splitlines()), proc.stderr
    (trap,) = [a for a in json.loads(out.read_text())["assets"] if a["path"].endswith("trap.jpg")]
    assert trap["error"] == "not a regular file (a pipe, socket or device)"
    (finding,) = trap["findings"]
    assert finding["kind"] == "unreadable"
    assert "\n" not in finding["message"] and "not a regular file" in finding["message"]


@needs_fifo
def test_a_fifo_as_the_disclosure_label_does_not_hang_scan(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    os.mkfifo(root / "label.png")
    (root / "twinreview.toml").write_text('[disclosure]\nlabel = "label.png"\n')
    proc = twinreview("scan", str(root))
    assert proc.returncode == 2
    assert "not a regular file" in one_line_error(proc)


@needs_fifo
def test_a_fifo_as_the_disclosure_label_does_not_hang_decide(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from twinreview.cli.decide_cmd import cmd_decide, scan_once
    from twinreview.cli.main import build_parser, run_command

    # In process, because decide needs a key and the test keyring lives in memory.
    root = build_workspace(tmp_path / "ws")
    keys = reviewer(tmp_path / "devices", "ava@example.com", "model", "Ava")
    enroll(root, keys, ("ava",))
    # With a roster, the signed policy is the one that counts.
    (root / "twinreview.toml").write_text('[disclosure]\nlabel = "label.png"\n')
    roster_service(owner_of(root)).set_policy(root)
    os.mkfifo(root / "label.png")
    args = build_parser().parse_args(["decide", str(root), "assets/ava/look1.jpg", "--approve"])
    codes: list[int] = []
    # A daemon thread, so a decide stuck opening the FIFO fails the test instead of the suite.
    worker = threading.Thread(
        target=lambda: codes.append(run_command(lambda a: cmd_decide(a, keys, scan_once()), args)),
        daemon=True,
    )
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "decide hung on the FIFO label"
    assert codes == [2]
    err = capsys.readouterr().err
    assert "Traceback" not in err
    refusals = [ln for ln in err.splitlines() if "not a regular file" in ln]
    assert len(refusals) == 1 and refusals[0].startswith("twinreview:"), err
    assert "label.png" in refusals[0]
    assert not (root / "logs").exists() or not any((root / "logs").iterdir())


@pytest.mark.parametrize("key", ["label", "trust_anchors"])
def test_settings_cannot_name_files_outside_the_workspace(tmp_path: Path, key: str) -> None:
    root = build_workspace(tmp_path / "ws")
    secret = tmp_path / "secret.pem"
    secret.write_text("-----BEGIN CERTIFICATE-----\nnot for you\n")
    value = f'"{secret}"' if key == "label" else f'["{secret}"]'
    (root / "twinreview.toml").write_text(f"[disclosure]\n{key} = {value}\n")
    proc = twinreview("scan", str(root))
    assert proc.returncode == 2
    assert "outside the workspace" in one_line_error(proc)
    # A link inside the workspace that leads out is refused the same way.
    (root / "innocent.pem").symlink_to(secret)
    value = '"innocent.pem"' if key == "label" else '["innocent.pem"]'
    (root / "twinreview.toml").write_text(f"[disclosure]\n{key} = {value}\n")
    proc = twinreview("scan", str(root))
    assert "outside the workspace" in one_line_error(proc)


def test_a_broken_keyring_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env_backup = dict(os.environ)
    try:
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.SecretService.Keyring"
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent/bus"
        os.environ.pop("TWINREVIEW_SECRET_SERVICE", None)
        proc = twinreview_process(
            "keys", "init", "--principal", "a@x", "--name", "A", "--role", "agent"
        )
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    assert proc.returncode == 2
    message = one_line_error(proc)
    assert "keyring" in message
    assert "PYTHON_KEYRING_BACKEND" not in message  # already set: no advice to set it


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(ctype + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", crc)


def test_compressed_xmp_is_not_inflated_past_the_total_cap() -> None:
    # Each chunk inflates to just under the per-packet cap: without a running budget, a few
    # megabytes of file would cost seconds of CPU, chunk after chunk.
    bomb = zlib.compress(b" " * (xmp.MAX_PACKET_BYTES - 1024), 9)
    body = b"XML:com.adobe.xmp\x00\x00" + bomb
    png = b"\x89PNG\r\n\x1a\n" + b"".join(_png_chunk(b"zTXt", body) for _ in range(20))
    found = xmp._Found()
    xmp._png(png + _png_chunk(b"IEND", b""), found)
    assert found.inflated <= xmp.MAX_TOTAL_BYTES + 1  # one byte past the cap shows it overflowed
    assert sum("not read" in n for n in found.notes) >= 17


def test_a_giant_log_line_is_not_kept_or_decoded(tmp_path: Path) -> None:
    log = tmp_path / "x.dlog"
    key = SigningKey.generate()
    good = declog.build_entry(
        key, "a@x", "agent", seq=0, prev=None, ts=declog.utc_now(), kind="genesis", fields={}
    )
    with log.open("wb") as fh:
        fh.write(good.line)
        fh.write(b'{"payload": "' + b"A" * (3 * declog.MAX_LINE_BYTES) + b'"}\n')
        fh.write(good.line)
    content = declog.read_log(log)
    assert len(content.lines) == 3
    giant = content.lines[1]
    assert giant.error is not None
    assert "longer than any entry" in giant.error
    assert giant.data == b""  # nothing of it kept


@needs_fifo
def test_a_fifo_named_like_a_log_does_not_hang_verify(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    (root / "logs").mkdir()
    os.mkfifo(root / "logs" / "trap.dlog")
    proc = twinreview("verify", str(root), "--json")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr


def test_time_limited_allowed_signers_lines_are_refused() -> None:
    key = SigningKey.generate().public.openssh()
    signers, problems = parse_allowed_signers(
        f'a@x valid-after="20260101",namespaces="twinreview-*" {key}\n'
        f'b@x valid-before="20270101" {key}\n'
        f"c@x {key}\n"
    )
    assert [s.principals for s in signers] == ["c@x"]
    assert len(problems) == 2
    assert all("not supported" in p for p in problems)


def test_terminal_escapes_from_the_workspace_are_shown_not_obeyed(tmp_path: Path) -> None:
    from decision_helpers import T0, decider, enroll, reviewer
    from twinreview.core.workspace import Workspace

    root = build_workspace(tmp_path / "ws")
    ava = reviewer(tmp_path / "d", "ava@example.com", "model")
    enroll(root, ava, ("ava",))
    forged = "\x1b[2K\rcleared   assets/ava/look1.jpg  approved by model, agent\u202e\ncleared x"
    decider(ava, T0).decide(
        Workspace.open(root), "assets/ava/look1.jpg", "reject", reasons=["other"], note=forged
    )
    (root / "logs" / "evil\x1b[31m.dlog").write_bytes(b"not a log\n")
    for command in (("status", str(root)), ("verify", str(root))):
        proc = twinreview(*command)
        assert "\x1b" not in proc.stdout + proc.stderr, command
        assert "\u202e" not in proc.stdout + proc.stderr, command
    status = twinreview("status", str(root))
    assert "\\x1b[2K" in status.stdout  # the note is there, harmless
    assert "\\ncleared x" in status.stdout  # and its newline cannot fake a line of its own
    assert not any(line.startswith("cleared x") for line in status.stdout.splitlines())
    verify = twinreview("verify", str(root))
    assert "evil\\x1b[31m.dlog" in verify.stdout
