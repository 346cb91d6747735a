"""Fixtures for the desktop app tests: offscreen Qt, a fake backend, demo workspaces."""

from __future__ import annotations

import os

# Before anything imports Qt: tests run headless unless the caller chose a platform.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from twinreview.core.approval.policy import Decision, ModelPolicy, evaluate
from twinreview.core.disclosure import C2paReport, C2paState, DisclosureReport, Verdict, XmpReport
from twinreview.core.findings import (
    NEAR_COPY_OF_REFERENCE,
    Finding,
    Severity,
)
from twinreview.core.likeness.model import Likeness
from twinreview.core.workspace import Workspace
from twinreview.services.scan.model import FileFacts
from twinreview.services.scan.service import AssetResult, ScanResult
from twinreview.ui.backend import (
    AssetStatus,
    Identity,
    KeyringUnavailable,
    PairVerification,
    StatusSnapshot,
)
from twinreview.ui.roster_view import PersonRow, RosterView, TrustInfo


class SyncExecutor(Executor):
    """Runs each call at once on the calling thread (results are still delivered queued)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the future, as a pool would
            fut.set_exception(exc)
        return fut


TAM = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

# The fake scan returns the scan service's own result types (the app uses no look-alikes).
FakeFacts = FileFacts
FakeAssetResult = AssetResult


@dataclass(frozen=True)
class FakeReference:
    """A reference photo as the fake scan reports it, with a pHash for distances."""

    rel: str
    phash: str | None


def FakeScanResult(
    assets: tuple[AssetResult, ...],
    references: tuple[Any, ...],
    cancelled: bool = False,
    workspace: Workspace | None = None,
) -> ScanResult:
    """A :class:`ScanResult` of these assets and references."""
    return ScanResult(workspace, assets, references, cancelled=cancelled)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FakeProgress:
    done: int
    total: int
    phase: str
    current: str = ""


@dataclass
class FakeBackend:
    """Implements :class:`twinreview.ui.backend.ReviewBackend` in memory.

    Findings: the first asset of each model whose name contains "copy" gets a blocking
    near-copy finding pointing at the model's first reference.
    """

    keyring_ok: bool = True
    identity: Identity | None = None
    decisions: list[Decision] = field(default_factory=list)
    scan_calls: int = 0
    #: The workspaces whose scan was begun ahead (``begin_scan``).
    begun: list[Path] = field(default_factory=list)
    #: The assets of each status refresh of a few assets only (``statuses_of``).
    partial_statuses: list[list[str]] = field(default_factory=list)
    scan_gate: threading.Event | None = None
    models_for: tuple[str, ...] = ()
    log_problems: list[str] = field(default_factory=list)
    #: Decisions about these assets are refused (rel -> one-line reason).
    refuse: dict[str, str] = field(default_factory=dict)
    created: list[Path] = field(default_factory=list)
    read_only_workspace: str | None = None
    approvable: frozenset[str] | None = None
    trust: TrustInfo = field(
        default_factory=lambda: TrustInfo(
            "pinned", "ws", "owner@example.com", "SHA256:fake", "SHA256:fake"
        )
    )
    #: What ``verify_pair`` answers (None: the pair could not be verified).
    verification: PairVerification | None = None
    #: ``verify_pair`` raises this instead.
    verify_error: Exception | None = None
    #: The pairs asked for: (query, other, prefer_mirrored).
    verify_calls: list[tuple[Path, Path, bool]] = field(default_factory=list)
    #: More findings for the assets with this file name.
    findings_for: dict[str, tuple[Finding, ...]] = field(default_factory=dict)
    #: The face check's answer for the assets with this file name.
    likeness_for: dict[str, Likeness] = field(default_factory=dict)
    #: A model's consent policy (default: the default policy, as if she had signed one).
    policy_for: dict[str, ModelPolicy] = field(default_factory=dict)
    #: The uses the sidecars of the assets with this file name declare.
    uses_for: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Other people on the roster (beside this identity).
    people: list[PersonRow] = field(default_factory=list)

    def verify_pair(
        self, workspace: Workspace, query_path: Path, other_path: Path, prefer_mirrored: bool
    ) -> PairVerification | None:
        self.verify_calls.append((query_path, other_path, prefer_mirrored))
        if self.verify_error is not None:
            raise self.verify_error
        return self.verification

    def begin_scan(self, workspace: Workspace) -> None:
        self.begun.append(workspace.root)

    def scan(self, workspace: Workspace, progress: Any, cancel: threading.Event) -> ScanResult:
        self.scan_calls += 1
        assets = list(workspace.iter_assets())
        out = []
        for i, a in enumerate(assets):
            if self.scan_gate is not None:
                self.scan_gate.wait(5)
            if cancel.is_set():
                return FakeScanResult((), (), True, workspace)
            if progress:
                progress(FakeProgress(i + 1, len(assets), "analyse", a.rel))
            data = a.path.read_bytes()
            findings: list[Finding] = []
            model = workspace.models.get(a.model_id)
            if "copy" in a.path.name and model and model.references:
                ref = workspace.rel(model.references[0])
                findings.append(
                    Finding(
                        NEAR_COPY_OF_REFERENCE,
                        Severity.BLOCK,
                        "This image is a copy of one of the model's real photos.",
                        {"reference": ref, "distance": 3, "hash": "phash"},
                    )
                )
            findings.extend(self.findings_for.get(a.path.name, ()))
            out.append(
                FakeAssetResult(
                    a,
                    hashlib.sha256(data).hexdigest(),
                    None,
                    tuple(findings),
                    FakeFacts(64, 48, "JPEG", len(data)),
                    DisclosureReport(
                        Verdict.PARTIAL,
                        C2paReport(C2paState.ABSENT),
                        XmpReport(source_type=TAM, raw=TAM, where="JPEG APP1"),
                        notes=("Only the XMP says the image is AI-made.",),
                    ),
                    "00000000000000ff",
                    likeness=self.likeness_for.get(a.path.name),
                )
            )
        refs = tuple(
            FakeReference(workspace.rel(p), "00000000000000f0")
            for m in workspace.models.values()
            for p in m.references
        )
        return FakeScanResult(tuple(out), refs, False, workspace)

    def load_identity(self) -> Identity | None:
        if not self.keyring_ok:
            raise KeyringUnavailable("no Secret Service: install and unlock gnome-keyring")
        return self.identity

    def create_identity(self, principal: str, display_name: str, role: str) -> Identity:
        if not self.keyring_ok:
            raise KeyringUnavailable("no Secret Service: install and unlock gnome-keyring")
        self.identity = Identity(
            principal,
            display_name,
            role,
            f'{principal} namespaces="twinreview-*" ssh-ed25519 AAAAfake',
        )
        return self.identity

    # The signed roster, faked: this device trusts the owner; the identity is on the roster for
    # ``models_for``.

    def check_trust(self, workspace: Workspace) -> TrustInfo:
        return self.trust

    def trust_workspace(self, workspace: Workspace, fingerprint: str) -> TrustInfo:
        self.trust = TrustInfo("pinned", workspace.name, "owner@example.com", fingerprint)
        return self.trust

    def make_owner(self, workspace: Workspace) -> TrustInfo:
        raise NotImplementedError

    def create_workspace(self, root: Path, name: str) -> None:
        if not self.keyring_ok:
            raise KeyringUnavailable("no Secret Service: install and unlock gnome-keyring")
        for sub in ("models", "assets"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "twinreview.toml").write_text(f'[workspace]\nname = "{name}"\n')
        self.created.append(root)
        self.trust = TrustInfo("pinned", name, "me@example.com", "SHA256:me", "SHA256:me")

    def workspace_writable(self, workspace: Workspace) -> str | None:
        return self.read_only_workspace

    def withdraw(self, workspace: Workspace, rel: str, note: str) -> None:
        assert self.identity is not None
        mine = [
            d for d in self.decisions if d.asset == rel and d.principal == self.identity.principal
        ]
        if not mine or mine[-1].decision == "withdraw":
            raise ValueError(f"{rel}: you have no decision about it to withdraw")
        last = mine[-1]
        self.decisions.append(
            Decision(
                last.principal,
                last.role,
                dt.datetime.now(dt.UTC),
                rel,
                last.sha256,
                last.model_id,
                "withdraw",
                (),
                note,
                False,
                "fake-log",
                len(self.decisions),
            )
        )

    def roster_view(self, workspace: Workspace, principal: str | None) -> RosterView:
        me = (
            PersonRow(principal, self.identity.display_name, self.identity.role, self.models_for)
            if principal is not None and self.identity is not None
            else None
        )
        return RosterView(
            exists=True,
            name=workspace.name,
            owner="owner@example.com",
            owner_fingerprint=self.trust.owner_fingerprint,
            pin_state=self.trust.state,
            people=((me,) if me is not None else ()) + tuple(self.people),
            models={mid: m.display_name for mid, m in workspace.models.items()},
            me=me,
            approvable=self.approvable,
        )

    def approve_join(self, workspace: Workspace, principal: str) -> None:
        raise NotImplementedError

    def request_join(self, workspace: Workspace, models: Sequence[str]) -> str:
        raise NotImplementedError

    def give_consent(self, *args: Any) -> None:
        raise NotImplementedError

    def published(self, workspace: Workspace) -> dict[str, Any]:
        return {"published": [], "counts": {}, "at": "", "verification_problems": []}

    def decide(
        self,
        workspace: Workspace,
        result: Any,
        decision: str,
        reasons: Sequence[str],
        note: str,
        override: bool,
    ) -> None:
        assert self.identity is not None
        if result.asset.rel in self.refuse:
            raise ValueError(self.refuse[result.asset.rel])
        self.decisions.append(
            Decision(
                self.identity.principal,
                self.identity.role,
                dt.datetime.now(dt.UTC),
                result.asset.rel,
                result.sha256,
                result.asset.model_id,
                decision,
                tuple(reasons),
                note,
                override,
                "fake-log",
                len(self.decisions),
            )
        )

    def restore_signed(self, workspace: Workspace) -> tuple[str, ...]:
        return ()

    def statuses(self, workspace: Workspace, results: Sequence[Any]) -> StatusSnapshot:
        out = {}
        for r in results:
            # Every model under the default policy, as if each had signed a consent.
            policy = self.policy_for.get(r.asset.model_id, ModelPolicy(r.asset.model_id))
            eligible = {"agent@example.com": "agent", "ana@example.com": "model"}
            for d in self.decisions:
                eligible[d.principal] = d.role
            for p in self.people:
                eligible[p.principal] = p.role
            if self.identity:
                eligible[self.identity.principal] = self.identity.role
            ev = evaluate(
                asset=r.asset.rel,
                current_sha256=r.sha256 or "",
                decisions=self.decisions,
                policy=policy,
                eligible=eligible,
                now=dt.datetime.now(dt.UTC),
                uses=self.uses_for.get(r.asset.path.name),
            )
            out[r.asset.rel] = AssetStatus(
                ev, tuple(d for d in self.decisions if d.asset == r.asset.rel)
            )
        return StatusSnapshot(out, not self.log_problems, tuple(self.log_problems))

    def statuses_of(self, workspace: Workspace, results: Sequence[Any]) -> StatusSnapshot:
        self.partial_statuses.append(sorted(r.asset.rel for r in results))
        return self.statuses(workspace, results)


def make_workspace(root: Path, *, assets: int = 4, size: tuple[int, int] = (64, 48)) -> Path:
    """A small workspace: models ana and bo with references, generated assets (one 'copy')."""
    from PIL import Image

    for model, colour in (("ana", (200, 80, 60)), ("bo", (60, 90, 200))):
        refs = root / "models" / model / "references"
        refs.mkdir(parents=True)
        (root / "models" / model / "model.toml").write_text(f'display_name = "{model.title()}"\n')
        for i in range(2):
            Image.new("RGB", size, tuple(min(255, c + 30 * i) for c in colour)).save(
                refs / f"ref-{i}.jpg"
            )
        out = root / "assets" / model
        out.mkdir(parents=True)
        for i in range(assets):
            name = "copy-0.jpg" if i == 0 else f"look-{i}.jpg"
            Image.new("RGB", size, ((i * 50) % 255, 120, colour[2])).save(out / name)
    return root


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """UI settings in a temporary file, never the user's."""
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def thread_pool() -> Any:
    pool = ThreadPoolExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


# The offscreen platform plugin warns whenever a top-level window's size hints change; it says
# nothing about our code, and the tests run with qt_log_level_fail = WARNING.
_PLATFORM_NOISE = r"This plugin does not support propagateSizeHints\(\)"
# Qt's JPEG plugin relays libjpeg's complaints about damaged files as warnings. Broken files are
# user data the app must survive (the demo holds a truncated download on purpose); the tests check
# the outcome (a reason shown, no crash), and these messages are about the file, not our code.
_DAMAGED_FILE = r"^(Corrupt JPEG data|Invalid JPEG file structure|Premature end of JPEG file)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/ui" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.qt_log_ignore(_PLATFORM_NOISE, _DAMAGED_FILE))


@dataclass
class Harness:
    """A main window wired to a fake backend (what the composition root does, with fakes)."""

    window: Any
    session: Any
    bridge: Any
    backend: FakeBackend


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend(identity=Identity("me@example.com", "Me", "agent", "line"))


@pytest.fixture
def harness(qtbot: Any, backend: FakeBackend, settings: QSettings) -> Harness:
    """The window on a synchronous executor: each job runs at submit, results arrive queued."""
    from twinreview.ui.app import build_window

    sync = SyncExecutor()
    window, session, bridge = build_window(backend, settings, ui_executor=sync, long_executor=sync)
    qtbot.addWidget(window)
    session.set_identity(backend.identity, None)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    # Window shortcuts need the active window; on X11 without a window manager (Xvfb) nothing
    # activates a new window by itself.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return Harness(window, session, bridge, backend)


def open_and_scan(qtbot: Any, h: Harness, path: Path) -> None:
    """Open ``path`` and wait until the scan and the statuses are in.

    The timeout only tells a hang from a slow run: on a 2-core machine shared with other jobs
    (load average 20), a 30-asset scan under the model tester took longer than 10 s.
    """
    with qtbot.waitSignal(h.session.statuses_refreshed, timeout=60_000):
        h.window.open_workspace(path)


@pytest.fixture
def check_model(request: pytest.FixtureRequest) -> Any:
    """``check_model(model)``: pytest-qt's model tester on ``model``, watching it until teardown.

    The ``qtmodeltester`` fixture holds one tester, so a second ``check`` leaves the first model
    connected to a tester that teardown then empties; background work landing after the test
    would trip it. One tester per model, each cleaned up, avoids that.
    """
    from pytestqt.modeltest import ModelTester

    testers: list[Any] = []

    def check(model: Any) -> None:
        tester = ModelTester(request.config)
        testers.append(tester)
        tester.check(model, force_py=True)

    yield check
    for tester in testers:
        tester._cleanup()
