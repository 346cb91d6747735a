"""``twinreview demo [DIR] [--no-gui] [--screenshot FILE]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

from twinreview.cli.main import EXIT_OK, EXIT_USAGE
from twinreview.cli.scan_cmd import scan_workspace, write_table
from twinreview.core.logs.sshsig import SshPublicKey
from twinreview.core.roster.people import Person
from twinreview.core.workspace import Workspace
from twinreview.services.compose import default_data_dir
from twinreview.services.demo import DemoError, build_demo
from twinreview.services.keys import IdentityStore, KeysError
from twinreview.services.trust import TrustStore


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``demo`` subcommand."""
    p = sub.add_parser(
        "demo",
        help="build the demo workspace and open it",
        description="Build a small demo workspace from bundled public-domain photos (every kind "
        "of finding appears at least once), scan it, and open it in the app.",
    )
    p.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="where to build it (default: the demo folder in twinreview's data dir)",
    )
    p.add_argument(
        "--no-gui", action="store_true", help="print a summary instead of opening the app"
    )
    p.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE",
        help="open the app, save a PNG of the window once the first asset is shown, and exit",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the demo, then scan it (``--no-gui``) or open the app on it."""
    target: Path = args.dir or default_data_dir() / "demo"
    try:
        root = build_demo(target, _own_identity(), TrustStore.default())
    except (DemoError, OSError) as exc:
        print(f"twinreview: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"twinreview: demo workspace at {root}", file=sys.stderr)
    if args.no_gui:
        result = scan_workspace(Workspace.open(root))
        if result is None:
            return EXIT_USAGE
        write_table(result, sys.stdout)
        return EXIT_OK
    # The app is the only Qt layer; it is reached by name so that the CLI never imports Qt.
    run_demo_app: Callable[[Path, Path | None], int] = import_module(
        "twinreview.ui.app"
    ).run_demo_app
    return run_demo_app(root, args.screenshot)


def _own_identity() -> tuple[Person, SshPublicKey] | None:
    """The user's identity on this device (public part only), to put them on the demo roster."""
    try:
        identity = IdentityStore.default().load()
    except KeysError:
        return None
    if identity is None:
        return None
    person = Person(identity.principal, identity.display_name, identity.role, ("milo", "nova"))
    return person, identity.public_key
