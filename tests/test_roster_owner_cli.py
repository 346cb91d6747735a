"""The owner's roster commands: a key given as the identity's whole line, who set the policy.

``roster add --key`` takes the line the app's identity dialog copies (``principal
namespaces="twinreview-*" ssh-ed25519 AAAA...``) as well as a bare ``ssh-ed25519`` key; the app's
"Add person" screen reads it with the same parser
(:func:`twinreview.core.roster.keyline.parse_key_line`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cert_helpers import _cert
from decision_helpers import MemoryKeyring
from twinreview.cli import roster_cmd
from twinreview.cli.main import run_command
from twinreview.core.logs.sshsig import SigningKey
from twinreview.core.roster.keyline import KeyLineError, parse_key_line
from twinreview.core.roster.log import SignedRoster
from twinreview.services.keys import IdentityStore, KeyService, KeyStore
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import TrustStore, Verifier


def _keys(home: Path, principal: str, role: str, name: str) -> KeyService:
    keys = KeyService(KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(home))
    keys.init(principal, name, role)
    return keys


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twinreview")
    roster_cmd.register(parser.add_subparsers(dest="command"))
    return parser


def _run(argv: list[str], keys: KeyService) -> int:
    args = _parser().parse_args(argv)
    device: Callable[..., RosterService] = lambda need_key=True: RosterService(  # noqa: E731
        keys if need_key else None, TrustStore.default(), Verifier.default()
    )
    args.service_factory = device
    return run_command(args.func, args)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    for mid in ("ana", "bea"):
        (root / "models" / mid / "references").mkdir(parents=True)
    return root


@pytest.fixture
def owner(tmp_path: Path, ws: Path) -> KeyService:
    keys = _keys(tmp_path / "owner", "owner@brand.example", "brand", "Olga Owner")
    assert _run(["init", str(ws), "--name", "Spring"], keys) == 0
    return keys


# -- the parser ---------------------------------------------------------------------------------


def test_parse_key_line_takes_the_identity_line_and_a_bare_key(tmp_path: Path) -> None:
    sam = _keys(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    ident = sam.current()
    assert ident is not None
    line = ident.allowed_signers_line()
    assert line.startswith('sam@agency.example namespaces="twinreview-*" ssh-ed25519 ')
    parsed = parse_key_line(line)
    assert parsed.principal == "sam@agency.example"
    assert parsed.key == ident.public_key
    # Pasted with the white space a mail client or a chat adds around it.
    assert parse_key_line(f"\n  {line}  \r\n").key == ident.public_key
    bare = parse_key_line(ident.public_key.openssh("sam laptop"))
    assert bare.principal is None and bare.key == ident.public_key


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no key"),
        ("   \n ", "no key"),
        ("hello", "not a key"),
        ("ssh-rsa AAAAB3NzaC1yc2E", "ssh-ed25519"),
        ('x@y.z namespaces="git" ssh-rsa AAAAB3NzaC1yc2E', "ssh-ed25519"),
        ("ssh-ed25519 not*base64", "not a key"),
        ('*@brand.example namespaces="twinreview-*" {key}', "one person"),
        ('a@x.example,b@x.example namespaces="twinreview-*" {key}', "one person"),
        ("x@y.z cert-authority {key}", "certificate authority"),
        ("{key}\n{key}", "one key"),
    ],
)
def test_parse_key_line_refuses_what_is_not_one_persons_key(text: str, words: str) -> None:
    key = SigningKey.generate().public.openssh()
    with pytest.raises(KeyLineError) as err:
        parse_key_line(text.format(key=key))
    message = str(err.value)
    assert words in message
    assert "\n" not in message and "--" not in message and "twinreview " not in message


# -- roster add --key ---------------------------------------------------------------------------


def test_roster_add_takes_the_line_the_identity_dialog_copies(
    tmp_path: Path, ws: Path, owner: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    sam = _keys(tmp_path / "sam", "sam@agency.example", "agent", "Sam")
    ident = sam.current()
    assert ident is not None
    line = ident.allowed_signers_line()
    argv = ["roster", "add", str(ws), "--principal", "sam@agency.example", "--key", line]
    assert _run([*argv, "--role", "agent", "--model", "ana"], owner) == 0, capsys.readouterr()
    assert ident.public_key.fingerprint in capsys.readouterr().out
    state = SignedRoster.load(ws / "roster").current
    assert state is not None
    assert state.signer_allowed("sam@agency.example", ident.public_key)


def test_roster_add_takes_the_principal_from_the_line(
    tmp_path: Path, ws: Path, owner: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    kim = _keys(tmp_path / "kim", "kim@brand.example", "brand", "Kim")
    ident = kim.current()
    assert ident is not None
    argv = ["roster", "add", str(ws), "--key", ident.allowed_signers_line(), "--role", "brand"]
    assert _run(argv, owner) == 0, capsys.readouterr()
    state = SignedRoster.load(ws / "roster").current
    assert state is not None and state.signer_allowed("kim@brand.example", ident.public_key)


def test_roster_add_refuses_a_line_for_someone_else(
    tmp_path: Path, ws: Path, owner: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    kim = _keys(tmp_path / "kim", "kim@brand.example", "brand", "Kim")
    ident = kim.current()
    assert ident is not None
    argv = [
        "roster", "add", str(ws), "--principal", "mallory@brand.example",
        "--key", ident.allowed_signers_line(), "--role", "brand",
    ]  # fmt: skip
    assert _run(argv, owner) == 2
    err = capsys.readouterr().err
    assert err.startswith("twinreview: ") and err.count("\n") == 1
    assert "kim@brand.example" in err and "mallory@brand.example" in err
    state = SignedRoster.load(ws / "roster").current
    assert state is not None and "mallory@brand.example" not in state.persons
    # A bare key names nobody: --principal is needed.
    bare = ["roster", "add", str(ws), "--key", ident.public_key.openssh(), "--role", "brand"]
    assert _run(bare, owner) == 2
    assert "--principal" in capsys.readouterr().err


# -- roster show --------------------------------------------------------------------------------


def test_roster_show_says_who_set_the_policy(
    tmp_path: Path, ws: Path, owner: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _run(["roster", "show", str(ws)], owner) == 0
    out = capsys.readouterr().out
    # init signs no table from an empty twinreview.toml: the defaults apply, and show says so.
    assert "policy: none signed" in out

    (ws / "twinreview.toml").write_text('[disclosure]\napprovable = ["disclosed"]\n')
    assert _run(["roster", "policy", str(ws)], owner) == 0
    capsys.readouterr()
    assert _run(["roster", "show", str(ws)], owner) == 0
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if x.startswith("policy:")]
    assert "set by Olga Owner <owner@brand.example>" in line
    assert "roster entry" in line
    assert "AI disclosure a reviewer may approve: fully disclosed" in out
    # An unsigned edit of the file changes nothing, and show says that the file differs.
    (ws / "twinreview.toml").write_text('[disclosure]\napprovable = ["disclosed", "missing"]\n')
    assert _run(["roster", "show", str(ws)], owner) == 0
    out = capsys.readouterr().out
    assert "twinreview.toml differs from the signed policy" in out
    data_args = ["roster", "show", str(ws), "--json"]
    assert _run(data_args, owner) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["policy"]["set_by"] == "owner@brand.example"


def test_roster_show_does_not_call_a_signed_trust_anchor_a_difference(
    ws: Path, owner: KeyService, capsys: pytest.CaptureFixture[str]
) -> None:
    pem, _ = _cert(ca=True, eku=None, not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=9))
    (ws / "trust").mkdir()
    (ws / "trust" / "ca.pem").write_bytes(pem)
    (ws / "twinreview.toml").write_text('[disclosure]\ntrust_anchors = ["trust/ca.pem"]\n')
    assert _run(["roster", "policy", str(ws)], owner) == 0
    capsys.readouterr()
    assert _run(["roster", "show", str(ws)], owner) == 0
    assert "differs" not in capsys.readouterr().out
    # The file names the same anchor, but someone swapped the certificate it holds: signing the
    # file again would change the policy, so it differs.
    other, _ = _cert(ca=True, eku=None, not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=9))
    (ws / "trust" / "ca.pem").write_bytes(other)
    assert _run(["roster", "show", str(ws)], owner) == 0
    assert "twinreview.toml differs from the signed policy" in capsys.readouterr().out
