"""Every per-user folder comes from one place (services.paths), on every platform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
import pytest

from twinreview.services import paths
from twinreview.services.compose import default_cache_path, default_data_dir
from twinreview.services.diagnostics import log_path
from twinreview.services.keys import IdentityStore
from twinreview.services.trust import PrefixStore, SeenStore, TrustStore

LOCAL = Path("C:/Users/ava/AppData/Local")


class WindowsLikeDirs:
    """platformdirs' Windows rule: an "author" folder above the app's unless appauthor=False."""

    def __init__(self, appname: str | None = None, appauthor: Any = None, *_: Any, **__: Any):
        parts = [str(appname)] if appauthor is False else [str(appauthor or appname), str(appname)]
        self.base = LOCAL.joinpath(*parts)

    user_config_path = property(lambda self: self.base)
    user_data_path = property(lambda self: self.base)
    user_cache_path = property(lambda self: self.base / "Cache")
    user_log_path = property(lambda self: self.base / "Logs")
    user_config_dir = property(lambda self: str(self.base))
    user_data_dir = property(lambda self: str(self.base))
    user_cache_dir = property(lambda self: str(self.base / "Cache"))
    user_log_dir = property(lambda self: str(self.base / "Logs"))


@pytest.fixture
def windows_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONFIG", "DATA", "CACHE", "LOG"):
        monkeypatch.delenv(f"TWINREVIEW_{name}_DIR", raising=False)
    monkeypatch.setattr(platformdirs, "PlatformDirs", WindowsLikeDirs)


def test_keys_and_pins_share_one_config_folder(windows_dirs: None) -> None:
    assert IdentityStore.default().path.parent == TrustStore.default().path.parent
    assert TrustStore.default().path.parent == LOCAL / "twinreview"


def test_every_record_lives_under_the_one_app_folder(windows_dirs: None) -> None:
    app = LOCAL / "twinreview"
    assert paths.config_dir() == paths.data_dir() == app
    assert SeenStore.default().folder.parent == app
    assert default_data_dir() == app
    assert PrefixStore.default().folder.parent == app / "Cache"
    assert default_cache_path().parent == app / "Cache"
    assert log_path().parent == app / "Logs"


def test_the_environment_overrides_each_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ("CONFIG", "DATA", "CACHE", "LOG"):
        monkeypatch.setenv(f"TWINREVIEW_{name}_DIR", str(tmp_path / name.lower()))
    assert IdentityStore.default().path.parent == tmp_path / "config"
    assert SeenStore.default().folder.parent == tmp_path / "data"
    assert PrefixStore.default().folder.parent == tmp_path / "cache"
    assert log_path().parent == tmp_path / "log"
