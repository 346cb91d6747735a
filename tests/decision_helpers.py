"""Reviewers with in-memory keyrings and a small workspace, for decision/status tests."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PIL import Image

from twinreview.core.roster import Person, add_to_roster
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import IdentityStore, KeyService, KeyStore
from wsbuild import add_model, make_workspace, pattern, save_jpeg

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


class MemoryKeyring(KeyringBackend):
    """In-memory backend, installed explicitly (never auto-selected: priority < 0)."""

    priority = -1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


def ticking_clock(start: dt.datetime = T0) -> Callable[[], dt.datetime]:
    """A clock that advances one minute per call, so every entry has a distinct time."""
    counter = itertools.count()
    return lambda: start + dt.timedelta(minutes=next(counter))


def reviewer(home: Path, principal: str, role: str, name: str = "") -> KeyService:
    """A reviewer device: its own keyring and config dir under ``home``."""
    keys = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True),
        IdentityStore(home / principal.replace("@", "_at_")),
    )
    keys.init(principal, name or principal.split("@")[0].title(), role)
    return keys


def enroll(ws_root: Path, keys: KeyService, models: tuple[str, ...]) -> None:
    """Put a reviewer on the workspace roster for ``models``."""
    ident = keys.current()
    assert ident is not None
    add_to_roster(
        ws_root / "roster",
        Person(ident.principal, ident.display_name, ident.role, models),
        ident.public_key,
    )


def decider(keys: KeyService, start: dt.datetime = T0) -> DecisionService:
    return DecisionService(keys, clock=ticking_clock(start))


def build_workspace(root: Path, ava_toml: str = "") -> Path:
    """Models ``ava`` and ``ben``, each with one reference and two assets (distinct images)."""
    make_workspace(root)
    add_model(root, "ava", {"ref1.jpg": pattern(1)}, toml=ava_toml or 'display_name = "Ava"\n')
    add_model(root, "ben", {"ref1.jpg": pattern(2)}, toml='display_name = "Ben"\n')
    save_jpeg(pattern(11), root / "assets" / "ava" / "look1.jpg")
    save_jpeg(pattern(12), root / "assets" / "ava" / "spring" / "look2.jpg")
    save_jpeg(pattern(21), root / "assets" / "ben" / "look1.jpg")
    save_jpeg(pattern(22), root / "assets" / "ben" / "look2.jpg")
    return root


def reencode(src: Path, dst: Path, quality: int = 70) -> Path:
    with Image.open(src) as im:
        return save_jpeg(im.copy(), dst, quality=quality)
