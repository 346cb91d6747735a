"""Export the signed logs so that anyone can check them with stock OpenSSH, without twinreview.

Public API:
    export_workspace(root, outdir, identity, key) -> ExportResult
        Writes into ``outdir`` (which must be absent or empty):
            logs/<same relative path>.dlog   each log, byte for byte
            logs/<...>.dlog.sig              SSHSIG of the whole file by the exporter
                                             (namespace twinreview-log-v1)
            allowed_signers                  the workspace's roster/allowed_signers
            allowed_signers.sig              SSHSIG by the exporter (twinreview-roster-v1)
            roster/people.toml, revoked      copies, when present (context, revocation)
            README.md                        what this is, and the exact ``ssh-keygen -Y verify``
                                             one-liners for a whole log and a single entry
        The export is written even when verification finds problems (an export is evidence, not
        a judgement); ``ExportResult.report`` carries the verification and the README says so.
    ExportResult: outdir, files (relative paths written), report (VerifyReport).
    ExportError: the export cannot be made (outdir not empty, exporter not in the roster, I/O).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from twinreview.core.declog import LOGS_DIR, read_log
from twinreview.core.roster import ALLOWED_SIGNERS, PEOPLE, REVOKED
from twinreview.core.rosterlog import ROSTER_DIR, ROSTER_LOG, SignedRoster, render_views
from twinreview.core.sshsig import NS_ENTRY, NS_LOG, NS_ROSTER, SigningKey
from twinreview.core.verify import VerifyReport, find_log_files, verify_logs
from twinreview.services.keys import Identity

README = "README.md"


class ExportError(Exception):
    """The export could not be made; the message is one line for the user."""


@dataclass
class ExportResult:
    """What :func:`export_workspace` wrote.

    Attributes:
        outdir: The export folder.
        files: Paths written, relative to ``outdir`` (posix).
        report: Verification of the exported logs at export time.
    """

    outdir: Path
    files: list[str] = field(default_factory=list)
    report: VerifyReport | None = None


def _write(outdir: Path, rel: str, data: bytes, result: ExportResult) -> None:
    dest = outdir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    result.files.append(rel)


def export_workspace(root: Path, outdir: Path, identity: Identity, key: SigningKey) -> ExportResult:
    """Copy and sign every log of the workspace at ``root`` into ``outdir``.

    Args:
        root: Workspace root.
        outdir: Destination; created if absent, must be empty if present.
        identity: The exporter (must be in roster/allowed_signers with ``key``).
        key: The exporter's signing key.

    Raises:
        ExportError: outdir not empty, no roster, exporter not allowed to sign, or I/O failure.
    """
    if outdir.exists() and (not outdir.is_dir() or any(outdir.iterdir())):
        raise ExportError(f"{outdir} exists and is not an empty folder")
    roster_dir = root / ROSTER_DIR
    roster = SignedRoster.load(roster_dir)
    state = roster.current
    if state is None:
        raise ExportError(
            "this workspace has no signed roster (roster/roster.dlog): nobody could verify the "
            "export"
        )
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
        # Read each file once: the bytes copied are the bytes signed and verified.
        copies: list[Path] = []
        for path in log_files:
            rel = path.relative_to(root).as_posix()
            data = path.read_bytes()
            _write(outdir, rel, data, result)
            _write(outdir, rel + ".sig", key.sign(data, NS_LOG).encode(), result)
            copies.append(outdir / rel)
        # The roster log itself, byte for byte, and the views generated from it (never the
        # view files on disk: a hand edit there must not reach an auditor).
        roster_bytes = (roster_dir / ROSTER_LOG).read_bytes()
        _write(outdir, f"{ROSTER_DIR}/{ROSTER_LOG}", roster_bytes, result)
        _write(
            outdir,
            f"{ROSTER_DIR}/{ROSTER_LOG}.sig",
            key.sign(roster_bytes, NS_LOG).encode(),
            result,
        )
        signers = views[ALLOWED_SIGNERS].encode("utf-8")
        _write(outdir, ALLOWED_SIGNERS, signers, result)
        _write(outdir, ALLOWED_SIGNERS + ".sig", key.sign(signers, NS_ROSTER).encode(), result)
        for name in (PEOPLE, REVOKED):
            _write(outdir, f"roster/{name}", views[name].encode("utf-8"), result)
        exported_roster = SignedRoster.from_bytes(roster_bytes)
        result.report = verify_logs(copies, exported_roster, outdir)
        readme = _readme(outdir, identity, key, result, bool(state.revoked))
        _write(outdir, README, readme.encode("utf-8"), result)
    except OSError as exc:
        raise ExportError(f"cannot write the export: {exc}") from None
    return result


def _entry_oneliner(log_rel: str, principal: str, revoked: bool, line: str = "N") -> str:
    f = shlex.quote(log_rel)
    r = " -r roster/revoked" if revoked else ""
    n = f'"{line}p"' if line != "N" else '"${N}p"'
    return (
        f"sed -n {n} {f} | cut -d'\"' -f4 | base64 -d | "
        f"ssh-keygen -Y verify -f allowed_signers -I {shlex.quote(principal)} -n {NS_ENTRY}{r} "
        f"-s <(printf '%b' \"$(sed -n {n} {f} | cut -d'\"' -f8)\")"
    )


def _readme(
    outdir: Path, identity: Identity, key: SigningKey, result: ExportResult, revoked: bool
) -> str:
    report = result.report
    assert report is not None
    r = " -r roster/revoked" if revoked else ""
    exporter = shlex.quote(identity.principal)
    logs = [f for f in result.files if f.startswith(f"{LOGS_DIR}/") and f.endswith(".dlog")]
    out: list[str] = [
        "# twinreview decision logs (export)",
        "",
        f"Exported by {identity.display_name} <{identity.principal}>, "
        f"key {key.public.fingerprint}.",
        "",
        "Each `logs/*.dlog` file is one reviewer device's append-only log: JSON Lines, one entry",
        'per line, `{"payload": "<base64 of the payload bytes>", "sig": "<SSHSIG signature>"}`.',
        "The payload is JSON: `log` (the signing key's fingerprint), `seq` (0, 1, 2, ...), `prev`",
        "(sha256 of the previous full line, newline included), `ts`, `principal`, `role`, `kind`",
        "and, for decisions, the asset path, its sha256 and pHash, the model id, `decision`,",
        "reason codes, the note and the findings the reviewer was shown.",
        "",
        "Everything below needs only OpenSSH 8.1 or later (`ssh-keygen -Y`), a POSIX shell with",
        "`<(...)` (bash or zsh), `sed`, `cut` and `base64`. Run the commands inside this folder.",
        "",
        "## Whole log files",
        "",
        "Each `<log>.sig` is the exporter's signature over the whole file (namespace",
        f"`{NS_LOG}`). It proves the file is the one exported; each entry inside is",
        "signed by its own reviewer (next section).",
        "",
        "```sh",
    ]
    for log in logs:
        out.append(
            f"ssh-keygen -Y verify -f allowed_signers -I {exporter} -n {NS_LOG}{r} "
            f"-s {shlex.quote(log + '.sig')} < {shlex.quote(log)}"
        )
    out += [
        f"ssh-keygen -Y verify -f allowed_signers -I {exporter} -n {NS_ROSTER}{r} "
        "-s allowed_signers.sig < allowed_signers",
        "```",
        "",
        "## A single entry",
        "",
        f"Entry seq K is on line K+1. Its payload is signed in namespace `{NS_ENTRY}` by the",
        "principal named in the log's file name and in the payload. For line N of a log:",
        "",
        "```sh",
    ]
    per_log: list[tuple[str, str, int]] = []
    for log in logs:
        content = read_log(outdir / log)
        first = next((ln.payload for ln in content.lines if ln.payload), None)
        principal = str(first.get("principal", "")) if first else ""
        per_log.append((log, principal, len(content.lines)))
        out.append(f"N=2; {_entry_oneliner(log, principal, revoked)}")
    out += [
        "```",
        "",
        'Every entry of a log, one `Good "twinreview-entry-v1" signature` line each:',
        "",
        "```sh",
    ]
    for log, principal, count in per_log:
        out.append(
            f"for N in $(seq 1 {count}); do {_entry_oneliner(log, principal, revoked)}; done"
        )
    out += [
        "```",
        "",
        "With `jq` instead of `cut`: `jq -r .payload` gives the base64 payload, `jq -r .sig` the",
        "signature. On macOS before 13, use `base64 -D`.",
        "",
        "The signatures prove who signed each entry. The order and completeness of a log come",
        "from the chain: every payload's `prev` is the sha256 of the line before it",
        "(`sed -n 1p LOG | shasum -a 256` gives line 2's `prev`).",
        "",
        "## Verification at export time",
        "",
    ]
    if report.ok:
        out.append(f"twinreview verified all {len(report.entries)} entries: no problems.")
    else:
        out.append(f"twinreview found {len(report.problems)} problem(s) when exporting:")
        out.append("")
        for p in report.problems:
            where = f"line {p.line}" if p.line is not None else "file"
            seq = f", seq {p.seq}" if p.seq is not None else ""
            out.append(f"- `{p.file}` {where}{seq}: {p.kind}: {p.message}")
    out.append("")
    return "\n".join(out)
