"""Where twinreview keeps its own files on this computer: one place for every folder.

Every record outside the workspace lives in one of four per-user folders, each chosen here and
nowhere else, so that keys, pinned owners, verification records and the copies of signed entries
can never end up in two places (on Windows, ``platformdirs`` puts a folder under an extra
"author" level unless told not to):

- config (``TWINREVIEW_CONFIG_DIR``): ``identity.toml``, ``known_workspaces``, ``known_folders``;
- data (``TWINREVIEW_DATA_DIR``): ``verified/`` (the heads this device verified), ``signed/``
  (a copy of every entry this device signed), the demo workspace;
- cache (``TWINREVIEW_CACHE_DIR``): the scan cache and the verified-prefix records;
- log (``TWINREVIEW_LOG_DIR``): ``twinreview.log``.

Each environment variable overrides its folder (tests, portable installs).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "twinreview"


def _dirs() -> platformdirs.PlatformDirs:
    # appauthor=False: "%LOCALAPPDATA%\twinreview" on Windows, not "...\twinreview\twinreview".
    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def _override(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def config_dir() -> Path:
    """The user config folder (``TWINREVIEW_CONFIG_DIR`` overrides it)."""
    return _override("TWINREVIEW_CONFIG_DIR") or _dirs().user_config_path


def data_dir() -> Path:
    """The user data folder (``TWINREVIEW_DATA_DIR`` overrides it)."""
    return _override("TWINREVIEW_DATA_DIR") or _dirs().user_data_path


def cache_dir() -> Path:
    """The user cache folder (``TWINREVIEW_CACHE_DIR`` overrides it)."""
    return _override("TWINREVIEW_CACHE_DIR") or _dirs().user_cache_path


def log_dir() -> Path:
    """The user log folder (``TWINREVIEW_LOG_DIR`` overrides it)."""
    return _override("TWINREVIEW_LOG_DIR") or _dirs().user_log_path
