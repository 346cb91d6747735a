"""The signed roster (core/roster/log.py) and the trust rules verification applies with it.

Rosters are built with RosterWriter directly (fast), decision logs with LogWriter and a context
that names the roster head, as the decision service writes them. Forged lines (a signed change the
roster must refuse) are made with build_roster_line and appended by hand.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from decision_helpers import blocking_problems
from twinreview.core.logs.log import LogWriter, encode_line, line_hash, parse_line, read_log
from twinreview.core.logs.sshsig import NS_ENTRY, NS_ROSTER, SigningKey
from twinreview.core.logs.verify import VerifyReport, verify_workspace
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import RosterLogError
from twinreview.core.roster.people import (
    ALLOWED_SIGNERS,
    PEOPLE,
    REVOKED,
    Person,
    parse_allowed_signers,
    parse_people,
    parse_revoked,
)
from twinreview.core.roster.views import (
    effective_config,
    plain_roster,
    render_views,
    view_problems,
    write_views,
)
from twinreview.core.roster.write import (
    JoinRequest,
    RosterWriter,
    build_roster_line,
    pending_requests,
)

NAMES = ("owner", "ana", "bob", "carol", "dan", "eve")
KEYS = {n: SigningKey.from_seed(hashlib.sha256(f"rosterlog-{n}".encode()).digest()) for n in NAMES}
WHO = {
    "owner": "owner@brand.example",
    "ana": "ana@example.com",
    "bob": "bob@agency.example",
    "carol": "carol@brand.example",
    "dan": "dan@agency.example",
    "eve": "eve@example.com",
}
ROLE = {"owner": "brand", "ana": "model", "bob": "agent", "carol": "brand", "dan": "agent"}
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


# -- building rosters ------------------------------------------------------------------------


def _writer(root: Path, who: str, key: SigningKey | None = None) -> RosterWriter:
    return RosterWriter(root / "roster", key or KEYS[who], WHO[who])


def _person(
    who: str,
    role: str | None = None,
    models: Sequence[str] = ("ana",),
    *,
    admin: bool = False,
    key: SigningKey | None = None,
) -> dict[str, Any]:
    """The fields of an add_person entry for ``who``."""
    return {
        "person": WHO[who],
        "name": who.title(),
        "role": role or ROLE[who],
        "models": list(models),
        "keys": [(key or KEYS[who]).public.openssh()],
        "admin": admin,
        "request": None,
    }


def _consent(model: str = "ana", **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "model": model,
        "uses": None,
        "expires": None,
        "require": ["model", "agent"],
        "veto": True,
        "withdrawn": False,
    }
    fields.update(changes)
    return fields


def _new_workspace(root: Path, name: str = "Spring") -> SignedRoster:
    return _writer(root, "owner").genesis(name, Person(WHO["owner"], "Owner", "brand", ()))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Roster: 0 genesis (owner, brand), 1 Ana (model for ana), 2 Bob (agent for ana)."""
    ws = tmp_path / "ws"
    _new_workspace(ws)
    owner = _writer(ws, "owner")
    owner.append("add_person", _person("ana"))
    write_views(ws / "roster", owner.append("add_person", _person("bob")))
    return ws


def _load(root: Path) -> SignedRoster:
    return SignedRoster.load(root / "roster")


def _roster_file(root: Path) -> Path:
    return root / "roster" / "roster.dlog"


def _lines(root: Path) -> list[bytes]:
    return _roster_file(root).read_bytes().splitlines(keepends=True)


def _forge(
    root: Path,
    who: str,
    kind: str,
    fields: Mapping[str, Any],
    *,
    key: SigningKey | None = None,
    workspace_id: str | None = None,
) -> bytes:
    """Sign ``kind`` as ``who`` chained after the last line, and append it without any check."""
    lines = _lines(root)
    roster = _load(root)
    line = build_roster_line(
        key or KEYS[who],
        WHO[who],
        seq=len(lines),
        prev=line_hash(lines[-1]),
        ts=T0,
        kind=kind,
        fields=fields,
        workspace_id=workspace_id or roster.workspace_id,
    )[1]
    with _roster_file(root).open("ab") as fh:
        fh.write(line)
    return line


def _bad(roster: SignedRoster) -> list[tuple[int, str]]:
    """(line number, state) of every entry that did not apply."""
    return [(e.line, e.state) for e in roster.entries if not e.ok]


# -- genesis -----------------------------------------------------------------------------


def test_genesis_makes_the_signer_owner_and_names_the_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    roster = _new_workspace(ws)
    (line,) = _lines(ws)
    raw = parse_line(line, 1)
    assert raw.payload_bytes is not None and raw.payload is not None
    assert roster.workspace_id == hashlib.sha256(raw.payload_bytes).hexdigest()
    assert raw.payload["kind"] == "genesis" and raw.payload["seq"] == 0
    assert roster.ok and roster.name == "Spring"
    assert roster.owner == WHO["owner"]
    assert roster.owner_key == KEYS["owner"].public
    assert roster.head == (0, line_hash(line))
    state = roster.current
    assert state is not None and state.is_admin(WHO["owner"])
    assert state.signer_allowed(WHO["owner"], KEYS["owner"].public)
    # Another workspace (even with the same owner) has another id.
    assert _new_workspace(tmp_path / "other", "Autumn").workspace_id != roster.workspace_id


def test_a_second_genesis_is_refused(root: Path) -> None:
    before = _roster_file(root).read_bytes()
    with pytest.raises(RosterLogError, match="already has a signed roster"):
        _new_workspace(root)
    with pytest.raises(RosterLogError, match="genesis"):
        _writer(root, "owner").append("genesis", {"name": "again"})
    assert _roster_file(root).read_bytes() == before
    # Signed by the owner and chained, a genesis that is not at seq 0 changes nothing.
    _forge(root, "owner", "genesis", {"name": "again", "person": {"principal": WHO["owner"]}})
    roster = _load(root)
    assert _bad(roster) == [(4, "unauthorised")]
    assert "genesis" in roster.problems[0].message
    assert roster.head is not None and roster.head[0] == 2


def test_a_roster_must_start_with_the_owners_genesis(tmp_path: Path) -> None:
    # A first entry of another kind.
    ws = tmp_path / "ws"
    line = build_roster_line(
        KEYS["owner"], WHO["owner"], seq=0, prev=None, ts=T0, kind="add_person",
        fields=_person("ana"), workspace_id=None,
    )[1]  # fmt: skip
    (ws / "roster").mkdir(parents=True)
    _roster_file(ws).write_bytes(line)
    roster = _load(ws)
    assert _bad(roster) == [(1, "malformed")]
    assert roster.workspace_id is None and roster.current is None and not roster.ok
    # A genesis signed by someone else than the owner it names.
    fields = {"name": "x", "person": {"principal": WHO["owner"], "role": "brand", "models": []}}
    line = build_roster_line(
        KEYS["eve"], WHO["eve"], seq=0, prev=None, ts=T0, kind="genesis", fields=fields,
        workspace_id=None,
    )[1]  # fmt: skip
    _roster_file(ws).write_bytes(line)
    assert _bad(_load(ws)) == [(1, "malformed")]


# -- who may change what -------------------------------------------------------------------


def test_owner_and_appointed_admin_change_the_roster(root: Path) -> None:
    owner = _writer(root, "owner")
    owner.append("add_person", _person("carol", models=(), admin=True))
    carol = _writer(root, "carol")
    carol.append("add_person", _person("dan"))
    carol.append("update_person", {"person": WHO["bob"], "name": "Robert"})
    laptop2 = SigningKey.generate()
    carol.append("add_key", {"person": WHO["bob"], "new_key": laptop2.public.openssh()})
    carol.append(
        "revoke_key",
        {"person": WHO["bob"], "fingerprint": laptop2.public.fingerprint, "after": {}},
    )
    carol.append("policy", {"policy": {"disclosure": {"approvable": ["none"]}}})
    roster = carol.append("remove_person", {"person": WHO["dan"], "after": {}})
    assert roster.ok, roster.problems
    state = roster.current
    assert state is not None
    assert state.persons[WHO["bob"]].display_name == "Robert"
    assert laptop2.public.fingerprint in state.revoked
    assert not state.signer_allowed(WHO["bob"], laptop2.public)
    assert WHO["dan"] not in state.persons and WHO["dan"] in state.removed
    assert state.policy is not None and state.policy.principal == WHO["carol"]


def test_only_the_owner_appoints_admins(root: Path) -> None:
    owner = _writer(root, "owner")
    owner.append("add_person", _person("carol", models=(), admin=True))
    carol = _writer(root, "carol")
    before = _roster_file(root).read_bytes()
    with pytest.raises(RosterLogError, match="only the owner appoints admins"):
        carol.append("add_person", _person("dan", admin=True))
    with pytest.raises(RosterLogError, match="only the owner"):
        carol.append("update_person", {"person": WHO["bob"], "admin": True})
    with pytest.raises(RosterLogError, match="only the owner"):
        carol.append("update_person", {"person": WHO["carol"], "admin": False})
    assert _roster_file(root).read_bytes() == before
    state = owner.append("update_person", {"person": WHO["bob"], "admin": True}).current
    assert state is not None and state.is_admin(WHO["bob"])
    # The new admin may now change the roster.
    assert _writer(root, "bob").append("add_person", _person("dan")).ok


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("update_person", {"person": WHO["owner"], "name": "Not the owner"}),
        ("update_person", {"person": WHO["owner"], "role": "agent"}),
        ("add_key", {"person": WHO["owner"], "new_key": SigningKey.generate().public.openssh()}),
        (
            "revoke_key",
            {"person": WHO["owner"], "fingerprint": KEYS["owner"].public.fingerprint, "after": {}},
        ),
        ("remove_person", {"person": WHO["owner"], "after": {}}),
        ("remove_person", {"person": WHO["dan"], "after": {}}),  # another admin
    ],
)
def test_an_admin_cannot_touch_the_owner(root: Path, kind: str, fields: dict[str, Any]) -> None:
    owner = _writer(root, "owner")
    owner.append("add_person", _person("carol", models=(), admin=True))
    owner.append("add_person", _person("dan", admin=True))
    before = _roster_file(root).read_bytes()
    with pytest.raises(RosterLogError, match="owner"):
        _writer(root, "carol").append(kind, fields)
    assert _roster_file(root).read_bytes() == before


def test_nobody_removes_the_owner(root: Path) -> None:
    with pytest.raises(RosterLogError, match="owner cannot be removed"):
        _writer(root, "owner").append("remove_person", {"person": WHO["owner"], "after": {}})


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("add_person", _person("dan")),
        ("update_person", {"person": WHO["bob"], "role": "brand"}),
        ("update_person", {"person": WHO["bob"], "models": ["ana", "ben"]}),
        ("add_key", {"person": WHO["ana"], "new_key": SigningKey.generate().public.openssh()}),
        (
            "revoke_key",
            {"person": WHO["ana"], "fingerprint": KEYS["ana"].public.fingerprint, "after": {}},
        ),
        ("remove_person", {"person": WHO["ana"], "after": {}}),
        ("policy", {"policy": {"disclosure": {"approvable": ["none", "tampered"]}}}),
    ],
)
def test_writer_refuses_a_change_by_a_non_admin_before_writing(
    root: Path, kind: str, fields: dict[str, Any]
) -> None:
    before = _roster_file(root).read_bytes()
    with pytest.raises(RosterLogError, match="not the owner or an admin"):
        _writer(root, "bob").append(kind, fields)
    assert _roster_file(root).read_bytes() == before
    # A key that is not on the roster at all is refused too, whatever principal it claims.
    with pytest.raises(RosterLogError, match="not their active key"):
        _writer(root, "owner", SigningKey.generate()).append(kind, fields)
    assert _roster_file(root).read_bytes() == before


def test_a_signed_unauthorised_entry_is_reported_and_stops_the_replay(root: Path) -> None:
    # Bob (an agent, not an admin) signs an add_person by hand into the file...
    _forge(root, "bob", "add_person", _person("eve", "model", ("eve",), key=KEYS["eve"]))
    # ... and the owner's next entry, correctly chained after it, is not trusted either.
    _forge(root, "owner", "add_person", _person("carol", models=()))
    roster = _load(root)
    assert _bad(roster) == [(4, "unauthorised"), (5, "broken_chain")]
    assert [p.kind for p in roster.problems] == ["unauthorised", "broken_chain"]
    assert "not the owner or an admin" in roster.problems[0].message
    state = roster.current
    assert state is not None and state.seq == 2
    assert WHO["eve"] not in state.persons and WHO["carol"] not in state.persons
    assert not roster.ok
    # Nothing more can be appended to it, and verification blocks on it.
    with pytest.raises(RosterLogError, match="not intact"):
        _writer(root, "owner").append("add_person", _person("dan"))
    report = verify_workspace(root)
    assert "roster" in {p.kind for p in blocking_problems(report)}


# -- consent -------------------------------------------------------------------------------


def test_consent_only_by_the_model_herself(root: Path) -> None:
    before = _roster_file(root).read_bytes()
    for who in ("owner", "bob"):  # the owner, and an agent who decides for ana
        with pytest.raises(RosterLogError, match="only she can"):
            _writer(root, who).append("consent", _consent())
    with pytest.raises(RosterLogError, match="only she can"):
        _writer(root, "ana").append("consent", _consent("ben"))  # not her model id
    assert _roster_file(root).read_bytes() == before
    roster = _writer(root, "ana").append("consent", _consent(uses=["Web", "print"]))
    state = roster.current
    assert state is not None
    consent = state.consent_for("ana")
    assert consent is not None and consent.principal == WHO["ana"]
    assert consent.uses == ("web", "print") and consent.require == ("model", "agent")
    assert consent.seq == 3 and not consent.withdrawn
    # The owner signing a consent by hand is reported and changes nothing.
    _forge(root, "owner", "consent", _consent(uses=None))
    forged = _load(root)
    assert _bad(forged) == [(5, "unauthorised")]
    assert forged.current is not None
    again = forged.current.consent_for("ana")
    assert again is not None and again.uses == ("web", "print")


def test_one_model_person_per_model_id(root: Path) -> None:
    owner = _writer(root, "owner")
    with pytest.raises(RosterLogError, match="already has her own person"):
        owner.append("add_person", _person("eve", "model", ("ana",), key=KEYS["eve"]))
    with pytest.raises(RosterLogError, match="role never changes"):
        owner.append("update_person", {"person": WHO["bob"], "role": "model"})
    # Another model id is fine; then that one is taken too.
    owner.append("add_person", _person("eve", "model", ("eve",), key=KEYS["eve"]))
    with pytest.raises(RosterLogError, match="already has her own person"):
        owner.append("update_person", {"person": WHO["ana"], "models": ["ana", "eve"]})
    state = _load(root).current
    assert state is not None
    model = state.model_person("ana")
    assert model is not None and model.principal == WHO["ana"]


def test_a_model_id_moves_to_another_person_only_by_the_owners_reset(root: Path) -> None:
    owner = _writer(root, "owner")
    owner.append("add_person", _person("carol", "brand", (), admin=True))
    owner.append("remove_person", {"person": WHO["ana"], "after": {}})
    owner.append("add_person", _person("eve", "model", ("eve",), key=KEYS["eve"]))
    moved = {"person": WHO["eve"], "models": ["eve", "ana"]}
    with pytest.raises(RosterLogError, match="only the owner resets"):
        _writer(root, "carol").append("update_person", {**moved, "reset": True})
    with pytest.raises(RosterLogError, match="roster reset"):
        owner.append("update_person", moved)  # not without saying what it is
    state = owner.append("update_person", {**moved, "reset": True}).current
    assert state is not None
    person = state.model_person("ana")
    assert person is not None and person.principal == WHO["eve"]
    (reset,) = state.resets
    assert reset.models == ("ana",) and reset.principal == WHO["eve"] and reset.by == WHO["owner"]
    assert reset.fingerprints == (KEYS["eve"].public.fingerprint,)
    assert "Eve's key was reset by the owner on" in reset.sentence()
    with pytest.raises(RosterLogError, match="nothing to reset"):
        owner.append("update_person", {"person": WHO["eve"], "name": "Eve", "reset": True})


def test_only_she_adds_a_key_to_her_entry_or_the_owner_by_a_reset(root: Path) -> None:
    _writer(root, "ana").append("consent", _consent())
    new = KEYS["dan"].public.openssh()
    owner = _writer(root, "owner")
    owner.append("add_person", _person("carol", "brand", (), admin=True))
    with pytest.raises(RosterLogError, match="only the model herself"):
        _writer(root, "carol").append("add_key", {"person": WHO["ana"], "new_key": new})
    with pytest.raises(RosterLogError, match="roster reset"):
        _writer(root, "owner").append("add_key", {"person": WHO["ana"], "new_key": new})
    state = (
        _writer(root, "owner")
        .append("add_key", {"person": WHO["ana"], "new_key": new, "reset": True})
        .current
    )
    assert state is not None
    assert state.consent_for("ana") is None  # her consent lapsed with the reset
    assert [r.fingerprints for r in state.resets] == [(KEYS["dan"].public.fingerprint,)]
    # The reset revoked her old key: it adds no key any more, and signs nothing as her.
    assert set(state.persons[WHO["ana"]].keys) == {KEYS["dan"].public.fingerprint}
    assert KEYS["ana"].public.fingerprint in state.revoked
    own = KEYS["eve"].public.openssh()
    with pytest.raises(RosterLogError, match="not their active key"):
        _writer(root, "ana").append("add_key", {"person": WHO["ana"], "new_key": own})
    # Her key from the reset, her own now, needs no reset to add another.
    mine = _writer(root, "ana", KEYS["dan"])
    state = mine.append("add_key", {"person": WHO["ana"], "new_key": own}).current
    assert state is not None and len(state.resets) == 1


@pytest.mark.parametrize("require", [["agent"], [], ["brand", "agent"]])
def test_consent_require_must_include_the_model(root: Path, require: list[str]) -> None:
    with pytest.raises(RosterLogError, match="require"):
        _writer(root, "ana").append("consent", _consent(require=require))
    state = _writer(root, "ana").append("consent", _consent(require=["model"])).current
    assert state is not None
    consent = state.consent_for("ana")
    assert consent is not None and consent.require == ("model",)


def test_withdrawn_and_renewed_consent(root: Path) -> None:
    ana = _writer(root, "ana")
    ana.append("consent", _consent(expires="2027-06-30"))
    roster = ana.append("consent", _consent(withdrawn=True))
    state = roster.current
    assert state is not None
    consent = state.consent_for("ana")
    assert consent is not None and consent.withdrawn and consent.seq == 4
    # The state before the withdrawal still has the earlier consent (judging by the past).
    earlier = roster.states[3].consent_for("ana")
    assert earlier is not None and not earlier.withdrawn and earlier.expires == "2027-06-30"
    with pytest.raises(RosterLogError, match="expires"):
        ana.append("consent", _consent(expires="30.06.2027"))
    renewed = ana.append("consent", _consent()).current
    assert renewed is not None
    consent = renewed.consent_for("ana")
    assert consent is not None and not consent.withdrawn


def test_consent_stops_counting_when_the_model_is_removed(root: Path) -> None:
    _writer(root, "ana").append("consent", _consent())
    owner = _writer(root, "owner")
    roster = owner.append("remove_person", {"person": WHO["ana"], "after": {}})
    state = roster.current
    assert state is not None and state.consent_for("ana") is None
    # A new model person for the same id (a reset: the owner only) does not inherit her consent.
    state = owner.append(
        "add_person", {**_person("eve", "model", ("ana",), key=KEYS["eve"]), "reset": True}
    ).current
    assert state is not None and state.consent_for("ana") is None
    state = _writer(root, "eve").append("consent", _consent()).current
    assert state is not None
    consent = state.consent_for("ana")
    assert consent is not None and consent.principal == WHO["eve"]


def test_a_models_role_never_changes(root: Path) -> None:
    _writer(root, "ana").append("consent", _consent())
    with pytest.raises(RosterLogError, match="role never changes"):
        _writer(root, "owner").append("update_person", {"person": WHO["ana"], "role": "agent"})
    state = _load(root).current
    assert state is not None and state.consent_for("ana") is not None


# -- tampering with the roster file ----------------------------------------------------------


def _five(root: Path) -> None:
    """Add entries 3 (Carol) and 4 (a policy) to the fixture's roster."""
    owner = _writer(root, "owner")
    owner.append("add_person", _person("carol", models=()))
    owner.append("policy", {"policy": {"disclosure": {"approvable": ["none"]}}})


def _edit(line: bytes, **changes: Any) -> bytes:
    outer = json.loads(line)
    payload = json.loads(base64.b64decode(outer["payload"]))
    payload.update(changes)
    outer["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
    return (json.dumps(outer) + "\n").encode()


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        # (line, state); line 3 is entry 2 (Bob), lines 4 and 5 are Carol and the policy.
        ("edit", [(3, "bad_signature"), (4, "broken_chain"), (5, "broken_chain")]),
        ("delete", [(3, "broken_chain"), (4, "broken_chain")]),
        ("reorder", [(3, "broken_chain"), (4, "broken_chain"), (5, "broken_chain")]),
        ("replace", [(4, "broken_chain"), (5, "broken_chain")]),
        ("replace_genesis", [(2, "broken_chain"), (3, "broken_chain"), (4, "broken_chain"),
                             (5, "broken_chain")]),
    ],
)  # fmt: skip
def test_tampered_roster_lines_are_reported_and_nothing_after_applies(
    root: Path, tamper: str, expected: list[tuple[int, str]]
) -> None:
    _five(root)
    original = _load(root)
    lines = _lines(root)
    if tamper == "edit":
        lines[2] = _edit(lines[2], role="brand")
    elif tamper == "delete":
        del lines[2]
    elif tamper == "reorder":
        lines[2], lines[3] = lines[3], lines[2]
    elif tamper == "replace":
        # A validly signed owner entry put in place of entry 2 (Bob as a brand reviewer).
        lines[2] = build_roster_line(
            KEYS["owner"], WHO["owner"], seq=2, prev=line_hash(lines[1]), ts=T0,
            kind="add_person", fields=_person("bob", "brand"),
            workspace_id=original.workspace_id,
        )[1]  # fmt: skip
    else:
        # Someone else's genesis in place of the owner's: a new workspace id, nothing chains.
        lines[0] = build_roster_line(
            KEYS["eve"], WHO["eve"], seq=0, prev=None, ts=T0, kind="genesis",
            fields={"name": "Spring", "person": {"principal": WHO["eve"], "role": "brand"}},
            workspace_id=None,
        )[1]  # fmt: skip
    _roster_file(root).write_bytes(b"".join(lines))
    roster = _load(root)
    assert _bad(roster) == expected
    assert not roster.ok and roster.problems
    state = roster.current
    assert state is not None
    # Nothing after the tampered line applies: no Carol, no policy.
    assert WHO["carol"] not in state.persons and state.policy is None
    if tamper == "replace_genesis":
        assert roster.workspace_id != original.workspace_id
        assert roster.owner == WHO["eve"]
    else:
        assert roster.workspace_id == original.workspace_id


def test_every_single_deletion_swap_or_byte_flip_of_the_roster_is_reported(root: Path) -> None:
    # Exhaustive over a five-entry roster (cheap; the random version is the property test).
    _five(root)
    lines = _lines(root)
    variants: list[tuple[str, list[bytes]]] = []
    for i in range(len(lines) - 1):  # deleting the last line leaves a valid shorter roster
        variants.append((f"delete {i}", lines[:i] + lines[i + 1 :]))
    for i in range(len(lines) - 1):
        swapped = list(lines)
        swapped[i], swapped[i + 1] = swapped[i + 1], swapped[i]
        variants.append((f"swap {i}", swapped))
    for i in range(len(lines)):
        flipped = list(lines)
        flipped[i] = _edit(lines[i], ts="2026-01-01T00:00:00.000Z")
        variants.append((f"edit {i}", flipped))
    for what, variant in variants:
        _roster_file(root).write_bytes(b"".join(variant))
        assert _load(root).problems, what
    # The last line alone cannot be missed inside the file: heads others saw show it (below).
    _roster_file(root).write_bytes(b"".join(lines[:-1]))
    assert _load(root).ok


def test_entry_from_another_workspace_is_refused(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other_id = _new_workspace(other, "Autumn").workspace_id
    copied = _writer(other, "owner").append("add_person", _person("eve", "agent")).entries[1]
    # Verbatim: it does not chain here.
    with _roster_file(root).open("ab") as fh:
        fh.write(copied.data)
    assert _bad(_load(root)) == [(4, "broken_chain")]
    # Re-chained (same owner key, right seq and prev) but naming the other workspace.
    _roster_file(root).write_bytes(b"".join(_lines(root)[:-1]))
    _forge(root, "owner", "add_person", _person("eve", "agent"), workspace_id=other_id)
    roster = _load(root)
    assert _bad(roster) == [(4, "unauthorised")]
    assert "another workspace" in roster.problems[0].message
    assert roster.current is not None and WHO["eve"] not in roster.current.persons


# -- join requests -----------------------------------------------------------------------


def test_join_request_make_read_and_pending(root: Path) -> None:
    roster_dir = root / "roster"
    roster = _load(root)
    assert roster.workspace_id is not None
    dan = Person(WHO["dan"], "Dan", "agent", ("ana",))
    path = JoinRequest.make(roster_dir, KEYS["dan"], dan, roster.workspace_id)
    assert path.parent == roster_dir / "requests" and path.suffix == ".req"
    req = JoinRequest.read(path, roster.workspace_id)
    assert (req.principal, req.display_name, req.role, req.models) == (
        WHO["dan"],
        "Dan",
        "agent",
        ("ana",),
    )
    assert req.key == KEYS["dan"].public
    assert req.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(RosterLogError, match="another workspace"):
        JoinRequest.read(path, "0" * 64)
    assert pending_requests(roster_dir, roster) == ([req], [])

    # A tampered request (asking for the brand role) does not verify.
    tampered = roster_dir / "requests" / "tampered.req"
    tampered.write_bytes(_edit(path.read_bytes(), role="brand"))
    with pytest.raises(RosterLogError, match="does not verify"):
        JoinRequest.read(tampered, roster.workspace_id)
    # Signed by one key, naming another.
    outer = json.loads(path.read_bytes())
    payload = json.loads(base64.b64decode(outer["payload"]))
    payload["key"] = KEYS["eve"].public.openssh()
    payload_bytes = json.dumps(payload).encode()
    swapped = roster_dir / "requests" / "swapped.req"
    swapped.write_bytes(encode_line(payload_bytes, KEYS["dan"].sign(payload_bytes, NS_ROSTER)))
    with pytest.raises(RosterLogError, match="another key"):
        JoinRequest.read(swapped, roster.workspace_id)
    requests, problems = pending_requests(roster_dir, roster)
    assert requests == [req]
    assert len(problems) == 2 and all(
        p.startswith(("swapped.req", "tampered.req")) for p in problems
    )

    # Approved (the owner adds Dan with that key): no longer pending.
    fields = {**_person("dan"), "request": req.sha256}
    approved = _writer(root, "owner").append("add_person", fields)
    assert pending_requests(roster_dir, approved)[0] == []


# -- generated views -----------------------------------------------------------------------


def test_views_are_what_the_signed_roster_says(root: Path) -> None:
    laptop2 = SigningKey.generate()
    owner = _writer(root, "owner")
    owner.append("add_key", {"person": WHO["bob"], "new_key": laptop2.public.openssh()})
    roster = owner.append(
        "revoke_key",
        {"person": WHO["bob"], "fingerprint": laptop2.public.fingerprint, "after": {}},
    )
    views = render_views(roster)
    assert set(views) == {ALLOWED_SIGNERS, PEOPLE, REVOKED}
    signers, problems = parse_allowed_signers(views[ALLOWED_SIGNERS])
    assert problems == []
    assert sorted((s.principals, s.key.fingerprint) for s in signers) == sorted(
        (WHO[n], KEYS[n].public.fingerprint) for n in ("owner", "ana", "bob")
    )
    people, problems = parse_people(views[PEOPLE])
    assert problems == [] and roster.current is not None
    assert people == roster.current.people
    revoked = parse_revoked(views[REVOKED].encode())
    assert revoked.is_revoked(laptop2.public) and not revoked.is_revoked(KEYS["bob"].public)
    # plain_roster is built from the log, never from the files.
    (root / "roster" / ALLOWED_SIGNERS).write_text(f"{WHO['eve']} {KEYS['eve'].public.openssh()}\n")
    plain = plain_roster(roster)
    assert plain.signer_allowed(WHO["ana"], KEYS["ana"].public, NS_ENTRY)
    assert not plain.signer_allowed(WHO["eve"], KEYS["eve"].public, NS_ENTRY)
    assert plain.is_revoked(laptop2.public)


@pytest.mark.parametrize("view", [ALLOWED_SIGNERS, PEOPLE, REVOKED, "deleted"])
def test_hand_edited_or_deleted_views_are_reported(root: Path, view: str) -> None:
    roster_dir = root / "roster"
    roster = _load(root)
    write_views(roster_dir, roster)
    assert view_problems(roster_dir, roster) == []
    if view == "deleted":
        (roster_dir / PEOPLE).unlink()
        expected = f"roster/{PEOPLE} is missing"
    else:
        with (roster_dir / view).open("a") as fh:
            fh.write(f"\n{WHO['eve']} {KEYS['eve'].public.openssh()}\n")
        expected = f"roster/{view} was edited by hand"
    (problem,) = view_problems(roster_dir, roster)
    assert problem.startswith(expected)
    report = verify_workspace(root)
    assert [(p.kind, p.message) for p in report.problems] == [("view_edited", problem)]
    assert blocking_problems(report) == []
    write_views(roster_dir, roster)
    assert view_problems(roster_dir, roster) == []


def _ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        msg = "ssh-keygen is needed to check the generated allowed_signers"
        if os.environ.get("CI") == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def _ssh_verify(
    exe: str, tmp: Path, roster_dir: Path, principal: str, ns: str, line: bytes, *extra: str
) -> int:
    outer = json.loads(line)
    sig = tmp / "entry.sig"
    sig.write_text(outer["sig"])
    return subprocess.run(
        [exe, "-Y", "verify", "-f", str(roster_dir / ALLOWED_SIGNERS), "-I", principal,
         "-n", ns, "-s", str(sig), *extra],
        input=base64.b64decode(outer["payload"]),
        capture_output=True,
        check=False,
    ).returncode  # fmt: skip


def test_generated_allowed_signers_verifies_with_stock_ssh_keygen(
    root: Path, tmp_path: Path
) -> None:
    exe = _ssh_keygen()
    roster_dir = root / "roster"
    ctx = _ctx(root)
    writer = LogWriter.for_workspace(root, KEYS["ana"], WHO["ana"], "model", context=lambda: ctx)
    line = writer.append("decision", {"decision": "approve"}).line
    assert _ssh_verify(exe, tmp_path, roster_dir, WHO["ana"], NS_ENTRY, line) == 0
    assert _ssh_verify(exe, tmp_path, roster_dir, WHO["bob"], NS_ENTRY, line) != 0
    # The roster's own lines verify the same way (namespace twinreview-roster-v1).
    roster_line = _lines(root)[1]
    assert _ssh_verify(exe, tmp_path, roster_dir, WHO["owner"], NS_ROSTER, roster_line) == 0
    # After a signed revocation the regenerated revoked file makes ssh-keygen refuse too.
    fp = KEYS["ana"].public.fingerprint
    roster = _writer(root, "owner").append(
        "revoke_key", {"person": WHO["ana"], "fingerprint": fp, "after": {fp: 1}}
    )
    write_views(roster_dir, roster)
    revoked = ("-r", str(roster_dir / REVOKED))
    assert _ssh_verify(exe, tmp_path, roster_dir, WHO["ana"], NS_ENTRY, line, *revoked) != 0


def test_effective_config_takes_policy_only_from_the_signed_roster(root: Path) -> None:
    config = {
        "workspace": {"name": "Spring"},
        "disclosure": {"approvable": ["none", "tampered"]},
        "similarity": {"threshold": 0.1},
    }
    roster = _load(root)
    assert effective_config(config, roster) == {"workspace": {"name": "Spring"}}
    signed = {"disclosure": {"approvable": ["none"]}}
    roster = _writer(root, "owner").append("policy", {"policy": signed})
    assert effective_config(config, roster) == {"workspace": {"name": "Spring"}, **signed}
    with pytest.raises(RosterLogError, match="policy"):
        _writer(root, "owner").append("policy", {"policy": {"workspace": {"name": "x"}}})


# -- verification: decisions judged by the roster they were signed under -------------------


def _ctx(
    root: Path, seq: int | None = None, heads: Sequence[tuple[str, int, str]] = ()
) -> dict[str, Any]:
    """The context fields of an entry signed under roster entry ``seq`` (default: the head)."""
    roster = _load(root)
    state = roster.current if seq is None else roster.states[seq]
    assert state is not None
    return {
        "ws": roster.workspace_id,
        "roster": {"seq": state.seq, "hash": state.head_hash},
        "heads": [{"log": log, "seq": s, "hash": h} for log, s, h in heads],
    }


def _sign(
    root: Path,
    who: str,
    n: int = 1,
    *,
    ctx: Mapping[str, Any] | None = None,
    role: str | None = None,
    clock: Callable[[], dt.datetime] | None = None,
) -> LogWriter:
    """Append ``n`` decisions to ``who``'s log, each naming ``ctx`` (default: the roster head)."""
    fields = dict(ctx if ctx is not None else _ctx(root))
    writer = LogWriter.for_workspace(
        root, KEYS[who], WHO[who], role or ROLE[who], context=lambda: fields, clock=clock
    )
    for i in range(n):
        writer.append("decision", {"asset": f"assets/ana/{i}.jpg", "decision": "approve"})
    return writer


def _states(report: VerifyReport, writer: LogWriter) -> list[str]:
    rel = writer.path.relative_to(report.root).as_posix()
    return [e.state for e in report.entries if e.file == rel]


def _kinds(report: VerifyReport) -> set[str]:
    return {p.kind for p in report.problems}


def _head(writer: LogWriter) -> tuple[str, int, str]:
    """(log fingerprint, seq, hash) of a decision log's last line."""
    last = read_log(writer.path).lines[-1]
    assert last.payload is not None
    return writer.key.public.fingerprint, last.payload["seq"], line_hash(last.data)


def test_removing_a_person_keeps_their_earlier_decisions(root: Path) -> None:
    ana = _sign(root, "ana", 3)  # seq 0..3 under roster entry 2
    fp = KEYS["ana"].public.fingerprint
    _writer(root, "owner").append("remove_person", {"person": WHO["ana"], "after": {fp: 3}})
    report = verify_workspace(root)
    assert _states(report, ana) == ["good"] * 4
    # Signing on with the key, naming the roster from before the removal, does not count.
    _sign(root, "ana", 1, ctx=_ctx(root, 2))
    report = verify_workspace(root)
    assert _states(report, ana) == ["good"] * 4 + ["revoked_key"]
    (problem,) = [p for p in report.problems if p.kind == "revoked_key"]
    assert "removed" in problem.message
    # Naming the roster after it: she is not on it.
    _sign(root, "ana", 1)
    assert _states(verify_workspace(root), ana)[-1] in {"revoked_key", "unknown_key"}


def test_a_later_role_change_does_not_make_earlier_entries_wrong_role(root: Path) -> None:
    bob = _sign(root, "bob", 2)
    roster = _writer(root, "owner").append("update_person", {"person": WHO["bob"], "role": "brand"})
    write_views(root / "roster", roster)
    report = verify_workspace(root)
    assert report.ok, report.problems
    assert _states(report, bob) == ["good"] * 3
    assert {e.roster_seq for e in report.entries} == {2}
    # Under the new roster, signing as an agent is wrong.
    _sign(root, "bob", 1, role="agent")
    report = verify_workspace(root)
    assert _states(report, bob) == ["good"] * 3 + ["wrong_role"]


def test_revocation_invalidates_entries_past_its_after_point(root: Path) -> None:
    ana, bob = _sign(root, "ana", 4), _sign(root, "bob", 1)  # Ana: seq 0..4
    fp = KEYS["ana"].public.fingerprint
    _writer(root, "owner").append(
        "revoke_key", {"person": WHO["ana"], "fingerprint": fp, "after": {fp: 2}}
    )
    report = verify_workspace(root)
    assert _states(report, ana) == ["good"] * 3 + ["revoked_key"] * 2
    assert _states(report, bob) == ["good"] * 2
    assert {p.seq for p in report.problems if p.kind == "revoked_key"} == {3, 4}


def test_revocation_invalidates_entries_signed_under_later_roster_heads(root: Path) -> None:
    ana = _sign(root, "ana", 1)
    fp = KEYS["ana"].public.fingerprint
    # The revocation lets everything up to seq 100 stand: only the roster head can catch it.
    roster = _writer(root, "owner").append(
        "revoke_key", {"person": WHO["ana"], "fingerprint": fp, "after": {fp: 100}}
    )
    assert roster.head is not None and roster.head[0] == 3
    _sign(root, "ana", 1, ctx=_ctx(root, 2))  # names the roster before the revocation: counts
    _sign(root, "ana", 1, ctx=_ctx(root, 3))  # names the revocation itself: does not
    report = verify_workspace(root)
    assert _states(report, ana) == ["good"] * 3 + ["revoked_key"]


def test_revocation_without_a_point_for_a_log_invalidates_that_whole_log(root: Path) -> None:
    # The revoker had not seen any log of the key (it names no point for it): a stolen key
    # must not be able to start a log naming the roster from before the revocation.
    fp = KEYS["ana"].public.fingerprint
    _writer(root, "owner").append(
        "revoke_key", {"person": WHO["ana"], "fingerprint": fp, "after": {}}
    )
    ana = _sign(root, "ana", 1, ctx=_ctx(root, 2))
    assert _states(verify_workspace(root), ana) == ["revoked_key"] * 2
    # The same for a removal.
    _writer(root, "owner").append("remove_person", {"person": WHO["bob"], "after": {}})
    bob = _sign(root, "bob", 1, ctx=_ctx(root, 2))
    assert _states(verify_workspace(root), bob) == ["revoked_key"] * 2


def test_entries_naming_a_roster_head_the_roster_lacks_are_flagged(root: Path) -> None:
    owner = _writer(root, "owner")
    owner.append("add_person", _person("carol", models=()))
    ana = _sign(root, "ana", 1)  # names roster entry 3
    _roster_file(root).write_bytes(b"".join(_lines(root)[:3]))  # roster truncated to 0..2
    report = verify_workspace(root)
    assert _states(report, ana) == ["unknown_key"] * 2
    unknown = [p for p in report.problems if p.kind == "unknown_key"]
    assert unknown and all("roster was rolled back" in p.message for p in unknown)
    # The head it names is evidence against the roster itself (which blocks every asset), even
    # though the entry cannot be judged.
    rolled = [p for p in report.problems if p.kind == "rolled_back"]
    assert len(rolled) == 1 and rolled[0].file == "roster/roster.dlog"
    assert "3 entries" in rolled[0].message and "saw 4" in rolled[0].message
    # A head with the right seq but another hash: the roster was rewritten.
    ctx = _ctx(root)
    ctx["roster"] = {"seq": 1, "hash": "0" * 64}
    bob = _sign(root, "bob", 1, ctx=ctx)
    report = verify_workspace(root)
    assert _states(report, bob) == ["unknown_key"] * 2
    assert any("rewritten" in p.message for p in report.problems)


def test_out_of_order_times(root: Path) -> None:
    times = iter([T0, T0 + dt.timedelta(minutes=10), T0 + dt.timedelta(minutes=5)])
    ana = _sign(root, "ana", 2, clock=lambda: next(times))
    report = verify_workspace(root, now=T0 + dt.timedelta(hours=1))
    assert _states(report, ana) == ["good", "good", "out_of_order"]
    assert [p.kind for p in report.problems] == ["out_of_order"]
    # More than 24 h ahead of "now" is out of order; less is not.
    soon = iter([T0 + dt.timedelta(hours=23)] * 2)
    bob = _sign(root, "bob", 1, clock=lambda: next(soon))
    assert _states(verify_workspace(root, now=T0), bob) == ["good", "good"]
    late = iter([T0 + dt.timedelta(hours=25)])
    _sign(root, "bob", 1, clock=lambda: next(late))
    report = verify_workspace(root, now=T0)
    assert _states(report, bob) == ["good", "good", "out_of_order"]
    assert any("24 h" in p.message for p in report.problems)


def test_roster_heads_going_back_are_out_of_order(root: Path) -> None:
    _writer(root, "owner").append("add_person", _person("carol", models=()))
    ana = _sign(root, "ana", 1, ctx=_ctx(root, 3))
    _sign(root, "ana", 1, ctx=_ctx(root, 2))
    report = verify_workspace(root)
    assert _states(report, ana) == ["good", "good", "out_of_order"]
    assert "names roster entry 2 after an entry that named 3" in report.problems[0].message


def test_a_log_shorter_than_a_head_someone_saw_is_rolled_back(root: Path) -> None:
    ana = _sign(root, "ana", 3)  # seq 0..3
    bob = _sign(root, "bob", 1, ctx=_ctx(root, heads=[_head(ana)]))
    assert verify_workspace(root).ok
    ana.path.write_bytes(b"".join(ana.path.read_bytes().splitlines(keepends=True)[:-1]))
    report = verify_workspace(root)
    assert _states(report, ana) == ["good"] * 3  # nothing inside the file shows it
    (problem,) = report.problems
    assert problem.kind == "rolled_back" and problem.seq == 3
    assert "has 3 entries" in problem.message and "saw 4" in problem.message
    assert bob.path.name in problem.message  # who saw it
    # The whole log deleted while named.
    ana.path.unlink()
    (problem,) = verify_workspace(root).problems
    assert problem.kind == "log_missing" and KEYS["ana"].public.fingerprint in problem.message


def test_rolled_back_against_this_devices_record(root: Path) -> None:
    ana = _sign(root, "ana", 3)
    fp = KEYS["ana"].public.fingerprint
    first = verify_workspace(root)
    assert first.heads[fp] == _head(ana)[1:]
    seen = dict(first.heads)
    assert verify_workspace(root, seen=seen).ok
    ana.path.write_bytes(b"".join(ana.path.read_bytes().splitlines(keepends=True)[:-2]))
    (problem,) = verify_workspace(root, seen=seen).problems
    assert problem.kind == "rolled_back" and "this device's last verification" in problem.message
    assert "has 2 entries" in problem.message and "saw 4" in problem.message
    # The roster itself is in the record too.
    _writer(root, "owner").append("add_person", _person("carol", models=()))
    seen = dict(verify_workspace(root).heads)
    _roster_file(root).write_bytes(b"".join(_lines(root)[:3]))
    rolled = [p for p in verify_workspace(root, seen=seen).problems if p.kind == "rolled_back"]
    assert [p.file for p in rolled] == ["roster/roster.dlog"]


def test_a_rewritten_log_against_this_devices_record_is_a_fork(root: Path) -> None:
    ana = _sign(root, "ana", 2)
    seen = dict(verify_workspace(root).heads)
    lines = ana.path.read_bytes().splitlines(keepends=True)
    ana.path.write_bytes(b"".join(lines[:-1]))
    _sign(root, "ana", 1)  # a different entry at the same seq, validly signed
    report = verify_workspace(root, seen=seen)
    assert _states(report, ana) == ["good"] * 3
    assert [p.kind for p in report.problems] == ["fork"]
    assert "rewritten" in report.problems[0].message


def test_stray_files_in_logs_are_not_a_log(root: Path) -> None:
    ana = _sign(root, "ana", 1)
    # A file without ".dlog" in its name is not read as a log (x.dlog.conflict would be: a copy).
    conflict = ana.path.with_name(ana.path.stem + ".conflict")
    shutil.copy(ana.path, conflict)
    (root / "logs" / f".{ana.path.name}.lock").touch()  # expected beside a log
    (root / "logs" / f"{ana.path.name}.torn-20261207T101500Z").write_bytes(b"{")  # set aside
    report = verify_workspace(root)
    assert [(p.kind, p.file) for p in report.problems] == [("not_a_log", f"logs/{conflict.name}")]
    assert report.problems[0] in blocking_problems(report)
    assert _states(report, ana) == ["good", "good"]


def test_entry_signed_for_another_workspace_is_replayed(root: Path) -> None:
    ctx = _ctx(root)
    ctx["ws"] = "f" * 64
    ana = _sign(root, "ana", 1, ctx=ctx)
    report = verify_workspace(root)
    assert _states(report, ana) == ["replayed"] * 2
    assert "another workspace" in report.problems[0].message


def test_legacy_entries_count_only_when_a_roster_entry_covers_them(root: Path) -> None:
    legacy = LogWriter.for_workspace(root, KEYS["ana"], WHO["ana"], "model")  # no roster field
    for i in range(2):
        legacy.append("decision", {"asset": f"assets/ana/{i}.jpg", "decision": "approve"})
    report = verify_workspace(root)
    assert _states(report, legacy) == ["unknown_key"] * 3
    assert "no signed roster entry took it over" in report.problems[0].message
    # A roster entry naming the log's head (what 'roster migrate' writes) takes it over...
    head = _head(legacy)
    _writer(root, "owner").append(
        "update_person",
        {"person": WHO["owner"], "name": "Owner"},
        [{"log": head[0], "seq": head[1], "hash": head[2]}],
    )
    report = verify_workspace(root)
    assert _states(report, legacy) == ["good"] * 3
    assert {e.roster_seq for e in report.entries} == {3}
    # ... up to that head only: a later legacy entry does not count.
    legacy.append("decision", {"asset": "assets/ana/late.jpg", "decision": "approve"})
    assert _states(verify_workspace(root), legacy) == ["good"] * 3 + ["unknown_key"]
    # And the covering head is itself a head someone saw: cutting the log is evident.
    legacy.path.write_bytes(b"".join(legacy.path.read_bytes().splitlines(keepends=True)[:2]))
    assert "rolled_back" in _kinds(verify_workspace(root))
