"""The signed roster on the command line: ``init``, ``trust``, ``roster ...`` and ``consent``.

- ``twinreview init WS [--name NAME]``: this device's key becomes the workspace owner.
- ``twinreview trust WS [--fingerprint SHA256:...]``: pin the workspace's owner on this device.
- ``twinreview roster add WS [--principal P] --key LINE --role ROLE --model ID [--admin]`` (owner
  or admin; LINE is the identity's whole line, or a bare key with ``--principal``), or
  ``roster add WS --self [--model ID]`` (writes a signed join request);
  ``roster approve WS PRINCIPAL``, ``roster revoke WS PRINCIPAL FINGERPRINT``,
  ``roster remove WS PRINCIPAL``, ``roster reset WS PRINCIPAL --key KEY`` (owner only),
  ``roster admin WS PRINCIPAL [--off]``, ``roster policy WS``,
  ``roster migrate WS``, ``roster show WS [--json]``.
- ``twinreview consent WS --model ID --uses a,b --purpose TEXT (--expires YYYY-MM-DD |
  --no-expiry) [--pay-terms TEXT] [--exclude a,b] [--require model,agent]``, or ``--withdraw``:
  signed by the model herself; a required answer left out is refused in one line.

Exit codes: 0 done; 1 the roster refused the change (not allowed, not pinned, damaged roster);
2 usage errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.cli.text import say
from twinreview.core.policytext import policy_sentences
from twinreview.core.roster.keyline import KeyLineError, parse_key_line, principal_for
from twinreview.core.roster.people import ROLES, Person
from twinreview.core.roster.views import policy_tables
from twinreview.core.workspace import Workspace
from twinreview.services.consent import NO_PURPOSE, ConsentForm, split_list
from twinreview.services.disclosure import pin_trust_anchors
from twinreview.services.keys import IdentityStore, KeysError, KeyService, KeyStore
from twinreview.services.roster_admin import NoSigningKey, RosterAdminError, RosterService
from twinreview.services.trust import TrustStore, Verifier


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``init``, ``trust``, ``roster`` and ``consent``."""
    p = sub.add_parser(
        "init",
        help="make this device's key the owner of a workspace (signed roster)",
        description="Create roster/roster.dlog with this device's key as the owner. The "
        "workspace id is the sha256 of that first entry; this device pins it. The policy tables "
        "of twinreview.toml ([disclosure], [similarity]) are signed as the first policy.",
    )
    p.add_argument("workspace", metavar="WS", help="workspace folder")
    p.add_argument("--name", metavar="NAME", help="workspace name (default: from twinreview.toml)")
    p.set_defaults(func=_runner(_do_init))

    p = sub.add_parser(
        "trust",
        help="pin a workspace's owner on this device (like ssh known_hosts)",
        description="Print the owner's key fingerprint and pin it for this workspace id. Compare "
        "the fingerprint with the owner out of band, or pass it with --fingerprint.",
    )
    p.add_argument("workspace", metavar="WS", help="workspace folder")
    p.add_argument("--fingerprint", metavar="SHA256:...", help="the owner key you expect")
    p.set_defaults(func=_runner(_do_trust, need_key=False))

    p = sub.add_parser(
        "consent",
        help="give, narrow, widen or withdraw your consent as a model (signed)",
        description="Sign your consent for one model id into the roster. Only the model herself "
        "can; the latest consent counts. Nothing is assumed for you: name the uses you allow, "
        "what they are for in your own words, and an end date (or --no-expiry, explicitly).",
    )
    p.add_argument("workspace", metavar="WS", help="workspace folder")
    p.add_argument("--model", required=True, metavar="ID", help="your model id")
    p.add_argument("--uses", metavar="a,b", help="the uses you allow, comma separated (required)")
    p.add_argument(
        "--purpose",
        metavar="TEXT",
        help='what it is for, in your words, e.g. "Spring 2027 e-commerce for Brand X" (required)',
    )
    p.add_argument("--expires", metavar="YYYY-MM-DD", help="last day of your consent (UTC)")
    p.add_argument(
        "--no-expiry",
        action="store_true",
        help="your consent has no end date (instead of --expires; an explicit choice)",
    )
    p.add_argument("--pay-terms", metavar="TEXT", help="a reference to the pay terms (contract)")
    p.add_argument(
        "--exclude",
        metavar="a,b",
        help="content you exclude (e.g. nudity,political,alcohol), matched against an image's "
        "categories",
    )
    p.add_argument(
        "--require",
        default="model,agent",
        metavar="model,agent",
        help="roles that must approve (default: model,agent; must include model)",
    )
    p.add_argument("--withdraw", action="store_true", help="withdraw your consent")
    p.set_defaults(func=_runner(_do_consent))

    p = sub.add_parser(
        "roster",
        help="manage who may sign decisions in a workspace",
        description="The signed roster (roster/roster.dlog) says whose signatures count, in "
        "which role, and for which models. allowed_signers, people.toml and revoked are views "
        "generated from it.",
    )
    rs = p.add_subparsers(dest="roster_command", metavar="ACTION", required=True)
    add = rs.add_parser(
        "add",
        help="add a reviewer (owner or admin), or ask to join (--self)",
        description="Add a reviewer's key, role and models (signed by the owner or an admin). "
        "With --self, write a signed join request for the owner to approve instead.",
    )
    add.add_argument("workspace", metavar="WS", help="workspace folder")
    who = add.add_mutually_exclusive_group()
    who.add_argument("--self", action="store_true", help="ask to join with this device's key")
    who.add_argument(
        "--principal",
        metavar="EMAIL",
        help="the reviewer's principal (default: the one their key line names)",
    )
    add.add_argument(
        "--key",
        metavar='"LINE"',
        help="their public key: the whole line their identity shows ('twinreview keys show', "
        'or Copy in the app\'s Identity dialog), or "ssh-ed25519 AAAA..."',
    )
    add.add_argument("--name", metavar="NAME", help="display name")
    add.add_argument("--role", choices=ROLES, help="model, agent or brand")
    add.add_argument("--model", action="append", default=[], metavar="ID", help="model id")
    add.add_argument("--admin", action="store_true", help="may change the roster (owner only)")
    add.set_defaults(func=_runner(_do_add))

    show = rs.add_parser("show", help="print the roster, consents, policy and pending requests")
    show.add_argument("workspace", metavar="WS", help="workspace folder")
    show.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    show.set_defaults(func=_runner(_do_show, need_key=False))

    ap = rs.add_parser("approve", help="approve a pending join request (owner or admin)")
    ap.add_argument("workspace", metavar="WS", help="workspace folder")
    ap.add_argument("principal", metavar="PRINCIPAL", help="who asked to join")
    ap.set_defaults(func=_runner(_do_approve))

    rv = rs.add_parser("revoke", help="revoke one key of a person (owner or admin)")
    rv.add_argument("workspace", metavar="WS", help="workspace folder")
    rv.add_argument("principal", metavar="PRINCIPAL")
    rv.add_argument("fingerprint", metavar="SHA256:...")
    rv.set_defaults(func=_runner(_do_revoke))

    rm = rs.add_parser("remove", help="remove a person (their past decisions keep counting)")
    rm.add_argument("workspace", metavar="WS", help="workspace folder")
    rm.add_argument("principal", metavar="PRINCIPAL")
    rm.set_defaults(func=_runner(_do_remove))

    rz = rs.add_parser(
        "reset",
        help="give a model a new key she did not sign herself (owner only; everyone sees it)",
        description="When a model lost every device with her key, the owner gives her a new one: "
        "added to her entry, or, if she was removed, by adding her back (with --model, as the "
        "model person of those model ids). Only the owner may; verify, roster show, the report "
        "and the app show everyone that her key was reset, with the new fingerprint to check "
        "with her. Her consent from before lapses (she signs it again) and her rejects from "
        "before still stand.",
    )
    rz.add_argument("workspace", metavar="WS", help="workspace folder")
    rz.add_argument("principal", metavar="PRINCIPAL", help="the model")
    rz.add_argument("--key", required=True, metavar='"ssh-ed25519 AAAA..."', help="her new key")
    rz.add_argument("--model", action="append", default=[], metavar="ID", help="model id")
    rz.add_argument("--name", metavar="NAME", help="her display name (when adding her back)")
    rz.add_argument(
        "--role",
        choices=ROLES,
        default="model",
        help="bring a removed model back in this role (her principal still speaks for her, so "
        "only by a reset; default: model)",
    )
    rz.set_defaults(func=_runner(_do_reset))

    ad = rs.add_parser("admin", help="appoint (or with --off dismiss) an admin (owner only)")
    ad.add_argument("workspace", metavar="WS", help="workspace folder")
    ad.add_argument("principal", metavar="PRINCIPAL")
    ad.add_argument("--off", action="store_true", help="dismiss instead")
    ad.set_defaults(func=_runner(_do_admin))

    po = rs.add_parser(
        "policy",
        help="sign twinreview.toml's [disclosure] and [similarity] as the workspace policy",
    )
    po.add_argument("workspace", metavar="WS", help="workspace folder")
    po.set_defaults(func=_runner(_do_policy))

    ac = rs.add_parser(
        "accept",
        help="accept that a log now ends where it does (its own person, or the owner)",
        description="A log that is shorter than someone saw, or gone (a laptop lost before it "
        "synced), blocks the assets it could decide on. After checking what happened, its own "
        "person (or the owner, for anyone but a model) signs that the log now ends at its "
        "current entry: verify still reports the gap, but it no longer blocks. A gap in a "
        "model's log may hide her veto: only she accepts it. If the log changes again, it "
        "blocks again.",
    )
    ac.add_argument("workspace", metavar="WS", help="workspace folder")
    ac.add_argument("log", metavar="SHA256:...", help="the log's key fingerprint (from verify)")
    ac.set_defaults(func=_runner(_do_accept))

    rp = rs.add_parser(
        "repair",
        help="set aside roster lines that failed verification (owner or admin)",
        description="Lines appended to roster/roster.dlog that are not validly signed by someone "
        "allowed to make that change never counted; this moves them to "
        "roster/roster.dlog.rejected-<time> so the roster can go on.",
    )
    rp.add_argument("workspace", metavar="WS", help="workspace folder")
    rp.set_defaults(func=_runner(_do_repair))

    mg = rs.add_parser(
        "migrate",
        help="turn a plain roster (allowed_signers, people.toml) into a signed one",
        description="You become the owner; everyone on the plain roster is added with their "
        "keys; existing logs are taken over up to their current entries. Each model must then "
        "sign her consent with 'twinreview consent'.",
    )
    mg.add_argument("workspace", metavar="WS", help="workspace folder")
    mg.add_argument("--name", metavar="NAME", help="workspace name")
    mg.set_defaults(func=_runner(_do_migrate))


def _error(message: str, code: int = EXIT_USAGE) -> int:
    say(f"twinreview: {message}", file=sys.stderr)
    return code


def make_service(*, need_key: bool = True) -> RosterService:
    """The roster service with this device's keyring and records (the CLI's composition)."""
    keys: KeyService | None = None
    if need_key:
        keys = KeyService(KeyStore.from_system(), IdentityStore.default())
    return RosterService(keys, TrustStore.default(), Verifier.default())


def _service(args: argparse.Namespace, *, need_key: bool = True) -> RosterService:
    factory = getattr(args, "service_factory", None)
    if factory is not None:
        service: RosterService = factory(need_key=need_key)
        return service
    return make_service(need_key=need_key)


_Action = Callable[[RosterService, Workspace, argparse.Namespace], int]


def _runner(action: _Action, *, need_key: bool = True) -> Callable[[argparse.Namespace], int]:
    """The subcommand function running ``action`` with the roster service."""
    return lambda args: _run(args, action, need_key)


def _run(args: argparse.Namespace, action: _Action, need_key: bool = True) -> int:
    try:
        service = _service(args, need_key=need_key)
        ws = Workspace.open(args.workspace)
        return action(service, ws, args)
    except (KeysError, NoSigningKey) as exc:
        return _error(str(exc))
    except RosterAdminError as exc:
        return _error(str(exc), EXIT_CHECK_FAILED)


def _do_init(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    roster = service.init(ws.root, args.name)
    assert roster.owner_key is not None
    print(f"workspace {roster.name!r} created; you are its owner")
    print(f"workspace id: {roster.workspace_id}")
    print(f"owner key:    {roster.owner_key.fingerprint}")
    print("Give this fingerprint to everyone who joins, so they can check it ('twinreview trust').")
    return EXIT_OK


def _do_trust(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    before = service.check_pin(ws.root)
    check = service.trust_workspace(ws.root, args.fingerprint)
    owner = service.show(ws.root)["owner"] or {}
    print(f"workspace id: {check.workspace_id}")
    print(f"owner:        {owner.get('principal')} {check.owner_fingerprint}")
    if before.state == "pinned":
        print("already trusted on this device")
    elif args.fingerprint is None:
        print(
            "pinned. Check this fingerprint with the owner by another channel (phone, in person)."
        )
    else:
        print("pinned: the owner key matches the fingerprint you gave")
    return EXIT_OK


def _do_consent(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    if args.withdraw:
        service.consent(ws.root, args.model, withdraw=True)
        print(f"your consent for {args.model} is withdrawn: none of its images can be cleared")
        return EXIT_OK
    expires = None
    if args.expires:
        try:
            expires = dt.date.fromisoformat(args.expires)
        except ValueError:
            return _error(f"--expires must be a date like 2027-06-30, not {args.expires!r}")
    form = ConsentForm(
        args.model,
        uses=split_list(args.uses) or None,
        purpose=args.purpose,
        expires=expires,
        no_expiry=args.no_expiry,
        pay_terms=args.pay_terms,
        exclude=split_list(args.exclude),
        require=split_list(args.require),
    )
    missing = form.missing()
    if missing:
        flags = {"uses": "--uses a,b", "purpose": "--purpose TEXT"}
        flags["end date"] = "--expires YYYY-MM-DD or --no-expiry"
        return _error(
            "consent needs "
            + ", ".join(flags[m] for m in missing)
            + ": nothing is assumed for you (no 'any use', no open end unless you say so)"
        )
    problem = form.problem(dt.datetime.now(dt.UTC).date())
    if problem is not None:
        return _error(problem)
    form.sign(service, ws.root)
    until = f"until {expires.isoformat()}" if expires else "with no end date (your choice)"
    assert form.uses is not None
    print(
        f"consent signed for {args.model}: uses {', '.join(form.uses)} {until}, for "
        f'"{form.purpose}"; approvals by {", ".join(form.require)}'
    )
    if form.exclude:
        print(f"excluded: {', '.join(form.exclude)}")
    return EXIT_OK


def _do_add(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    if args.self:
        if args.key:
            return _error("--key cannot be combined with --self")
        path = service.request_join(ws.root, args.model, args.role, args.name)
        print(f"join request written: {path.relative_to(ws.root).as_posix()}")
        print("the owner approves it with 'twinreview roster approve' (or in the app)")
        return EXIT_OK
    if not args.key or not args.role:
        return _error(
            'give --self, or --key "LINE" and --role (LINE: the line their identity shows, or '
            '"ssh-ed25519 AAAA..." with --principal)'
        )
    try:
        line = parse_key_line(args.key)
    except KeyLineError as exc:
        return _error(f"--key: {exc}")
    if args.principal is None and line.principal is None:
        return _error("--key is a bare key that names nobody: give --principal EMAIL too")
    try:
        principal = principal_for(line, args.principal)
    except KeyLineError as exc:
        return _error(f"--key: {exc}")
    key = line.key
    person = Person(principal, args.name or principal, args.role, tuple(dict.fromkeys(args.model)))
    service.add_person(ws.root, person, key, admin=args.admin)
    print(f"added {person.principal} ({person.role}) with key {key.fingerprint}")
    return EXIT_OK


def _do_show(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    data = service.show(ws.root)
    if args.json:
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    owner = data["owner"]
    if owner is None:
        say("no signed roster: the owner runs 'twinreview init' or 'twinreview roster migrate'")
        return EXIT_OK
    say(f"workspace {data['name']!r} ({data['workspace_id']})")
    say(f"owner: {owner['principal']} {owner['fingerprint']} (on this device: {data['pinned']})")
    for p in data["people"]:
        flags = " owner" if p["owner"] else " admin" if p["admin"] else ""
        models = ", ".join(p["models"]) or "-"
        say(f"  {p['principal']:<28} {p['role']:<6} models: {models}{flags}")
    for mid, c in data["consents"].items():
        state = (
            "WITHDRAWN"
            if c["withdrawn"]
            else (f"uses {', '.join(c['uses'])}" if c["uses"] is not None else "any use")
        )
        if c["expires"]:
            until = f", until {c['expires']}"
        else:
            until = ", no end date (her choice)" if c.get("no_expiry") else ", no end date recorded"
        say(f"  consent {mid}: {state}{until}; approvals by {', '.join(c['require'])}")
        if not c["withdrawn"]:
            purpose = f'for "{c["purpose"]}"' if c.get("purpose") else NO_PURPOSE
            extra = f"; excluded: {', '.join(c['exclude'])}" if c.get("exclude") else ""
            extra += f"; pay terms: {c['pay_terms']}" if c.get("pay_terms") else ""
            say(f"    {purpose}{extra}")
    for reset in data["resets"]:
        say(f"  reset: {reset['message']}")
    # What signing the file would sign: the anchors' certificates pinned as the signed policy
    # holds them, so a signed trust anchor is no difference and a swapped certificate is one.
    _show_policy(data, pin_trust_anchors(ws.root, policy_tables(ws.file_config)))
    for r in data["pending"]:
        say(
            f"  pending: {r['principal']} ({r['role']}, {', '.join(r['models'])}) "
            f"{r['fingerprint']}"
        )
    for problem in data["problems"]:
        say(f"  problem: {problem}")
    return EXIT_OK


def _show_policy(data: Mapping[str, Any], file_tables: Mapping[str, Any]) -> None:
    """Who set the policy in force, its rules in words, and whether the file says otherwise."""
    policy = data["policy"]
    if policy is None:
        say("policy: none signed: the defaults apply")
        signed: Mapping[str, Any] = {}
    else:
        names = {p["principal"]: p["name"] for p in data["people"]}
        by = str(policy["set_by"])
        who = f"{names[by]} <{by}>" if names.get(by) not in (None, by) else by
        when = f" on {str(policy['ts'])[:10]}" if policy.get("ts") else ""
        say(f"policy: set by {who}{when} (roster entry {policy['roster_seq']})")
        signed = policy["tables"]
        for line in policy_sentences(signed) or ["the defaults apply"]:
            say(f"  {line}")
    if file_tables != signed:
        say(
            "  twinreview.toml differs from the signed policy: its edits count only once "
            "signed ('twinreview roster policy WS')"
        )


def _do_approve(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    service.approve(ws.root, args.principal)
    print(f"approved {args.principal}")
    return EXIT_OK


def _do_revoke(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    service.revoke_key(ws.root, args.principal, args.fingerprint)
    print(f"revoked {args.fingerprint} of {args.principal}")
    return EXIT_OK


def _do_remove(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    service.remove_person(ws.root, args.principal)
    print(f"removed {args.principal}; their earlier decisions keep counting")
    return EXIT_OK


def _do_reset(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    try:
        line = parse_key_line(args.key)
    except KeyLineError as exc:
        return _error(f"--key: {exc}")
    if line.principal is not None and line.principal != args.principal:
        return _error(
            f"--key is the key line of {line.principal}, not of {args.principal}: check whose "
            "key you were given"
        )
    key = line.key
    roster = service.reset_model(
        ws.root, args.principal, key, models=args.model, name=args.name, role=args.role
    )
    state = roster.current
    assert state is not None
    say(state.resets[-1].sentence())
    if args.role == "model":
        say("everyone is shown this; she signs her consent again with the new key")
    else:
        say(f"everyone is shown this; she is back as {args.role}, and her rejects still stand")
    return EXIT_OK


def _do_admin(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    service.set_admin(ws.root, args.principal, not args.off)
    print(f"{args.principal} is {'no longer ' if args.off else ''}an admin")
    return EXIT_OK


def _do_policy(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    service.set_policy(ws.root)
    print("signed twinreview.toml's [disclosure] and [similarity] as the workspace policy")
    return EXIT_OK


def _do_accept(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    roster = service.accept_head(ws.root, args.log)
    state = roster.current
    assert state is not None
    seq = state.accepted[args.log][0]
    where = "as gone" if seq < 0 else f"at seq {seq}"
    print(f"accepted log {args.log} {where}; verify keeps reporting the gap, it no longer blocks")
    return EXIT_OK


def _do_repair(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    moved = service.set_aside_bad_lines(ws.root)
    if moved is None:
        print("the roster has no bad lines")
    else:
        print(f"moved the lines that failed verification to {moved.relative_to(ws.root)}")
    return EXIT_OK


def _do_migrate(service: RosterService, ws: Workspace, args: argparse.Namespace) -> int:
    roster, done = service.migrate(ws.root, args.name)
    print(f"signed roster created (workspace id {roster.workspace_id})")
    for line in done:
        print(f"  {line}")
    print("each model must now sign her consent: 'twinreview consent WS --model ID'")
    return EXIT_OK
