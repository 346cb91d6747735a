"""``twinreview keys init --principal EMAIL --name NAME --role ROLE`` and ``twinreview keys show``.

The private key (an Ed25519 seed) goes only into the operating system's keyring; the public part
(principal, name, role, public key) into ``identity.toml`` in the user config directory.
``cmd_init``/``cmd_show`` take the KeyService as an argument so tests can pass one built on an
in-memory keyring; ``run_*`` build the real one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.core.roster.people import ROLES
from twinreview.services.keys import IdentityStore, KeysError, KeyService, KeyStore
from twinreview.services.publish.signer import C2paKeyStore, SignerError, load_credentials


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``keys`` subcommand group."""
    p = sub.add_parser(
        "keys",
        help="create or show this device's reviewer key",
        description="Your reviewer key signs your decisions. The private key is kept only in "
        "the operating system's keyring (Keychain, Credential Locker, Secret Service, KWallet).",
    )
    keys_sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    init = keys_sub.add_parser(
        "init",
        help="create a key and print its public key line",
        description="Create an Ed25519 key in the OS keyring and print its public key line. To "
        "join a workspace, run 'twinreview roster add WS --self' (a signed join request the "
        "owner approves), or send the line to the owner, who adds you with 'twinreview roster "
        "add'. roster/allowed_signers is generated from the signed roster: never edit it.",
    )
    init.add_argument("--principal", required=True, metavar="EMAIL", help="who you are")
    init.add_argument("--name", required=True, metavar="NAME", help="your name, as shown to others")
    init.add_argument("--role", required=True, choices=ROLES, help="your role")
    init.set_defaults(func=run_init)
    show = keys_sub.add_parser("show", help="show this device's reviewer identity")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=run_show)
    c2pa = keys_sub.add_parser(
        "import-c2pa",
        help="store the brand's C2PA signing key in the OS keyring, for 'twinreview publish'",
        description="Check a C2PA signing certificate chain and its private key, then store the "
        "key in the operating system's keyring under the certificate's sha256. 'twinreview "
        "publish --signer-cert CHAIN.pem' then needs no --signer-key; delete the PEM key file "
        "afterwards.",
    )
    c2pa.add_argument("--cert", type=Path, required=True, metavar="CHAIN.pem", help="the chain")
    c2pa.add_argument("--key", type=Path, required=True, metavar="KEY.pem", help="its key")
    c2pa.set_defaults(func=run_import_c2pa)


def _error(message: str) -> int:
    print(f"twinreview: {message}", file=sys.stderr)
    return EXIT_USAGE


def _system_service() -> KeyService:
    return KeyService(KeyStore.from_system(), IdentityStore.default())


def run_init(args: argparse.Namespace) -> int:
    """``keys init`` with the system keyring."""
    try:
        service = _system_service()
    except KeysError as exc:
        return _error(str(exc))
    return cmd_init(args, service)


def cmd_init(args: argparse.Namespace, service: KeyService) -> int:
    """Create the identity; print its public key line on stdout."""
    try:
        identity = service.init(args.principal, args.name, args.role)
    except KeysError as exc:
        return _error(str(exc))
    print(identity.allowed_signers_line())
    print(
        f"twinreview: key {identity.public_key.fingerprint} stored in "
        f"{service.keystore.backend_name}. To join a workspace, run 'twinreview roster add WS "
        "--self' (a signed request its owner approves), or send the line above to the owner, who "
        "adds you with 'twinreview roster add WS --principal ... --key ...'",
        file=sys.stderr,
    )
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    """``keys show``: the public identity always; the keyring check when a keyring is usable."""
    identities = IdentityStore.default()
    try:
        keystore: KeyStore | None = KeyStore.from_system()
        keyring_error = ""
    except KeysError as exc:
        keystore, keyring_error = None, str(exc)
    return cmd_show(args, identities, keystore, keyring_error)


def cmd_show(
    args: argparse.Namespace,
    identities: IdentityStore,
    keystore: KeyStore | None,
    keyring_error: str = "",
) -> int:
    """Print the identity; exit 1 if its private key is not in a usable keyring."""
    try:
        identity = identities.load()
    except KeysError as exc:
        return _error(str(exc))
    if identity is None:
        return _error(
            "no reviewer key on this device; create one with 'twinreview keys init "
            "--principal EMAIL --name NAME --role ROLE'"
        )
    fp = identity.public_key.fingerprint
    private = "missing"
    if keystore is not None:
        try:
            private = "present" if keystore.load_seed(fp) is not None else "missing"
        except KeysError as exc:
            keyring_error = str(exc)
    if args.json:
        json.dump(
            {
                "principal": identity.principal,
                "name": identity.display_name,
                "role": identity.role,
                "public_key": identity.public_key.openssh(),
                "fingerprint": fp,
                "allowed_signers": identity.allowed_signers_line(),
                "keyring": keystore.backend_name if keystore else None,
                "private_key": private,
                "keyring_error": keyring_error or None,
            },
            sys.stdout,
            indent=2,
            ensure_ascii=False,
        )
        sys.stdout.write("\n")
    else:
        print(f"principal:   {identity.principal}")
        print(f"name:        {identity.display_name}")
        print(f"role:        {identity.role}")
        print(f"fingerprint: {fp}")
        where = keystore.backend_name if keystore else "no usable keyring"
        print(f"private key: {private} ({where})")
        print(f"allowed_signers line:\n{identity.allowed_signers_line()}")
    if keyring_error:
        print(f"twinreview: {keyring_error}", file=sys.stderr)
    return EXIT_OK if private == "present" else EXIT_CHECK_FAILED


def run_import_c2pa(args: argparse.Namespace) -> int:
    """``keys import-c2pa`` into the system keyring."""
    try:
        store = C2paKeyStore.from_system()
    except KeysError as exc:
        return _error(str(exc))
    return cmd_import_c2pa(args, store)


def cmd_import_c2pa(args: argparse.Namespace, store: C2paKeyStore) -> int:
    """Check the chain and key, store the key; print the certificate's name and sha256."""
    try:
        credentials = load_credentials(args.cert, args.key)
        store.store(credentials)
    except SignerError as exc:
        return _error(str(exc))
    print(f"{credentials.subject}  sha256:{credentials.fingerprint}")
    print(
        f"twinreview: the signing key is in {store.backend_name}; 'twinreview publish WS OUTDIR "
        f"--signer-cert {args.cert}' will use it. You may now delete {args.key}.",
        file=sys.stderr,
    )
    return EXIT_OK
