"""Workspaces built once per test module and copied for each test.

Building a signed workspace (keys, roster, consent, decisions, a test PKI) costs more than most
tests that use it. :func:`build_once` runs a builder once, in a module-scoped fixture, with
twinreview's user folders (``TWINREVIEW_*_DIR``: pins, verified heads, caches) pointed at a folder
of its own; :meth:`Built.copy_to` then gives each test a copy: the builder's files in the test's
folder, and what the builder left in the user folders in the test's own user folders (set by the
autouse fixture of tests/conftest.py). Absolute paths the user folders record (the folder a
workspace was pinned in) are rewritten to the copy's, so the copy is what a fresh build there
would be. A test changes its copy only.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import pytest

T = TypeVar("T")

USER_DIR_VARS = (
    "TWINREVIEW_CACHE_DIR",
    "TWINREVIEW_DATA_DIR",
    "TWINREVIEW_CONFIG_DIR",
    "TWINREVIEW_LOG_DIR",
)


@dataclass(frozen=True)
class Built(Generic[T]):
    """What a builder returned, the folder it wrote to, and the user folders it left."""

    value: T
    files: Path
    user: Path

    def copy_to(self, dest: Path) -> Callable[[Path], Path]:
        """Copy the built files into ``dest`` and the user folders into this test's.

        Returns:
            The mover: a path under the built folder -> the same path under ``dest``.
        """
        shutil.copytree(self.files, dest, symlinks=True, dirs_exist_ok=True)
        moves = {str(self.files): str(dest), str(self.files.resolve()): str(dest.resolve())}
        for var in USER_DIR_VARS:
            src = self.user / var
            if src.exists():
                target = Path(os.environ[var])
                shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
                rewrite_paths(target, moves)

        def move(path: Path) -> Path:
            return dest / path.relative_to(self.files)

        return move


def build_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], T]) -> Built[T]:
    """Run ``build(folder)`` with user folders of its own; for a module-scoped fixture."""
    base = factory.mktemp(name)
    files, user = base / "files", base / "user"
    files.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for var in USER_DIR_VARS:
            mp.setenv(var, str(user / var))
        value = build(files)
    return Built(value, files, user)


def rewrite_paths(folder: Path, moves: dict[str, str]) -> None:
    """Point the absolute paths recorded in text files under ``folder`` at the copy."""
    for path in folder.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if not any(old.encode() in data for old in moves):
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise AssertionError(
                f"{path} records a built path in a binary file: it cannot be copied as it is"
            ) from None
        for old, new in sorted(moves.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(old, new)
        path.write_text(text, encoding="utf-8")
