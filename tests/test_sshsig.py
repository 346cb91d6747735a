"""SSHSIG: our signatures verify with the real ssh-keygen and ssh-keygen's verify with ours."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from twinreview.core.logs.sshsig import (
    NS_ENTRY,
    NS_LOG,
    NS_ROSTER,
    SigningKey,
    SshPublicKey,
    SshsigError,
    SshSignature,
    sign,
    verify,
)


def _need_ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        msg = "ssh-keygen (OpenSSH >= 8.1) is needed for the interoperability tests"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


@pytest.fixture
def ssh_keygen() -> str:
    return _need_ssh_keygen()


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.from_seed(bytes(range(32)))


def _openssh_private(key: SigningKey) -> bytes:
    """The key as an unencrypted OpenSSH private key file, for ssh-keygen to sign with."""
    return Ed25519PrivateKey.from_private_bytes(key.seed).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )


def _keyfiles(tmp_path: Path, key: SigningKey) -> Path:
    priv = tmp_path / "id_ed25519"
    priv.write_bytes(_openssh_private(key))
    priv.chmod(0o600)
    (tmp_path / "id_ed25519.pub").write_text(key.public.openssh("test") + "\n")
    return priv


def _allowed_signers(tmp_path: Path, key: SigningKey, principal: str = "ana@example.com") -> Path:
    path = tmp_path / "allowed_signers"
    path.write_text(f'{principal} namespaces="twinreview-*" {key.public.openssh()}\n')
    return path


def _ssh_verify(
    exe: str, signers: Path, principal: str, ns: str, sig: Path, data: bytes
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [exe, "-Y", "verify", "-f", str(signers), "-I", principal, "-n", ns, "-s", str(sig)],
        input=data,
        capture_output=True,
        check=False,
    )


@pytest.mark.parametrize("ns", [NS_ENTRY, NS_LOG, NS_ROSTER])
@pytest.mark.parametrize("data", [b"", b"hello\n", bytes(range(256)) * 300])
def test_ours_verifies_with_ssh_keygen(
    tmp_path: Path, ssh_keygen: str, key: SigningKey, ns: str, data: bytes
) -> None:
    sig = tmp_path / "data.sig"
    sig.write_text(sign(key, data, ns))
    signers = _allowed_signers(tmp_path, key)
    good = _ssh_verify(ssh_keygen, signers, "ana@example.com", ns, sig, data)
    assert good.returncode == 0, good.stderr
    assert b"Good" in good.stdout
    # The same signature must fail for other data and for another namespace.
    bad = _ssh_verify(ssh_keygen, signers, "ana@example.com", ns, sig, data + b"x")
    assert bad.returncode != 0
    other_ns = NS_LOG if ns != NS_LOG else NS_ENTRY
    assert _ssh_verify(ssh_keygen, signers, "ana@example.com", other_ns, sig, data).returncode != 0


def test_ssh_keygen_signature_verifies_with_ours(
    tmp_path: Path, ssh_keygen: str, key: SigningKey
) -> None:
    priv = _keyfiles(tmp_path, key)
    data_file = tmp_path / "data"
    data = b"approve assets/ana/look1.png\n" * 50
    data_file.write_bytes(data)
    subprocess.run(
        [ssh_keygen, "-Y", "sign", "-f", str(priv), "-n", NS_ENTRY, str(data_file)],
        check=True,
        capture_output=True,
    )
    armored = (tmp_path / "data.sig").read_text()
    assert verify(armored, data, NS_ENTRY) == key.public
    with pytest.raises(SshsigError, match="does not match"):
        verify(armored, data[:-1], NS_ENTRY)
    with pytest.raises(SshsigError, match="namespace"):
        verify(armored, data, NS_LOG)
    # Our encoder reproduces ssh-keygen's armor byte for byte (Ed25519 is deterministic).
    assert sign(key, data, NS_ENTRY) == armored


def test_fingerprint_matches_ssh_keygen(tmp_path: Path, ssh_keygen: str, key: SigningKey) -> None:
    pub = tmp_path / "k.pub"
    pub.write_text(key.public.openssh() + "\n")
    out = subprocess.run(
        [ssh_keygen, "-l", "-f", str(pub)], check=True, capture_output=True, text=True
    ).stdout
    assert out.split()[1] == key.public.fingerprint
    assert key.public.fp16 == key.public.fingerprint[7:23].replace("+", "-").replace("/", "_")


def test_public_key_parse_roundtrip(key: SigningKey) -> None:
    text = key.public.openssh("ana laptop")
    assert SshPublicKey.parse(text) == key.public
    assert text.endswith(" ana laptop")
    for bad in ["", "ssh-rsa AAAAB3NzaC1yc2E", "ssh-ed25519 !!!", "ssh-ed25519 AAAA"]:
        with pytest.raises(SshsigError):
            SshPublicKey.parse(bad)


def test_armor_is_wrapped_at_70_columns(key: SigningKey) -> None:
    armored = sign(key, b"x", NS_ENTRY)
    lines = armored.splitlines()
    assert lines[0] == "-----BEGIN SSH SIGNATURE-----"
    assert lines[-1] == "-----END SSH SIGNATURE-----"
    assert all(len(line) == 70 for line in lines[1:-2])
    assert 0 < len(lines[-2]) <= 70


def test_tampered_signatures_are_rejected(key: SigningKey) -> None:
    data = b"payload"
    armored = sign(key, data, NS_ENTRY)
    sig = SshSignature.parse(armored)
    flipped = bytearray(sig.signature)
    flipped[5] ^= 1
    forged = SshSignature(sig.public_key, sig.namespace, sig.hash_algorithm, bytes(flipped))
    with pytest.raises(SshsigError):
        verify(forged.armored(), data, NS_ENTRY)
    # Swapping in another key (an attacker claiming someone else signed) fails too.
    other = SigningKey.generate()
    swapped = SshSignature(other.public, sig.namespace, sig.hash_algorithm, sig.signature)
    with pytest.raises(SshsigError):
        verify(swapped, data, NS_ENTRY)
    # Garbage never raises anything but SshsigError.
    blob = base64.b64encode(sig.blob()[:40]).decode()
    for text in [
        "",
        "hello",
        "-----BEGIN SSH SIGNATURE-----\n!!\n-----END SSH SIGNATURE-----",
        f"-----BEGIN SSH SIGNATURE-----\n{blob}\n-----END SSH SIGNATURE-----",
    ]:
        with pytest.raises(SshsigError):
            verify(text, data, NS_ENTRY)


def test_empty_namespace_refused(key: SigningKey) -> None:
    with pytest.raises(SshsigError):
        sign(key, b"x", "")


def test_seed_roundtrip() -> None:
    key = SigningKey.generate()
    assert SigningKey.from_seed(key.seed).public == key.public
    with pytest.raises(SshsigError):
        SigningKey.from_seed(b"short")
