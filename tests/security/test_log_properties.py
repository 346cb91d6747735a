"""Property: any edit, deletion, reordering, truncation or replay of a line of the signed roster or
of a decision log is reported by verification (issue 9).

One small workspace is signed once (an owner, a model, an agent, decisions in two logs that name
each other's heads); each example copies it, damages one file in one way, and verifies it as the
device that had verified the intact workspace (its rollback record holds the heads it saw).

And: any truncation of a file, at a line end or inside a line, with or without the final newline,
is reported by the device that signed the lost end, from its own copy of what it signed alone
(``core.logs.signedcopy``): no other device need have seen it.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twinreview.core.logs.log import LogWriter
from twinreview.core.logs.signedcopy import SignedCopies
from twinreview.core.logs.sshsig import SigningKey
from twinreview.core.logs.verify import ROLLED_BACK, verify_workspace
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.people import Person
from twinreview.core.roster.views import write_views
from twinreview.core.roster.write import RosterWriter
from wsbuild import add_model, make_workspace, pattern, save_jpeg

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _clock() -> object:
    ticks = iter(range(10_000))
    return lambda: T0 + dt.timedelta(minutes=next(ticks))


@functools.cache
def _signed_workspace() -> tuple[Path, dict[str, tuple[int, str]]]:
    root, seen, _ = _signed_workspace_and_copies()
    return root, seen


@functools.cache
def _signed_workspace_and_copies() -> tuple[
    Path, dict[str, tuple[int, str]], dict[str, SignedCopies]
]:
    """The workspace, the heads a verifying device saw, and each signing device's own copies."""
    base = Path(tempfile.mkdtemp(prefix="twinreview-props-"))
    root = base / "ws"
    copies = {who: SignedCopies(base / f"{who}-copies", root) for who in ("owner", "ava", "kim")}
    make_workspace(root)
    add_model(root, "ava", {"ref.jpg": pattern(1)})
    for i in range(3):
        save_jpeg(pattern(10 + i), root / "assets" / "ava" / f"look{i}.jpg")
    owner, ava, kim = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    clock = _clock()
    w = RosterWriter(root / "roster", owner, "owner@x", clock=clock)  # type: ignore[arg-type]
    w.genesis("props", Person("owner@x", "Owner", "brand", ()))
    w.copy = copies["owner"].for_file(w.path)
    w.copy.record(w.path, w.path.stat().st_size)
    for principal, role, key in (("ava@x", "model", ava), ("kim@x", "agent", kim)):
        w.append(
            "add_person",
            {
                "person": principal,
                "name": principal,
                "role": role,
                "models": ["ava"],
                "keys": [key.public.openssh()],
                "admin": False,
                "request": None,
            },
        )
    ava_roster = RosterWriter(root / "roster", ava, "ava@x", clock=clock)  # type: ignore[arg-type]
    ava_roster.copy = copies["ava"].for_file(ava_roster.path)
    roster = ava_roster.append(
        "consent",
        {"model": "ava", "uses": None, "expires": None, "require": ["model", "agent"]},
    )
    write_views(root / "roster", roster)

    def context(own: SigningKey) -> dict[str, object]:
        r = SignedRoster.load(root / "roster")
        head = r.head
        assert head is not None
        rep = verify_workspace(root, r)
        return {
            "ws": r.workspace_id,
            "roster": {"seq": head[0], "hash": head[1]},
            "heads": [
                {"log": log, "seq": s, "hash": h}
                for log, (s, h) in rep.heads.items()
                if log not in ("roster", own.public.fingerprint)
            ],
        }

    writers = {
        key: LogWriter.for_workspace(
            root,
            key,
            principal,
            role,
            clock=clock,  # type: ignore[arg-type]
            context=functools.partial(context, key),
        )
        for principal, role, key in (("ava@x", "model", ava), ("kim@x", "agent", kim))
    }
    writers[ava].copy = copies["ava"].for_file(writers[ava].path)
    writers[kim].copy = copies["kim"].for_file(writers[kim].path)
    for i, (key, verdict) in enumerate(
        [(ava, "approve"), (kim, "approve"), (ava, "reject"), (kim, "approve"), (ava, "approve")]
    ):
        asset = f"assets/ava/look{i % 3}.jpg"
        writers[key].append(
            "decision",
            {
                "asset": asset,
                "sha256": hashlib.sha256((root / asset).read_bytes()).hexdigest(),
                "phash": None,
                "model": "ava",
                "decision": verdict,
                "reasons": ["quality"] if verdict == "reject" else [],
                "note": "",
                "findings": [],
                "override": False,
                "sidecar_sha256": None,
            },
        )
    report = verify_workspace(root)
    assert report.ok, report.problems
    return root, dict(report.heads), copies


def _files(root: Path) -> list[Path]:
    return [root / "roster" / "roster.dlog", *sorted((root / "logs").glob("*.dlog"))]


OPS = ("delete", "swap", "truncate", "duplicate", "flip", "drop_newline_then_line")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    file_index=st.integers(min_value=0, max_value=2),
    op=st.sampled_from(OPS),
    i=st.integers(min_value=0, max_value=50),
    j=st.integers(min_value=0, max_value=50),
    bit=st.integers(min_value=0, max_value=7),
)
def test_any_damage_to_a_signed_file_is_reported(
    file_index: int, op: str, i: int, j: int, bit: int
) -> None:
    original, seen = _signed_workspace()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(original, root)
        path = _files(root)[file_index]
        lines = path.read_bytes().splitlines(keepends=True)
        n = len(lines)
        i, j = i % n, j % n
        if op == "delete":
            del lines[i]
        elif op == "swap":
            if i == j:
                j = (i + 1) % n
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "truncate":
            lines = lines[: i % n]  # keeps 0..n-1 lines: at least one is gone
        elif op == "duplicate":
            lines.insert(j, lines[i])
        elif op == "flip":
            line = bytearray(lines[i])
            k = (j * 7919) % (len(line) - 1)  # never the newline
            line[k] ^= 1 << bit
            lines[i] = bytes(line)
        else:  # a whole line lost together with the newline before it: two lines become one
            lines[i] = lines[i].rstrip(b"\n")
            if i + 1 < n:
                del lines[i + 1]
        data = b"".join(lines)
        path.write_bytes(data)
        report = verify_workspace(root, seen=seen)
        assert not report.ok, (op, path.name, i, j)


CUTS = ("at_line_end", "without_final_newline", "inside_a_line")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    file_index=st.integers(min_value=0, max_value=2),
    cut=st.sampled_from(CUTS),
    keep=st.integers(min_value=0, max_value=50),
    inside=st.integers(min_value=1, max_value=10_000),
)
def test_any_truncation_is_reported_by_the_device_that_signed_the_lost_end(
    file_index: int, cut: str, keep: int, inside: int
) -> None:
    original, _, copies = _signed_workspace_and_copies()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(original, root)
        path = _files(root)[file_index]
        lines = path.read_bytes().splitlines(keepends=True)
        n = len(lines)
        signer = _signer_of(lines[-1])
        k = keep % n
        kept = k  # the entries the workspace still holds
        if cut == "at_line_end":
            data = b"".join(lines[:k])  # keeps 0..n-1 whole lines
        elif cut == "without_final_newline":
            data = b"".join(lines[: k + 1])[:-1]  # up to the whole file less its final newline
            kept = k + 1  # a whole signed entry that lacks only its newline still counts
        else:
            line = lines[k]
            # At most the line less its last character and newline: never a whole entry (one
            # that lacks only its newline counts, as in "without_final_newline").
            data = b"".join(lines[:k]) + line[: inside % (len(line) - 2) + 1]
        assert len(data) < path.stat().st_size
        path.write_bytes(data)
        # The signing device, as it is: its own copies, no rollback record, no other device.
        own = SignedCopies(copies[signer].folder, root).heads()
        report = verify_workspace(root, own=own)
        assert not report.ok, (cut, path.name, k)
        if kept < n:
            # Fewer entries than it signed: the device says so from its own copy, and can put
            # them back (no other check sees this without a record of what was there).
            lost = [p for p in report.problems if p.kind == ROLLED_BACK]
            assert lost, (cut, path.name, k, [p.kind for p in report.problems])
            assert all(p.restorable for p in lost)


def _signer_of(line: bytes) -> str:
    payload = json.loads(base64.b64decode(json.loads(line)["payload"]))
    return str(payload["principal"]).split("@")[0]


def test_the_intact_copy_verifies_against_the_same_record() -> None:
    # The control for the property above: copying alone is not "damage".
    original, seen = _signed_workspace()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        shutil.copytree(original, root)
        assert verify_workspace(root, seen=seen).ok
        assert set(seen) == {"roster", *(_log_fingerprints(root))}


def _log_fingerprints(root: Path) -> set[str]:
    from twinreview.core.logs.log import read_log

    return {
        str(read_log(p).lines[0].payload["log"])  # type: ignore[index]
        for p in (root / "logs").glob("*.dlog")
    }
