"""Reason codes are for programs: what people read says them in words; ``--json`` keeps codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decision_helpers import T0, build_workspace, decider, enroll, reviewer
from twinreview.core.findings import DEFAULT_SEVERITY, resubmitted_rejected
from twinreview.core.reasons import REASON_CODES, reasons_text
from twinreview.core.workspace import Workspace
from twinreview.services.keys import KeyService

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")

LOOK2 = "assets/ava/spring/look2.jpg"
# The codes that are not also plain words ("quality", "other" are both).
CODES = tuple(code for code in REASON_CODES if "_" in code)


def _no_code(text: str) -> None:
    found = [code for code in CODES if code in text]
    assert not found, (found, text)


@pytest.fixture
def rejected(tmp_path: Path) -> tuple[Path, KeyService]:
    root = build_workspace(tmp_path / "ws")
    ava = reviewer(tmp_path / "devices", "ava@example.com", "model", "Ava Stone")
    enroll(root, ava, ("ava",))
    decider(ava, T0).decide(
        Workspace.open(root), LOOK2, "reject", reasons=["copy_of_reference", "quality"]
    )
    return root, ava


def test_reasons_in_words() -> None:
    assert reasons_text(["copy_of_reference", "quality"]) == (
        "a copy of a real photo, not good enough"
    )
    assert reasons_text([]) == "no reason given"
    assert reasons_text(["from_a_newer_version"]) == "a reason this version does not know"
    for code in REASON_CODES:
        _no_code(reasons_text([code]))


def test_a_resubmission_says_the_earlier_reasons_in_words() -> None:
    f = resubmitted_rejected(
        DEFAULT_SEVERITY,
        path="assets/ava/look.jpg",
        principal="ava@example.com",
        role="model",
        ts="2026-03-01T09:00:00Z",
        reasons=["likeness_wrong", "quality"],
        note="",
        match={"distance": 3},
    )
    assert "not the right person, not good enough" in f.message
    _no_code(f.message)
    assert f.evidence["reasons"] == ["likeness_wrong", "quality"]  # codes for programs


def test_status_says_reasons_in_words_and_json_keeps_codes(
    rejected: tuple[Path, KeyService], capsys: pytest.CaptureFixture[str]
) -> None:
    from twinreview.cli.main import main

    root, _ = rejected
    assert main(["status", str(root)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if LOOK2 in line)
    assert "a copy of a real photo, not good enough" in row
    _no_code(out)
    assert main(["status", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    look2 = next(a for a in doc["assets"] if a["path"] == LOOK2)
    assert look2["rejections"][0]["reasons"] == ["copy_of_reference", "quality"]


def test_report_html_and_csv_say_reasons_in_words(
    rejected: tuple[Path, KeyService], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from twinreview.cli.main import main

    root, _ = rejected
    html, csv, js = tmp_path / "r.html", tmp_path / "r.csv", tmp_path / "r.json"
    assert (
        main(["report", str(root), "--html", str(html), "--csv", str(csv), "--json", str(js)]) == 0
    )
    capsys.readouterr()
    page = html.read_text("utf-8")
    assert "It copies a real photo instead of being a new image." in page
    _no_code(page)
    rows = csv.read_text("utf-8")
    assert "a copy of a real photo, not good enough" in rows
    _no_code(rows)
    assert "copy_of_reference" in js.read_text("utf-8")


def _decide_cli(argv: list[str], keys: KeyService) -> int:
    from twinreview.cli.decide_cmd import cmd_decide, scan_once
    from twinreview.cli.main import build_parser, run_command

    args = build_parser().parse_args(["decide", *argv])
    return run_command(lambda a: cmd_decide(a, keys, scan_once()), args)


def test_decide_says_reasons_in_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = build_workspace(tmp_path / "ws")
    kim = reviewer(tmp_path / "devices", "kim@agency.example", "agent", "Kim")
    enroll(root, kim, ("ava", "ben"))
    code = _decide_cli([str(root), LOOK2, "--reject", "--reason", "copy_of_reference"], kim)
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "rejected (a copy of a real photo)" in out.out
    _no_code(out.out)


def test_every_finding_kind_has_words() -> None:
    from twinreview.core import findings
    from twinreview.core.approval.policy import DISCLOSURE_KINDS

    kinds = {
        value
        for name, value in vars(findings).items()
        if name.isupper() and isinstance(value, str) and name not in {"KIND_WORDS"}
    } | set(DISCLOSURE_KINDS)
    assert sorted(k for k in kinds if k not in findings.KIND_WORDS) == []
