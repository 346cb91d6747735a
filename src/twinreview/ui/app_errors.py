"""Errors as the app says them: what happened and what to do, in the app's own words (no Qt).

The services' messages are written for both front ends, and some name what the command line
does about them ("run 'twinreview trust WS'", "give --signer-key"). In the app the same advice
is a button or a field: :func:`app_message` says it that way, and drops what a person cannot act
on (class names, environment variables, options). :func:`keyring_problem` says why no key can
be kept on this computer, for the platform it runs on.

Public API:
    app_message(message) -> str
    error_text(exc) -> str: an exception said for the app (a bug says where its details are).
    keyring_problem(exc) -> str
"""

from __future__ import annotations

import re
import sys

from twinreview.services.diagnostics import is_expected, log_path

#: Command-line advice and what the app offers instead (in order; first match wins per span).
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (
            r"[;,:]?\s*the owner runs 'twinreview init'(?: \(or 'twinreview roster migrate'\))?",
            ": its owner creates one with “Make me the owner”",
        ),
        (r"'twinreview init' or 'twinreview roster migrate'", "“Make me the owner”"),
        (r"then run 'twinreview trust [^']*'", "then trust it (Roster › Trust this workspace)"),
        (
            r"give --signer-key \S+ or import it once with 'twinreview keys import-c2pa'",
            "choose the brand's private key file (PEM) under Private key",
        ),
        (
            r"import it with 'twinreview keys import-c2pa' or give --signer-key",
            "choose its private key file (PEM) under Private key",
        ),
        (r"\s*\(or store it in the keyring with 'twinreview keys import-c2pa'\)", ""),
        (r"create one with 'twinreview keys init[^']*'", "create one with Identity…"),
        (r"see 'twinreview keys show'", "see Identity…"),
        (r"'twinreview roster policy[^']*'", "Workspace rules…"),
        (r"'twinreview roster approve[^']*'", "the Roster's Approve button"),
        (
            r"\('twinreview roster add WS --self' writes a request the owner approves\)",
            "(Roster › Join this workspace: a request the owner approves)",
        ),
        (r"\('twinreview consent', signed by her\)", "(My consent…, signed by her)"),
        (
            r"check it with --workspace WS \(the workspace it was approved in\)",
            "choose the workspace it was approved in to compare them",
        ),
        (r"check the file with --workspace WS", "check it with its workspace chosen"),
        (r"\(then pass --owner\)", "(then type it under Owner key)"),
        (r"given with --owner", "typed under Owner key"),
        (
            r"\(pass --trust-anchor PEM\)",
            "(choose the brand's certificate authority under Trust anchor)",
        ),
        (r"or --trust-anchor\b", "or the Trust anchor chosen"),
        (
            r"run 'twinreview verify --restore' \(or Restore in the app\) to put them back",
            "put them back with “Put back what I signed”",
        ),
        (
            r"\('twinreview verify --restore', or Restore in the app\)",
            "(“Put back what I signed”)",
        ),
        (r"'twinreview verify --restore'", "“Put back what I signed”"),
        (r"run 'twinreview verify'", "see the problems shown in the window"),
        (r"'twinreview verify[^']*'", "the problems shown in the window"),
        # Validation codes of the C2PA library, and code named by class: the reader can do
        # nothing with them (the log and the command line's JSON keep them).
        (r"\s*\((?=[^)]*[a-z][A-Z])(?:[a-z][A-Za-z]*(?:\.[A-Za-z]+)+(?:,\s*)?)+\)", ""),
        (r"\s*\((?:(?:[a-z_]\w*\.)+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*)\)", ""),
        (r"(?:[a-z_][\w]*\.)+[A-Z]\w*", "this keyring"),
    )
)
#: What is left that only the command line understands: a clause holding it is dropped.
_TECHNICAL = re.compile(
    r"'twinreview [^']*'|(?<![\w-])--[a-z][\w-]*|\b[A-Z][A-Z0-9_]{3,}=\S*|\bPYTHON_\w+"
)
_SOMETHING_WENT_WRONG = "Something went wrong and was not finished"
#: A message that is only the name of an exception class (``one_line`` of an empty error).
_CLASS_NAME = re.compile(r"[A-Z]\w*(Error|Exception|Refused|Unavailable|Warning)")


def app_message(message: str) -> str:
    """``message`` said for the app: the app's way to do what the command line advises.

    Clauses that still name a command, an option or an environment variable are left out;
    what happened always stays. An empty message becomes a plain "something went wrong".
    """
    text = " ".join(message.split())
    if _CLASS_NAME.fullmatch(text):
        return _SOMETHING_WENT_WRONG
    for pattern, words in _REWRITES:
        text = pattern.sub(words, text)
    if _TECHNICAL.search(text):
        clauses = re.split(r"(?<=[;:,])\s+|\s+(?=\()", text)
        kept = [c for c in clauses if not _TECHNICAL.search(c)]
        text = " ".join(kept).rstrip(" ;:,") if kept else ""
    text = text.strip()
    return text or _SOMETHING_WENT_WRONG


def error_text(exc: BaseException) -> str:
    """An exception said for the app: a refusal or file problem in its words, else a bug."""
    if is_expected(exc) and str(exc).strip():
        return app_message(str(exc))
    return f"{_SOMETHING_WENT_WRONG}. The details are in {log_path()}."


def keyring_problem(exc: BaseException | None = None) -> str:
    """Why no key can be kept on this computer, and which keyring it needs, for this platform.

    The keyring library's own advice (an environment variable, a backend's class name) is for
    the command line and the log; ``exc`` only tells an insecure keyring from a missing one.
    """
    platform: str = sys.platform  # a plain str, so mypy does not prune the other branches
    detail = str(exc or "").lower()
    if "keyrings.alt" in detail or "without real protection" in detail:
        what = "the only keyring here keeps secrets in a plain file"
    else:
        what = "none is installed and unlocked"
    if platform.startswith("linux"):
        which = "GNOME Keyring, KeePassXC or KWallet, unlocked in a desktop session"
    elif platform == "darwin":
        which = "the login keychain, unlocked"
    elif platform == "win32":
        which = "Windows Credential Manager, open to your user account"
    else:
        which = "the system's password store"
    return f"No usable keyring on this computer ({what}; it needs {which})"
