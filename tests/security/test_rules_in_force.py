"""A decision is judged by the rules in force when it is signed, and status judges by them too.

The workspace first lets a reviewer approve an image without AI disclosure with a warning only.
Kim opens the workspace (his window scans it under that policy); the owner then signs a stricter
policy, under which a missing disclosure blocks. Kim's window, opened before, approves without
the override the new policy requires.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from decision_helpers import build_workspace
from laptops import Studio, studio_once
from twinreview.core.findings import Finding, Severity
from twinreview.core.workspace import Workspace
from twinreview.services.decisions import DecisionService, NeedsOverride

LOOK1 = "assets/ava/look1.jpg"
LENIENT = """[disclosure]
approvable = ["disclosed", "partial", "missing"]
[disclosure.severity]
missing_disclosure = "warn"
"""
STRICT = LENIENT.replace('missing_disclosure = "warn"', 'missing_disclosure = "block"')


def _build(folder: Path) -> Studio:
    root = build_workspace(folder / "ws")
    (root / "twinreview.toml").write_text(LENIENT)
    return Studio(folder / "laptops", root)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return studio_once(tmp_path_factory, "rules-in-force", _build)


@pytest.fixture
def studio(tmp_path: Path, built: Studio) -> Studio:
    return built.copy(tmp_path / "laptops", tmp_path / "ws")


def scanned(studio: Studio, asset: str) -> tuple[tuple[Finding, ...], str, str | None]:
    """What Kim's window knows of the asset: its findings, its sha256, its disclosure verdict."""
    doc = studio.kim.ok("scan", studio.root, "--json").json()
    found = next(a for a in doc["assets"] if a["path"] == asset)
    findings = tuple(Finding.from_json(f) for f in found["findings"])
    return findings, found["sha256"], (found.get("disclosure") or {}).get("verdict")


def test_a_window_opened_before_a_stricter_policy_cannot_approve_under_the_old_one(
    studio: Studio,
) -> None:
    root = studio.root
    findings, sha, verdict = scanned(studio, LOOK1)
    assert {(f.kind, f.severity) for f in findings} >= {("missing_disclosure", Severity.WARN)}
    with studio.kim.on():
        window = Workspace.open(root)  # opened before the owner tightens the policy
    (root / "twinreview.toml").write_text(STRICT)
    studio.owner.ok("roster", "policy", root)

    with studio.kim.on():
        service = DecisionService(studio.kim.keys())
        with pytest.raises(NeedsOverride, match="missing_disclosure"):
            service.decide(
                window,
                LOOK1,
                "approve",
                findings=findings,
                expected_sha256=sha,
                disclosure_verdict=verdict,
            )
    # The CLI judges by the same rule.
    refused = studio.kim.run("decide", root, LOOK1, "--approve")
    assert refused.code == 1
    assert "override" in refused.err
    studio.ava.decide(root, LOOK1, "approve")
    for laptop in studio.laptops:
        assert laptop.state(root, LOOK1) != "cleared", laptop.name


def test_status_does_not_count_an_approval_the_policy_in_force_would_refuse(
    studio: Studio,
) -> None:
    root = studio.root
    findings, _, _ = scanned(studio, LOOK1)
    (root / "twinreview.toml").write_text(STRICT)
    studio.owner.ok("roster", "policy", root)
    # An approval as a window from before would have signed it: the old severities, no
    # override (written straight into Kim's log, as any client with his key can).
    _sign_raw_approval(studio, findings)
    studio.ava.decide(root, LOOK1, "approve")
    for laptop in studio.laptops:
        status = laptop.status(root, LOOK1)
        assert status["state"] != "cleared", laptop.name
        assert any("override" in i["why"] for i in status["ignored"]), laptop.name
    # With the override the policy requires, his approval counts.
    studio.kim.ok("decide", root, LOOK1, "--approve", "--override")
    assert studio.kim.state(root, LOOK1) == "cleared"


def _sign_raw_approval(studio: Studio, findings: tuple[Finding, ...]) -> None:
    """Kim's approval with the findings as his old window graded them, signed into his log."""
    import hashlib

    from twinreview.core.logs.log import LogWriter
    from twinreview.core.roster.log import SignedRoster
    from twinreview.services.decisions import AssetBytes, decision_fields
    from twinreview.services.status import sidecar_sha256

    root = studio.root
    roster = SignedRoster.load(root / "roster")
    head = roster.head
    assert head is not None
    with studio.kim.on():
        ident, key = studio.kim.keys().signer()
    writer = LogWriter.for_workspace(
        root,
        key,
        ident.principal,
        "agent",
        context=lambda: {
            "ws": roster.workspace_id,
            "roster": {"seq": head[0], "hash": head[1]},
            "heads": [],
        },
    )
    sha = hashlib.sha256((root / LOOK1).read_bytes()).hexdigest()
    fields = decision_fields(
        AssetBytes(LOOK1, "ava", sha, None), "approve", [], "", findings, override=False
    )
    sidecar = (root / LOOK1).with_suffix(".json")
    writer.append("decision", {**fields, "sidecar_sha256": sidecar_sha256(sidecar)})
