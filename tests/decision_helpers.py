"""Reviewers with in-memory keyrings and a small workspace, for decision/status tests."""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from collections.abc import Callable
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError
from PIL import Image

from twinreview.core.logs.verify import ACCEPTED_GAP, TORN_TAIL, VIEW_EDITED, Problem, VerifyReport
from twinreview.core.roster.people import Person
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import IdentityStore, KeyService, KeyStore
from twinreview.services.roster_admin import RosterService
from twinreview.services.trust import TrustStore, Verifier
from wsbuild import add_model, make_workspace, pattern, save_jpeg

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
# Problems that are reported but make no decision untrustworthy.
NON_BLOCKING = frozenset({TORN_TAIL, VIEW_EDITED, ACCEPTED_GAP})


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


# One counter for every clock the tests make: a device's entries must never go back in time
# (verification flags that), even when a test builds a new decider for each decision.
_TICKS = itertools.count()


def ticking_clock(start: dt.datetime = T0) -> Callable[[], dt.datetime]:
    """A clock that advances one minute per call across all test clocks (distinct, increasing)."""
    return lambda: start + dt.timedelta(minutes=next(_TICKS))


def reviewer(home: Path, principal: str, role: str, name: str = "") -> KeyService:
    """A reviewer device: its own keyring and config dir under ``home``."""
    keys = KeyService(
        KeyStore(MemoryKeyring(), allow_untrusted_backend=True),
        IdentityStore(home / principal.replace("@", "_at_")),
    )
    keys.init(principal, name or principal.split("@")[0].title(), role)
    return keys


def copy_reviewer(keys: KeyService, move: Callable[[Path], Path]) -> KeyService:
    """The same reviewer device in a copied world (tests/worlds.py): its key in a keyring of its
    own, its identity record at the moved path."""
    backend = keys.keystore.backend
    assert isinstance(backend, MemoryKeyring)
    keyring = MemoryKeyring()
    keyring.items = dict(backend.items)
    return KeyService(
        KeyStore(keyring, allow_untrusted_backend=True),
        IdentityStore(move(keys.identities.path.parent)),
    )


_OWNERS: dict[Path, KeyService] = {}


def roster_service(keys: KeyService | None) -> RosterService:
    """A roster service on this test's user dirs (the autouse fixture isolates them)."""
    return RosterService(keys, TrustStore.default(), Verifier.default(), clock=ticking_clock())


def owner_of(ws_root: Path) -> KeyService:
    """The workspace owner: created (``twinreview init``) on first use, one per workspace."""
    root = ws_root.resolve()
    keys = _OWNERS.get(root)
    if keys is not None and (root / "roster" / "roster.dlog").exists():
        return keys
    keys = reviewer(root.parent / f".{root.name}-owner", "owner@brand.example", "brand", "Owner")
    roster_service(keys).init(root)
    _OWNERS[root] = keys
    return keys


def enroll(
    ws_root: Path,
    keys: KeyService,
    models: tuple[str, ...],
    *,
    consent: bool = True,
) -> None:
    """Put a reviewer on the signed roster for ``models`` (signed by the workspace owner).

    A model also signs her consent (``consent=False`` to leave it out): the ``[consent]`` table
    of her ``model.toml`` when the test wrote one (tests describe a model's wishes there), else
    the defaults (approvals by model and agent, any use, no expiry).
    """
    ident = keys.current()
    assert ident is not None
    owner = owner_of(ws_root)
    roster_service(owner).add_person(
        ws_root,
        Person(ident.principal, ident.display_name, ident.role, models),
        ident.public_key,
    )
    if ident.role == "model" and consent:
        for mid in models:
            sign_consent(ws_root, keys, mid)


def add_device(ws_root: Path, known: KeyService, new: KeyService) -> None:
    """A second device of someone already on the roster: its key is added by a device of theirs
    (a model's keys only ever come from herself)."""
    ident, new_ident = known.current(), new.current()
    assert ident is not None
    assert new_ident is not None
    roster_service(known).add_person(
        ws_root,
        Person(ident.principal, ident.display_name, ident.role, ()),
        new_ident.public_key,
    )


def sign_consent(ws_root: Path, keys: KeyService, model_id: str, **overrides: object) -> None:
    """The model signs her consent, from her model.toml [consent] table plus ``overrides``."""
    toml_path = ws_root / "models" / model_id / "model.toml"
    table = tomllib.loads(toml_path.read_text()).get("consent", {}) if toml_path.exists() else {}
    args: dict[str, object] = {}
    if "required_roles" in table:
        args["require"] = table["required_roles"]
    if "allowed_uses" in table:
        args["uses"] = table["allowed_uses"]
    if "expires" in table:
        exp = table["expires"]
        args["expires"] = exp if isinstance(exp, dt.date) else dt.date.fromisoformat(str(exp))
    args.update(overrides)
    roster_service(keys).consent(ws_root, model_id, **args)  # type: ignore[arg-type]


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


def blocking_problems(report: VerifyReport) -> list[Problem]:
    """The problems that make decisions untrustworthy (not torn tails, not edited views)."""
    return [p for p in report.problems if p.kind not in NON_BLOCKING]
