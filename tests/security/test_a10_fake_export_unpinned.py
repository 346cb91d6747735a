"""A wholly forged export must not pass as the brand's on a laptop that pinned nothing.

A forger builds a workspace of their own (their own owner key, a model named Ava, their own CA
signed into its policy), publishes an image and hands the auditor the file with that export.
Everything in it agrees, so only the owner's key ties it to the brand: every answer names the
export's workspace id and owner key and says whether this laptop pinned that owner; unpinned and
without ``--owner`` it is a warning, and no line is a bare ``ok:``. ``--owner`` with another
fingerprint refuses the export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from publish_helpers import build_publish_ws, publish_cli
from twinreview.cli.main import main
from twinreview.core.roster.log import SignedRoster
from twinreview.services.export import export_workspace

LOOK = "assets/ava/look.jpg"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("fake-export")
    pw = build_publish_ws(base / "forger")
    out = base / "out"
    assert publish_cli(pw, out, "--asset", LOOK) == 0
    ident, key = pw.agent.signer()
    export_workspace(pw.root, base / "export", ident, key)
    roster = SignedRoster.load(pw.root / "roster")
    assert roster.owner_key is not None and roster.workspace_id is not None
    return {
        "file": str(out / "ava/look.jpg"),
        "export": str(base / "export"),
        "fingerprint": roster.owner_key.fingerprint,
        "ws_id": roster.workspace_id,
    }


@pytest.fixture
def auditor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The auditor's laptop: user folders of its own, nothing pinned."""
    for v in ("cache", "data", "config", "log"):
        monkeypatch.setenv(f"TWINREVIEW_{v.upper()}_DIR", str(tmp_path / "auditor" / v))


def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["check-published", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.usefixtures("auditor")
def test_an_unpinned_owner_is_a_warning_and_no_bare_ok(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    fp = scene["fingerprint"]
    code, out, err = _check(capsys, scene["file"], "--export", scene["export"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("warning: the export is of workspace 'Publish test'"), out
    assert f"(id {scene['ws_id'][:16]})" in lines[0] and fp in lines[0]
    assert "not pinned on this device" in lines[0]
    assert f"check {fp} with the brand" in lines[0]
    assert not any(ln.startswith("ok:") for ln in lines), out
    assert any(
        ln.startswith(f"ok (owner not pinned: check {fp} with the brand): {scene['file']}")
        for ln in lines
    ), out
    code, out, _ = _check(capsys, scene["file"], "--export", scene["export"], "--json")
    [record] = json.loads(out)
    assert record["ok"] is True
    assert record["export"] == {
        "workspace_id": scene["ws_id"],
        "workspace_name": "Publish test",
        "owner": "owner@brand.example",
        "owner_fingerprint": fp,
        "owner_trust": "not-pinned",
    }


@pytest.mark.usefixtures("auditor")
def test_the_owner_checked_with_the_brand_is_given_with_owner(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    fp = scene["fingerprint"]
    for given in (fp, fp.removeprefix("SHA256:")):
        code, out, err = _check(
            capsys, scene["file"], "--export", scene["export"], "--owner", given
        )
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0].endswith(f"key {fp}: the owner key given with --owner"), out
        assert lines[1].startswith(f"ok: {scene['file']}"), out


@pytest.mark.usefixtures("auditor")
def test_another_owner_than_the_one_given_refuses_the_export(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    brand = "SHA256:" + "A" * 43
    code, out, err = _check(capsys, scene["file"], "--export", scene["export"], "--owner", brand)
    assert code == 2
    assert "ok" not in out
    assert f"the export's owner key is {scene['fingerprint']}, not the one given" in err, err


def test_on_a_laptop_that_pinned_the_owner_it_says_so(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from twinreview.services.trust import TrustStore

    TrustStore.default().pin(scene["ws_id"], scene["fingerprint"], "Publish test")
    code, out, err = _check(capsys, scene["file"], "--export", scene["export"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith(f"key {scene['fingerprint']}: pinned on this device"), out
    assert lines[1].startswith(f"ok: {scene['file']}"), out
