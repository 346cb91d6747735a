"""Names that do not travel to the reviewers' Mac and Windows laptops.

A workspace is a plain folder that moves between laptops (a shared drive, git, a zip). macOS and
Windows disks treat names that differ only in case as one name: ``assets/Milo`` and
``assets/milo`` become one folder there, and one of two files ``A.jpg`` and ``a.jpg`` is lost.
Windows cannot hold reserved device names (``CON``, ``NUL``, ``COM1``...), names ending in a dot
or a space, or the characters ``<>:"/\\|?*`` and control characters. Each is reported: a finding
on the asset in ``scan``, and a list in ``verify``. Nothing is renamed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decision_helpers import owner_of
from twinreview.cli.main import main
from twinreview.core.paths import portability_problems, windows_name_problem
from twinreview.core.workspace import Workspace
from wsbuild import add_model, make_workspace, pattern, save_jpeg

pytestmark = pytest.mark.usefixtures("no_faces")


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("CON", "reserved"),
        ("con.jpg", "reserved"),
        ("Aux.tar.gz", "reserved"),
        ("nul", "reserved"),
        ("COM1.png", "reserved"),
        ("lpt9.jpg", "reserved"),
        ("look.", "ends with a dot"),
        ("look ", "ends with a space"),
        ("a:b.jpg", "':'"),
        ('say "hi".jpg', "'\"'"),
        ("what?.jpg", "'?'"),
        ("star*.jpg", "'*'"),
        ("a<b>.jpg", "'<'"),
        ("pipe|.jpg", "'|'"),
        ("back\\slash.jpg", "'\\\\'"),
        ("tab\there.jpg", "control character"),
    ],
)
def test_names_windows_cannot_hold(name: str, words: str) -> None:
    problem = windows_name_problem(name)
    assert problem is not None, name
    assert words in problem, problem


@pytest.mark.parametrize(
    "name", ["look.jpg", "console.jpg", "com10.jpg", "CONS", "a.b.c", "über.png", ".hidden"]
)
def test_ordinary_names_pass(name: str) -> None:
    assert windows_name_problem(name) is None


def test_paths_that_differ_only_in_case_are_each_reported() -> None:
    found = portability_problems(
        [
            "assets/Milo/look.jpg",
            "assets/milo/other.jpg",
            "assets/ava/A.jpg",
            "assets/ava/a.jpg",
            "assets/ava/b.jpg",
            "assets/ava/sub/b.jpg",
        ]
    )
    assert set(found) == {
        "assets/Milo/look.jpg",
        "assets/milo/other.jpg",
        "assets/ava/A.jpg",
        "assets/ava/a.jpg",
    }
    assert "assets/Milo" in found["assets/milo/other.jpg"]
    assert "only in case" in found["assets/milo/other.jpg"]
    assert "assets/ava/a.jpg" in found["assets/ava/A.jpg"]


def _workspace(tmp_path: Path) -> Path:
    root = make_workspace(tmp_path / "ws")
    add_model(root, "milo", {"ref.jpg": pattern(1)})
    save_jpeg(pattern(2), root / "assets" / "milo" / "look.jpg")
    save_jpeg(pattern(3), root / "assets" / "Milo" / "look-2.jpg")
    save_jpeg(pattern(4), root / "assets" / "milo" / "fine.jpg")
    save_jpeg(pattern(5), root / "assets" / "milo" / "aux.jpg")
    return root


def test_the_workspace_reports_its_paths_and_opening_changes_nothing(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    problems = Workspace.open(root).path_problems()
    assert set(problems) == {
        "assets/Milo",
        "assets/milo",
        "assets/Milo/look-2.jpg",
        "assets/milo/look.jpg",
        "assets/milo/fine.jpg",
        "assets/milo/aux.jpg",
    }
    assert "reserved" in problems["assets/milo/aux.jpg"]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before


def test_scan_gives_each_such_asset_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _workspace(tmp_path)
    assert main(["scan", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    kinds = {
        a["path"]: {f["kind"]: f for f in a["findings"] if f["kind"] == "path_not_portable"}
        for a in doc["assets"]
    }
    assert set(kinds["assets/milo/aux.jpg"]) == {"path_not_portable"}
    assert set(kinds["assets/Milo/look-2.jpg"]) == {"path_not_portable"}
    finding = kinds["assets/Milo/look-2.jpg"]["path_not_portable"]
    assert finding["severity"] == "warn"
    assert finding["evidence"]["path"] == "assets/Milo/look-2.jpg"
    assert "only in case" in finding["evidence"]["problem"]
    assert "Mac" in finding["message"] and "Windows" in finding["message"]
    assert main(["scan", str(root)]) == 0
    assert "path_not_portable" in capsys.readouterr().out


def test_verify_lists_them_without_failing_the_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _workspace(tmp_path)
    owner_of(root)  # a signed roster, so that the logs verify
    assert main(["verify", str(root)]) == 0
    out = capsys.readouterr().out
    assert "assets/milo/aux.jpg" in out and "reserved" in out
    assert "assets/Milo" in out and "only in case" in out
    assert main(["verify", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    paths = {p["path"]: p["problem"] for p in doc["path_problems"]}
    assert "reserved" in paths["assets/milo/aux.jpg"]
    # A clean workspace says nothing about paths.
    clean = make_workspace(tmp_path / "clean")
    add_model(clean, "ava", {"ref.jpg": pattern(1)})
    owner_of(clean)
    assert main(["verify", str(clean), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path_problems"] == []


def test_the_model_reads_it_in_plain_words() -> None:
    from twinreview.core import findings as make
    from twinreview.core.settings import WorkspaceSettings
    from twinreview.ui.plain import finding_sentence

    finding = make.path_not_portable(
        WorkspaceSettings().severities, path="assets/ava/aux.jpg", problem="AUX is reserved"
    )
    words = finding_sentence(finding)
    assert "Mac or Windows" in words and "path_not_portable" not in words
