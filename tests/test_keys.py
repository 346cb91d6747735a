"""Keys: the seed only in an allow-listed keyring; identity file public only; keys/roster CLI."""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null

from decision_helpers import MemoryKeyring
from twinreview.cli import keys_cmd, roster_cmd, verify_cmd
from twinreview.cli.main import run_command
from twinreview.core.declog import LogWriter
from twinreview.core.roster import Roster
from twinreview.core.sshsig import NS_ENTRY, SigningKey
from twinreview.services.keys import (
    IdentityStore,
    KeyringRefused,
    KeysError,
    KeyService,
    KeyStore,
    check_backend,
)


class _FakeAlt(KeyringBackend):
    priority = -1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("must never be called")

    def delete_password(self, service: str, username: str) -> None:
        return None


# What keyrings.alt's plaintext backend looks like to the allow-list.
_FakeAlt.__module__ = "keyrings.alt.file"
_FakeAlt.__qualname__ = "PlaintextKeyring"


@pytest.fixture
def memory() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def service(memory: MemoryKeyring, tmp_path: Path) -> KeyService:
    return KeyService(
        KeyStore(memory, allow_untrusted_backend=True), IdentityStore(tmp_path / "config")
    )


def _parser(*modules: object) -> argparse.ArgumentParser:
    # Only this helper's commands: other subcommands are tested (and may be mid-edit) elsewhere.
    parser = argparse.ArgumentParser(prog="twinreview")
    sub = parser.add_subparsers(dest="command")
    for module in modules:
        module.register(sub)  # type: ignore[attr-defined]
    return parser


@pytest.mark.parametrize(
    "backend", [null.Keyring(), fail.Keyring(), _FakeAlt(), MemoryKeyring()], ids=repr
)
def test_insecure_backends_are_refused(backend: KeyringBackend) -> None:
    with pytest.raises(KeyringRefused) as err:
        check_backend(backend)
    message = str(err.value)
    assert type(backend).__qualname__ in message
    assert "PYTHON_KEYRING_BACKEND" in message or "Secret Service" in message
    with pytest.raises(KeyringRefused):
        KeyStore(backend)


def test_keyrings_alt_message_says_uninstall() -> None:
    with pytest.raises(KeyringRefused, match=r"uninstall keyrings\.alt"):
        check_backend(_FakeAlt())


def test_chainer_is_unwrapped_to_a_real_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    real = SecretService.Keyring()
    chain = chainer.ChainerBackend()
    # The plaintext member comes first, as keyring would order it when keyrings.alt wins.
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [_FakeAlt(), real])
    assert check_backend(chain) is real
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [_FakeAlt(), null.Keyring()])
    with pytest.raises(KeyringRefused, match="chain"):
        check_backend(chain)


def test_real_backends_are_allowed() -> None:
    backend = SecretService.Keyring()
    assert check_backend(backend) is backend


def test_init_puts_the_seed_only_in_the_keyring(
    service: KeyService, memory: MemoryKeyring, tmp_path: Path
) -> None:
    identity = service.init("ana@example.com", "Ana Example", "model")
    assert identity.role == "model" and identity.display_name == "Ana Example"
    ((svc, user), secret) = next(iter(memory.items.items()))
    assert svc == "twinreview" and identity.public_key.fingerprint in user
    seed = base64.b64decode(secret)
    assert SigningKey.from_seed(seed).public == identity.public_key
    config_files = list((tmp_path / "config").rglob("*"))
    assert [p.name for p in config_files] == ["identity.toml"]
    stored = config_files[0].read_bytes()
    assert secret.encode() not in stored and seed not in stored
    assert identity.public_key.openssh().encode() in stored

    loaded, key = service.signer()
    assert loaded == identity and key.public == identity.public_key
    assert identity.allowed_signers_line() == (
        f'ana@example.com namespaces="twinreview-*" {identity.public_key.openssh()}'
    )


def test_init_refuses_a_second_identity_and_bad_input(service: KeyService) -> None:
    with pytest.raises(KeysError, match="role"):
        service.init("ana@example.com", "Ana", "boss")
    with pytest.raises(KeysError, match="spaces"):
        service.init("ana example", "Ana", "model")
    service.init("ana@example.com", "Ana", "model")
    with pytest.raises(KeysError, match="already has an identity"):
        service.init("ana@example.com", "Ana", "model")


def test_missing_seed_is_a_clear_error(service: KeyService, memory: MemoryKeyring) -> None:
    with pytest.raises(KeysError, match="keys init"):
        service.signer()
    service.init("ana@example.com", "Ana", "model")
    memory.items.clear()
    with pytest.raises(KeysError, match="no private key"):
        service.signer()


def test_keystore_rejects_non_seed_entries(memory: MemoryKeyring) -> None:
    store = KeyStore(memory, allow_untrusted_backend=True)
    memory.set_password("twinreview", "ed25519-seed SHA256:x", "not a seed")
    with pytest.raises(KeysError, match="not an Ed25519 seed"):
        store.load_seed("SHA256:x")


def test_identity_store_default_honours_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWINREVIEW_CONFIG_DIR", str(tmp_path / "cfg"))
    assert IdentityStore.default().path == tmp_path / "cfg" / "identity.toml"


def test_cli_keys_init_and_show(service: KeyService, capsys: pytest.CaptureFixture[str]) -> None:
    parser = _parser(keys_cmd)
    args = parser.parse_args(
        ["keys", "init", "--principal", "ana@example.com", "--name", "Ana", "--role", "model"]
    )
    assert keys_cmd.cmd_init(args, service) == 0
    out, err = capsys.readouterr()
    identity = service.current()
    assert identity is not None
    assert out.strip() == identity.allowed_signers_line()
    assert identity.public_key.fingerprint in err
    assert keys_cmd.cmd_init(args, service) == 2
    assert "already has an identity" in capsys.readouterr().err

    show = parser.parse_args(["keys", "show", "--json"])
    assert keys_cmd.cmd_show(show, service.identities, service.keystore) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["principal"] == "ana@example.com" and data["private_key"] == "present"
    # Without a usable keyring the public part is still shown, and the exit code says so.
    text = parser.parse_args(["keys", "show"])
    assert keys_cmd.cmd_show(text, service.identities, None, "refusing keyring backend X") == 1
    out, err = capsys.readouterr()
    assert "private key: missing" in out and "refusing keyring backend X" in err


def test_cli_show_without_identity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser(keys_cmd).parse_args(["keys", "show"])
    assert keys_cmd.cmd_show(args, IdentityStore(tmp_path), None) == 2
    assert "keys init" in capsys.readouterr().err


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "models" / "ana" / "references").mkdir(parents=True)
    (ws / "models" / "bea" / "references").mkdir(parents=True)
    return ws


def test_cli_roster_add_self_and_other(
    service: KeyService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path)
    parser = _parser(roster_cmd, verify_cmd)
    args = parser.parse_args(["roster", "add", str(ws), "--self", "--model", "ana"])
    assert roster_cmd.cmd_add(args, service.identities) == 2  # no identity yet
    assert "keys init" in capsys.readouterr().err
    identity = service.init("ana@example.com", "Ana", "model")
    assert roster_cmd.cmd_add(args, service.identities) == 0
    assert "allowed_signers: added" in capsys.readouterr().out
    assert roster_cmd.cmd_add(args, service.identities) == 0
    assert "nothing to do" in capsys.readouterr().out
    wrong = parser.parse_args(["roster", "add", str(ws), "--self", "--role", "agent"])
    assert roster_cmd.cmd_add(wrong, service.identities) == 2

    bob = SigningKey.generate()
    other = parser.parse_args(
        ["roster", "add", str(ws), "--principal", "bob@agency.example", "--key",
         bob.public.openssh("bob laptop"), "--role", "agent", "--model", "ana", "--model", "bea"]
    )  # fmt: skip
    assert roster_cmd.cmd_add(other, service.identities) == 0
    roster = Roster.load(ws / "roster")
    assert roster.problems == []
    assert roster.signer_allowed("ana@example.com", identity.public_key, NS_ENTRY)
    assert roster.signer_allowed("bob@agency.example", bob.public, NS_ENTRY)
    person = roster.person("bob@agency.example")
    assert person is not None and person.models == ("ana", "bea") and person.role == "agent"

    for bad in (
        ["--principal", "x@y.z", "--key", "ssh-rsa AAAA", "--role", "brand"],
        ["--principal", "x@y.z", "--role", "brand"],
        ["--principal", "x@y.z", "--key", bob.public.openssh(), "--role", "brand"],
        ["--self", "--model", "nobody"],
    ):
        capsys.readouterr()
        code = roster_cmd.cmd_add(
            parser.parse_args(["roster", "add", str(ws), *bad]), service.identities
        )
        assert code == 2
        assert capsys.readouterr().err.startswith("twinreview: ")
    not_ws = parser.parse_args(["roster", "add", str(tmp_path / "nope"), "--self"])
    assert run_command(lambda a: roster_cmd.cmd_add(a, service.identities), not_ws) == 2


def test_cli_verify(
    service: KeyService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path)
    parser = _parser(roster_cmd, verify_cmd)
    service.init("ana@example.com", "Ana", "model")
    roster_cmd.cmd_add(
        parser.parse_args(["roster", "add", str(ws), "--self", "--model", "ana"]),
        service.identities,
    )
    identity, key = service.signer()
    writer = LogWriter.for_workspace(ws, key, identity.principal, identity.role)
    writer.append("decision", {"decision": "approve"})
    capsys.readouterr()
    assert verify_cmd.run(parser.parse_args(["verify", str(ws)])) == 0
    assert "all good" in capsys.readouterr().out
    with writer.path.open("ab") as fh:
        fh.write(b"{")
    assert verify_cmd.run(parser.parse_args(["verify", str(ws), "--json"])) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["problems"] == [
        {
            "file": writer.path.relative_to(ws.resolve()).as_posix(),
            "seq": 2,
            "line": 3,
            "kind": "torn_tail",
            "message": data["problems"][0]["message"],
        }
    ]
    assert verify_cmd.run(parser.parse_args(["verify", str(ws)])) == 1
    assert "torn_tail" in capsys.readouterr().out
    assert run_command(verify_cmd.run, parser.parse_args(["verify", str(tmp_path / "nope")])) == 2
