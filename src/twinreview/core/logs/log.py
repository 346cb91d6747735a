r"""The decision log: one append-only, hash-chained, SSHSIG-signed JSON Lines file per device key.

Public API:
    LogWriter(path, key, principal, role, *, display_name="", clock=None, lock_timeout=30.0)
        ``LogWriter.for_workspace(ws_root, key, principal, role, ...)`` puts it at
        ``logs/<principal>--<fp16>.dlog``. ``append(kind, fields) -> Entry`` signs and appends one
        entry (creating the file with a genesis entry, recovering a torn tail first if needed).
    Entry: one written entry (seq, kind, payload dict, payload bytes, sig, line bytes, line_hash).
    build_entry(key, principal, role, *, seq, prev, ts, kind, fields) -> Entry: sign without
        writing (for building large test/benchmark logs).
    EntryKeeper: this device's own copy of what it signs (``core.logs.signedcopy``), optional.
    read_log(path) -> LogContent: the raw lines (each a ``RawLine``, decoded or with an error)
        and the torn tail bytes, without verifying anything (see ``twinreview.core.logs.verify``).
    log_filename(principal, key) -> str; LOG_SUFFIX; KINDS; HEADER_FIELDS; LogError; LogLockedError.

Format (one line per entry, UTF-8, ``\n``-terminated)::

    {"payload": "<base64 of the exact payload bytes>", "sig": "<armored SSHSIG, JSON-escaped>"}

The payload is compact JSON, written once and never re-serialised: readers decode the base64 and
parse, verifiers check the signature over the decoded bytes (namespace ``twinreview-entry-v1``),
so ``base64 -d`` of the payload piped into ``ssh-keygen -Y verify`` works. Payload header fields:

    v          format version, 1
    log        the writer key's fingerprint as ``ssh-keygen -l`` prints it (``SHA256:...``)
    seq        0, 1, 2, ... contiguous within the log
    prev       sha256 hex of the previous *full line including its newline*; null for seq 0
    ts         UTC, ISO 8601 with milliseconds and ``Z``
    principal  the signer's principal (as in roster/allowed_signers)
    role       model | agent | brand
    kind       genesis | decision | withdraw | published | rotate | recovery | close

followed by the kind's own fields (``append(kind, fields)``): genesis carries ``key`` (the OpenSSH
public key) and ``name``; recovery carries ``torn_file``, ``torn_bytes``, ``torn_sha256``; the
decision fields are defined by ``twinreview.services.decisions``, the ``published`` fields (a file
that went out) by ``twinreview.core.publish.register``.

File name: ``<principal>--<fp16>.dlog`` where fp16 is the first 16 characters of the fingerprint
in base64url (``SshPublicKey.fp16``) and the principal has characters outside ``A-Za-z0-9._@+-``
replaced by ``_``. The name is a convenience only: verification trusts the contents, and copies
of a log may sit anywhere under ``logs/`` under any name.

Durability: an append is one ``write`` of the whole line on an ``O_APPEND`` descriptor followed by
``fsync`` (plus a directory fsync when the file is created), all under a ``filelock`` lock file
``logs/.<name>.lock`` so two processes never interleave; the tail is re-read under the lock, so
several writers on one machine stay consistent. A last line without its newline (a torn write) is
copied to ``<name>.torn-<UTC time>`` beside the log (never deleted), the log is cut back to its
last complete line, and a signed ``recovery`` entry records what was moved.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import filelock

from twinreview.core.errors import TwinreviewError, file_stamp
from twinreview.core.logs import lines as logfile
from twinreview.core.logs.sshsig import NS_ENTRY, SigningKey, SshPublicKey, SshsigError, verify

LOG_SUFFIX = ".dlog"
LOGS_DIR = "logs"
FORMAT_VERSION = 1
KINDS: tuple[str, ...] = (
    "genesis",
    "decision",
    "withdraw",
    "published",
    "rotate",
    "recovery",
    "close",
)
HEADER_FIELDS: tuple[str, ...] = ("v", "log", "seq", "prev", "ts", "principal", "role", "kind")


class LogError(TwinreviewError):
    """The log cannot be appended to (damaged, closed, foreign, unserialisable fields)."""


class LogLockedError(LogError):
    """Another process held the log's lock for longer than the timeout."""


class CopyNotKept(LogError):
    """The entry is in the log, but this device could not keep its own copy of it."""


class EntryKeeper(Protocol):
    """This device's own copy of what it signs (``core.logs.signedcopy.SignedCopy``)."""

    def check(self, file: Path) -> str | None:
        """Why appending to ``file`` would fork what this device signed (None: it would not)."""
        ...

    def record(self, file: Path, end: int) -> None:
        """Keep ``file`` up to offset ``end``."""
        ...


def utc_now() -> datetime:
    """The current time in UTC (the default clock)."""
    return datetime.now(UTC)


def format_ts(when: datetime) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, e.g. ``2025-03-01T10:00:00.000Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def log_filename(principal: str, key: SshPublicKey) -> str:
    """``<principal>--<fp16>.dlog`` with unsafe principal characters replaced by ``_``."""
    return log_filename_of(principal, key.fingerprint)


def log_filename_of(principal: str, fingerprint: str) -> str:
    """:func:`log_filename` from the key's fingerprint (``SHA256:...``) alone."""
    safe = re.sub(r"[^A-Za-z0-9._@+-]", "_", principal).lstrip(".") or "_"
    fp16 = fingerprint.removeprefix("SHA256:").replace("+", "-").replace("/", "_")[:16]
    return f"{safe}--{fp16}{LOG_SUFFIX}"


def line_hash(line: bytes) -> str:
    """sha256 hex of a full line (including its newline): the next entry's ``prev``."""
    return hashlib.sha256(line).hexdigest()


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes a payload is signed as: compact UTF-8 JSON, written once, never again.

    Raises:
        TypeError, ValueError: a field JSON cannot hold (or NaN).
    """
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


def encode_line(payload: bytes, sig: str) -> bytes:
    """The JSON line for a payload and its armored signature (with the newline)."""
    text = json.dumps({"payload": base64.b64encode(payload).decode("ascii"), "sig": sig})
    return text.encode("ascii") + b"\n"


@dataclass(frozen=True)
class Entry:
    """One entry as written.

    Attributes:
        seq: Position in the log.
        kind: genesis | decision | rotate | recovery | close.
        payload: The decoded payload.
        payload_bytes: The exact signed bytes.
        sig: The armored SSHSIG signature.
        line: The full line, newline included.
    """

    seq: int
    kind: str
    payload: Mapping[str, Any]
    payload_bytes: bytes
    sig: str
    line: bytes

    @property
    def line_hash(self) -> str:
        """sha256 hex of :attr:`line` (what the next entry's ``prev`` holds)."""
        return line_hash(self.line)


def build_entry(
    key: SigningKey,
    principal: str,
    role: str,
    *,
    seq: int,
    prev: str | None,
    ts: datetime,
    kind: str,
    fields: Mapping[str, Any],
) -> Entry:
    """Make and sign one entry without writing it.

    ``LogWriter`` writes; benchmarks and tests use this to build large logs quickly.

    Raises:
        LogError: the fields are not JSON-serialisable.
    """
    payload: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "log": key.public.fingerprint,
        "seq": seq,
        "prev": prev,
        "ts": format_ts(ts),
        "principal": principal,
        "role": role,
        "kind": kind,
    }
    payload.update(fields)
    try:
        payload_bytes = encode_payload(payload)
    except (TypeError, ValueError) as exc:
        raise LogError(f"entry fields are not JSON-serialisable: {exc}") from None
    sig = key.sign(payload_bytes, NS_ENTRY)
    return Entry(seq, kind, payload, payload_bytes, sig, encode_line(payload_bytes, sig))


@dataclass(frozen=True)
class RawLine:
    """A complete line of a log file, decoded as far as possible (nothing verified).

    Attributes:
        lineno: 1-based line number.
        data: The exact bytes, newline included.
        payload_bytes: The base64-decoded payload, or None if the line is malformed.
        payload: The parsed payload (a JSON object), or None.
        sig: The armored signature text, or None.
        error: Why the line could not be decoded, or None.
    """

    lineno: int
    data: bytes
    payload_bytes: bytes | None
    payload: dict[str, Any] | None
    sig: str | None
    error: str | None = None


@dataclass
class LogContent:
    """What :func:`read_log` found.

    Attributes:
        path: The file.
        lines: Every complete line.
        torn_tail: Bytes after the last newline (empty for a clean file).
    """

    path: Path
    lines: list[RawLine] = field(default_factory=list)
    torn_tail: bytes = b""


def parse_line(data: bytes, lineno: int) -> RawLine:
    """Decode one line (``data`` includes the newline); never raises."""
    try:
        # Explicit UTF-8 (json.loads(bytes) would also sniff UTF-16/32, which no log uses).
        outer = json.loads(data.decode("utf-8"))
        if not isinstance(outer, dict) or set(outer) != {"payload", "sig"}:
            raise ValueError("not a {payload, sig} object")
        b64, sig = outer["payload"], outer["sig"]
        if not isinstance(b64, str) or not isinstance(sig, str):
            raise ValueError("payload and sig must be strings")
        payload_bytes = binascii.a2b_base64(b64, strict_mode=True)
        payload = json.loads(payload_bytes.decode("utf-8"))
        if not isinstance(payload, dict):
            raise ValueError("payload is not a JSON object")
    except (ValueError, binascii.Error, RecursionError) as exc:
        return RawLine(lineno, data, None, None, None, f"malformed line: {exc}")
    return RawLine(lineno, data, payload_bytes, payload, sig)


def read_log(path: Path) -> LogContent:
    """Read and decode every line of a log file (streamed; see :func:`stream_log`).

    Raises:
        OSError: if the file cannot be read or is not a regular file.
    """
    return stream_log(path).content


# A decision with a 4,000-character note and every finding it showed is a few kB; a line this
# long is not an entry, and decoding it (JSON, base64, JSON again) would cost several times its
# size in memory.
MAX_LINE_BYTES = 1 << 20


@dataclass
class StreamedLog:
    """What :func:`stream_log` read.

    Attributes:
        content: The decoded lines after the skipped prefix, and the torn tail.
        size: Bytes in the file.
        prefix_sha256: sha256 hex of the first ``skip`` bytes (None when the file is shorter or
            they do not end a line).
        sha256: sha256 hex of the whole file.
    """

    content: LogContent
    size: int
    prefix_sha256: str | None
    sha256: str


def stream_log(
    path: Path, *, skip: int = 0, first_lineno: int = 1, digest: bool = True
) -> StreamedLog:
    """Read a log line by line, never holding more than one capped line beyond what it returns.

    The first ``skip`` bytes (a prefix verified before) are only hashed; the lines after them are
    decoded. A line longer than :data:`MAX_LINE_BYTES` is reported as malformed without being
    kept or decoded. ``digest=False`` skips hashing the file (``sha256`` is then meaningless).

    Raises:
        OSError: if the file cannot be read or is not a regular file.
    """
    from twinreview.core.files import open_regular

    content = LogContent(path)
    with open_regular(path) as fh:
        lines = logfile.CappedLines(
            fh, cap=MAX_LINE_BYTES, skip=skip, first_lineno=first_lineno, digest=digest
        )
        for lineno, line, dropped in lines:
            if dropped:
                error = f"malformed line: {dropped} bytes, longer than any entry"
                content.lines.append(RawLine(lineno, b"", None, None, None, error))
            else:
                content.lines.append(parse_line(line, lineno))
        content.torn_tail = lines.torn
    return StreamedLog(content, lines.size, lines.prefix_sha256, lines.sha256)


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows; NTFS journals them
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_and_keep(fd: int, line: bytes, path: Path, copy: EntryKeeper | None, where: str) -> None:
    """Write ``line`` to the open log ``fd`` (closed here), sync it, and keep this device's copy.

    Raises:
        CopyNotKept: the line is in the log, but ``copy`` could not keep it (``where`` names the
            log in the message).
    """
    try:
        write_all(fd, line)
        os.fsync(fd)
        end = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if copy is not None:
        try:
            copy.record(path, end)
        except OSError as exc:
            raise CopyNotKept(
                f"signed and appended to {where}, but this device could not keep its own copy "
                f"of the entry ({exc.strerror or exc})"
            ) from None


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@dataclass(frozen=True)
class _Tail:
    seq: int
    line_hash: str
    kind: str


class LogWriter:
    """Appends signed entries to one device key's log file."""

    def __init__(
        self,
        path: Path,
        key: SigningKey,
        principal: str,
        role: str,
        *,
        display_name: str = "",
        clock: Callable[[], datetime] | None = None,
        lock_timeout: float = 30.0,
        context: Callable[[], Mapping[str, Any]] | None = None,
        copy: EntryKeeper | None = None,
    ) -> None:
        """Set up a writer; nothing is touched on disk until :meth:`append`.

        Args:
            path: The log file.
            key: The device key (its fingerprint is the log's identity).
            principal: The signer's principal, written into every payload.
            role: model | agent | brand, written into every payload.
            display_name: Written into the genesis entry.
            clock: Returns the current time (tests pass a fixed clock).
            lock_timeout: Seconds to wait for another process's append.
            context: Returns fields added to every entry this writer signs (genesis and
                recovery included): the workspace id, the roster head and the heads of the other
                logs this device has seen (DESIGN 3.1). Called once per entry, under the lock.
            copy: This device's own copy of the log (``core.logs.signedcopy``): an append that would
                fork it (the workspace file is shorter or different) is refused, and every
                entry written is kept in it too.
        """
        self.path = path
        self.key = key
        self.principal = principal
        self.role = role
        self.display_name = display_name
        self._clock = clock or utc_now
        self._context = context
        self.copy = copy
        self._lock = filelock.FileLock(
            str(path.with_name(f".{path.name}.lock")), timeout=lock_timeout
        )

    @classmethod
    def for_workspace(
        cls,
        ws_root: Path,
        key: SigningKey,
        principal: str,
        role: str,
        **kwargs: Any,
    ) -> LogWriter:
        """A writer for ``<ws_root>/logs/<principal>--<fp16>.dlog`` (see :class:`LogWriter`)."""
        return cls(
            ws_root / LOGS_DIR / log_filename(principal, key.public), key, principal, role, **kwargs
        )

    def append(self, kind: str, fields: Mapping[str, Any]) -> Entry:
        """Sign and append one entry; returns once it is on disk (fsync'ed).

        Args:
            kind: One of :data:`KINDS` (``genesis`` is written automatically).
            fields: JSON-serialisable kind-specific fields; must not reuse header names.

        Raises:
            LogError: bad kind/fields, a closed, foreign or damaged log.
            LogLockedError: another process kept the lock past the timeout.
            OSError: the disk refused.
        """
        if kind not in KINDS or kind == "genesis":
            raise LogError(f"cannot append an entry of kind {kind!r}")
        clash = sorted(set(fields) & set(HEADER_FIELDS))
        if clash:
            raise LogError(f"fields may not override header fields: {', '.join(clash)}")
        with self._locked():
            if self.copy is not None:
                why = self.copy.check(self.path)
                if why is not None:
                    raise LogError(
                        f"{why}: nothing was signed; put the missing lines back first "
                        "('twinreview verify --restore', or Restore in the app)"
                    )
            tail, _ = self._prepare_locked()
            if tail.kind == "close":
                raise LogError(f"{self.path.name} is closed; no further entries")
            return self._write_entry(tail, kind, fields)

    # -- internals -------------------------------------------------------------------------

    def _locked(self) -> contextlib.AbstractContextManager[object]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock = self._lock.acquire()
        except filelock.Timeout:
            raise LogLockedError(
                f"another twinreview process is writing {self.path.name}; try again"
            ) from None
        return lock

    def _prepare_locked(self) -> tuple[_Tail, list[Entry]]:
        written: list[Entry] = []
        if not self.path.exists() or self.path.stat().st_size == 0:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.close(fd)
            _fsync_dir(self.path.parent)
            genesis = self._write_entry(
                None,
                "genesis",
                {"key": self.key.public.openssh(), "name": self.display_name},
            )
            written.append(genesis)
            return _Tail(genesis.seq, genesis.line_hash, genesis.kind), written
        torn = self._recover_torn_tail()
        tail = self._read_tail()
        if torn is not None:
            entry = self._write_entry(tail, "recovery", torn)
            written.append(entry)
            tail = _Tail(entry.seq, entry.line_hash, entry.kind)
        return tail, written

    def _recover_torn_tail(self) -> dict[str, Any] | None:
        found = logfile.torn_tail(self.path)
        if found is None:
            return None
        end, torn = found
        if self._completes_chain(end, torn):
            # The entry was written whole and only its newline is missing (a crash between the
            # two, or a sync tool that strips a final newline): it is a real, signed entry.
            # Finishing the line keeps it; moving it aside would erase a decision.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
            try:
                write_all(fd, b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            return None
        stamp = file_stamp(self._clock())
        aside = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        n = 1
        while aside.exists():
            aside = self.path.with_name(f"{self.path.name}.torn-{stamp}-{n}")
            n += 1
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            write_all(fd, torn)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(self.path.parent)
        # Only now cut the log back: the torn bytes are safe beside it.
        with self.path.open("r+b") as fh:
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
        return {
            "torn_file": aside.name,
            "torn_bytes": len(torn),
            "torn_sha256": hashlib.sha256(torn).hexdigest(),
        }

    def _completes_chain(self, end: int, torn: bytes) -> bool:
        """True when ``torn`` is a whole entry of this log, signed by its key, next in chain."""
        raw = parse_line(torn + b"\n", 0)
        payload = raw.payload
        if payload is None or raw.payload_bytes is None or raw.sig is None:
            return False
        try:
            signer = verify(raw.sig, raw.payload_bytes, NS_ENTRY)
        except SshsigError:
            return False
        if signer != self.key.public or payload.get("log") != self.key.public.fingerprint:
            return False
        if end == 0:
            return payload.get("seq") == 0 and payload.get("prev") is None
        last = logfile.line_before(self.path, end)
        if last is None:
            return False  # a line longer than the chunk: do not guess
        prev = parse_line(last, 0).payload
        prev_seq = prev.get("seq") if prev is not None else None
        return (
            isinstance(prev_seq, int)
            and payload.get("prev") == line_hash(last)
            and payload.get("seq") == prev_seq + 1
        )

    def _read_tail(self) -> _Tail:
        last = logfile.last_line(self.path)
        if not last:
            raise LogError(f"{self.path.name} has no genesis entry")
        raw = parse_line(last, 0)
        payload = raw.payload
        if payload is None:
            raise LogError(f"the last line of {self.path.name} is damaged; run 'twinreview verify'")
        if payload.get("log") != self.key.public.fingerprint:
            raise LogError(f"{self.path.name} belongs to another key ({payload.get('log')})")
        seq = payload.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise LogError(f"the last line of {self.path.name} has no valid seq")
        return _Tail(seq, line_hash(last), str(payload.get("kind")))

    def _write_entry(self, tail: _Tail | None, kind: str, fields: Mapping[str, Any]) -> Entry:
        if self._context is not None:
            fields = {**self._context(), **fields}
        entry = build_entry(
            self.key,
            self.principal,
            self.role,
            seq=0 if tail is None else tail.seq + 1,
            prev=None if tail is None else tail.line_hash,
            ts=self._clock(),
            kind=kind,
            fields=fields,
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0))
        append_and_keep(fd, entry.line, self.path, self.copy, self.path.name)
        return entry
