"""The ``twinreview`` command: argparse front end on the Qt-free core.

Exit codes (documented in the README):
    0: success (a completed scan, a verified log, ...)
    1: the command ran but its check failed (``--fail-on`` tripped, verification found problems)
    2: usage or workspace errors (bad arguments, not a workspace, unreadable config)
"""

from __future__ import annotations

import os

# numpy's BLAS would start its own threads inside every scan worker and fight them for the
# cores; the scan already runs one worker per core. Must happen before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path

from twinreview import __version__
from twinreview.core.errors import TwinreviewError, one_line
from twinreview.core.workspace import WorkspaceError
from twinreview.services.diagnostics import configure_logging, log_path, log_unexpected

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
EXIT_SOFTWARE = 70  # a bug: details in the log file (twinreview --log-file)

# Each module registers its own subcommands through ``register(subparsers)``; the list is explicit
# (no plugin registry) so that a reader sees every command in one place.
COMMAND_MODULES: tuple[str, ...] = (
    "twinreview.cli.scan_cmd",
    "twinreview.cli.inspect_cmd",
    "twinreview.cli.demo_cmd",
    "twinreview.cli.keys_cmd",
    "twinreview.cli.roster_cmd",
    "twinreview.cli.verify_cmd",
    "twinreview.cli.export_cmd",
    "twinreview.cli.decide_cmd",
    "twinreview.cli.status_cmd",
    "twinreview.cli.report_cmd",
    "twinreview.cli.publish_cmd",
    "twinreview.cli.published_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="twinreview",
        description="Review AI-generated images of real people against their reference photos, "
        "check their AI disclosure, and sign approvals into a verifiable log.",
    )
    parser.add_argument("--version", action="version", version=f"twinreview {__version__}")
    parser.add_argument(
        "--log-file",
        action="store_true",
        help="print where twinreview writes its log (details of unexpected errors) and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    workspace = _workspace_to_open(words, parser)
    if workspace is not None:
        # ``twinreview WS``: the app on that workspace (a folder, not a command name).
        configure_logging()
        return _open_app(argparse.Namespace(workspace=workspace, log_file=False))
    args = parser.parse_args(words)
    configure_logging()
    if args.log_file:
        print(log_path())
        return EXIT_OK
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        # No subcommand: open the desktop app. Imported lazily so that the CLI never loads Qt
        # unless the user asked for the app.
        return _open_app(args)
    return run_command(func, args)


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run one subcommand with the CLI's common error handling; return the exit code."""
    try:
        code = func(args)
        sys.stdout.flush()
        return code
    except WorkspaceError as exc:
        # Every command that takes WS reports a folder that is not a workspace the same way.
        from twinreview.cli.text import escape

        print(f"twinreview: {escape(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except TwinreviewError as exc:
        # A refusal a command did not word itself: still one line, never a traceback.
        from twinreview.cli.text import escape

        print(f"twinreview: {escape(one_line(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("twinreview: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``twinreview scan --json | head``): not an error of ours. Point
        # stdout at devnull so that the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_CHECK_FAILED
    except Exception as exc:  # noqa: BLE001 (the last line of defence: log it, say one line)
        from twinreview.cli.text import escape

        print(f"twinreview: {escape(log_unexpected(exc))}", file=sys.stderr)
        return EXIT_SOFTWARE


def _workspace_to_open(words: Sequence[str], parser: argparse.ArgumentParser) -> Path | None:
    """The folder of ``twinreview WS``, else None (the parser then handles the words).

    One argument that is neither an option nor a command name and names an existing folder.
    """
    if len(words) != 1 or words[0].startswith("-"):
        return None
    commands: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands.update(action.choices)
    candidate = Path(words[0])
    if words[0] in commands or not candidate.is_dir():
        return None
    return candidate


def _open_app(args: argparse.Namespace) -> int:
    # The one place the CLI reaches the Qt layer, by name and only on demand, so that
    # ``twinreview scan`` and friends start fast and run on machines without a display.
    run: Callable[[argparse.Namespace], int] = import_module("twinreview.ui.app").run_app
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
