"""A walk again from the paths that changed gives what a whole walk gives."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from twinreview.core.workspace import AssetWalk, Workspace


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    for folder in ("assets/ava/a", "assets/ava/a/deep", "assets/ben", "models/ava/references"):
        (root / folder).mkdir(parents=True)
    for rel in ("assets/ava/a/1.jpg", "assets/ava/a/2.jpg", "assets/ava/a/deep/3.jpg",
                "assets/ava/top.jpg", "assets/ben/4.jpg", "assets/ben/4.json"):  # fmt: skip
        (root / rel).write_bytes(b"x")
    (root / "twinreview.toml").write_text("")
    return root


def _again(ws: Workspace, before: AssetWalk, *changed: Path) -> AssetWalk | None:
    return ws.walk_again(before, [str(p) for p in changed])


def test_each_change_named_gives_the_whole_walk(root: Path, tmp_path: Path) -> None:
    ws = Workspace.open(root)
    walk = ws.walk()
    assert [i.rel for i in walk.items] == [
        "assets/ava/a/1.jpg", "assets/ava/a/2.jpg", "assets/ava/a/deep/3.jpg",
        "assets/ava/top.jpg", "assets/ben/4.jpg",
    ]  # fmt: skip
    a = root / "assets"
    steps = []
    # A file added, a sidecar added, a file deleted.
    (a / "ava/a/5.jpg").write_bytes(b"y")
    (a / "ava/top.json").write_text("{}")
    (a / "ben/4.jpg").unlink()
    steps.append((a / "ava/a/5.jpg", a / "ava/top.json", a / "ben/4.jpg"))
    # A new folder with files (the OS names the folder and the files).
    (a / "ava/new/sub").mkdir(parents=True)
    (a / "ava/new/sub/6.jpg").write_bytes(b"z")
    (a / "ava/new/7.jpg").write_bytes(b"z")
    steps.append((a / "ava/new", a / "ava/new/sub", a / "ava/new/sub/6.jpg"))
    # A file named alone whose folder is new (only the file's event arrived).
    (a / "ben/later/deeper").mkdir(parents=True)
    (a / "ben/later/deeper/8.jpg").write_bytes(b"w")
    steps.append((a / "ben/later/deeper/8.jpg",))
    # A folder deleted, another renamed.
    shutil.rmtree(a / "ava/a/deep")
    os.rename(a / "ava/new", a / "ava/renamed")
    steps.append((a / "ava/a/deep", a / "ava/new", a / "ava/renamed"))
    # A link leading out of the workspace.
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"o")
    (a / "ava/a/link.jpg").symlink_to(outside)
    steps.append((a / "ava/a/link.jpg",))
    # Changes outside assets/ change nothing.
    (root / "models/ava/references/r.jpg").write_bytes(b"r")
    steps.append((root / "models/ava/references/r.jpg", root / "twinreview.toml"))
    for changed in steps:
        again = _again(ws, walk, *changed)
        assert again == ws.walk(), changed
        assert again is not None
        walk = again


def test_a_model_folder_that_comes_or_goes_asks_for_a_whole_walk(root: Path) -> None:
    ws = Workspace.open(root)
    walk = ws.walk()
    (root / "assets/cat").mkdir()
    assert _again(ws, walk, root / "assets/cat") is None
    assert _again(ws, walk, root / "assets") is None
    shutil.rmtree(root / "assets/ben")
    assert _again(ws, ws.walk(), root / "assets/ben/4.jpg") == ws.walk()
    assert _again(ws, walk, root / "assets/ben") is None
