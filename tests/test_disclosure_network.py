"""Inspecting never touches the network, proven three ways.

1. Python level: socket creation/connection functions are replaced by ones that record and raise.
   This alone proves little, because c2pa's HTTP client lives in Rust and never calls Python's
   ``socket`` module; it guards our own Python code.
2. OS level, with a listener: a file whose XMP points its remote manifest at a TCP port we listen
   on. After inspecting it, no connection may be pending on that port. The control test builds a
   context with the library's default fetch behaviour and shows that the same file DOES produce
   a connection, so the check can fail. Each of the two locks (``verify.remote_manifest_fetch``
   false, ``core.allowed_network_hosts`` empty) is shown to work on its own, which also proves
   both settings keys are spelled as the SDK expects (it ignores unknown keys silently).
3. OS level, with strace: a subprocess inspects every corpus file under ``strace -f -e
   trace=connect``; no AF_INET/AF_INET6 connect() may appear (this also covers OCSP, which the
   Adobe-signed corpus files could trigger). Control: the default context on the listener file
   shows a connect() in the same trace format.
"""

from __future__ import annotations

import io
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import c2pa
import pytest
from PIL import Image, PngImagePlugin

from twinreview.core.disclosure import C2paState, InspectSettings, inspect_bytes
from twinreview.core.disclosure.c2pa_reader import offline_settings, read_c2pa

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "disclosure"


def _xmp_pointing_to(url: str) -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/" '
        f'dcterms:provenance="{url}"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def png_with_remote(url: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", _xmp_pointing_to(url))
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def jpeg_with_remote(url: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 120, 10)).save(buf, "JPEG")
    data = buf.getvalue()
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + _xmp_pointing_to(url).encode()
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + segment + data[2:]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    try:
        yield srv
    finally:
        srv.close()


def _pending(srv: socket.socket, wait: float = 0.3) -> bool:
    """True when a client connected (the kernel queues it even if nobody accepted)."""
    readable, _, _ = select.select([srv], [], [], wait)
    return bool(readable)


def _context(config: dict[str, Any]) -> c2pa.Context:
    settings = c2pa.Settings.from_dict(config)
    try:
        return c2pa.Context(settings=settings)
    finally:
        settings.close()


def test_offline_settings_switch_fetching_off() -> None:
    config = offline_settings()
    assert config["verify"]["remote_manifest_fetch"] is False
    assert config["verify"]["ocsp_fetch"] is False
    assert config["core"]["allowed_network_hosts"] == []
    with_anchors = offline_settings("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n")
    assert with_anchors["verify"] == config["verify"]
    assert "user_anchors" in with_anchors["trust"]


def test_python_socket_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def refuse(name: str) -> Any:
        def _raise(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            raise AssertionError(f"network use through socket.{name}")

        return _raise

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    settings = InspectSettings.offline()
    blobs = [
        png_with_remote("http://example.com/m.c2pa"),
        jpeg_with_remote("https://example.com/m"),
    ]
    if CORPUS.is_dir():
        blobs += [p.read_bytes() for p in sorted(CORPUS.glob("remote_*"))]
    for data in blobs:
        report = inspect_bytes(data, settings=settings)
        assert report.c2pa.state is C2paState.REMOTE_ONLY, report.notes
    assert calls == []


@pytest.mark.parametrize("make", [png_with_remote, jpeg_with_remote])
def test_no_connection_reaches_a_listener(make: Any, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    data = make(f"http://127.0.0.1:{port}/manifest.c2pa")
    report = inspect_bytes(data, settings=InspectSettings.offline())
    assert report.c2pa.state is C2paState.REMOTE_ONLY
    assert report.c2pa.remote_url == f"http://127.0.0.1:{port}/manifest.c2pa"
    assert not _pending(listener)


@pytest.mark.parametrize(
    "config",
    [
        {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}},
        {"core": {"allowed_network_hosts": []}},
    ],
    ids=["fetch-off-alone", "empty-host-list-alone"],
)
def test_each_lock_alone_prevents_the_connection(
    config: dict[str, Any], listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    data = png_with_remote(f"http://127.0.0.1:{port}/m.c2pa")
    report = read_c2pa(data, "image/png", _context(config), trust_configured=False)
    assert report.state is C2paState.REMOTE_ONLY
    assert not _pending(listener)


def test_control_default_fetch_does_connect(listener: socket.socket) -> None:
    """Without our settings the library connects: the listener check above can fail."""
    port = listener.getsockname()[1]
    data = png_with_remote(f"http://127.0.0.1:{port}/m.c2pa")
    accepted: list[Any] = []

    def serve() -> None:
        listener.settimeout(20)
        try:
            conn, addr = listener.accept()
        except OSError:
            return
        accepted.append(addr)
        conn.close()  # no HTTP answer: the reader fails fast instead of waiting

    thread = threading.Thread(target=serve)
    thread.start()
    report = read_c2pa(
        data,
        "image/png",
        _context({"verify": {"remote_manifest_fetch": True}}),
        trust_configured=False,
    )
    thread.join(30)
    assert accepted, "the library did not connect even with fetching on"
    assert report.state is C2paState.REMOTE_ONLY


def _strace_usable() -> str | None:
    if shutil.which("strace") is None:
        return "strace is not installed"
    probe = subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=connect", "-o", os.devnull, "true"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return f"strace cannot trace here: {probe.stderr.decode(errors='replace').strip()}"
    return None


def _traced_connects(tmp_path: Path, code: str, *args: str) -> list[str]:
    log = tmp_path / "strace.log"
    command = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", str(log)]
    proc = subprocess.run(
        [*command, sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = log.read_text(errors="replace").splitlines()
    return [ln for ln in lines if "AF_INET" in ln]


_INSPECT_ALL = """
import sys
from pathlib import Path
from twinreview.core.disclosure import InspectSettings, inspect_bytes
settings = InspectSettings.offline()
for name in sys.argv[1:]:
    report = inspect_bytes(Path(name).read_bytes(), settings=settings)
    print(name, report.c2pa.state.value)
"""


def test_strace_sees_no_inet_connect(tmp_path: Path, listener: socket.socket) -> None:
    reason = _strace_usable()
    if reason:
        pytest.skip(reason)
    port = listener.getsockname()[1]
    crafted = tmp_path / "remote.png"
    crafted.write_bytes(png_with_remote(f"http://127.0.0.1:{port}/m.c2pa"))
    files = [str(crafted)]
    if CORPUS.is_dir():
        files += [str(p) for p in sorted(CORPUS.iterdir()) if p.name != "MANIFEST.tsv"]
    connects = _traced_connects(tmp_path, _INSPECT_ALL, *files)
    assert connects == []
    assert not _pending(listener)


_DEFAULT_FETCH = """
import io, sys, c2pa
data = open(sys.argv[1], "rb").read()
ctx = c2pa.Context(settings=c2pa.Settings.from_dict({"verify": {"remote_manifest_fetch": True}}))
try:
    c2pa.Reader("image/png", io.BytesIO(data), None, ctx)
except c2pa.C2paError as exc:
    print(exc)
"""


def test_strace_control_sees_the_default_connect(tmp_path: Path, listener: socket.socket) -> None:
    reason = _strace_usable()
    if reason:
        pytest.skip(reason)
    port = listener.getsockname()[1]
    crafted = tmp_path / "remote.png"
    crafted.write_bytes(png_with_remote(f"http://127.0.0.1:{port}/m.c2pa"))

    def serve() -> None:
        listener.settimeout(60)
        try:
            conn, _ = listener.accept()
            conn.close()
        except OSError:
            pass

    thread = threading.Thread(target=serve)
    thread.start()
    connects = _traced_connects(tmp_path, _DEFAULT_FETCH, str(crafted))
    thread.join(70)
    assert any(f"sin_port=htons({port})" in ln for ln in connects), connects
