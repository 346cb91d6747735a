"""Workspace discovery: layout, config, sidecars, hostile paths. Opening never writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from twinreview.core.workspace import SkippedPath, Workspace, WorkspaceError, read_sidecar
from wsbuild import add_model, make_workspace, pattern, save_jpeg


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def test_models_references_and_assets_at_any_depth(tmp_path: Path) -> None:
    ws_root = make_workspace(tmp_path / "ws", toml='[workspace]\nname = "Spring"\n')
    add_model(
        ws_root, "ava", {"a.jpg": pattern(1), "b.jpg": pattern(2)}, toml='display_name = "Ava"\n'
    )
    save_jpeg(pattern(3), ws_root / "assets" / "ava" / "x.jpg")
    save_jpeg(pattern(4), ws_root / "assets" / "ava" / "c1" / "d2" / "deep.jpg")
    (ws_root / "assets" / "ava" / "c1" / "d2" / "deep.json").write_text(
        '{"intended_use": "social"}'
    )
    before = _snapshot(ws_root)

    ws = Workspace.open(ws_root)
    assert ws.name == "Spring"
    assert list(ws.models) == ["ava"]
    assert ws.models["ava"].display_name == "Ava"
    assert [p.name for p in ws.models["ava"].references] == ["a.jpg", "b.jpg"]
    assets = list(ws.iter_assets())
    assert [a.rel for a in assets] == ["assets/ava/c1/d2/deep.jpg", "assets/ava/x.jpg"]
    assert all(a.model_id == "ava" for a in assets)
    assert assets[0].sidecar is not None and assets[1].sidecar is None
    assert read_sidecar(assets[0].sidecar) == ({"intended_use": "social"}, None)
    assert _snapshot(ws_root) == before


def test_config_is_optional(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws", toml=None)
    ws = Workspace.open(root)
    assert ws.config == {}
    assert ws.name == "ws"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "no such folder"),
        (lambda p: p.write_text("x"), "not a folder"),
        (lambda p: p.mkdir(), "not a twinreview workspace"),
        (lambda p: (p.mkdir(), (p / "twinreview.toml").write_text("[broken")), "invalid TOML"),
    ],
)
def test_not_a_workspace_gives_one_line(tmp_path: Path, setup: object, message: str) -> None:
    target = tmp_path / "target"
    setup(target)  # type: ignore[operator]
    with pytest.raises(WorkspaceError) as info:
        Workspace.open(target)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_symlinks_leading_out_are_reported_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    save_jpeg(pattern(9), outside / "secret.jpg")
    root = make_workspace(tmp_path / "ws")
    add_model(root, "ava", {"a.jpg": pattern(1)})
    (root / "assets" / "ava").mkdir(parents=True)
    os.symlink(outside / "secret.jpg", root / "assets" / "ava" / "leak.jpg")
    os.symlink(outside, root / "assets" / "ava" / "leakdir")
    os.symlink(outside / "secret.jpg", root / "models" / "ava" / "references" / "leak.jpg")
    save_jpeg(pattern(5), root / "assets" / "ava" / "real.jpg")
    os.symlink(root / "assets" / "ava" / "real.jpg", root / "assets" / "ava" / "alias.jpg")

    ws = Workspace.open(root)
    items = list(ws.walk_assets())
    skipped = {s.rel: s.reason for s in items if isinstance(s, SkippedPath)}
    assert skipped["assets/ava/leak.jpg"] == "link leads outside the workspace"
    assert "assets/ava/leakdir" in skipped
    assert [a.rel for a in ws.iter_assets()] == ["assets/ava/alias.jpg", "assets/ava/real.jpg"]
    assert [p.name for p in ws.models["ava"].references] == ["a.jpg"]


def test_non_utf8_file_name(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    folder = root / "assets" / "ava"
    folder.mkdir(parents=True)
    raw = os.fsencode(folder) + b"/caf\xe9.jpg"
    save_jpeg(pattern(1), Path(os.fsdecode(raw)))
    ws = Workspace.open(root)
    (asset,) = ws.iter_assets()
    assert asset.rel == "assets/ava/caf\ufffd.jpg"
    assert asset.path.exists()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{not json", "not readable JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe\x00", "not readable JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not readable JSON"),
    ],
)
def test_bad_sidecars(tmp_path: Path, content: bytes, problem: str) -> None:
    p = tmp_path / "x.json"
    p.write_bytes(content)
    data, reason = read_sidecar(p)
    assert data is None
    assert reason is not None and problem in reason
