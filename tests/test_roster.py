"""Roster: allowed_signers, people.toml, revocation (plain list and real OpenSSH KRLs)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from twinreview.core.logs.sshsig import NS_ENTRY, SigningKey
from twinreview.core.roster.people import (
    Person,
    Roster,
    RosterError,
    format_allowed_signer,
    match_pattern_list,
    parse_allowed_signers,
    parse_people,
    parse_revoked,
)


def _key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(name.encode()).digest())


ANA = _key("ana").public
BOB = _key("bob").public


def _ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ssh-keygen is required in CI")
        pytest.skip("ssh-keygen not installed")
    return exe


def test_parse_allowed_signers_forms() -> None:
    text = "\n".join(
        [
            "# comment",
            "",
            f'ana@example.com namespaces="twinreview-*" {ANA.openssh()} ana laptop',
            f'"bob@x.org,*@agency.example" {BOB.openssh()}',
            f'carol@x.org cert-authority,namespaces="file" {BOB.openssh()}',
            "broken line",
            "dave@x.org ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ",
        ]
    )
    signers, problems = parse_allowed_signers(text)
    assert [s.line for s in signers] == [3, 4, 5]
    ana, bob, carol = signers
    assert ana.key == ANA and ana.options == {"namespaces": "twinreview-*"}
    assert ana.comment == "ana laptop"
    assert ana.matches("ana@example.com", NS_ENTRY)
    assert not ana.matches("ana@example.com", "git")
    assert not ana.matches("eve@example.com", NS_ENTRY)
    assert bob.options == {} and bob.matches("bob@x.org", "anything")
    assert bob.matches("zed@agency.example", NS_ENTRY)
    assert not carol.matches("carol@x.org", "file")  # CA lines are for certificates only
    assert len(problems) == 1  # the RSA line is skipped (git signing keys may share the file)
    assert problems[0].startswith("allowed_signers line 6")


def test_pattern_lists() -> None:
    assert match_pattern_list("twinreview-entry-v1", "twinreview-*")
    assert match_pattern_list("a@x.org", "b@x.org,a@*")
    assert not match_pattern_list("a@x.org", "*@x.org,!a@x.org")
    assert match_pattern_list("ab", "a?")
    assert not match_pattern_list("a.b", "a[.]b")  # no character classes in OpenSSH patterns


def test_format_allowed_signer_is_accepted_by_ssh_keygen(tmp_path: Path) -> None:
    exe = _ssh_keygen()
    key = _key("ana")
    signers = tmp_path / "allowed_signers"
    signers.write_text(format_allowed_signer("ana@example.com", key.public) + "\n")
    sig = tmp_path / "m.sig"
    sig.write_text(key.sign(b"m", NS_ENTRY))
    found = subprocess.run(
        [exe, "-Y", "find-principals", "-f", str(signers), "-s", str(sig)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "ana@example.com"
    with pytest.raises(RosterError):
        format_allowed_signer("ana example", key.public)


def test_people_toml() -> None:
    text = """
[people."ana@example.com"]
name = "Ana Example"
role = "model"
models = ["ana"]

[people."bob@x.org"]
role = "boss"

[people."carol@x.org"]
role = "brand"
"""
    people, problems = parse_people(text)
    assert people["ana@example.com"] == Person("ana@example.com", "Ana Example", "model", ("ana",))
    assert people["carol@x.org"].display_name == "carol@x.org"
    assert "bob@x.org" not in people
    assert len(problems) == 1 and "boss" in problems[0]
    assert parse_people("[people\n")[1]  # a TOML error is a problem, not an exception


def test_plain_revocation_list() -> None:
    text = f"# lost\n{ANA.openssh('old')}\n\nssh-rsa AAAAB3NzaC1yc2E other\n{BOB.fingerprint}\n"
    revoked = parse_revoked(text.encode())
    assert revoked.is_revoked(ANA)
    assert revoked.is_revoked(BOB)
    assert not revoked.is_revoked(_key("carol").public)
    for bad in [b"SHA256:abc\n", b"nonsense\n", b"\xff\xfe"]:
        with pytest.raises(RosterError):
            parse_revoked(bad)


@pytest.mark.parametrize("spec", ["plain", "key", "sha256", "sha1", "hash"])
def test_krl_agrees_with_ssh_keygen(tmp_path: Path, spec: str) -> None:
    # KRL sections: "plain"/"key" -> explicit keys, "sha256"/"hash" -> SHA256 fingerprints,
    # "sha1" -> SHA1 fingerprints (see ssh-keygen(1), KEY REVOCATION LISTS).
    exe = _ssh_keygen()
    revoked_key, other = _key("ana").public, _key("bob").public
    pub = tmp_path / "revoked.pub"
    pub.write_text(revoked_key.openssh() + "\n")
    other_pub = tmp_path / "other.pub"
    other_pub.write_text(other.openssh() + "\n")
    source = pub
    if spec != "plain":
        source = tmp_path / "spec"
        item = revoked_key.fingerprint if spec == "hash" else revoked_key.openssh()
        source.write_text(f"{spec}: {item}\n")
    krl = tmp_path / "krl"
    made = subprocess.run(
        [exe, "-k", "-f", str(krl), str(source)], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    revoked = parse_revoked(krl.read_bytes())
    for key_file, key in [(pub, revoked_key), (other_pub, other)]:
        query = subprocess.run(
            [exe, "-Q", "-f", str(krl), str(key_file)], capture_output=True, check=False
        )
        assert revoked.is_revoked(key) == (query.returncode != 0), (spec, query.stdout)
    assert revoked.is_revoked(revoked_key)


def test_roster_load_reports_problems_not_exceptions(tmp_path: Path) -> None:
    roster_dir = tmp_path / "roster"
    assert Roster.load(roster_dir).problems == []
    roster_dir.mkdir()
    (roster_dir / "allowed_signers").write_bytes(b"\xff\xfe")
    (roster_dir / "people.toml").write_text("[[[")
    (roster_dir / "revoked").write_bytes(b"SSHKRL\n\0garbage")
    roster = Roster.load(roster_dir)
    assert len(roster.problems) == 3
