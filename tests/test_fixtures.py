"""The shared test fixtures do what their names say (other tests rely on it silently)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from publish_helpers import PublishWs, build_publish_ws, copy_publish_ws, tree_digest
from twinreview.core.workspace import Workspace
from twinreview.services.compose import make_scan_service
from twinreview.services.scan.cache import ResultCache
from twinreview.services.trust import TrustStore
from worlds import build_once
from wsbuild import add_model, make_workspace, pattern, save_jpeg


def _likeness_checked(tmp_path: Path) -> bool:
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"ref.jpg": pattern(1)})
    save_jpeg(pattern(2), root / "assets" / "ava" / "look.jpg")
    with ThreadPoolExecutor(1) as pool:
        result = make_scan_service(pool, ResultCache.in_memory()).scan(Workspace.open(root))
    return result.assets[0].likeness is not None


def test_scans_look_for_faces_by_default(tmp_path: Path) -> None:
    assert _likeness_checked(tmp_path)


@pytest.mark.usefixtures("no_faces")
def test_no_faces_leaves_the_face_pass_out(tmp_path: Path) -> None:
    assert not _likeness_checked(tmp_path)


def test_a_copied_world_is_a_fresh_build_in_its_own_folder(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    built = build_once(tmp_path_factory, "world", build_publish_ws)
    first = copy_publish_ws(built, tmp_path / "one")
    assert first.root == tmp_path / "one" / "ws"
    assert first.root.resolve() != built.value.root.resolve()
    # The pin and the folder it was pinned in are this test's, pointing at the copy.
    folders = TrustStore.default().folders()
    assert str(first.root.resolve()) in folders
    assert all(str(built.files) not in folder for folder in folders)
    # Each copy's reviewers sign with the build's keys, from keyrings of their own.
    second: PublishWs = copy_publish_ws(built, tmp_path / "two")
    assert first.model.current() == built.value.model.current()
    assert first.model.keystore is not second.model.keystore
    first.model.keystore.backend.items.clear()  # type: ignore[attr-defined]
    assert second.model.signer()[0] == built.value.model.current()
    # A decision in one copy leaves the build and the other copies as they were.
    before = (tree_digest(first.root), tree_digest(built.value.root))
    second.decide(second.model, "assets/ava/pending.jpg", "reject", reasons=["quality"])
    assert tree_digest(second.root) != tree_digest(built.value.root)
    assert (tree_digest(first.root), tree_digest(built.value.root)) == before
