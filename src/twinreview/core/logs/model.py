"""What verification says about each entry: the states, the problem kinds, the result records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.logs.log import (
    line_hash,
)
from twinreview.core.logs.sshsig import SshPublicKey

GOOD = "good"
MALFORMED = "malformed"
BAD_SIGNATURE = "bad_signature"
REPLAYED = "replayed"
REVOKED_KEY = "revoked_key"
UNKNOWN_KEY = "unknown_key"
WRONG_ROLE = "wrong_role"
BROKEN_CHAIN = "broken_chain"
TORN_TAIL = "torn_tail"
FORK = "fork"
OUT_OF_ORDER = "out_of_order"
STATES: tuple[str, ...] = (
    GOOD,
    MALFORMED,
    BAD_SIGNATURE,
    REPLAYED,
    REVOKED_KEY,
    UNKNOWN_KEY,
    WRONG_ROLE,
    BROKEN_CHAIN,
    OUT_OF_ORDER,
    TORN_TAIL,
    FORK,
)
# Problem kinds that are not about one entry.
ROSTER_PROBLEM = "roster"
UNREADABLE = "unreadable"
ROLLED_BACK = "rolled_back"
LOG_MISSING = "log_missing"
VIEW_EDITED = "view_edited"
NOT_A_LOG = "not_a_log"
ACCEPTED_GAP = "accepted_gap"
MODEL_RESET = "model_reset"
SYNC_CONFLICT = "sync_conflict"
# Reported for everyone to see, but no sign that anything was tampered with.
NOTICES = frozenset({ACCEPTED_GAP, MODEL_RESET, SYNC_CONFLICT})
FUTURE_SLACK = dt.timedelta(hours=24)

RANK = {state: i for i, state in enumerate(STATES)}
FORGED = frozenset({MALFORMED, BAD_SIGNATURE})


@dataclass(frozen=True)
class Problem:
    """Something verification found wrong.

    Attributes:
        file: Workspace-relative posix path (``roster/...`` for roster problems).
        seq: The entry's seq if known.
        line: 1-based line number if about a line.
        kind: A non-good state, or ``roster`` / ``unreadable``.
        message: One plain sentence.
        restorable: This device signed what is missing and keeps a copy: ``verify --restore``
            (or Restore in the app) puts it back.
    """

    file: str
    seq: int | None
    line: int | None
    kind: str
    message: str
    restorable: bool = False

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "file": self.file,
            "seq": self.seq,
            "line": self.line,
            "kind": self.kind,
            "message": self.message,
        }


@dataclass
class VerifiedEntry:
    """One line of one log file and its verdict.

    Attributes:
        file: Workspace-relative posix path of the file.
        line: 1-based line number.
        seq: ``seq`` from the payload (None if malformed).
        kind: Entry kind from the payload (None if malformed).
        log: The payload's ``log`` fingerprint (None if malformed).
        principal: The payload's principal (None if malformed).
        role: The payload's role (None if malformed).
        payload: The decoded payload ({} if malformed).
        state: The worst finding (``good`` if none).
        problems: Everything found for this line.
    """

    file: str
    line: int
    seq: int | None
    kind: str | None
    log: str | None
    principal: str | None
    role: str | None
    payload: Mapping[str, Any]
    state: str = GOOD
    problems: list[Problem] = field(default_factory=list)
    data: bytes = field(default=b"", repr=False)
    key: SshPublicKey | None = field(default=None, repr=False)
    roster_seq: int | None = None
    cached_hash: str | None = field(default=None, repr=False)

    @property
    def hash(self) -> str:
        """sha256 hex of the line (what the next entry's ``prev`` holds)."""
        if self.cached_hash is None:
            self.cached_hash = line_hash(self.data)
        return self.cached_hash

    @property
    def ok(self) -> bool:
        """True if nothing was found wrong with this entry."""
        return self.state == GOOD

    def flag(self, state: str, message: str) -> None:
        """Record a problem; the entry's state becomes the worst seen."""
        self.problems.append(Problem(self.file, self.seq, self.line, state, message))
        if self.state == GOOD or RANK[state] < RANK[self.state]:
            self.state = state


@dataclass(frozen=True)
class LogSummary:
    """One file's outcome.

    Attributes:
        file: Workspace-relative posix path.
        log: The log's key fingerprint (None if no line could be decoded).
        principal: The principal of its genesis (or first decodable) entry.
        entries: Number of complete lines.
        ok: True if every line is good and there is no torn tail.
    """

    file: str
    log: str | None
    principal: str | None
    entries: int
    ok: bool
