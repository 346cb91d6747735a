"""Keys: the seed only in an allow-listed keyring; identity file public only; keys/roster CLI."""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null

from decision_helpers import MemoryKeyring
from twinreview.cli import keys_cmd, roster_cmd, verify_cmd
from twinreview.cli.main import run_command
from twinreview.core.logs.log import LogWriter
from twinreview.core.logs.sshsig import SigningKey
from twinreview.core.roster.log import SignedRoster
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import signing_context
from twinreview.services.keys import (
    IdentityStore,
    KeyringRefused,
    KeysError,
    KeyService,
    KeyStore,
    check_backend,
)
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import SeenStore, TrustStore, Verifier


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
    "backend",
    [null.Keyring(), fail.Keyring(), _FakeAlt(), MemoryKeyring()],
    # The class, not repr(): a repr holds a memory address, and pytest-xdist needs every worker
    # to collect the same test ids.
    ids=lambda backend: f"{type(backend).__module__}.{type(backend).__qualname__}",
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


@pytest.mark.parametrize("preset", [False, True], ids=["unset", "already-secret-service"])
def test_no_dbus_advice_is_never_the_setting_already_made(
    monkeypatch: pytest.MonkeyPatch, preset: bool
) -> None:
    wanted = "keyring.backends.SecretService.Keyring"
    monkeypatch.setattr("sys.platform", "linux")
    if preset:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", wanted)
    else:
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)

    def no_dbus(*_args: object) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.NotSupported: no D-Bus session")

    monkeypatch.setattr(SecretService.Keyring, "set_password", no_dbus)
    store = KeyStore(SecretService.Keyring())
    with pytest.raises(KeysError) as err:
        store.store_seed("SHA256:x", bytes(32))
    message = str(err.value)
    assert "\n" not in message and "D-Bus" in message and "Secret Service" in message
    assert (wanted in message) is not preset


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


def _device(keys: KeyService, home: Path | None = None) -> Callable[..., RosterService]:
    """A ``service_factory`` for the roster commands: this device's keys and records.

    ``home`` gives the device its own pins and rollback record (another person's laptop);
    without it the test's user dirs are used.
    """
    trust = TrustStore(home) if home is not None else TrustStore.default()
    verifier = Verifier(SeenStore(home), trust) if home is not None else Verifier.default()
    return lambda need_key=True: RosterService(keys if need_key else None, trust, verifier)


def _run_roster(
    parser: argparse.ArgumentParser, argv: list[str], device: Callable[..., RosterService]
) -> int:
    args = parser.parse_args(argv)
    args.service_factory = device
    return run_command(args.func, args)


def test_cli_roster_init_join_add_and_refusals(
    service: KeyService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Was: 'roster add --self' wrote the caller into allowed_signers. Now the owner's signed
    # roster decides: --self writes a join request the owner approves; only the owner or an
    # admin can add people (exit 1, one line, otherwise).
    ws = _workspace(tmp_path)
    parser = _parser(roster_cmd, verify_cmd)
    owner = _device(service)
    assert _run_roster(parser, ["init", str(ws)], owner) != 0  # no identity yet
    assert "keys init" in capsys.readouterr().err
    owner_id = service.init("owner@brand.example", "Owner", "brand")
    assert _run_roster(parser, ["init", str(ws), "--name", "Spring"], owner) == 0
    out = capsys.readouterr().out
    assert owner_id.public_key.fingerprint in out
    assert _run_roster(parser, ["init", str(ws)], owner) == 1  # only once
    assert "already" in capsys.readouterr().err

    # Ana, on her own laptop: nothing is signed before she has pinned the owner.
    ana_keys = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True), IdentityStore(tmp_path / "ana")
    )
    ana_identity = ana_keys.init("ana@example.com", "Ana", "model")
    ana = _device(ana_keys, tmp_path / "ana-home")
    join = ["roster", "add", str(ws), "--self", "--model", "ana"]
    assert _run_roster(parser, join, ana) == 1
    assert "twinreview trust" in capsys.readouterr().err
    wrong = ["trust", str(ws), "--fingerprint", ana_identity.public_key.fingerprint]
    assert _run_roster(parser, wrong, ana) == 1
    assert "do not trust" in capsys.readouterr().err
    trust = ["trust", str(ws), "--fingerprint", owner_id.public_key.fingerprint]
    assert _run_roster(parser, trust, ana) == 0
    assert _run_roster(parser, join, ana) == 0
    assert "join request written" in capsys.readouterr().out
    # A join request grants nothing yet, and Ana cannot add herself or anyone else.
    assert _run_roster(parser, ["roster", "show", str(ws), "--json"], ana) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["principal"] for p in data["people"]] == ["owner@brand.example"]
    assert [r["principal"] for r in data["pending"]] == ["ana@example.com"]
    assert data["owner"] == {
        "principal": "owner@brand.example",
        "fingerprint": owner_id.public_key.fingerprint,
    }
    bob = SigningKey.generate()
    add_bob = [
        "roster", "add", str(ws), "--principal", "bob@agency.example", "--key",
        bob.public.openssh("bob laptop"), "--role", "agent", "--model", "ana", "--model", "bea",
    ]  # fmt: skip
    capsys.readouterr()
    assert _run_roster(parser, add_bob, ana) == 1
    err = capsys.readouterr().err
    assert err.startswith("twinreview: ") and err.count("\n") == 1
    assert "not their active key on the roster" in err

    # The owner approves Ana's request; on the roster, she still may not add people.
    assert _run_roster(parser, ["roster", "approve", str(ws), "ana@example.com"], owner) == 0
    capsys.readouterr()
    assert _run_roster(parser, add_bob, ana) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not the owner or an admin" in err
    assert _run_roster(parser, add_bob, owner) == 0
    capsys.readouterr()
    assert _run_roster(parser, ["roster", "show", str(ws), "--json"], owner) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pending"] == [] and data["problems"] == []
    people = {p["principal"]: p for p in data["people"]}
    assert people["ana@example.com"]["keys"] == [ana_identity.public_key.fingerprint]
    assert people["ana@example.com"]["role"] == "model"
    assert people["bob@agency.example"]["models"] == ["ana", "bea"]
    assert people["bob@agency.example"]["role"] == "agent"
    roster = SignedRoster.load(ws / "roster")
    assert roster.ok and roster.current is not None
    assert roster.current.signer_allowed("bob@agency.example", bob.public)
    assert roster.current.signer_allowed("ana@example.com", ana_identity.public_key)

    for bad, code in (
        (["--principal", "x@y.z", "--key", "ssh-rsa AAAA", "--role", "brand"], 2),
        (["--principal", "x@y.z", "--role", "brand"], 2),
        # Bob's key for someone else: the signed roster refuses it.
        (["--principal", "x@y.z", "--key", bob.public.openssh(), "--role", "brand"], 1),
        (["--principal", "x@y.z", "--key", SigningKey.generate().public.openssh(),
          "--role", "agent", "--model", "nobody"], 1),
    ):  # fmt: skip
        capsys.readouterr()
        assert _run_roster(parser, ["roster", "add", str(ws), *bad], owner) == code, bad
        assert capsys.readouterr().err.startswith("twinreview: ")
    assert _run_roster(parser, ["roster", "add", str(tmp_path / "nope"), "--self"], owner) == 2


def test_cli_verify(
    service: KeyService, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = _workspace(tmp_path)
    parser = _parser(roster_cmd, verify_cmd)
    service.init("ana@example.com", "Ana", "model")
    # Was: 'roster add --self'. Now Ana makes the workspace (she is its owner).
    assert _run_roster(parser, ["init", str(ws)], _device(service)) == 0
    identity, key = service.signer()
    context = signing_context(
        Workspace.open(ws), Verifier.default(), TrustStore.default(), key.public
    )
    writer = LogWriter.for_workspace(
        ws, key, identity.principal, identity.role, context=context.fields
    )
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
    assert data["workspace_id"] == SignedRoster.load(ws / "roster").workspace_id
    assert data["owner"]["principal"] == "ana@example.com"
    assert verify_cmd.run(parser.parse_args(["verify", str(ws)])) == 1
    assert "torn_tail" in capsys.readouterr().out
    assert run_command(verify_cmd.run, parser.parse_args(["verify", str(tmp_path / "nope")])) == 2
