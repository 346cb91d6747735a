r"""Names that do not travel between the reviewers' laptops.

A workspace moves between Linux, macOS and Windows (a shared drive, git, a zip). Their disks
differ in what a name may be:

- macOS (APFS, HFS+ by default) and Windows (NTFS) compare names without case: ``assets/Milo``
  and ``assets/milo`` are one folder there, so their files merge, and of two files ``A.jpg`` and
  ``a.jpg`` one is lost when the folder is copied.
- Windows cannot hold the device names ``CON``, ``PRN``, ``AUX``, ``NUL``, ``COM0``-``COM9`` and
  ``LPT0``-``LPT9`` (with any extension), names ending in a dot or a space (it drops them), the
  characters ``< > : " / \\ | ? *`` and control characters.

Pure functions on workspace-relative POSIX paths; nothing here touches a disk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

_DIGITS = "0123456789¹²³"
WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{d}" for d in _DIGITS} | {f"LPT{d}" for d in _DIGITS}
)
WINDOWS_FORBIDDEN_CHARS = frozenset('<>:"/\\|?*')


def windows_name_problem(name: str) -> str | None:
    """Why Windows cannot hold a file or folder named ``name`` (one path component), or None."""
    for ch in name:
        if ord(ch) < 32:
            return f"its name has a control character ({ch!r}), which Windows does not allow"
        if ch in WINDOWS_FORBIDDEN_CHARS:
            return f"its name has {ch!r}, a character Windows does not allow in names"
    if name.endswith("."):
        return "its name ends with a dot, which Windows drops"
    if name.endswith(" "):
        return "its name ends with a space, which Windows drops"
    device = name.split(".", 1)[0].rstrip(" ").upper()
    if device in WINDOWS_RESERVED:
        return f"{device} is a reserved device name on Windows, with any extension"
    return None


def name_problems(rels: Iterable[str]) -> dict[str, str]:
    """The files and folders among ``rels`` (and their folders) whose own name is at fault.

    Args:
        rels: Workspace-relative POSIX paths.

    Returns:
        Path -> why: its name differs only in case from another at the same place, or Windows
        cannot hold it. A file is not listed for a problem of its folder's name alone.
    """
    spellings: dict[str, set[str]] = defaultdict(set)
    prefixes: set[str] = set()
    for rel in set(rels):
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            prefixes.add(prefix)
            spellings[prefix.casefold()].add(prefix)
    out: dict[str, str] = {}
    for prefix in sorted(prefixes):
        found = []
        others = sorted(spellings[prefix.casefold()] - {prefix})
        if others:
            found.append(
                f"it differs only in case from {', '.join(others)}: a Mac or Windows laptop "
                "keeps one of them"
            )
        problem = windows_name_problem(prefix.rsplit("/", 1)[-1])
        if problem is not None:
            found.append(problem)
        if found:
            out[prefix] = "; ".join(found)
    return out


def portability_problems(
    rels: Iterable[str], names: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The paths among ``rels`` that a Mac or Windows laptop cannot keep as they are.

    Args:
        rels: Workspace-relative POSIX paths.
        names: :func:`name_problems` of ``rels``, when the caller has it.

    Returns:
        Path -> why, in words, for each of its components at fault (see :func:`name_problems`),
        from the root.
    """
    rels = list(rels)
    if names is None:
        names = name_problems(rels)
    out: dict[str, str] = {}
    for rel in sorted(set(rels)):
        parts = rel.split("/")
        found = []
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            why = names.get(prefix)
            if why is not None:
                found.append(why if i == len(parts) else f"its folder {prefix}: {why}")
        if found:
            out[rel] = "; ".join(found)
    return out
