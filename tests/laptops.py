"""Separate laptops for attack tests: each its own user folders and its own OS keyring.

A :class:`Laptop` runs the real command line (``twinreview.cli.main.main``) as that computer:
``TWINREVIEW_CONFIG_DIR``, ``TWINREVIEW_DATA_DIR`` and ``TWINREVIEW_CACHE_DIR`` point into its own
home, and ``KeyStore.from_system()`` returns its own in-memory keyring (installed explicitly, as
the real keyring would be). What one laptop pinned, verified or signed is unknown to the others,
as on real machines; only the workspace folder is shared.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from decision_helpers import MemoryKeyring
from twinreview.cli.main import main
from twinreview.core.findings import Finding
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.write import build_roster_line
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionService
from twinreview.services.keys import Identity, IdentityStore, KeyService, KeyStore
from worlds import build_once, rewrite_paths


@dataclass(frozen=True)
class Run:
    """One command: its exit code and what it printed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as JSON."""
        return json.loads(self.out)


class Laptop:
    """One person's computer: a home folder and a keyring of its own."""

    def __init__(self, base: Path, name: str) -> None:
        self.name = name
        self.home = base / name
        self.keyring = MemoryKeyring()

    @contextlib.contextmanager
    def on(self) -> Iterator[None]:
        """Act as this laptop: its user folders and its keyring."""
        with pytest.MonkeyPatch.context() as mp:
            for folder in ("config", "data", "cache"):
                mp.setenv(f"TWINREVIEW_{folder.upper()}_DIR", str(self.home / folder))
            mp.setenv("HOME", str(self.home))
            keyring = self.keyring
            mp.setattr(
                KeyStore,
                "from_system",
                classmethod(lambda cls: cls(keyring, allow_untrusted_backend=True)),
            )
            yield

    @property
    def data(self) -> Path:
        """This laptop's user data folder."""
        return self.home / "data"

    def run(self, *argv: object) -> Run:
        """``twinreview ARGV...`` on this laptop."""
        out, err = io.StringIO(), io.StringIO()
        with self.on(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(a) for a in argv])
        return Run(code, out.getvalue(), err.getvalue())

    def ok(self, *argv: object) -> Run:
        """Run a command that must succeed."""
        done = self.run(*argv)
        assert done.code == 0, (argv, done.err)
        return done

    def keys(self) -> KeyService:
        """The key service as the command line builds it (call inside :meth:`on`)."""
        return KeyService(KeyStore.from_system(), IdentityStore.default())

    def identity(self) -> Identity:
        """This laptop's reviewer identity."""
        with self.on():
            ident = self.keys().current()
        assert ident is not None
        return ident

    @property
    def key_line(self) -> str:
        """The OpenSSH public key."""
        return self.identity().public_key.openssh()

    @property
    def fingerprint(self) -> str:
        """The key's fingerprint."""
        return self.identity().public_key.fingerprint

    def decide(
        self,
        ws: Path,
        asset: str,
        decision: str,
        *,
        reasons: Sequence[str] = (),
        findings: Sequence[Finding] = (),
        override: bool = False,
    ) -> None:
        """Sign one decision through the signing service ``twinreview decide`` uses."""
        if decision == "reject" and not reasons:
            reasons = ("likeness_wrong",)
        with self.on():
            DecisionService(self.keys()).decide(
                Workspace.open(ws),
                asset,
                decision,
                reasons=reasons,
                findings=findings,
                override=override,
            )

    def forge_roster(self, ws: Path, kind: str, fields: dict[str, Any]) -> None:
        """What a hostile writer with a key of their own can do: sign any roster entry with it
        and append it, whether the roster allows it or not."""
        with self.on():
            ident, key = self.keys().signer()
        roster = SignedRoster.load(ws / "roster")
        state = roster.current
        assert state is not None
        _, line = build_roster_line(
            key,
            ident.principal,
            seq=state.seq + 1,
            prev=state.head_hash,
            ts=dt.datetime.now(dt.UTC),
            kind=kind,
            fields=fields,
            workspace_id=roster.workspace_id,
        )
        with (ws / "roster" / "roster.dlog").open("ab") as fh:
            fh.write(line)

    def verify(self, ws: Path, *more: object) -> dict[str, Any]:
        """``verify WS --json`` as a document (its exit code agrees with ``ok``)."""
        done = self.run("verify", ws, "--json", *more)
        doc: dict[str, Any] = done.json()
        assert (done.code == 0) == doc["ok"], (done.code, done.err)
        return doc

    def state(self, ws: Path, asset: str) -> str:
        """The asset's state as ``status --json`` on this laptop says."""
        doc = self.ok("status", ws, "--json").json()
        found = [a for a in doc["assets"] if a["path"] == asset]
        assert found, asset
        return str(found[0]["state"])

    def status(self, ws: Path, asset: str) -> dict[str, Any]:
        """The asset's whole entry of ``status --json``."""
        doc = self.ok("status", ws, "--json").json()
        return next(a for a in doc["assets"] if a["path"] == asset)


def kinds(doc: dict[str, Any]) -> set[str]:
    """The problem kinds a ``verify --json`` document names."""
    return {p["kind"] for p in doc["problems"]}


def messages(doc: dict[str, Any]) -> str:
    """Every problem message of a ``verify --json`` document, joined."""
    return " | ".join(p["message"] for p in doc["problems"])


class Studio:
    """A workspace shared by laptops: the owner's, Ava's (model), Kim's (agent), Ada's (admin).

    ``Ada`` is a brand reviewer the owner made an admin: she may change the roster, but she is
    not Ava and must never be able to speak for her.
    """

    def __init__(self, base: Path, root: Path) -> None:
        self.root = root
        self.owner = Laptop(base, "owner")
        self.ava = Laptop(base, "ava")
        self.kim = Laptop(base, "kim")
        self.ada = Laptop(base, "ada")
        owner = "owner@brand.example"
        self.owner.ok("keys", "init", "--principal", owner, "--name", "Owner", "--role", "brand")
        self.ava.ok("keys", "init", "--principal", AVA, "--name", "Ava", "--role", "model")
        self.kim.ok("keys", "init", "--principal", KIM, "--name", "Kim", "--role", "agent")
        self.ada.ok("keys", "init", "--principal", ADA, "--name", "Ada", "--role", "brand")
        # Her consent names its uses, so each of her images says what it is for, as a brand's
        # pipeline writes it beside the image.
        for image in (root / "assets" / "ava").rglob("*.jpg"):
            sidecar = image.with_suffix(".json")
            if not sidecar.exists():
                sidecar.write_text(json.dumps({"intended_use": "ecommerce"}))
        self.owner.ok("init", root)
        fp = self.owner.fingerprint
        for laptop in (self.ava, self.kim, self.ada):
            laptop.ok("trust", root, "--fingerprint", fp)
        for laptop, principal, role, models in (
            (self.ava, AVA, "model", ["ava"]),
            (self.kim, KIM, "agent", ["ava"]),
            (self.ada, ADA, "brand", []),
        ):
            name = principal.split("@")[0].title()
            who = ["--principal", principal, "--role", role, "--name", name]
            self.owner.ok(
                "roster", "add", root, *who, "--key", laptop.key_line, *model_args(models)
            )
        self.owner.ok("roster", "admin", root, ADA)
        self.ava.ok("consent", root, "--model", "ava", *CONSENT_TERMS)

    @property
    def laptops(self) -> tuple[Laptop, ...]:
        """Every laptop of the team."""
        return (self.owner, self.ava, self.kim, self.ada)

    def copy(self, base: Path, root: Path) -> Studio:
        """This studio on folders of its own: what building it at ``base`` and ``root`` gives.

        The laptops' homes (``base``) and the workspace (``root``) are copied, each keyring's
        items too, and the absolute paths the homes and the workspace record (the folder a
        workspace was pinned in) point at the copies. A test changes its copy only; a module
        builds its studio once (:func:`studio_once`) where a dozen commands would build it for
        each test.
        """
        old_base = self.owner.home.parent
        shutil.copytree(old_base, base, symlinks=True)
        shutil.copytree(self.root, root, symlinks=True)
        moves = {
            str(old_base): str(base),
            str(old_base.resolve()): str(base.resolve()),
            str(self.root): str(root),
            str(self.root.resolve()): str(root.resolve()),
        }
        for folder in (base, root):
            rewrite_paths(folder, moves)
        new = object.__new__(Studio)
        new.root = root
        for name in ("owner", "ava", "kim", "ada"):
            laptop = Laptop(base, getattr(self, name).name)
            laptop.keyring.items = dict(getattr(self, name).keyring.items)
            setattr(new, name, laptop)
        return new


def studio_once(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Studio]
) -> Studio:
    """``build(folder)`` once, for a module-scoped fixture; each test takes a :meth:`Studio.copy`.

    The build runs with user folders of its own (:func:`worlds.build_once`), as a laptop's
    commands set only its own config, data and cache folders.
    """
    return build_once(factory, name, build).value


def model_args(models: Sequence[str]) -> list[str]:
    """``--model ID`` for each model id."""
    return [a for m in models for a in ("--model", m)]


# Her consent's terms besides the uses (the command asks for each; nothing is assumed).
CONSENT_TERMS = (
    "--uses",
    "ecommerce",
    "--purpose",
    "Autumn e-commerce for the brand",
    "--no-expiry",
)


AVA = "ava@example.com"
KIM = "kim@agency.example"
ADA = "ada@brand.example"
