"""``twinreview roster add WS (--self | --principal EMAIL --key KEY) --role ROLE [--model ID]...``.

Appends the key to ``roster/allowed_signers`` (restricted to ``namespaces="twinreview-*"``) and the
person to ``roster/people.toml``. ``--self`` uses this device's identity (``twinreview keys init``);
it needs only the public part, not the keyring.
"""

from __future__ import annotations

import argparse
import sys

from twinreview.cli.main import EXIT_OK, EXIT_USAGE
from twinreview.core.roster import ROLES, Person, RosterError, add_to_roster
from twinreview.core.sshsig import SshPublicKey, SshsigError
from twinreview.core.workspace import Workspace
from twinreview.services.keys import IdentityStore, KeysError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``roster`` subcommand group."""
    p = sub.add_parser(
        "roster",
        help="manage who may sign decisions in a workspace",
        description="The roster (roster/allowed_signers and roster/people.toml) says whose "
        "signatures count, in which role, and for which models.",
    )
    roster_sub = p.add_subparsers(dest="roster_command", metavar="ACTION", required=True)
    add = roster_sub.add_parser(
        "add",
        help="add a reviewer key",
        description="Add a reviewer's key and role. Use --self for this device's key, or "
        "--principal and --key for someone else's (from their 'twinreview keys init' output).",
    )
    add.add_argument("workspace", metavar="WS", help="workspace folder")
    who = add.add_mutually_exclusive_group(required=True)
    who.add_argument("--self", action="store_true", help="this device's key (twinreview keys init)")
    who.add_argument("--principal", metavar="EMAIL", help="the reviewer's principal")
    add.add_argument("--key", metavar='"ssh-ed25519 AAAA..."', help="their public key")
    add.add_argument("--name", metavar="NAME", help="display name (default: from the identity)")
    add.add_argument("--role", choices=ROLES, help="model, agent or brand")
    add.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ID",
        help="a model id this person may decide for (repeatable)",
    )
    add.set_defaults(func=run_add)


def _error(message: str) -> int:
    print(f"twinreview: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_add(args: argparse.Namespace) -> int:
    """``roster add`` with this device's identity store."""
    return cmd_add(args, IdentityStore.default())


def cmd_add(args: argparse.Namespace, identities: IdentityStore) -> int:
    """Add the key and person; print what changed."""
    ws = Workspace.open(args.workspace)
    if args.self:
        if args.key:
            return _error("--key cannot be combined with --self")
        try:
            identity = identities.load()
        except KeysError as exc:
            return _error(str(exc))
        if identity is None:
            return _error("no reviewer key on this device; run 'twinreview keys init' first")
        if args.role and args.role != identity.role:
            return _error(f"your key was created for the role {identity.role}, not {args.role}")
        person = Person(
            identity.principal,
            args.name or identity.display_name,
            identity.role,
            tuple(dict.fromkeys(args.model)),
        )
        key = identity.public_key
    else:
        if not args.key or not args.role:
            return _error('--principal needs --key "ssh-ed25519 ..." and --role')
        try:
            key = SshPublicKey.parse(args.key)
        except SshsigError as exc:
            return _error(f"--key: {exc}")
        person = Person(
            args.principal, args.name or args.principal, args.role, tuple(dict.fromkeys(args.model))
        )
    unknown = [m for m in person.models if m not in ws.models]
    if unknown:
        known = ", ".join(sorted(ws.models)) or "none"
        return _error(f"unknown model id {', '.join(unknown)} (models in this workspace: {known})")
    try:
        changes = add_to_roster(ws.root / "roster", person, key)
    except RosterError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot write the roster: {exc}")
    if not changes:
        print(f"{person.principal} is already in the roster with this key; nothing to do")
    for change in changes:
        print(change)
    return EXIT_OK
