"""Keys against a real Secret Service (gnome-keyring in a private D-Bus session).

Runs only when TWINREVIEW_SECRET_SERVICE=1, which CI sets after starting the daemon:

    dbus-run-session -- bash -c '
        export XDG_DATA_HOME=$(mktemp -d)
        eval "$(printf %s ci-pass | gnome-keyring-daemon --unlock --components=secrets)"
        TWINREVIEW_SECRET_SERVICE=1 uv run pytest tests/test_keyring_secret_service.py'

Skipped with that reason otherwise; a failure when CI=true and the variable is unset, so CI cannot
silently lose the only test of the real keyring path.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from twinreview.cli import keys_cmd
from twinreview.core.logs.log import LogWriter
from twinreview.core.logs.verify import verify_workspace
from twinreview.services.keys import IdentityStore, KeyService, KeyStore
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import TrustStore, Verifier


@pytest.fixture(autouse=True)
def _require_secret_service() -> None:
    if os.environ.get("TWINREVIEW_SECRET_SERVICE") == "1":
        return
    msg = (
        "needs a running, unlocked Secret Service: start gnome-keyring-daemon --unlock inside "
        "dbus-run-session and set TWINREVIEW_SECRET_SERVICE=1"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{msg} (CI=true: this test must run in CI)")
    pytest.skip(msg)


def test_system_keyring_is_a_real_secret_service() -> None:
    store = KeyStore.from_system()
    assert store.backend_name in (
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
    )


def test_init_sign_and_verify_with_the_real_keyring(tmp_path: Path) -> None:
    service = KeyService(KeyStore.from_system(), IdentityStore(tmp_path / "cfg"))
    identity = service.init("ci@example.com", "CI Reviewer", "brand")
    try:
        # A fresh service object: the seed must come back from the daemon, not from memory.
        again = KeyService(KeyStore.from_system(), IdentityStore(tmp_path / "cfg"))
        loaded, key = again.signer()
        assert loaded == identity and key.public == identity.public_key
        assert key.seed not in (tmp_path / "cfg" / "identity.toml").read_bytes()
        ws = tmp_path / "ws"
        (ws / "models").mkdir(parents=True)
        # The real keyring signs the roster's first entry (the owner) and a log entry under it.
        roster = RosterService(again, TrustStore.default(), Verifier.default()).init(ws)
        head = roster.head
        assert head is not None
        context = {"ws": roster.workspace_id, "roster": {"seq": head[0], "hash": head[1]}}
        LogWriter.for_workspace(
            ws, key, identity.principal, identity.role, context=lambda: context
        ).append("decision", {"decision": "approve"})
        assert verify_workspace(ws).ok
    finally:
        service.keystore.delete_seed(identity.public_key.fingerprint)
    assert service.keystore.load_seed(identity.public_key.fingerprint) is None


def test_cli_keys_init_uses_the_system_keyring(capsys: pytest.CaptureFixture[str]) -> None:
    # TWINREVIEW_CONFIG_DIR points at a per-test folder (tests/conftest.py).
    parser = argparse.ArgumentParser(prog="twinreview")
    keys_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["keys", "init", "--principal", "cli@example.com", "--name", "CLI", "--role", "agent"]
    )
    assert keys_cmd.run_init(args) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith('cli@example.com namespaces="twinreview-*" ssh-ed25519 ')
    assert keys_cmd.run_show(parser.parse_args(["keys", "show"])) == 0
    assert "private key: present (keyring.backends." in capsys.readouterr().out
    identity = IdentityStore.default().load()
    assert identity is not None
    KeyStore.from_system().delete_seed(identity.public_key.fingerprint)
