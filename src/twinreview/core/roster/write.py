"""Writing the signed roster: signed entries appended under a lock, and join requests.

:class:`RosterWriter` replays the roster and applies the new entry before it writes, so a change
the roster would not accept is refused instead of written. :class:`JoinRequest` is the signed
request a newcomer leaves in ``roster/requests/`` for the owner to approve.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import filelock

from twinreview.core.errors import file_stamp
from twinreview.core.logs.log import (
    FORMAT_VERSION,
    EntryKeeper,
    LogError,
    LogLockedError,
    append_and_keep,
    encode_line,
    encode_payload,
    format_ts,
    line_hash,
    parse_line,
    utc_now,
)
from twinreview.core.logs.sshsig import (
    NS_ROSTER,
    SigningKey,
    SshPublicKey,
    SshsigError,
    SshSignature,
)
from twinreview.core.logs.sshsig import verify as sshsig_verify
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import (
    JOIN_KIND,
    KINDS,
    REQUEST_SUFFIX,
    REQUESTS_DIR,
    ROSTER_LOG,
    ROSTER_LOG_ID,
    RosterLogError,
)
from twinreview.core.roster.people import (
    Person,
)
from twinreview.core.roster.rules import (
    apply_entry,
    models_field,
    role_field,
    text_field,
)

# -- writing -------------------------------------------------------------------------------


def build_roster_line(
    key: SigningKey,
    principal: str,
    *,
    seq: int,
    prev: str | None,
    ts: datetime,
    kind: str,
    fields: Mapping[str, Any],
    workspace_id: str | None,
    heads: Sequence[Mapping[str, Any]] = (),
) -> tuple[bytes, bytes]:
    """Sign one roster entry; returns ``(payload bytes, full line)``."""
    payload: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "log": ROSTER_LOG_ID,
        "seq": seq,
        "prev": prev,
        "ts": format_ts(ts),
        "principal": principal,
        "key": key.public.openssh(),
        "kind": kind,
    }
    if workspace_id is not None:
        payload["ws"] = workspace_id
    payload["heads"] = [dict(h) for h in heads]
    clash = sorted(set(fields) & set(payload))
    if clash:
        raise RosterLogError(f"fields may not override header fields: {', '.join(clash)}")
    payload.update(fields)
    try:
        payload_bytes = encode_payload(payload)
    except (TypeError, ValueError) as exc:
        raise RosterLogError(f"roster fields are not JSON-serialisable: {exc}") from None
    sig = key.sign(payload_bytes, NS_ROSTER)
    return payload_bytes, encode_line(payload_bytes, sig)


class RosterWriter:
    """Appends signed entries to ``roster/roster.dlog`` (under a lock; fsync'ed).

    Each append replays the log first and applies the new entry to the current state, so a change
    the roster would not accept is refused here (``RosterLogError``) instead of being written.
    """

    def __init__(
        self,
        roster_dir: Path,
        key: SigningKey,
        principal: str,
        *,
        clock: Callable[[], datetime] | None = None,
        lock_timeout: float = 30.0,
        copy: EntryKeeper | None = None,
    ) -> None:
        """Write as ``principal`` with ``key`` into ``roster_dir``.

        ``copy`` is this device's own copy of the roster (``core.logs.signedcopy``): a change is
        refused while the roster holds less than this device signed into it, and every change
        is kept in it too. Set it after :meth:`genesis` (the workspace id names its folder).
        """
        self.copy = copy
        self.roster_dir = roster_dir
        self.path = roster_dir / ROSTER_LOG
        self.key = key
        self.principal = principal
        self._clock = clock or utc_now
        self._lock = filelock.FileLock(
            str(roster_dir / f".{ROSTER_LOG}.lock"), timeout=lock_timeout
        )

    def genesis(self, name: str, person: Person) -> SignedRoster:
        """Create the roster with this key as the owner; refuses when one exists."""
        self.roster_dir.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if self.path.exists() and self.path.stat().st_size > 0:
                raise RosterLogError("this workspace already has a signed roster")
            fields = {
                "name": name,
                "person": {
                    "principal": person.principal,
                    "name": person.display_name,
                    "role": person.role,
                    "models": list(person.models),
                },
            }
            _, line = build_roster_line(
                self.key,
                self.principal,
                seq=0,
                prev=None,
                ts=self._clock(),
                kind="genesis",
                fields=fields,
                workspace_id=None,
            )
            self._write(line, create=True)
            return SignedRoster.load(self.roster_dir)

    def append(
        self, kind: str, fields: Mapping[str, Any], heads: Sequence[Mapping[str, Any]] = ()
    ) -> SignedRoster:
        """Sign and append one change; returns the roster replayed with it.

        Raises:
            RosterLogError: the roster is damaged, or the change is not allowed.
            OSError: the disk refused.
        """
        if kind not in KINDS or kind == "genesis":
            raise RosterLogError(f"cannot append a roster entry of kind {kind!r}")
        with self._locked():
            if self.copy is not None:
                why = self.copy.check(self.path)
                if why is not None:
                    raise RosterLogError(
                        f"{why}: nothing was signed; put the missing lines back first "
                        "('twinreview verify --restore', or Restore in the app)"
                    )
            self._recover_tail()
            roster = SignedRoster.load(self.roster_dir)
            state = roster.current
            if not roster.ok or state is None:
                first = roster.problems[0].message if roster.problems else "no roster"
                raise RosterLogError(f"the signed roster is not intact: {first}")
            payload_bytes, line = build_roster_line(
                self.key,
                self.principal,
                seq=state.seq + 1,
                prev=state.head_hash,
                ts=self._clock(),
                kind=kind,
                fields=fields,
                workspace_id=roster.workspace_id,
                heads=heads,
            )
            payload = json.loads(payload_bytes)
            apply_entry(state, payload, self.key.public, line_hash(line))  # refuse before writing
            self._write(line, create=False)
            return SignedRoster.load(self.roster_dir)

    def set_aside_bad_lines(self) -> Path | None:
        """Move every line after the last good entry into ``roster.dlog.rejected-<time>``.

        Lines that failed the replay never counted, so nothing that counted is lost; without
        this, one unauthorised line appended by anyone would stop every roster change for good.
        Returns the file the lines were moved to (None: nothing to do).
        """
        with self._locked():
            data = self.path.read_bytes()
            roster = SignedRoster.load(self.roster_dir)
            if not roster.states:
                raise RosterLogError("the roster has no good entry to keep")
            good = sum(len(e.data) for e in roster.entries[: len(roster.states)] if e.ok)
            if good >= len(data):
                return None
            return self._move_aside(data, good, "rejected")

    def _recover_tail(self) -> None:
        """Deal with a last line that has no newline (an interrupted append).

        When it is a whole, good next entry, its newline is added; otherwise it is moved aside,
        as the decision logs do, and the roster goes on from its last good entry.
        """
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return
        if not data or data.endswith(b"\n"):
            return
        end = data.rfind(b"\n") + 1
        before = SignedRoster.from_bytes(data[:end])
        after = SignedRoster.from_bytes(data + b"\n")
        if after.ok and len(after.states) == len(before.states) + 1:
            self._write(b"\n", create=False)
        else:
            self._move_aside(data, end, "torn")

    def _move_aside(self, data: bytes, keep: int, what: str) -> Path:
        stamp = file_stamp(self._clock())
        aside = self.path.with_name(f"{ROSTER_LOG}.{what}-{stamp}")
        aside.write_bytes(data[keep:])
        with self.path.open("r+b") as fh:
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
        return aside

    def _locked(self) -> contextlib.AbstractContextManager[object]:
        self.roster_dir.mkdir(parents=True, exist_ok=True)
        try:
            lock = self._lock.acquire()
        except filelock.Timeout:
            raise LogLockedError("another twinreview process is writing the roster") from None
        return lock

    def _write(self, line: bytes, *, create: bool) -> None:
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0)
        if create:
            flags |= os.O_CREAT
        try:
            fd = os.open(self.path, flags, 0o644)
        except FileNotFoundError:
            raise LogError("roster/roster.dlog disappeared") from None
        append_and_keep(fd, line, self.path, self.copy, "the roster")


# -- join requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinRequest:
    """A signed request to join a workspace (``roster/requests/<principal>--<fp16>.req``).

    Attributes:
        principal, display_name, role, models: What the requester asks for.
        key: The requester's key (the request is signed with it).
        workspace_id: The workspace it is for.
        sha256: sha256 hex of the request line (what an approval names).
        file: The file name.
    """

    principal: str
    display_name: str
    role: str
    models: tuple[str, ...]
    key: SshPublicKey
    workspace_id: str
    sha256: str
    file: str

    @staticmethod
    def make(
        roster_dir: Path,
        key: SigningKey,
        person: Person,
        workspace_id: str,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> Path:
        """Write a signed join request; returns its path."""
        from twinreview.core.logs.log import log_filename

        fields = {
            "name": person.display_name,
            "role": person.role,
            "models": list(person.models),
        }
        payload: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "log": ROSTER_LOG_ID,
            "seq": 0,
            "prev": None,
            "ts": format_ts((clock or utc_now)()),
            "principal": person.principal,
            "key": key.public.openssh(),
            "kind": JOIN_KIND,
            "ws": workspace_id,
            **fields,
        }
        payload_bytes = encode_payload(payload)
        line = encode_line(payload_bytes, key.sign(payload_bytes, NS_ROSTER))
        folder = roster_dir / REQUESTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / log_filename(person.principal, key.public).replace(".dlog", REQUEST_SUFFIX)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(line)
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, path: Path, workspace_id: str) -> JoinRequest:
        """Read and check one request file.

        Raises:
            RosterLogError: unreadable, badly signed, or for another workspace.
        """
        try:
            if not path.is_file() or path.stat().st_size > 64 * 1024:
                raise RosterLogError(f"{path.name}: not a join request")
            data = path.read_bytes()
        except OSError as exc:
            raise RosterLogError(f"{path.name}: cannot read ({exc.strerror})") from None
        raw = parse_line(data if data.endswith(b"\n") else data + b"\n", 1)
        p = raw.payload
        if p is None or raw.payload_bytes is None or raw.sig is None or p.get("kind") != JOIN_KIND:
            raise RosterLogError(f"{path.name}: not a join request")
        try:
            key = SshPublicKey.parse(str(p.get("key", "")))
            parsed = SshSignature.parse(raw.sig)
            sshsig_verify(parsed, raw.payload_bytes, NS_ROSTER)
        except SshsigError as exc:
            raise RosterLogError(f"{path.name}: the signature does not verify ({exc})") from None
        if parsed.public_key != key:
            raise RosterLogError(f"{path.name}: signed by another key than it names")
        if p.get("ws") != workspace_id:
            raise RosterLogError(f"{path.name}: a request for another workspace")
        try:
            return cls(
                text_field(p, "principal"),
                str(p.get("name") or p.get("principal")),
                role_field(p.get("role")),
                models_field(p.get("models", [])),
                key,
                workspace_id,
                hashlib.sha256(raw.data).hexdigest(),
                path.name,
            )
        except RosterLogError as exc:
            raise RosterLogError(f"{path.name}: {exc}") from None


def pending_requests(roster_dir: Path, roster: SignedRoster) -> tuple[list[JoinRequest], list[str]]:
    """Join requests not yet on the roster, and one message per unusable request file."""
    folder = roster_dir / REQUESTS_DIR
    state = roster.current
    if roster.workspace_id is None or state is None or not folder.is_dir():
        return [], []
    out: list[JoinRequest] = []
    problems: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or not path.name.endswith(REQUEST_SUFFIX):
            continue
        try:
            req = JoinRequest.read(path, roster.workspace_id)
        except RosterLogError as exc:
            problems.append(str(exc))
            continue
        if state.principal_of(req.key) is None and req.key.fingerprint not in state.revoked:
            out.append(req)
    return out, problems
