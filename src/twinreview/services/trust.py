"""What this device remembers about workspaces: pinned owners, what it verified, what it signed.

Three records, all outside the workspace (a hostile folder cannot edit them):

- :class:`TrustStore`, ``known_workspaces`` in the user config folder (like OpenSSH's
  ``known_hosts``): workspace id -> owner key fingerprint, pinned on first use
  (``twinreview trust``, or the app's dialog). A roster that now starts from another owner is a hard
  error naming both fingerprints.
- :class:`SeenStore`, ``verified/<workspace id>.json`` in the user data folder: per log, the
  highest (seq, line hash) this device has verified. A log that is shorter now, or different at
  that seq, was rolled back or rewritten: verification reports it (``core.logs.verify``). The record
  only grows.
- :class:`SignedStore`, ``signed/<workspace id>/`` in the user data folder: a copy of every
  entry this device signed (``core.logs.signedcopy``), so that a log of its own (or the roster) cut
  back in the folder is reported here even if no other device saw the lost lines, and can be
  put back (:meth:`Verifier.restore`).

:class:`Verifier` runs a verification with them and records what it verified.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from twinreview.core.errors import TwinreviewError, one_line
from twinreview.core.logs.signedcopy import Restored, SignedCopies
from twinreview.core.logs.verify import (
    ROSTER_PROBLEM,
    Problem,
    VerifiedPrefix,
    VerifyReport,
    verify_workspace,
)
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR, ROSTER_LOG_ID
from twinreview.services import paths

_log = logging.getLogger(__name__)

KNOWN_WORKSPACES = "known_workspaces"
KNOWN_FOLDERS = "known_folders"
_WS_ID = re.compile(r"^[0-9a-f]{64}$")


class TrustError(TwinreviewError):
    """The workspace's owner is not the one this device pinned, or nothing is pinned yet."""


@dataclass(frozen=True)
class PinCheck:
    """The outcome of checking a roster against the pinned owner.

    Attributes:
        state: ``pinned`` (matches), ``unpinned`` (first use), ``mismatch`` or ``no_roster``.
        workspace_id: The roster's workspace id (None without a valid roster).
        owner_fingerprint: The roster's owner key fingerprint.
        pinned_fingerprint: What this device pinned, if anything.
        message: One line for the user.
    """

    state: str
    workspace_id: str | None
    owner_fingerprint: str | None
    pinned_fingerprint: str | None
    message: str

    @property
    def ok(self) -> bool:
        """True when the owner is the pinned one."""
        return self.state == "pinned"


class TrustStore:
    """Pinned workspace owners, one line each: ``<workspace id> <owner fingerprint> <name>``."""

    def __init__(self, config_dir: Path) -> None:
        """Keep the pins in ``config_dir/known_workspaces`` (and folders in ``known_folders``)."""
        self.path = config_dir / KNOWN_WORKSPACES
        self.folders_path = config_dir / KNOWN_FOLDERS

    def folders(self) -> dict[str, str]:
        """Folder (absolute path) -> the workspace id this device pinned there (first wins)."""
        out: dict[str, str] = {}
        try:
            text = self.folders_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return out
        for line in text.splitlines():
            ws_id, sep, folder = line.partition("\t")
            if sep and _WS_ID.match(ws_id):
                out.setdefault(folder, ws_id)
        return out

    def forget_folder(self, root: Path) -> None:
        """Forget the folder's workspace (rebuilt on purpose, as ``twinreview demo`` does)."""
        key = str(root.resolve())
        try:
            lines = self.folders_path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return
        kept = [ln for ln in lines if ln.partition("\t")[2] != key]
        if len(kept) != len(lines):
            tmp = self.folders_path.with_name(f".{KNOWN_FOLDERS}.tmp")
            tmp.write_text("".join(f"{ln}\n" for ln in kept), encoding="utf-8")
            os.replace(tmp, self.folders_path)

    def _remember_folder(self, root: Path, workspace_id: str) -> None:
        key = str(root.resolve())
        if key in self.folders() or "\n" in key:
            return
        self.folders_path.parent.mkdir(parents=True, exist_ok=True)
        with self.folders_path.open("a", encoding="utf-8") as fh:
            fh.write(f"{workspace_id}\t{key}\n")
            fh.flush()
            os.fsync(fh.fileno())

    @classmethod
    def default(cls) -> TrustStore:
        """The user's own store."""
        return cls(paths.config_dir())

    def pins(self) -> dict[str, str]:
        """Workspace id -> owner fingerprint (the first pin of an id wins)."""
        out: dict[str, str] = {}
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return out
        except (OSError, UnicodeDecodeError) as exc:
            # Every workspace then looks unpinned: worth a line when someone asks why.
            _log.warning("cannot read the owner pins in %s: %s", self.path, one_line(exc))
            return out
        for line in text.splitlines():
            parts = line.split(maxsplit=2)
            if len(parts) >= 2 and _WS_ID.match(parts[0]) and parts[1].startswith("SHA256:"):
                out.setdefault(parts[0], parts[1])
        return out

    def pinned(self, workspace_id: str) -> str | None:
        """The owner fingerprint pinned for ``workspace_id``."""
        return self.pins().get(workspace_id)

    def pin(
        self, workspace_id: str, fingerprint: str, name: str = "", root: Path | None = None
    ) -> None:
        """Pin ``workspace_id`` to ``fingerprint`` (and remember the folder it lives in).

        Raises:
            TrustError: a different owner is already pinned for this id.
        """
        have = self.pinned(workspace_id)
        if root is not None:
            self._remember_folder(root, workspace_id)
        if have == fingerprint:
            return
        if have is not None:
            raise TrustError(
                f"this device trusts workspace {workspace_id[:16]} with owner {have}, not "
                f"{fingerprint}"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        safe = " ".join(name.split())[:200]
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(f"{workspace_id} {fingerprint} {safe}\n")
            fh.flush()
            os.fsync(fh.fileno())

    def check(self, roster: SignedRoster, root: Path | None = None) -> PinCheck:
        """Compare a replayed roster with the pin.

        With ``root``, a folder where this device pinned another workspace whose roster now
        starts from another owner is a ``mismatch`` too: replacing the whole roster gives a new
        workspace id, but not a new folder.
        """
        if roster.workspace_id is None or roster.owner_key is None:
            return PinCheck(
                "no_roster",
                None,
                None,
                None,
                "this workspace has no signed roster; the owner runs 'twinreview init' (or "
                "'twinreview roster migrate')",
            )
        ws_id = roster.workspace_id
        fp = roster.owner_key.fingerprint
        have = self.pinned(ws_id)
        if root is not None:
            was = self.folders().get(str(root.resolve()))
            was_fp = self.pinned(was) if was is not None else None
            if was is not None and was != ws_id and was_fp is not None and was_fp != fp:
                return PinCheck(
                    "mismatch",
                    ws_id,
                    fp,
                    was_fp,
                    f"this folder held a workspace owned by {was_fp}, but its roster now starts "
                    f"from owner {fp}: the roster was replaced; do not sign anything here",
                )
        if have is None:
            return PinCheck(
                "unpinned",
                ws_id,
                fp,
                None,
                f"this device does not trust this workspace yet (owner {roster.owner} {fp}); "
                "check the fingerprint with the owner, then run 'twinreview trust WS'",
            )
        if have != fp:
            return PinCheck(
                "mismatch",
                ws_id,
                fp,
                have,
                f"the workspace's roster now starts from owner {fp}, but this device pinned "
                f"{have}: the roster was replaced; do not sign anything here",
            )
        return PinCheck("pinned", ws_id, fp, have, "trusted")


class SeenStore:
    """Per workspace, the highest (seq, hash) this device verified for each log."""

    def __init__(self, data_dir: Path) -> None:
        """Keep the records in ``data_dir/verified``."""
        self.folder = data_dir / "verified"

    @classmethod
    def default(cls) -> SeenStore:
        """The user's own store."""
        return cls(paths.data_dir())

    def _path(self, workspace_id: str) -> Path:
        if not _WS_ID.match(workspace_id):
            raise ValueError("not a workspace id")
        return self.folder / f"{workspace_id}.json"

    def load(self, workspace_id: str) -> dict[str, tuple[int, str]]:
        """Log fingerprint (or ``roster``) -> (seq, line hash)."""
        try:
            data = json.loads(self._path(workspace_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        out: dict[str, tuple[int, str]] = {}
        if isinstance(data, dict):
            for log, head in data.items():
                if (
                    isinstance(head, list)
                    and len(head) == 2
                    and isinstance(head[0], int)
                    and isinstance(head[1], str)
                ):
                    out[str(log)] = (head[0], head[1])
        return out

    def record(self, workspace_id: str, heads: Mapping[str, tuple[int, str]]) -> None:
        """Raise the record to ``heads`` (never lowers a log's seq)."""
        current = self.load(workspace_id)
        changed = False
        for log, (seq, h) in heads.items():
            have = current.get(log)
            if have is None or seq > have[0]:
                current[log] = (seq, h)
                changed = True
        if not changed:
            return
        path = self._path(workspace_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps({k: list(v) for k, v in sorted(current.items())}), "utf-8")
        os.replace(tmp, path)


class SignedStore:
    """Per workspace, this device's copies of what it signed (``core.logs.signedcopy``)."""

    def __init__(self, data_dir: Path) -> None:
        """Keep the copies in ``data_dir/signed/<workspace id>/``."""
        self.folder = data_dir / "signed"

    @classmethod
    def default(cls) -> SignedStore:
        """The user's own store."""
        return cls(paths.data_dir())

    def for_workspace(self, workspace_id: str, root: Path) -> SignedCopies:
        """The copies for one workspace (at ``root`` on this device)."""
        if not _WS_ID.match(workspace_id):
            raise ValueError("not a workspace id")
        return SignedCopies(self.folder / workspace_id, root)


class PrefixStore:
    """The verified-prefix cache: per workspace, the log files that verified wholly good.

    Only a cache (in the user cache folder): a missing, stale or damaged file costs a full
    verification, never a wrong answer, since each record is used only when the file still
    starts with exactly the bytes it describes (``core.logs.verify.VerifiedPrefix``).
    """

    def __init__(self, cache_dir: Path) -> None:
        """Keep the records in ``cache_dir/verified-prefix``."""
        self.folder = cache_dir / "verified-prefix"

    @classmethod
    def default(cls) -> PrefixStore:
        """The user's own cache."""
        return cls(paths.cache_dir())

    def _path(self, workspace_id: str) -> Path:
        if not _WS_ID.match(workspace_id):
            raise ValueError("not a workspace id")
        return self.folder / f"{workspace_id}.json"

    def load(self, workspace_id: str) -> dict[str, VerifiedPrefix]:
        """Relative log path -> record (empty when there is none or it cannot be read).

        The file starts with the sha256 of the rest: a record damaged on disk (a crash, a full
        disk) is dropped whole rather than half-read.
        """
        try:
            raw = self._path(workspace_id).read_bytes()
            digest, _, body = raw.partition(b"\n")
            if hashlib.sha256(body).hexdigest().encode() != digest:
                return {}
            data = json.loads(body)
            return {str(rel): VerifiedPrefix.from_json(rec) for rel, rec in data.items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            _log.debug("verified-prefix cache for %s unusable: %s", workspace_id, one_line(exc))
            return {}

    def save(self, workspace_id: str, prefixes: Mapping[str, VerifiedPrefix]) -> None:
        """Replace the records (atomic); I/O errors are ignored: it is only a cache."""
        path = self._path(workspace_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            records = {rel: p.to_json() for rel, p in prefixes.items()}
            body = json.dumps(records, separators=(",", ":")).encode("utf-8")
            tmp.write_bytes(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
            os.replace(tmp, path)
        except OSError as exc:
            _log.debug("verified-prefix cache not saved to %s: %s", path, one_line(exc))


class Verifier:
    """Verifies a workspace against this device's memory, and remembers what it verified.

    Build once per front end (the composition root) and pass it down.
    """

    def __init__(
        self,
        seen: SeenStore | None,
        trust: TrustStore | None,
        *,
        prefixes: PrefixStore | None = None,
        clock: Callable[[], dt.datetime] | None = None,
        signed: SignedStore | None = None,
    ) -> None:
        """Verify with this device's records.

        Args:
            seen: The rollback record (None: remember nothing).
            trust: The pinned owners (None: no pin check).
            prefixes: The verified-prefix cache (None: verify every entry every time).
            clock: The time "dated in the future" is judged against.
            signed: This device's copies of what it signed (None: none kept).
        """
        self.seen = seen
        self.trust = trust
        self.prefixes = prefixes
        self.signed = signed
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    @classmethod
    def default(cls) -> Verifier:
        """With the user's own records and cache."""
        return cls(
            SeenStore.default(),
            TrustStore.default(),
            prefixes=PrefixStore.default(),
            signed=SignedStore.default(),
        )

    def copies(self, root: Path, roster: SignedRoster) -> SignedCopies | None:
        """This device's copies of what it signed in the workspace (None: none kept)."""
        if self.signed is None or roster.workspace_id is None:
            return None
        return self.signed.for_workspace(roster.workspace_id, root)

    def restore(self, root: Path) -> list[Restored]:
        """Put back every line this device signed that the workspace lost (``verify --restore``).

        Raises:
            CopyError: a file holds other entries than this device signed (nothing changed
                there; the others are restored).
            OSError: the disk refused.
        """
        copies = self.copies(root, SignedRoster.load(root / ROSTER_DIR))
        return copies.restore() if copies is not None else []

    def verify(self, root: Path, roster: SignedRoster | None = None) -> VerifyReport:
        """Verify every log of the workspace at ``root``; raise the rollback record after.

        A pinned owner that no longer matches is reported as a roster problem (every asset
        blocked). Only logs whose whole verified prefix is good raise the record, so one bad run
        cannot teach this device a forged head.
        """
        # Like core.logs.verify: loading a long record makes many objects and no cycles; the cyclic
        # collector would rescan them again and again. It runs once, afterwards.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._verify(root, roster)
        finally:
            if was_enabled:
                gc.enable()

    def _verify(self, root: Path, roster: SignedRoster | None) -> VerifyReport:
        if roster is None:
            roster = SignedRoster.load(root / ROSTER_DIR)
        ws_id = roster.workspace_id
        seen = self.seen.load(ws_id) if (self.seen is not None and ws_id) else {}
        cached = self.prefixes.load(ws_id) if (self.prefixes is not None and ws_id) else None
        copies = self.copies(root, roster)
        own = copies.heads() if copies is not None else {}
        report = verify_workspace(
            root, roster, seen=seen, now=self._clock(), prefixes=cached, own=own
        )
        if (
            self.prefixes is not None
            and ws_id
            and _summary(report.prefixes) != _summary(cached or {})
        ):
            self.prefixes.save(ws_id, report.prefixes)
        if self.trust is not None:
            check = self.trust.check(roster, root)
            if check.state == "mismatch":
                report.problems.insert(
                    0, Problem(f"{ROSTER_DIR}/roster.dlog", 0, 1, ROSTER_PROBLEM, check.message)
                )
        if self.seen is not None and ws_id:
            bad = {s.log for s in report.logs if not s.ok}
            if not roster.ok:
                bad.add(ROSTER_LOG_ID)
            self.seen.record(ws_id, {k: v for k, v in report.heads.items() if k not in bad})
        return report


def _summary(prefixes: Mapping[str, VerifiedPrefix]) -> dict[str, tuple[object, ...]]:
    return {rel: (p.size, p.digest, p.roster_head, p.stat) for rel, p in prefixes.items()}
