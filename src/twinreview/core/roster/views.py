"""What the signed roster generates: the plain views and the settings in force.

``allowed_signers`` (for stock ``ssh-keygen -Y verify``), ``people.toml`` and ``revoked`` are
written from the log; a hand edit is ignored and reported (:func:`view_problems`).
:func:`effective_config` takes the policy tables of ``twinreview.toml`` from the signed policy;
:func:`plain_roster` is the current state as a plain :class:`~twinreview.core.roster.people.Roster`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import (
    POLICY_TABLES,
)
from twinreview.core.roster.people import (
    ALLOWED_SIGNERS,
    PEOPLE,
    REVOKED,
    Revocations,
    Roster,
    format_allowed_signer,
    format_people,
    parse_allowed_signers,
)

# -- generated views ----------------------------------------------------------------------


def render_views(roster: SignedRoster) -> dict[str, str]:
    """The generated files: allowed_signers (for stock ssh-keygen), people.toml, revoked."""
    state = roster.current
    if state is None:
        return {}
    header = (
        "# Generated from roster/roster.dlog by twinreview. Do not edit: hand edits are ignored\n"
        "# and reported by 'twinreview verify'.\n"
    )
    lines = [header]
    for rp in sorted(state.persons.values(), key=lambda p: p.principal):
        for fp in sorted(rp.keys):
            lines.append(format_allowed_signer(rp.principal, rp.keys[fp]) + "\n")
    people = header + format_people(
        sorted((rp.as_person() for rp in state.persons.values()), key=lambda p: p.principal),
        header=False,
    )
    known = roster.known_keys()
    revoked = [header]
    for fp in sorted(state.revoked):
        item = known.get(fp)
        revoked.append((item[1].openssh() if item else fp) + "\n")
    return {ALLOWED_SIGNERS: "".join(lines), PEOPLE: people, REVOKED: "".join(revoked)}


def write_views(roster_dir: Path, roster: SignedRoster) -> None:
    """Regenerate the view files (atomic replace each)."""
    for name, text in render_views(roster).items():
        path = roster_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def view_problems(roster_dir: Path, roster: SignedRoster) -> list[str]:
    """One message per view file that differs from what the signed roster generates."""
    out: list[str] = []
    for name, text in render_views(roster).items():
        path = roster_dir / name
        try:
            if path.is_symlink() or (path.exists() and not path.is_file()):
                actual: str | None = None
            else:
                actual = path.read_text(encoding="utf-8") if path.exists() else None
        except (OSError, UnicodeDecodeError):
            actual = None
        if actual is None and not path.exists():
            out.append(f"roster/{name} is missing (it is regenerated from roster/roster.dlog)")
        elif actual != text:
            out.append(
                f"roster/{name} was edited by hand; the edit is ignored (the signed roster "
                "roster/roster.dlog decides)"
            )
    return out


def effective_config(config: Mapping[str, Any], roster: SignedRoster) -> dict[str, Any]:
    """``twinreview.toml`` with the policy tables replaced by the signed policy.

    Display data (``[workspace] name`` and the like) stays from the file; the tables that decide
    what may be cleared (``[disclosure]``, ``[similarity]``) come only from a signed ``policy``
    entry (defaults when there is none), so editing the plain file changes nothing.
    """
    out = {k: v for k, v in config.items() if k not in POLICY_TABLES and k != "consent"}
    state = roster.current
    if state is not None and state.policy is not None:
        out.update(json.loads(json.dumps(state.policy.tables)))
    return out


def policy_tables(config: Mapping[str, Any]) -> dict[str, Any]:
    """The policy tables of a ``twinreview.toml`` (for signing them as the workspace policy)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        return str(value)

    return {k: plain(config[k]) for k in POLICY_TABLES if isinstance(config.get(k), Mapping)}


def plain_roster(roster: SignedRoster) -> Roster:
    """The signed roster's current state as a plain :class:`~twinreview.core.roster.people.Roster`.

    For code that checks OpenSSH-style signatures against allowed_signers lines (export
    signatures): the lines are generated from the signed log, never read from the view files.
    """
    state = roster.current
    if state is None:
        return Roster(problems=[p.message for p in roster.problems] or ["no signed roster"])
    signers, problems = parse_allowed_signers(render_views(roster)[ALLOWED_SIGNERS])
    known = roster.known_keys()
    revoked_keys = frozenset(known[fp][1].raw for fp in state.revoked if fp in known)
    return Roster(
        signers=signers,
        people=state.people,
        revoked=Revocations(keys=revoked_keys),
        problems=problems,
    )
