"""Export the signed logs so that anyone can check them with stock OpenSSH, without twinreview.

Public API:
    export_workspace(root, outdir, identity, key, *, clock=None) -> ExportResult
        Writes into ``outdir`` (which must be absent or empty):
            logs/<same relative path>.dlog   each log, byte for byte
            logs/<...>.dlog.sig              SSHSIG of the whole file by the exporter
                                             (namespace twinreview-log-v1)
            roster/roster.dlog (+ .sig)      the signed roster, byte for byte, and the exporter's
                                             whole-file signature (twinreview-log-v1)
            allowed_signers                  every key the signed roster ever gave anyone (revoked
                                             and removed ones too, so older entries can be
                                             checked), generated from roster.dlog
            allowed_signers.sig              SSHSIG by the exporter (twinreview-roster-v1)
            roster/people.toml, revoked      the views generated from roster.dlog (never the
                                             files on disk: a hand edit there is not exported)
            heads.json (+ .sig)              the head (seq, sha256 of the last line, file) of the
                                             roster and of every log, the workspace id and the
                                             owner's fingerprint, signed by the exporter
                                             (twinreview-log-v1); ``twinreview verify WS
                                             --against OUTDIR`` compares a workspace with it
            README.md                        what this is, the ``ssh-keygen -Y verify``
                                             one-liners (roster entries, log entries, whole files,
                                             heads) and how the chain of trust hangs together
        The export is written even when verification finds problems (an export is evidence, not
        a judgement); ``ExportResult.report`` carries the verification and the README says so.
    export_signed(root, outdir, keys, trust, *, clock=None) -> ExportResult
        The same, signed with this device's key, and only in a workspace whose owner this
        device pinned (``twinreview export`` and the app's "Export logs…").
    ExportResult: outdir, files (relative paths written), report (VerifyReport), heads (dict).
    ExportError: the export cannot be made (outdir not empty, exporter not on the signed roster,
        no signed roster, I/O).
    ExportNotTrusted: an ExportError: this device has not pinned the workspace's owner yet.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from twinreview.core.errors import TwinreviewError
from twinreview.core.files import read_regular
from twinreview.core.logs.log import LOGS_DIR, format_ts, read_log, utc_now
from twinreview.core.logs.sshsig import NS_ENTRY, NS_LOG, NS_ROSTER, SigningKey, SshPublicKey
from twinreview.core.logs.verify import VerifyReport, find_log_files, is_log_name, verify_logs
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import ROSTER_DIR, ROSTER_LOG, ROSTER_LOG_ID
from twinreview.core.roster.people import (
    ALLOWED_SIGNERS,
    PEOPLE,
    REVOKED,
    RosterError,
    format_allowed_signer,
)
from twinreview.core.roster.views import render_views
from twinreview.services.export_check import HEADS, heads_document
from twinreview.services.keys import Identity, KeysError, KeyService
from twinreview.services.trust import TrustStore

README = "README.md"
ROSTER_FILE = f"{ROSTER_DIR}/{ROSTER_LOG}"


class ExportError(TwinreviewError):
    """The export could not be made; the message is one line for the user."""


class ExportNotTrusted(ExportError):
    """This device has not pinned the workspace's owner yet, so it signs nothing there."""


@dataclass
class ExportResult:
    """What :func:`export_workspace` wrote.

    Attributes:
        outdir: The export folder.
        files: Paths written, relative to ``outdir`` (posix).
        report: Verification of the exported logs at export time.
        heads: The ``heads.json`` document.
    """

    outdir: Path
    files: list[str] = field(default_factory=list)
    report: VerifyReport | None = None
    heads: dict[str, Any] = field(default_factory=dict)


def _write(outdir: Path, rel: str, data: bytes, result: ExportResult) -> None:
    dest = outdir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    result.files.append(rel)


def all_signers(roster: SignedRoster) -> str:
    """allowed_signers text with every (principal, key) the signed roster ever held.

    An export is checked long after it was made: entries signed by a key revoked or a person
    removed since were valid when signed (the roster says up to which entry), so their keys must
    be there for ``ssh-keygen`` to check those signatures at all.
    """
    pairs: dict[tuple[str, str], SshPublicKey] = {}
    for state in roster.states:
        for rp in state.persons.values():
            for fp, key in rp.keys.items():
                pairs.setdefault((rp.principal, fp), key)
    lines = [
        "# Generated from roster/roster.dlog by 'twinreview export': every key the signed\n",
        "# roster ever gave anyone (revoked and removed ones too; the roster says until when\n",
        "# their entries count).\n",
    ]
    for (principal, _), key in sorted(pairs.items()):
        try:
            lines.append(format_allowed_signer(principal, key) + "\n")
        except RosterError:
            continue  # a principal ssh-keygen cannot name; twinreview verify still checks it
    return "".join(lines)


def export_workspace(
    root: Path,
    outdir: Path,
    identity: Identity,
    key: SigningKey,
    *,
    clock: Callable[[], datetime] | None = None,
) -> ExportResult:
    """Copy and sign every log of the workspace at ``root`` into ``outdir``.

    Args:
        root: Workspace root.
        outdir: Destination; created if absent, must be empty if present.
        identity: The exporter (must be on the signed roster with ``key``).
        key: The exporter's signing key.
        clock: The time written into heads.json (default: now).

    Raises:
        ExportError: outdir not empty, no signed roster, exporter not on it, or I/O failure.
    """
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise ExportError(f"{outdir} exists and is not an empty folder")
    roster_path = root / ROSTER_FILE
    if roster_path.is_symlink() or not roster_path.is_file():
        raise ExportError(
            "this workspace has no signed roster (roster/roster.dlog): nobody could verify the "
            "export"
        )
    try:
        # Read once: the bytes copied are the bytes signed and replayed.
        roster_bytes = read_regular(roster_path)
    except OSError as exc:
        raise ExportError(f"cannot read roster/roster.dlog ({exc.strerror or exc})") from None
    roster = SignedRoster.from_bytes(roster_bytes)
    state = roster.current
    if state is None or roster.workspace_id is None:
        raise ExportError("the signed roster has no valid entries: nobody could verify the export")
    if not state.signer_allowed(identity.principal, key.public):
        raise ExportError(
            f"{identity.principal} with key {key.public.fingerprint} is not on the signed "
            "roster, so the export signatures could not be checked"
        )
    views = render_views(roster)
    logs_dir = root / LOGS_DIR
    if logs_dir.is_dir() and not logs_dir.resolve().is_relative_to(root.resolve()):
        raise ExportError("logs/ is a link leading outside the workspace; refusing to export it")
    log_files = find_log_files(root)
    result = ExportResult(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        copies: list[Path] = []
        for path in log_files:
            rel = path.relative_to(root).as_posix()
            data = read_regular(path)
            _write(outdir, rel, data, result)
            _write(outdir, rel + ".sig", key.sign(data, NS_LOG).encode(), result)
            copies.append(outdir / rel)
        _write(outdir, ROSTER_FILE, roster_bytes, result)
        _write(outdir, ROSTER_FILE + ".sig", key.sign(roster_bytes, NS_LOG).encode(), result)
        signers = all_signers(roster).encode("utf-8")
        _write(outdir, ALLOWED_SIGNERS, signers, result)
        _write(outdir, ALLOWED_SIGNERS + ".sig", key.sign(signers, NS_ROSTER).encode(), result)
        for name in (PEOPLE, REVOKED):
            _write(outdir, f"{ROSTER_DIR}/{name}", views[name].encode("utf-8"), result)
        report = verify_logs(copies, roster, outdir)
        result.report = report
        result.heads = _heads(roster, report, identity, key, (clock or utc_now)())
        heads_bytes = (json.dumps(result.heads, indent=2, ensure_ascii=False) + "\n").encode()
        _write(outdir, HEADS, heads_bytes, result)
        _write(outdir, HEADS + ".sig", key.sign(heads_bytes, NS_LOG).encode(), result)
        readme = _readme(outdir, identity, key, result, roster)
        _write(outdir, README, readme.encode("utf-8"), result)
    except OSError as exc:
        raise ExportError(f"cannot write the export: {exc}") from None
    return result


def export_signed(
    root: Path,
    outdir: Path,
    keys: KeyService,
    trust: TrustStore,
    *,
    clock: Callable[[], datetime] | None = None,
) -> ExportResult:
    """:func:`export_workspace`, signed with this device's key, in a pinned workspace only.

    The export signs what it copies: a device that has not pinned the workspace's owner (or
    pinned another one) signs nothing there.

    Raises:
        ExportNotTrusted: the owner is not pinned on this device yet.
        ExportError: another owner than the pinned one, no signing key, or see
            :func:`export_workspace`.
    """
    check = trust.check(SignedRoster.load(root / ROSTER_DIR), root)
    if check.state == "unpinned":
        raise ExportNotTrusted(
            f"this device has not trusted this workspace's owner ({check.owner_fingerprint}) yet"
        )
    if check.state == "mismatch":
        raise ExportError(check.message)
    try:
        identity, key = keys.signer()
    except KeysError as exc:
        raise ExportError(str(exc)) from None
    return export_workspace(root, outdir, identity, key, clock=clock)


def _heads(
    roster: SignedRoster,
    report: VerifyReport,
    identity: Identity,
    key: SigningKey,
    when: datetime,
) -> dict[str, Any]:
    """The heads.json document: each log's verified head and the exported file holding it."""
    heads = {log: h for log, h in report.heads.items() if log != ROSTER_LOG_ID}
    files: dict[str, str] = {}
    principals: dict[str, str] = {}
    for e in report.entries:
        head = heads.get(e.log or "")
        if head is None or e.log in files or e.seq != head[0] or e.hash != head[1]:
            continue
        files[e.log or ""] = e.file
        principals[e.log or ""] = e.principal or ""
    return heads_document(
        roster,
        heads,
        files,
        principals,
        (identity.principal, key.public.fingerprint),
        format_ts(when),
    )


# -- README ------------------------------------------------------------------------------------

_PAYLOAD = "cut -d'\"' -f4 | base64 -d"
_SIG = "cut -d'\"' -f8"


def _entry_oneliner(log_rel: str, principal: str, line: str = "N") -> str:
    f = shlex.quote(log_rel)
    n = f'"{line}p"' if line != "N" else '"${N}p"'
    return (
        f"sed -n {n} {f} | {_PAYLOAD} | "
        f"ssh-keygen -Y verify -f allowed_signers -I {shlex.quote(principal)} -n {NS_ENTRY} "
        f"-s <(printf '%b' \"$(sed -n {n} {f} | {_SIG})\")"
    )


def _roster_oneliner(line: str = "N") -> str:
    """Verify roster line N: the principal is the one its payload names (its signer)."""
    n = f'"{line}p"' if line != "N" else '"${N}p"'
    payload = f"sed -n {n} {ROSTER_FILE} | {_PAYLOAD}"
    return (
        f'P=$({payload} | grep -o \'"principal":"[^"]*"\' | head -n 1 | cut -d\'"\' -f4); '
        f'{payload} | ssh-keygen -Y verify -f allowed_signers -I "$P" -n {NS_ROSTER} '
        f"-s <(printf '%b' \"$(sed -n {n} {ROSTER_FILE} | {_SIG})\")"
    )


def _every(count: int, check: str) -> str:
    """Run ``check`` for lines 1..count; fails when any line fails."""
    return f"bad=0; for N in $(seq 1 {count}); do {check} || bad=1; done; [ $bad = 0 ]"


def _keys_oneliner(count: int) -> str:
    """Check that every key of allowed_signers appears in a roster payload."""
    return (
        "bad=0; for K in $(grep -v '^#' allowed_signers | grep -o 'ssh-ed25519 [A-Za-z0-9+/=]*' "
        "| cut -d' ' -f2); do "
        f'for N in $(seq 1 {count}); do sed -n "${{N}}p" {ROSTER_FILE} | {_PAYLOAD}; echo; done '
        '| grep -qF "$K" || { echo "NOT ON THE ROSTER: $K"; bad=1; }; done; [ $bad = 0 ] && '
        'echo "Good: every key in allowed_signers was given by a roster entry"'
    )


def _chain_oneliner(rel: str, count: int) -> str:
    """Check that each line's ``prev`` is the sha256 of the line before it."""
    f = shlex.quote(rel)
    return (
        f"bad=0; for N in $(seq 2 {count}); do "
        f'[ "$(sed -n "$((N-1))p" {f} | sha256sum | cut -c1-64)" = '
        f'"$(sed -n "${{N}}p" {f} | {_PAYLOAD} | grep -o \'"prev":"[0-9a-f]*"\' | '
        f'head -n 1 | cut -d\'"\' -f4)" ] || {{ echo "BROKEN: line $N of {rel}"; bad=1; }}; '
        f'done; [ $bad = 0 ] && echo "Good chain: {count} line(s) of {rel}"'
    )


def _readme(
    outdir: Path, identity: Identity, key: SigningKey, result: ExportResult, roster: SignedRoster
) -> str:
    report = result.report
    state = roster.current
    assert report is not None
    assert state is not None
    assert roster.owner_key is not None
    r = " -r roster/revoked" if state.revoked else ""
    exporter = shlex.quote(identity.principal)
    roster_lines = len(read_log(outdir / ROSTER_FILE).lines)
    logs = [
        f
        for f in result.files
        if f.startswith(f"{LOGS_DIR}/") and is_log_name(f.rsplit("/", 1)[-1])
    ]
    out: list[str] = [
        "# twinreview export: signed roster, decision logs and their heads",
        "",
        f"Workspace {roster.name!r}, id `{roster.workspace_id}`.",
        f"Owner {roster.owner}, key `{roster.owner_key.fingerprint}`.",
        f"Exported by {identity.display_name} <{identity.principal}>, key "
        f"`{key.public.fingerprint}`, at {result.heads.get('exported_at')}.",
        "",
        "- `roster/roster.dlog`: the signed roster, the workspace's root of trust: who is in it,",
        "  with which keys and roles, the workspace policy and each model's own consent.",
        "- `logs/**/*.dlog`: one append-only decision log per reviewer device.",
        "- `allowed_signers`: every key the roster ever gave anyone, generated from the roster",
        "  log (for `ssh-keygen`); `roster/people.toml` and `roster/revoked` are generated too.",
        "- `heads.json`: the last entry (seq and sha256 of the line) of the roster and of every",
        "  log at export time, the workspace id and the owner's key fingerprint.",
        "- `*.sig`: the exporter's signatures over whole files.",
        "",
        "Every line of `roster/roster.dlog` and of a log is one JSON object",
        '`{"payload": "<base64 of the payload bytes>", "sig": "<SSHSIG signature>"}`. The payload',
        "is JSON: `seq` (0, 1, 2, ...), `prev` (sha256 of the previous full line, newline",
        "included), `ts`, `principal` (the signer), `kind` and the kind's fields. Decision",
        "entries also carry `log` (the signing key's fingerprint), `role`, `ws` (the workspace",
        "id), `roster` (the roster entry they were signed under) and, for decisions, the asset",
        "path, its sha256, the model id, `decision`, reason codes, the note and the findings the",
        "reviewer was shown. Roster entries carry `key` (the signer's public key) and `ws`.",
        "",
        "Everything below needs only OpenSSH 8.1 or later (`ssh-keygen -Y`), bash or zsh, `sed`,",
        "`cut`, `grep`, `head`, `base64` and `sha256sum`. Run the commands inside this folder.",
        "Each check prints `Good` (the first one prints the owner's key fingerprint to compare).",
        "On macOS use `shasum -a 256` for",
        "`sha256sum` (and `base64 -D` before macOS 13). With `jq`: `jq -r .payload`,",
        "`jq -r .sig`, and `base64 -d | jq -r .principal` for the signer of a roster line.",
        "",
        "## 1. The owner and the workspace id",
        "",
        "The owner's key fingerprint (compare it with the one the owner gave you out of band, e.g.",
        "what `twinreview trust` printed on their device), and the workspace id, which is the",
        "sha256 of the roster's first payload:",
        "",
        "```sh",
        f'sed -n 1p {ROSTER_FILE} | {_PAYLOAD} | grep -o \'"key":"[^"]*"\' | head -n 1 | '
        "cut -d'\"' -f4 | ssh-keygen -l -f -",
        f'[ "$(sed -n 1p {ROSTER_FILE} | {_PAYLOAD} | sha256sum | cut -c1-64)" = '
        f'"$(grep -o \'"workspace_id": "[0-9a-f]*"\' {HEADS} | cut -d\'"\' -f4)" ] && '
        f'echo "Good: the workspace id in {HEADS} is the sha256 of the genesis payload"',
        "```",
        "",
        "## 2. The roster log",
        "",
        f"Each roster entry is signed in namespace `{NS_ROSTER}` by the principal its payload",
        "names (`principal`), with the key its payload names (`key`). Entry seq K is on line",
        "K+1; line 1 (the genesis) is the owner's. One entry, then all of them, the chain of",
        "`prev` hashes, and that every key in `allowed_signers` was given by a roster entry (so",
        "the file adds no key the roster does not hold):",
        "",
        "```sh",
        f"N=1; {_roster_oneliner()}",
        _every(roster_lines, _roster_oneliner()),
        _chain_oneliner(ROSTER_FILE, roster_lines),
        _keys_oneliner(roster_lines),
        "```",
        "",
        "## 3. Decision log entries",
        "",
        f"Entry seq K is on line K+1. Its payload is signed in namespace `{NS_ENTRY}` by the",
        "principal named in the payload (and in the log's file name). For line N of a log:",
        "",
        "```sh",
    ]
    per_log: list[tuple[str, str, int]] = []
    for log in logs:
        content = read_log(outdir / log)
        first = next((ln.payload for ln in content.lines if ln.payload), None)
        principal = str(first.get("principal", "")) if first else ""
        per_log.append((log, principal, len(content.lines)))
        out.append(f"N=2; {_entry_oneliner(log, principal)}")
    out += [
        "```",
        "",
        'Every entry of each log (one `Good "twinreview-entry-v1" signature` line each), and',
        "each log's hash chain:",
        "",
        "```sh",
    ]
    for log, principal, count in per_log:
        out.append(_every(count, _entry_oneliner(log, principal)))
        out.append(_chain_oneliner(log, count))
    out += [
        "```",
        "",
        "## 4. Whole files and the heads, signed by the exporter",
        "",
        f"Each `<file>.sig` is the exporter's signature over the whole file (namespace `{NS_LOG}`;",
        f"`{NS_ROSTER}` for allowed_signers). It proves the file is the one exported. `heads.json`",
        "pins the last entry of the roster and of every log: its `hash` is the sha256 of that",
        "line (`tail -n 1 FILE | sha256sum`).",
        "",
        "```sh",
    ]
    for rel in [*logs, ROSTER_FILE, HEADS]:
        out.append(
            f"ssh-keygen -Y verify -f allowed_signers -I {exporter} -n {NS_LOG}{r} "
            f"-s {shlex.quote(rel + '.sig')} < {shlex.quote(rel)}"
        )
    out += [
        f"ssh-keygen -Y verify -f allowed_signers -I {exporter} -n {NS_ROSTER}{r} "
        "-s allowed_signers.sig < allowed_signers",
        "```",
        "",
        "## How the chain of trust hangs together",
        "",
        "Everything rests on one key, the owner's: line 1 of `roster/roster.dlog` names the owner",
        "and is signed by the owner's key, and the workspace id is the sha256 of its payload, so a",
        "roster from another owner is another workspace. Every later roster line carries `prev`,",
        "the sha256 of the line before it, so no line can be edited, removed or reordered without",
        "breaking the chain, and each is signed by someone the roster as it stood just before",
        "allowed: the owner or an admin the owner appointed for people, keys, revocations and the",
        "workspace policy, and the model herself, with her own key, for her consent. Each decision",
        "entry names the workspace id and the roster entry (seq and hash) it was signed under, and",
        "is chained by `prev` within its log; so each decision is judged by the roster as it was",
        "when it was signed. `ssh-keygen` proves who signed each line; whether that signer was",
        "allowed at that point (role, models, revocations and removals, which have an effective",
        "point) is the roster replay that `twinreview verify` does, whose result at export time",
        "is below. `heads.json`, signed by the exporter, pins how long every log and the roster",
        "were: `twinreview verify WS --against THIS_FOLDER` reports any log of the workspace that",
        "is later shorter (rolled back), gone, or different at that entry (rewritten).",
        "",
    ]
    revocations = sorted(roster.revocations(), key=lambda v: v.seq)
    removals = sorted(roster.removals(), key=lambda v: v.seq)
    if revocations or removals:
        out += ["## Revoked keys and removed people", ""]
        for rev in revocations:
            out.append(
                f"- key `{rev.fingerprint}` of {rev.principal} was revoked at roster entry "
                f"{rev.seq}; "
                + (
                    "entries it signed under a roster from that entry on do not count."
                    if rev.head_only
                    else _after_text(rev.after)
                )
            )
        for rem in removals:
            out.append(
                f"- {rem.principal} was removed at roster entry {rem.seq}; {_after_text(rem.after)}"
            )
        out += [
            "",
            "`roster/revoked` lists the revoked keys; `ssh-keygen -Y verify ... -r roster/revoked`",
            "refuses any signature made with one of them (the exporter's checks above use it).",
            "",
        ]
    out += ["## Verification at export time", ""]
    if report.ok:
        out.append(
            f"twinreview verified the roster ({roster_lines} entries) and all "
            f"{len(report.entries)} log entries: no problems."
        )
    else:
        out.append(f"twinreview found {len(report.problems)} problem(s) when exporting:")
        out.append("")
        for p in report.problems:
            where = f"line {p.line}" if p.line is not None else "file"
            seq = f", seq {p.seq}" if p.seq is not None else ""
            out.append(f"- `{p.file}` {where}{seq}: {p.kind}: {p.message}")
    out.append("")
    return "\n".join(out)


def _after_text(after: Mapping[str, int]) -> str:
    if not after:
        return "none of their entries signed after that counts."
    items = ", ".join(f"log `{log}` up to seq {seq}" for log, seq in sorted(after.items()))
    return f"their entries count only up to that point: {items}."
