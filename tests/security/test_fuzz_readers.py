"""Fuzz the readers of workspace files (issue 12): whatever the bytes, no exception escapes.

Each reader either returns its result or raises only its own documented one-line error; the
examples include well-formed prefixes so that the fuzzing reaches past the first check.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinreview.core.disclosure import DisclosureConfigError, DisclosurePolicy
from twinreview.core.disclosure.xmp import read_xmp
from twinreview.core.logs.log import parse_line, stream_log
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.people import RosterError, parse_allowed_signers, parse_revoked
from twinreview.core.workspace import Workspace, WorkspaceError, read_sidecar

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    b'Iptc4xmpExt:DigitalSourceType="trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>'
)
_PREFIXES = [
    b"",
    b"\xff\xd8\xff\xe1\x01\x00http://ns.adobe.com/xap/1.0/\x00" + _XMP,
    b"\x89PNG\r\n\x1a\n\x00\x00\x01\x00iTXtXML:com.adobe.xmp\x00\x00\x00\x00\x00" + _XMP,
    b"RIFF\x00\x01\x00\x00WEBPXMP \x00\x01\x00\x00" + _XMP,
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;&a;</x>',
    _XMP,
]


@FUZZ
@given(
    prefix=st.sampled_from(_PREFIXES),
    cut=st.integers(min_value=0, max_value=400),
    noise=st.binary(max_size=400),
    fmt=st.sampled_from([None, "jpeg", "png", "webp", "tiff", "heif", "gif"]),
)
def test_xmp_reader(prefix: bytes, cut: int, noise: bytes, fmt: str | None) -> None:
    data = prefix[:cut] + noise if cut < len(prefix) else prefix + noise
    report = read_xmp(data, fmt, sidecar=noise or None)
    assert report is not None


@FUZZ
@given(
    text=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=10), children, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_sidecar_reader(text: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "a.json"
        path.write_bytes(text)
        data, reason = read_sidecar(path)
        assert (data is None) != (reason is None)


_TOML_KEYS = st.sampled_from(
    ["[disclosure]", "[similarity.severity]", "[workspace]", "[disclosure.severity]", ""]
)


@FUZZ
@given(
    header=_TOML_KEYS,
    body=st.text(max_size=200),
    raw=st.binary(max_size=100),
)
def test_workspace_settings_reader(header: str, body: str, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "models").mkdir()
        (root / "twinreview.toml").write_bytes(f"{header}\n{body}\n".encode() + raw)
        message = ""
        try:
            ws = Workspace.open(root)
            DisclosurePolicy.from_config(ws.config)
        except (WorkspaceError, DisclosureConfigError, ValueError) as exc:
            message = str(exc) or "(empty)"
        assert "\n" not in message


_LINE = (
    b'{"payload": "eyJ2IjoxLCJsb2ciOiJTSEEyNTY6eCIsInNlcSI6MCwicHJldiI6bnVsbH0=", '
    b'"sig": "-----BEGIN SSH SIGNATURE-----\\nU1NIU0lH\\n-----END SSH SIGNATURE-----\\n"}\n'
)


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            st.binary(max_size=200),
            st.just(_LINE),
            st.integers(min_value=0, max_value=len(_LINE)).map(lambda n: _LINE[:n]),
        ),
        max_size=6,
    ),
    newline=st.booleans(),
)
def test_log_and_roster_readers(lines: list[bytes], newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if newline else b"")
    for line in data.splitlines(keepends=True):
        parse_line(line, 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.dlog"
        path.write_bytes(data)
        streamed = stream_log(path)
        assert streamed.size == len(data)
        roster = SignedRoster.from_bytes(data)
        assert not roster.ok or roster.states


@FUZZ
@given(text=st.text(max_size=300), raw=st.binary(max_size=200))
def test_roster_text_readers(text: str, raw: bytes) -> None:
    parse_allowed_signers(text)
    for data in (raw, b"SSHKRL\n\x00" + raw, text.encode()):
        message = ""
        try:
            parse_revoked(data)
        except RosterError as exc:
            message = str(exc)
        assert "\n" not in message
