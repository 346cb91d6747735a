"""Checking an export (``twinreview export``) and comparing a workspace with it.

An export pins the workspace as it was: ``heads.json`` names the head (seq and sha256 of the last
line) of the signed roster and of every decision log, with the workspace id and the owner's key
fingerprint, and the exporter signs it (``heads.json.sig``, namespace ``twinreview-log-v1``). The
exporter must be on the exported signed roster, as of the roster head the file names, so the
file can be checked with nothing but the export itself; the workspace's pinned owner anchors it.

Public API:
    HEADS, HEADS_FORMAT.
    heads_document(...) -> dict: the ``heads.json`` document (``services.export`` writes it).
    ExportedHead, ExportHeads: a parsed, checked ``heads.json``.
    read_export_heads(export, *, trust=None) -> ExportHeads
        Reads ``heads.json`` and checks its signature against the export's own signed roster
        (``roster/roster.dlog``): the key must be an active key of the exporter it names as of
        the roster head it names, and the roster's workspace id and owner must be the ones the
        file names (and, when this device pinned that workspace, the pinned owner).
        Raises ExportCheckError (one line) when the file is missing, malformed or not trusted.
    compare_with_export(report, heads) -> list[Problem]
        The workspace (as verified in ``report``) against the exported heads: a log or the roster
        that is now shorter than the exported head (``rolled_back``), absent (``log_missing``) or
        holds another entry at that seq (``fork``); the messages give both lengths.
    check_export_signatures(export, root, roster, verification, *, trust=None)
        -> list[ExportSignature]: every whole-file signature of an export (logs, roster log,
        allowed_signers, heads.json), checked against the export's signed roster, each compared
        with the workspace's file now (the heads file: with the workspace's logs).
    ExportSignature: one checked signature.
    ExportCheckError.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twinreview.core.errors import TwinreviewError
from twinreview.core.files import read_regular
from twinreview.core.logs.log import LOGS_DIR
from twinreview.core.logs.sshsig import NS_LOG, NS_ROSTER, SshPublicKey, SshsigError, verify
from twinreview.core.logs.verify import (
    BAD_SIGNATURE,
    FORK,
    LOG_MISSING,
    MALFORMED,
    ROLLED_BACK,
    TORN_TAIL,
    Problem,
    VerifyReport,
    is_log_name,
)
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR, ROSTER_LOG, RosterState
from twinreview.core.roster.people import ALLOWED_SIGNERS
from twinreview.services.trust import TrustStore

HEADS = "heads.json"
HEADS_FORMAT = "twinreview-export-heads"
ROSTER_FILE = f"{ROSTER_DIR}/{ROSTER_LOG}"
_MAX_HEADS_BYTES = 16 * 1024 * 1024
# Entries whose bytes the key never signed cannot stand for a log's content.
_NOT_SIGNED = frozenset({MALFORMED, BAD_SIGNATURE, TORN_TAIL})


class ExportCheckError(TwinreviewError):
    """The export's heads file cannot be used; the message is one line for the user."""


@dataclass(frozen=True)
class ExportedHead:
    """The head of one log (or of the roster) at export time.

    Attributes:
        seq: seq of its last verified entry.
        hash: sha256 hex of that line (newline included).
        file: The exported file holding it (relative to the export folder).
        principal: Whose log it is ("" for the roster).
    """

    seq: int
    hash: str
    file: str
    principal: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ``heads.json`` form."""
        out: dict[str, Any] = {"seq": self.seq, "hash": self.hash, "file": self.file}
        if self.principal:
            out["principal"] = self.principal
        return out


@dataclass(frozen=True)
class ExportHeads:
    """A checked ``heads.json``.

    Attributes:
        export: The export folder.
        workspace_id: The workspace id (sha256 of the roster's genesis payload).
        workspace_name: Its name, from the genesis.
        owner: (principal, key fingerprint) of the owner.
        exporter: (principal, key fingerprint) of the exporter who signed the file.
        exported_at: When, as the exporter's clock said (ISO 8601 UTC).
        roster: The roster head.
        logs: Log key fingerprint -> its head.
    """

    export: Path
    workspace_id: str
    workspace_name: str
    owner: tuple[str, str]
    exporter: tuple[str, str]
    exported_at: str
    roster: ExportedHead
    logs: Mapping[str, ExportedHead]


def heads_document(
    roster: SignedRoster,
    heads: Mapping[str, tuple[int, str]],
    files: Mapping[str, str],
    principals: Mapping[str, str],
    exporter: tuple[str, str],
    exported_at: str,
) -> dict[str, Any]:
    """The ``heads.json`` document.

    Args:
        roster: The exported signed roster (its head, workspace id and owner are named).
        heads: Log fingerprint -> (seq, line hash), the roster left out.
        files: Log fingerprint -> the exported file holding that head.
        principals: Log fingerprint -> whose log it is.
        exporter: (principal, key fingerprint) of the signer.
        exported_at: ISO 8601 UTC.
    """
    head = roster.head
    assert head is not None
    assert roster.workspace_id is not None
    assert roster.owner_key is not None
    return {
        "format": HEADS_FORMAT,
        "v": 1,
        "workspace_id": roster.workspace_id,
        "workspace_name": roster.name,
        "owner": {"principal": roster.owner, "fingerprint": roster.owner_key.fingerprint},
        "exporter": {"principal": exporter[0], "fingerprint": exporter[1]},
        "exported_at": exported_at,
        "roster": ExportedHead(head[0], head[1], ROSTER_FILE).to_json(),
        "logs": {
            log: ExportedHead(seq, h, files[log], principals.get(log, "")).to_json()
            for log, (seq, h) in sorted(heads.items())
        },
    }


# -- reading and checking heads.json ----------------------------------------------------------


def read_export_file(path: Path, what: str, limit: int = _MAX_HEADS_BYTES) -> bytes:
    """The bytes of one file of an export: a regular file, at most ``limit`` bytes.

    Raises:
        ExportCheckError: missing, a link, not a regular file, too large or unreadable.
    """
    try:
        if path.is_symlink() or not path.is_file():
            raise ExportCheckError(f"{what} is missing: not a twinreview export (or an older one)")
        if path.stat().st_size > limit:
            raise ExportCheckError(f"{what} is too large to be an export's")
        return read_regular(path, limit)
    except OSError as exc:
        raise ExportCheckError(f"cannot read {what} ({exc.strerror or exc})") from None


def _head(value: object, where: str) -> ExportedHead:
    if not isinstance(value, Mapping):
        raise ExportCheckError(f"{HEADS}: {where} is not a head")
    seq, h, file = value.get("seq"), value.get("hash"), value.get("file")
    principal = value.get("principal", "")
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 0
        or not isinstance(h, str)
        or len(h) != 64
        or not isinstance(file, str)
        or not isinstance(principal, str)
    ):
        raise ExportCheckError(f"{HEADS}: {where} needs seq, hash and file")
    return ExportedHead(seq, h, file, principal)


def _who(value: object, where: str) -> tuple[str, str]:
    if not isinstance(value, Mapping):
        raise ExportCheckError(f"{HEADS}: {where} is missing")
    principal, fp = value.get("principal"), value.get("fingerprint")
    if not isinstance(principal, str) or not isinstance(fp, str) or not fp.startswith("SHA256:"):
        raise ExportCheckError(f"{HEADS}: {where} needs principal and fingerprint")
    return principal, fp


def _parse_heads(export: Path, data: bytes) -> ExportHeads:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ExportCheckError(f"{HEADS} is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != HEADS_FORMAT or doc.get("v") != 1:
        raise ExportCheckError(f"{HEADS} is not a twinreview export heads file (format, v)")
    ws_id, name = doc.get("workspace_id"), doc.get("workspace_name", "")
    when = doc.get("exported_at")
    if not isinstance(ws_id, str) or len(ws_id) != 64:
        raise ExportCheckError(f"{HEADS}: workspace_id is missing")
    if not isinstance(name, str) or not isinstance(when, str):
        raise ExportCheckError(f"{HEADS}: workspace_name and exported_at must be text")
    logs = doc.get("logs")
    if not isinstance(logs, Mapping):
        raise ExportCheckError(f"{HEADS}: logs is not a table")
    return ExportHeads(
        export,
        ws_id,
        name,
        _who(doc.get("owner"), "owner"),
        _who(doc.get("exporter"), "exporter"),
        when,
        _head(doc.get("roster"), "roster"),
        {str(log): _head(h, f"log {log}") for log, h in logs.items()},
    )


def read_export_heads(export: Path, *, trust: TrustStore | None = None) -> ExportHeads:
    """Read ``heads.json`` of an export and check who signed it (see the module docstring).

    Raises:
        ExportCheckError: missing, malformed, badly signed, or signed by a key the exported
            roster does not give to the exporter; or the export's owner is not the one this
            device pinned for that workspace.
    """
    if not export.is_dir():
        raise ExportCheckError(f"{export} is not a folder")
    data = read_export_file(export / HEADS, HEADS)
    armored = read_export_file(export / (HEADS + ".sig"), HEADS + ".sig", 64 * 1024)
    try:
        key = verify(armored.decode("utf-8", errors="replace"), data, NS_LOG)
    except SshsigError as exc:
        raise ExportCheckError(
            f"{HEADS}: the exporter's signature does not verify ({exc}): the file was changed "
            "after the export; refusing it"
        ) from None
    heads = _parse_heads(export, data)
    roster = SignedRoster.from_bytes(read_export_file(export / ROSTER_FILE, ROSTER_FILE))
    if roster.workspace_id is None or roster.owner_key is None:
        raise ExportCheckError(f"the exported {ROSTER_FILE} has no valid genesis entry")
    if roster.workspace_id != heads.workspace_id:
        raise ExportCheckError(
            f"{HEADS} names workspace {heads.workspace_id[:16]}, but the exported roster is of "
            f"workspace {roster.workspace_id[:16]}"
        )
    if (roster.owner, roster.owner_key.fingerprint) != heads.owner:
        raise ExportCheckError(f"{HEADS} names another owner than the exported roster's genesis")
    state = roster.state_at(heads.roster.seq, heads.roster.hash)
    if state is None:
        raise ExportCheckError(
            f"{HEADS} names roster entry {heads.roster.seq}, which the exported roster does not "
            "hold (with that hash)"
        )
    principal, fp = heads.exporter
    if key.fingerprint != fp or not state.signer_allowed(principal, key):
        raise ExportCheckError(
            f"{HEADS} is signed with key {key.fingerprint}, which the exported roster (entry "
            f"{state.seq}) does not give to the exporter {principal}; refusing it"
        )
    if trust is not None:
        pinned = trust.pinned(heads.workspace_id)
        if pinned is not None and pinned != heads.owner[1]:
            raise ExportCheckError(
                f"the export's roster starts from owner {heads.owner[1]}, but this device pinned "
                f"{pinned} for that workspace; refusing it"
            )
    return heads


# -- comparing a workspace with the exported heads ---------------------------------------------


def _log_hashes(report: VerifyReport) -> tuple[dict[str, dict[int, str]], dict[str, list[str]]]:
    """Per log fingerprint: seq -> line hash of the entries its key signed, and its files."""
    file_log = {s.file: s.log for s in report.logs}
    hashes: dict[str, dict[int, str]] = defaultdict(dict)
    files: dict[str, list[str]] = defaultdict(list)
    for s in report.logs:
        if s.log is not None:
            files[s.log].append(s.file)
    for e in report.entries:
        log = file_log.get(e.file)
        if log is None or e.log != log or e.seq is None or e.state in _NOT_SIGNED:
            continue
        hashes[log].setdefault(e.seq, e.hash)
    return hashes, files


def _prefix(by_seq: Mapping[int, str]) -> int:
    n = 0
    while n in by_seq:
        n += 1
    return n


def compare_with_export(report: VerifyReport, heads: ExportHeads) -> list[Problem]:
    """What in the workspace no longer holds an exported head (see the module docstring)."""
    out: list[Problem] = []
    where = f"the export {heads.export} ({heads.exported_at})"
    roster = report.roster
    exp = heads.roster
    if not roster.exists:
        out.append(
            Problem(
                ROSTER_FILE,
                exp.seq,
                None,
                LOG_MISSING,
                f"the signed roster is missing, but {where} has {exp.seq + 1} entries: it was "
                "deleted",
            )
        )
    elif roster.workspace_id is not None and roster.workspace_id != heads.workspace_id:
        out.append(
            Problem(
                ROSTER_FILE,
                0,
                1,
                FORK,
                f"the signed roster starts from another genesis (workspace "
                f"{roster.workspace_id[:16]}) than {where} (workspace {heads.workspace_id[:16]}): "
                "it was replaced, or the export is of another workspace",
            )
        )
    else:
        have = len(roster.states)
        if have <= exp.seq:
            out.append(
                Problem(
                    ROSTER_FILE,
                    exp.seq,
                    None,
                    ROLLED_BACK,
                    f"the signed roster has {have} verified entries, but {where} has "
                    f"{exp.seq + 1}: it was rolled back, truncated or rewritten",
                )
            )
        elif roster.states[exp.seq].head_hash != exp.hash:
            out.append(
                Problem(
                    ROSTER_FILE,
                    exp.seq,
                    exp.seq + 1,
                    FORK,
                    f"the signed roster holds another entry at seq {exp.seq} than {where} "
                    f"(it has {have} verified entries, the export {exp.seq + 1}): it was "
                    "rewritten",
                )
            )

    hashes, files = _log_hashes(report)
    for log, exp in sorted(heads.logs.items()):
        label = f"log {log}" + (f" ({exp.principal})" if exp.principal else "")
        by_seq = hashes.get(log, {})
        at = ", ".join(files.get(log, [])) or exp.file
        if not by_seq:
            out.append(
                Problem(
                    at,
                    exp.seq,
                    None,
                    LOG_MISSING,
                    f"{label} is missing from the workspace, but {where} has {exp.seq + 1} "
                    f"entries ({exp.file}): it was deleted",
                )
            )
            continue
        have = _prefix(by_seq)
        if have <= exp.seq:
            out.append(
                Problem(
                    at,
                    exp.seq,
                    None,
                    ROLLED_BACK,
                    f"{label} has {have} entries in the workspace, but {where} has "
                    f"{exp.seq + 1}: it was rolled back or truncated",
                )
            )
        elif by_seq[exp.seq] != exp.hash:
            out.append(
                Problem(
                    at,
                    exp.seq,
                    None,
                    FORK,
                    f"{label} holds another entry at seq {exp.seq} than {where} (it has {have} "
                    f"entries, the export {exp.seq + 1}): it was rewritten",
                )
            )
    return out


# -- whole-file signatures of an export ------------------------------------------------------


@dataclass(frozen=True)
class ExportSignature:
    """One whole-file signature of an export folder, checked.

    Attributes:
        export: The export folder as given.
        file: The signed file, relative to the export folder.
        signer: The principal the export's signed roster gives the signing key ("" if none).
        key: The signing key's fingerprint ("" when the signature cannot be parsed).
        valid: The signature verifies over the exported file, the export's signed roster (whose
            owner is this workspace's) gives the key to someone, and the workspace's roster has
            not revoked it since.
        detail: One sentence: what was checked, or what failed.
        relation: How the exported file relates to the workspace now: ``identical``,
            ``extended`` (the workspace's file has more entries since), ``differs``, ``missing``;
            ``roster`` for allowed_signers; for heads.json ``heads`` (every exported head is
            still in the workspace), ``differs`` (see ``problems``) or ``refused`` (the file
            cannot be trusted, so nothing was compared).
        signature: The armored SSHSIG text.
        problems: For heads.json: what in the workspace no longer holds an exported head.
    """

    export: str
    file: str
    signer: str
    key: str
    valid: bool
    detail: str
    relation: str
    signature: str
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "export": self.export,
            "file": self.file,
            "signer": self.signer,
            "key": self.key,
            "valid": self.valid,
            "detail": self.detail,
            "relation": self.relation,
            "signature": self.signature,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class _Signers:
    """Who may have signed the export: its own signed roster, anchored in the workspace's."""

    state: RosterState | None
    problem: str
    revoked_now: Mapping[str, int]

    def check(self, data: bytes, armored: str, namespace: str) -> tuple[str, str, bool, str]:
        """(signer, key fingerprint, valid, detail) of one signature."""
        try:
            public = verify(armored, data, namespace)
        except SshsigError as exc:
            return "", "", False, f"Bad signature: {exc}."
        return self._judge(public, namespace)

    def _judge(self, public: SshPublicKey, namespace: str) -> tuple[str, str, bool, str]:
        fp = public.fingerprint
        if self.state is None:
            return "", fp, False, f"The signature is correct, but {self.problem}."
        signer = self.state.principal_of(public) or ""
        if not signer:
            return "", fp, False, "The signature is correct, but the key is not on the roster."
        if fp in self.revoked_now:
            return (
                signer,
                fp,
                False,
                "The signature is correct, but the key has been revoked since (roster entry "
                f"{self.revoked_now[fp]}).",
            )
        return signer, fp, True, f"Good signature ({namespace}) by a key on the signed roster."


def _signers(export: Path, roster: SignedRoster, trust: TrustStore | None) -> _Signers:
    revoked = {fp: r.seq for fp, r in (roster.current.revoked if roster.current else {}).items()}
    try:
        data = read_export_file(export / ROSTER_FILE, ROSTER_FILE)
    except ExportCheckError as exc:
        return _Signers(None, str(exc), revoked)
    exported = SignedRoster.from_bytes(data)
    state = exported.current
    if state is None or exported.owner_key is None or exported.workspace_id is None:
        return _Signers(None, "the exported roster has no valid entries", revoked)
    anchor = roster.owner_key.fingerprint if roster.owner_key is not None else None
    if trust is not None:
        anchor = trust.pinned(exported.workspace_id) or anchor
    if anchor != exported.owner_key.fingerprint:
        return _Signers(
            None,
            f"the exported roster's owner {exported.owner_key.fingerprint} is not this "
            f"workspace's ({anchor or 'none'})",
            revoked,
        )
    return _Signers(state, "", revoked)


def _relation(exported: bytes, current_path: Path) -> str:
    try:
        current = read_regular(current_path)
    except OSError:
        return "missing"
    if current == exported:
        return "identical"
    if current.startswith(exported) and (not exported or exported.endswith(b"\n")):
        return "extended"
    return "differs"


def check_export_signatures(
    export: Path,
    root: Path,
    roster: SignedRoster,
    verification: VerifyReport,
    *,
    trust: TrustStore | None = None,
) -> list[ExportSignature]:
    """Check every ``*.sig`` of an export folder (see the module docstring)."""
    label = str(export)
    if not export.is_dir():
        return [ExportSignature(label, "", "", "", False, "Not a folder.", "missing", "")]
    logs = export / LOGS_DIR
    sigs = (
        sorted(
            p
            for p in logs.rglob("*")
            if p.name.lower().endswith(".sig") and is_log_name(p.name[: -len(".sig")])
        )
        if logs.is_dir()
        else []
    )
    sigs += [
        export / name
        for name in (ROSTER_FILE + ".sig", ALLOWED_SIGNERS + ".sig", HEADS + ".sig")
        if (export / name).is_file()
    ]
    if not sigs:
        return [
            ExportSignature(
                label, "", "", "", False, "No export signatures found here.", "missing", ""
            )
        ]
    signers = _signers(export, roster, trust)
    out: list[ExportSignature] = []
    for sig_path in sigs:
        rel = sig_path.relative_to(export).as_posix()[: -len(".sig")]
        try:
            armored = sig_path.read_text("utf-8", errors="replace")
            data = read_regular(export / rel)
        except OSError as exc:
            out.append(
                ExportSignature(
                    label, rel, "", "", False, f"Cannot read: {exc.strerror or exc}.", "missing", ""
                )
            )
            continue
        namespace = NS_ROSTER if rel == ALLOWED_SIGNERS else NS_LOG
        signer, key, valid, detail = signers.check(data, armored, namespace)
        problems: tuple[str, ...] = ()
        if rel == ALLOWED_SIGNERS:
            relation = "roster"
        elif rel == HEADS:
            relation, problems, why = _heads_relation(export, verification, trust)
            if why and valid:
                valid, detail = False, why
        else:
            relation = _relation(data, root / rel)
        out.append(
            ExportSignature(
                label, rel, signer, key, valid, detail, relation, armored.strip(), problems
            )
        )
    return out


def _heads_relation(
    export: Path, verification: VerifyReport, trust: TrustStore | None
) -> tuple[str, tuple[str, ...], str]:
    """(relation, problems, why the heads file is refused or "") for an export's heads.json."""
    try:
        heads = read_export_heads(export, trust=trust)
    except ExportCheckError as exc:
        return "refused", (), f"Refused: {exc}."
    problems = compare_with_export(verification, heads)
    if problems:
        return "differs", tuple(f"{p.kind}: {p.message}" for p in problems), ""
    return "heads", (), ""
