"""The workspace: a plain, git-friendly folder (DESIGN section 1).

```
<workspace>/
  twinreview.toml                   optional: workspace id, name, thresholds, disclosure policy
  models/<model-id>/model.toml      optional: display name, consent policy
  models/<model-id>/references/     the model's real photos
  assets/<model-id>/**              generated images attributed to that model (any depth)
  assets/<model-id>/**/<name>.json  optional sidecar
  roster/, logs/                    signing (see core.roster.people, core.logs.log)
```

Opening a workspace only reads. Symlinks are followed only while they stay inside the workspace:
a link that leads out is reported (a :class:`SkippedPath`, which the scan reports as
``unreadable``) and never read, so a hostile workspace cannot make twinreview read (or hash, or
show) files elsewhere on the reviewer's laptop.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twinreview.core.errors import TwinreviewError, one_line
from twinreview.core.files import read_regular
from twinreview.core.paths import name_problems, portability_problems
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR
from twinreview.core.roster.views import effective_config
from twinreview.core.settings import (
    CONFIG_SOURCE,
    SettingsError,
    WorkspaceSettings,
    settings_from_config,
)

CONFIG_NAME = "twinreview.toml"
MODEL_CONFIG_NAME = "model.toml"
MODELS_DIR = "models"
ASSETS_DIR = "assets"
REFERENCES_DIR = "references"
SIDECAR_SUFFIX = ".json"

# Suffixes that are metadata next to an image, never assets themselves.
_METADATA_SUFFIXES = frozenset({".json", ".xmp", ".txt", ".md", ".toml"})
_IGNORED_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".gitkeep", ".gitignore"})

# Sidecars are small hand-written JSON; anything bigger is not one and is not parsed.
MAX_SIDECAR_BYTES = 1 << 20
# Settings files are a few hundred bytes; anything this large is not one.
MAX_SETTINGS_BYTES = 1 << 20
# Where the policy tables of a workspace with a signed roster come from, named in errors.
SIGNED_POLICY_SOURCE = "the signed policy (roster/roster.dlog)"


class WorkspaceError(TwinreviewError):
    """The folder is not a usable workspace. ``str(err)`` is one line for the user."""


@dataclass(frozen=True)
class ModelInfo:
    """One model (a real person) of the workspace.

    Attributes:
        id: Folder name under ``models/``.
        display_name: From ``model.toml`` ``name``/``display_name``, else the id.
        root: ``models/<id>``.
        references: The model's reference photos, sorted, symlinks leading out excluded.
        config: Raw ``model.toml`` (empty when absent).
    """

    id: str
    display_name: str
    root: Path
    references: tuple[Path, ...]
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AssetRef:
    """One generated image found under ``assets/<model-id>/``.

    Attributes:
        path: Absolute path.
        rel: Path relative to the workspace root, forward slashes.
        model_id: The ``<model-id>`` folder it sits under (may be unknown to ``models/``).
        sidecar: ``<name>.json`` next to it, when present.
    """

    path: Path
    rel: str
    model_id: str
    sidecar: Path | None = None


@dataclass(frozen=True)
class SkippedPath:
    """A path the workspace walk refused to follow, with the reason."""

    rel: str
    reason: str


@dataclass(frozen=True)
class Workspace:
    """An opened workspace. Build with :meth:`open`.

    Attributes:
        root: The folder (resolved).
        config: The settings in force: ``twinreview.toml`` with, once the workspace has a signed
            roster, its policy tables (``[disclosure]``, ``[similarity]``) taken from the signed
            ``policy`` entry instead of the file (``core.roster.log.effective_config``).
        models: The models by id.
        file_config: ``twinreview.toml`` as written (display data; for ``roster policy``).
        roster: The signed roster as replayed when the workspace was opened.
        settings: The policy tables of ``config``, parsed once (:mod:`twinreview.core.settings`).
    """

    root: Path
    config: Mapping[str, Any]
    models: dict[str, ModelInfo]
    file_config: Mapping[str, Any] = field(default_factory=dict)
    roster: SignedRoster = field(default_factory=lambda: SignedRoster(exists=False))
    settings: WorkspaceSettings = field(default_factory=WorkspaceSettings)

    @property
    def name(self) -> str:
        """Display name from ``twinreview.toml`` ``[workspace] name``, else the folder name."""
        table = self.config.get("workspace")
        if isinstance(table, Mapping) and isinstance(table.get("name"), str):
            return str(table["name"])
        return self.root.name

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Workspace:
        """Open the workspace at ``path``.

        A workspace is a folder with ``twinreview.toml``, ``models/`` or ``assets/``.

        Raises:
            WorkspaceError: with a one-line message when the folder is missing, is not a workspace,
                its ``twinreview.toml``/``model.toml`` cannot be parsed, or the settings in
                force (the file's, or the signed policy's) are invalid.
        """
        root, file_config = read_file_config(path)
        models = _read_models(root)
        roster = SignedRoster.load(root / ROSTER_DIR)
        # Unsigned workspaces clear nothing, so their file settings cannot launder anything;
        # once signed, only the signed policy decides.
        config = effective_config(file_config, roster) if roster.exists else file_config
        try:
            settings = settings_from_config(config, source=_settings_source(roster))
        except SettingsError as exc:
            raise WorkspaceError(str(exc)) from None
        return cls(root, config, models, file_config, roster, settings)

    @property
    def settings_source(self) -> str:
        """Where :attr:`settings` come from, for messages: the signed policy, or the file."""
        return _settings_source(self.roster)

    def settings_under(self, roster: SignedRoster) -> WorkspaceSettings:
        """The settings in force under ``roster``, the signed roster as it is now.

        What is signed may have changed since the workspace was opened (the owner signed a new
        policy): a decision must follow the policy signed now. Under the roster head this
        workspace was opened with (or without a signed roster) these are :attr:`settings`,
        parsed at open; under another head they are parsed again from the signed policy.

        Raises:
            SettingsError: the signed policy's tables are invalid.
        """
        if not roster.exists or (self.roster.exists and roster.head == self.roster.head):
            return self.settings
        config = effective_config(self.file_config, roster)
        return settings_from_config(config, source=SIGNED_POLICY_SOURCE)

    def rel(self, path: Path) -> str:
        """Return ``path`` relative to the workspace root with forward slashes."""
        return path.relative_to(self.root).as_posix()

    def inside(self, path: Path) -> bool:
        """True when ``path`` (after resolving symlinks) lies inside the workspace."""
        try:
            path.resolve().relative_to(self.root)
        except (ValueError, OSError, RuntimeError):
            return False
        return True

    def path_problems(self) -> dict[str, str]:
        """Files and folders a Mac or Windows laptop cannot keep as they are.

        Relative path -> why: names that differ only in case, names Windows cannot hold
        (:mod:`twinreview.core.paths`). Hidden entries (``.git``, lock files) are left out;
        links are not followed.
        """
        return portability_problems(self._all_paths())

    def name_problems(self) -> dict[str, str]:
        """The files and folders whose own name a Mac or Windows laptop cannot keep.

        Like :meth:`path_problems`, without the paths listed only for their folder's name.
        """
        return name_problems(self._all_paths())

    def portability(self) -> tuple[dict[str, str], dict[str, str]]:
        """:meth:`path_problems` and :meth:`name_problems` from one look at the folder."""
        rels = self._all_paths()
        names = name_problems(rels)
        return portability_problems(rels, names), names

    def _all_paths(self) -> list[str]:
        rels: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            # One relative path per folder, its names appended: as _rel_lexical of each.
            folder = _rel_lexical(self.root, Path(dirpath))
            prefix = "" if folder == "." else folder + "/"
            for name in [*dirnames, *filenames]:
                if not name.startswith("."):
                    rels.append(prefix + _printable(name))
        return rels

    def iter_assets(self) -> Iterator[AssetRef]:
        """Yield every asset under ``assets/<model-id>/``, any depth, in a stable order."""
        for item in self.walk_assets():
            if isinstance(item, AssetRef):
                yield item

    def walk_assets(self) -> Iterator[AssetRef | SkippedPath]:
        """Like :meth:`iter_assets` but also yield the paths that were refused, with the reason."""
        yield from self.walk().items

    def walk(self) -> AssetWalk:
        """Every asset under ``assets/<model-id>/`` (and every path refused), and the folders.

        The items come model folder by model folder (by name), each model's by path.
        """
        assets_root = self.root / ASSETS_DIR
        if not assets_root.is_dir():
            return AssetWalk((), frozenset())
        items: list[AssetRef | SkippedPath] = []
        folders: set[str] = set()
        for model_dir in _sorted_entries(assets_root):
            items.extend(self._walk_model(model_dir, folders))
        items.sort(key=_walk_key)
        return AssetWalk(tuple(items), frozenset(folders))

    def walk_again(self, before: AssetWalk, changed: Iterable[str]) -> AssetWalk | None:
        """What :meth:`walk` gives now, from what it gave ``before`` and the paths changed since.

        Only the folders a change names (a changed folder, or the folder of a changed file) are
        listed again, and the new folders under them walked; every other folder is taken as
        it was. The caller must know every change since ``before`` (the OS's reports).

        Args:
            before: The last walk of this workspace.
            changed: Absolute paths of the files and folders changed since (any of the
                workspace: those outside ``assets/`` are left out).

        Returns:
            The walk, or None when a change needs a whole walk (at ``assets/`` itself, or a
            model folder that came or went).
        """
        targets: set[str] = set()
        for path in changed:
            try:
                rel = _rel_lexical(self.root, Path(path))
            except ValueError:
                continue  # another drive
            parts = rel.split("/")
            if parts[0] != ASSETS_DIR:
                continue
            if len(parts) == 1:
                return None
            model = "/".join(parts[:2])
            if (model in before.folders) != self._is_model_dir(self.root / model):
                return None  # a model folder came or went
            if model not in before.folders:
                continue  # a stray file directly under assets/, a hidden folder
            if rel in before.folders:
                targets.add(rel)
            if len(parts) > 2:
                parent = "/".join(parts[:-1])
                while parent not in before.folders:
                    parent = parent.rsplit("/", 1)[0]  # ends at the model folder
                targets.add(parent)
        if not targets:
            return before
        items = {_walk_key(i): i for i in before.items}
        folders = set(before.folders)
        for target in sorted(targets, key=lambda f: f.count("/")):
            if target not in folders:
                continue  # under a folder that went
            _drop_under(items, folders, target, listing=True)
            base = self.root / target
            if not base.is_dir():
                _drop_under(items, folders, target, listing=False)
                continue
            model_id = target.split("/")[1]
            found, subdirs = self._list_folder(base, model_id)
            listed = {_rel_lexical(self.root, sub) for sub in subdirs}
            for folder in [f for f in folders if f.rsplit("/", 1)[0] == target]:
                if folder not in listed:
                    _drop_under(items, folders, folder, listing=False)
            for sub in subdirs:
                if _rel_lexical(self.root, sub) not in folders:
                    more: set[str] = set()
                    for item in self._walk_tree(sub, model_id, more):
                        items[_walk_key(item)] = item
                    folders |= more
            for item in found:
                items[_walk_key(item)] = item
        ordered = sorted(items.items(), key=lambda kv: kv[0])
        return AssetWalk(tuple(item for _k, item in ordered), frozenset(folders))

    def _is_model_dir(self, model_dir: Path) -> bool:
        """Whether :meth:`walk` lists ``model_dir`` (a folder of ``assets/``) as a model's."""
        name = model_dir.name
        if name.startswith(".") or name in _IGNORED_NAMES:
            return False
        return self.inside(model_dir) and model_dir.is_dir()

    def _walk_model(self, model_dir: Path, folders: set[str]) -> list[AssetRef | SkippedPath]:
        if model_dir.name.startswith(".") or model_dir.name in _IGNORED_NAMES:
            return []
        if not self.inside(model_dir):
            return [
                SkippedPath(_rel_lexical(self.root, model_dir), "link leads outside the workspace")
            ]
        if not model_dir.is_dir():
            return []  # a stray file directly under assets/ has no model
        return sorted(self._walk_tree(model_dir, model_dir.name, folders), key=lambda x: x.rel)

    def _walk_tree(
        self, top: Path, model_id: str, folders: set[str]
    ) -> list[AssetRef | SkippedPath]:
        """Each asset under ``top`` (or why a path is skipped); its folders go in ``folders``.

        Linked folders are never descended into: links to folders inside the workspace are rare
        in generated-asset trees, and following them invites loops.
        """
        found: list[AssetRef | SkippedPath] = []
        stack = [top]
        while stack:
            folder = stack.pop()
            items, subdirs = self._list_folder(folder, model_id)
            folders.add(_rel_lexical(self.root, folder))
            found.extend(items)
            stack.extend(subdirs)
        return found

    def _list_folder(
        self, base: Path, model_id: str
    ) -> tuple[list[AssetRef | SkippedPath], list[Path]]:
        """The assets directly in ``base`` (or why a path is skipped), and its folders to walk."""
        try:
            entries = list(os.scandir(base))
        except OSError:
            return [], []  # an unreadable folder is left out, as os.walk leaves it
        dirnames: list[str] = []
        filenames: list[str] = []
        # From the listing itself (no stat per file where the OS gives the type).
        links: set[str] = set()
        for entry in entries:
            try:
                is_dir = entry.is_dir()
                if entry.is_symlink():
                    links.add(entry.name)
            except OSError:
                is_dir = False
            (dirnames if is_dir else filenames).append(entry.name)
        folder = _rel_lexical(self.root, base) + "/"
        # Case-folded: Mac and Windows disks open any case of a name.
        names = frozenset(n.casefold() for n in filenames)
        found: list[AssetRef | SkippedPath] = []
        subdirs: list[Path] = []
        for d in sorted(d for d in dirnames if not d.startswith(".")):
            if d in links:
                found.append(
                    SkippedPath(_rel_lexical(self.root, base / d), "linked folder not followed")
                )
            else:
                subdirs.append(base / d)
        for name in sorted(filenames):
            p = base / name
            if name.startswith(".") or name in _IGNORED_NAMES:
                continue
            if p.suffix.lower() in _METADATA_SUFFIXES:
                continue
            if name in links and not self.inside(p):
                found.append(
                    SkippedPath(_rel_lexical(self.root, p), "link leads outside the workspace")
                )
                continue
            sidecar = p.with_suffix(SIDECAR_SUFFIX)
            # Looked at only when its folder lists it: no stat per asset for sidecars that
            # are not there.
            has = sidecar.name.casefold() in names and sidecar.is_file() and self.inside(sidecar)
            found.append(
                AssetRef(
                    path=p,
                    rel=folder + _printable(name),
                    model_id=model_id,
                    sidecar=sidecar if has else None,
                )
            )
        return found, subdirs


@dataclass(frozen=True)
class AssetWalk:
    """What :meth:`Workspace.walk` found.

    Attributes:
        items: The assets and the paths refused, in walk order (:meth:`Workspace.walk_assets`).
        folders: Every folder listed, relative to the workspace (``assets/<model-id>`` and the
            folders under it).
    """

    items: tuple[AssetRef | SkippedPath, ...]
    folders: frozenset[str]


def _walk_key(item: AssetRef | SkippedPath) -> tuple[str, str]:
    """Where :meth:`Workspace.walk` puts an item: by its model folder's name, then its path."""
    parts = item.rel.split("/", 2)
    return (parts[1] if len(parts) > 1 else "", item.rel)


def _drop_under(
    items: dict[tuple[str, str], AssetRef | SkippedPath],
    folders: set[str],
    folder: str,
    *,
    listing: bool,
) -> None:
    """Forget what a walk found in ``folder``: its own listing, or (not ``listing``) all of it."""
    prefix = folder + "/"
    for key in [k for k in items if k[1].startswith(prefix)]:
        if not listing or "/" not in key[1][len(prefix) :]:
            del items[key]
    if not listing:
        for f in [f for f in folders if f == folder or f.startswith(prefix)]:
            folders.discard(f)


def rel_of(root: Path, path: str | os.PathLike[str]) -> str | None:
    """``path`` relative to ``root`` as a walk names it (forward slashes), or None outside."""
    try:
        rel = _rel_lexical(root, Path(path))
    except ValueError:
        return None  # another drive
    return None if rel == ".." or rel.startswith("../") else rel


def asset_model_id(rel: str) -> str | None:
    """The model an asset belongs to, by its path: ``<model-id>`` of ``assets/<model-id>/...``.

    As :meth:`Workspace.walk_assets` attributes it (a file directly under ``assets/``, or a
    path outside it, has no model: None).
    """
    parts = rel.split("/")
    if len(parts) < 3 or parts[0] != ASSETS_DIR or not parts[1] or parts[1] in (".", ".."):
        return None
    return parts[1]


def _settings_source(roster: SignedRoster) -> str:
    return SIGNED_POLICY_SOURCE if roster.exists else CONFIG_SOURCE


def read_file_config(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """The workspace folder at ``path`` (resolved) and its ``twinreview.toml`` as written.

    Neither the signed roster nor the settings are read: for signing the file's tables as the
    new policy even when the policy signed before is broken.

    Raises:
        WorkspaceError: the folder is missing or not a workspace, or the file cannot be parsed.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise WorkspaceError(f"{root}: no such folder")
    if not root.is_dir():
        raise WorkspaceError(f"{root}: not a folder")
    root = root.resolve()
    config_path = root / CONFIG_NAME
    has_layout = (root / MODELS_DIR).is_dir() or (root / ASSETS_DIR).is_dir()
    if not config_path.is_file() and not has_layout:
        raise WorkspaceError(
            f"{root}: not a twinreview workspace (no {CONFIG_NAME}, models/ or assets/ folder)"
        )
    return root, _read_toml(config_path, root) if config_path.is_file() else {}


def read_sidecar(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Read an asset's JSON sidecar.

    Returns:
        ``(data, None)`` on success, ``(None, reason)`` when it is too big, not UTF-8 JSON, or
        not a JSON object.
    """
    try:
        size = path.stat().st_size
        if size > MAX_SIDECAR_BYTES:
            return None, f"sidecar is {size} bytes, more than the {MAX_SIDECAR_BYTES} allowed"
        data = json.loads(read_regular(path, MAX_SIDECAR_BYTES).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return None, f"sidecar is not readable JSON ({one_line(exc)})"
    if not isinstance(data, dict):
        return None, "sidecar is not a JSON object"
    return data, None


def _read_models(root: Path) -> dict[str, ModelInfo]:
    models_root = root / MODELS_DIR
    models: dict[str, ModelInfo] = {}
    if not models_root.is_dir():
        return models
    for d in _sorted_entries(models_root):
        if d.name.startswith(".") or not d.is_dir():
            continue
        try:
            d.resolve().relative_to(root)
        except (ValueError, OSError):
            continue  # a model folder linked from elsewhere is not part of this workspace
        cfg_path = d / MODEL_CONFIG_NAME
        config = _read_toml(cfg_path, root) if cfg_path.is_file() else {}
        name = config.get("display_name", config.get("name", d.name))
        refs_dir = d / REFERENCES_DIR
        references: list[Path] = []
        if refs_dir.is_dir():
            for dirpath, dirnames, filenames in os.walk(refs_dir, followlinks=False):
                dirnames[:] = sorted(x for x in dirnames if not x.startswith("."))
                for fn in sorted(filenames):
                    p = Path(dirpath) / fn
                    if fn.startswith(".") or fn in _IGNORED_NAMES:
                        continue
                    if p.suffix.lower() in _METADATA_SUFFIXES:
                        continue
                    try:
                        p.resolve().relative_to(root)
                    except (ValueError, OSError):
                        continue
                    references.append(p)
        models[d.name] = ModelInfo(
            id=d.name,
            display_name=str(name),
            root=d,
            references=tuple(references),
            config=config,
        )
    return models


def _read_toml(path: Path, root: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_regular(path, MAX_SETTINGS_BYTES).decode("utf-8"))
    except UnicodeDecodeError:
        raise WorkspaceError(f"{_rel_lexical(root, path)}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{_rel_lexical(root, path)}: invalid TOML ({exc})") from None
    except OSError as exc:
        raise WorkspaceError(f"{_rel_lexical(root, path)}: cannot read ({exc.strerror})") from None


def _sorted_entries(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return []


def _rel_lexical(root: Path, path: Path) -> str:
    # Lexical, not resolved: a symlink must be named by where it sits, not where it points.
    # surrogateescape keeps non-UTF-8 names printable and reversible.
    return _printable(os.path.relpath(path, root).replace(os.sep, "/"))


def _printable(name: str) -> str:
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
