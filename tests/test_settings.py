"""Workspace settings: parsed once when the workspace opens, frozen, one-line errors."""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path

import pytest

from decision_helpers import build_workspace, owner_of, roster_service
from twinreview.core.disclosure.model import Verdict
from twinreview.core.disclosure.policy import DisclosurePolicy
from twinreview.core.findings import Severity
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR
from twinreview.core.settings import SettingsError, WorkspaceSettings, settings_from_config
from twinreview.core.similarity.match import SimilarityThresholds
from twinreview.core.workspace import Workspace, WorkspaceError, read_file_config
from twinreview.services.roster_admin import RosterAdminError
from wsbuild import make_workspace


def test_defaults_without_tables() -> None:
    settings = settings_from_config({})
    assert settings == WorkspaceSettings()
    assert settings.similarity == SimilarityThresholds()
    assert settings.severity("near_copy_of_reference") is Severity.BLOCK
    assert settings.severity("duplicate_in_batch") is Severity.INFO
    assert settings.severity("likeness_unconfirmed") is Severity.WARN
    assert settings.disclosure.is_approvable(Verdict.PARTIAL)


def test_every_table_is_parsed_into_typed_frozen_values() -> None:
    settings = settings_from_config(
        {
            "similarity": {
                "strong": 6,
                "severity": {"duplicate_in_batch": "warn"},
                "likeness": {"enabled": False},
            },
            "disclosure": {"approvable": ["disclosed"]},
        }
    )
    assert settings.similarity.strong == 6
    assert settings.severity("duplicate_in_batch") is Severity.WARN
    assert settings.likeness.enabled is False
    assert not settings.disclosure.is_approvable("partial")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.similarity = SimilarityThresholds()  # type: ignore[misc]
    # The scan sends its result (and so the workspace) from a child process to the app.
    assert pickle.loads(pickle.dumps(settings)) == settings


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[similarity]\nstong = 8\n",
            r"^twinreview\.toml: unknown key\(s\) in \[similarity\]: stong",
        ),
        ("[similarity]\nstrong = 99\n", r"^twinreview\.toml: similarity\.strong must be between"),
        ("similarity = 3\n", r"^twinreview\.toml: \[similarity\] must be a table"),
        (
            '[similarity.severity]\nduplicate_in_batch = "loud"\n',
            r"^twinreview\.toml: \[similarity\.severity\] duplicate_in_batch: unknown severity",
        ),
        ("[similarity.likeness]\nthreshold = 5\n", r"^twinreview\.toml: \[similarity\.likeness\]"),
        ("[disclosure]\ncolour = 1\n", r"^twinreview\.toml: unknown key disclosure\.colour"),
    ],
)
def test_a_typo_fails_when_the_workspace_opens_in_one_line(
    tmp_path: Path, toml: str, message: str
) -> None:
    root = make_workspace(tmp_path / "ws", toml=toml)
    with pytest.raises(WorkspaceError, match=message) as info:
        Workspace.open(root)
    assert "\n" not in str(info.value)
    _, file_config = read_file_config(root)
    with pytest.raises(SettingsError, match=message):
        settings_from_config(file_config)


def test_the_signed_policy_is_what_opens(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    owner_of(root)
    ws = Workspace.open(root)
    assert ws.settings.disclosure.is_approvable("partial")
    # An unsigned edit of the file changes nothing, a typo in it included.
    (root / "twinreview.toml").write_text("[similarity]\nstong = 8\n")
    assert Workspace.open(root).settings == ws.settings
    (root / "twinreview.toml").write_text('[disclosure]\napprovable = ["disclosed"]\n')
    assert Workspace.open(root).settings == ws.settings
    roster_service(owner_of(root)).set_policy(root)
    signed = Workspace.open(root)
    assert not signed.settings.disclosure.is_approvable("partial")
    # The old workspace object sees the newly signed policy through the roster as it is now.
    now = SignedRoster.load(root / ROSTER_DIR)
    assert ws.settings_under(now) == signed.settings
    assert signed.settings_under(now) is signed.settings


def test_an_invalid_policy_is_never_signed(tmp_path: Path) -> None:
    root = build_workspace(tmp_path / "ws")
    owner_of(root)
    before = Workspace.open(root).roster.head
    (root / "twinreview.toml").write_text("[similarity]\nstong = 8\n")
    with pytest.raises(RosterAdminError, match=r"^twinreview\.toml: unknown key"):
        roster_service(owner_of(root)).set_policy(root)
    assert Workspace.open(root).roster.head == before


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"disclosure": {"label": ""}}, "disclosure.label must be a file path"),
        ({"disclosure": {"colour": 1}}, "unknown key disclosure.colour"),
        ({"similarity": {"strong": 99}}, "similarity.strong must be between"),
    ],
)
def test_each_message_names_its_source_once(table: dict[str, object], message: str) -> None:
    """The source (the file, or the signed policy) is named once, by the one function that
    knows it: a table parser says what is wrong, never where the table came from."""
    source = "the signed policy (roster/roster.dlog)"
    with pytest.raises(SettingsError) as info:
        settings_from_config(table, source=source)
    text = str(info.value)
    assert text.startswith(f"{source}: {message}"), text
    assert "twinreview.toml" not in text
    parse = (
        DisclosurePolicy.from_config
        if "disclosure" in table
        else lambda t: SimilarityThresholds.from_config(t["similarity"])
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        parse(table)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('label = "brand/label.png"', "disclosure.label: cannot read brand/label.png"),
        ('label = "brand/label.png"', "disclosure.label: brand/label.png: "),
        ('trust_anchors = ["trust/ca.pem"]', "disclosure.trust_anchors: cannot read trust/ca.pem"),
        ('trust_anchors = ["trust/ca.pem"]', "disclosure.trust_anchors: trust/ca.pem holds no"),
    ],
)
def test_a_file_the_signed_policy_names_is_reported_under_the_signed_policy(
    tmp_path: Path, table: str, message: str
) -> None:
    """The files the disclosure policy names are read from the folder: when one cannot be used,
    the message names where the policy in force came from, never a file that does not rule."""
    from twinreview.core.disclosure import DisclosureConfigError
    from twinreview.services.disclosure import DisclosureService

    root = build_workspace(tmp_path / "ws")
    owner_of(root)
    (root / "twinreview.toml").write_text(f"[disclosure]\n{table}\n")
    roster_service(owner_of(root)).set_policy(root)
    name = table.split('"')[1]
    if "holds no" in message or message.endswith(": "):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"not a certificate, not an image")
    (root / "twinreview.toml").write_text("")  # the file says nothing now: the signed policy rules
    ws = Workspace.open(root)
    assert ws.settings_source == "the signed policy (roster/roster.dlog)"
    with pytest.raises(DisclosureConfigError) as info:
        DisclosureService.for_workspace(ws)
    assert str(info.value).startswith(f"{ws.settings_source}: {message}"), str(info.value)
    # Without a signed roster, the file rules and is named.
    plain = make_workspace(tmp_path / "plain", toml=f"[disclosure]\n{table}\n")
    if (root / name).exists():
        (plain / name).parent.mkdir(parents=True, exist_ok=True)
        (plain / name).write_bytes((root / name).read_bytes())
    with pytest.raises(DisclosureConfigError, match=f"^twinreview\\.toml: {re.escape(message)}"):
        DisclosureService.for_workspace(Workspace.open(plain))
