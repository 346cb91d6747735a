"""Who may sign which roster change: the replay rules of the signed roster.

:func:`apply_genesis` makes the first state; :func:`apply_entry` applies one signed entry to a
state or raises :class:`~twinreview.core.roster.model.RosterLogError` naming why the signer may
not make that change (see :mod:`twinreview.core.roster.log` for the rules in words).
:func:`accept_refusal` says who may accept a gap in a log, for the replay and for the app.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from twinreview.core.approval.consent import parse_terms
from twinreview.core.logs.log import (
    FORMAT_VERSION,
)
from twinreview.core.logs.sshsig import NS_ROSTER, SshPublicKey, SshsigError, SshSignature
from twinreview.core.logs.sshsig import verify as sshsig_verify
from twinreview.core.roster.model import (
    ADMIN_KINDS,
    KINDS,
    POLICY_TABLES,
    ROSTER_LOG_ID,
    Consent,
    PolicySetting,
    Removal,
    Reset,
    Revocation,
    RosterLogError,
    RosterPerson,
    RosterState,
)
from twinreview.core.roster.people import (
    ROLES,
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_signature(payload: Mapping[str, Any], payload_bytes: bytes, sig: str) -> SshPublicKey:
    """The key that signed a roster entry (namespace twinreview-roster-v1), as the entry names it.

    Raises:
        RosterLogError: not a roster entry, or the signature does not verify.
    """
    if payload.get("v") != FORMAT_VERSION or payload.get("log") != ROSTER_LOG_ID:
        raise RosterLogError("not a roster entry (v/log fields)")
    if payload.get("kind") not in KINDS:
        raise RosterLogError(f"unknown roster entry kind {payload.get('kind')!r}")
    if not isinstance(payload.get("principal"), str) or not isinstance(payload.get("ts"), str):
        raise RosterLogError("principal and ts must be text")
    try:
        named = SshPublicKey.parse(str(payload.get("key", "")))
        parsed = SshSignature.parse(sig)
        sshsig_verify(parsed, payload_bytes, NS_ROSTER)
    except SshsigError as exc:
        raise RosterLogError(f"the signature does not verify ({exc})") from None
    if parsed.public_key != named:
        raise RosterLogError("signed by another key than the entry names")
    return named


def text_field(payload: Mapping[str, Any], name: str) -> str:
    """A non-empty text field of an entry (``RosterLogError`` otherwise)."""
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise RosterLogError(f"{name} is missing or not text")
    return value


def models_field(value: object) -> tuple[str, ...]:
    """A list of model ids, de-duplicated in order (``RosterLogError`` otherwise)."""
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        raise RosterLogError("models must be a list of model ids")
    return tuple(dict.fromkeys(value))


def role_field(value: object) -> str:
    """A role name (``RosterLogError`` otherwise)."""
    if value not in ROLES:
        raise RosterLogError(f"role must be one of {', '.join(ROLES)}, not {value!r}")
    return str(value)


def apply_genesis(payload: Mapping[str, Any], signer: SshPublicKey, h: str) -> RosterState:
    """The first state: the genesis entry's signer is the owner (``RosterLogError`` if not)."""
    if payload.get("kind") != "genesis" or payload.get("seq") != 0:
        raise RosterLogError("the roster does not start with a genesis entry")
    person = payload.get("person")
    if not isinstance(person, Mapping):
        raise RosterLogError("the genesis entry names no owner")
    principal = text_field(person, "principal")
    if principal != payload.get("principal"):
        raise RosterLogError("the genesis entry is signed by someone else than the owner it names")
    owner = RosterPerson(
        principal,
        str(person.get("name") or principal),
        role_field(person.get("role")),
        models_field(person.get("models", [])),
        True,
        {signer.fingerprint: signer},
    )
    return RosterState(
        0,
        h,
        principal,
        {principal: owner},
        {},
        None,
        {},
        {},
        model_of=_models_of(owner),
        holders={signer.fingerprint: principal},
        were_models=_were_models({}, owner),
    )


def _after(value: object) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise RosterLogError("after must map log fingerprints to seq numbers")
    return dict(value)


def apply_entry(
    state: RosterState, payload: Mapping[str, Any], signer: SshPublicKey, h: str
) -> RosterState:
    """The state after one (non-genesis) entry, or RosterLogError when it is not allowed."""
    kind = payload["kind"]
    signer_principal = payload["principal"]
    if not state.signer_allowed(signer_principal, signer):
        raise RosterLogError(
            f"{signer_principal} signed with {signer.fingerprint}, which is not their active key "
            "on the roster"
        )
    seq = state.seq + 1
    persons = dict(state.persons)
    consents = dict(state.consents)
    revoked = dict(state.revoked)
    removed = dict(state.removed)
    accepted = dict(state.accepted)
    resets = state.resets
    policy = state.policy
    own_keys = kind in ("add_key", "revoke_key") and payload.get("person") == signer_principal
    if kind in ADMIN_KINDS and not own_keys and not state.is_admin(signer_principal):
        raise RosterLogError(f"{signer_principal} is not the owner or an admin: cannot {kind}")
    if kind == "genesis":
        raise RosterLogError("a second genesis entry")
    changed: RosterPerson | None = None
    reset_of: tuple[str, ...] = ()
    if kind == "add_person":
        principal = text_field(payload, "person")
        if principal in persons:
            raise RosterLogError(f"{principal} is already on the roster")
        role = role_field(payload.get("role"))
        models = models_field(payload.get("models", []))
        admin = payload.get("admin") is True
        if admin and signer_principal != state.owner:
            raise RosterLogError("only the owner appoints admins")
        keys = _keys(payload.get("keys"), state)
        changed = RosterPerson(
            principal, str(payload.get("name") or principal), role, models, admin, keys
        )
        _check_one_model_person(state, changed)
        reset_of = _re_added(state, changed)
        persons[principal] = changed
    elif kind == "update_person":
        principal, old = _target(state, payload, signer_principal, "changes the owner's entry")
        changed = old
        if "name" in payload:
            changed = replace(changed, display_name=str(payload["name"]))
        if "role" in payload:
            changed = replace(changed, role=role_field(payload["role"]))
            if changed.role != old.role and "model" in (old.role, changed.role):
                # Her keys speak for her alone: a key added while she was "not a model" must
                # never come to speak for her, so nobody turns a person into a model or back.
                raise RosterLogError(
                    "a model's role never changes (her keys speak for her alone); a model is "
                    "added as a new person, and only the owner re-adds one ('twinreview roster "
                    "reset')"
                )
        if "models" in payload:
            changed = replace(changed, models=models_field(payload["models"]))
        if "admin" in payload:
            if signer_principal != state.owner:
                raise RosterLogError("only the owner appoints or removes admins")
            changed = replace(changed, admin=payload["admin"] is True)
        _check_one_model_person(state, changed)
        reset_of = _moved_to(state, old, changed)
        persons[principal] = changed
    elif kind == "add_key":
        principal, old = _target(state, payload, signer_principal, "adds keys to the owner")
        keys = dict(old.keys)
        new_keys = _keys([payload.get("new_key")], state)
        keys.update(new_keys)
        changed = replace(old, keys=keys)
        was_model = state.were_models.get(principal)
        if (old.role == "model" or was_model) and not own_keys:
            # A key of hers signs her consent and her decisions (in any role she has now, her
            # principal still speaks for her): only she adds one, from a device she has, or the
            # owner resets her key, for everyone to see.
            if signer_principal != state.owner:
                raise RosterLogError(
                    "only the model herself adds a key to her entry; only the owner resets her "
                    "key ('twinreview roster reset', which everyone is shown)"
                )
            reset_of = (old.models if old.role == "model" else was_model) or ("",)
        persons[principal] = changed
    elif kind == "revoke_key":
        principal, old = _target(state, payload, signer_principal, "revokes the owner's keys")
        fp = text_field(payload, "fingerprint")
        if fp not in old.keys:
            raise RosterLogError(f"{fp} is not an active key of {principal}")
        keys = dict(old.keys)
        del keys[fp]
        persons[principal] = replace(old, keys=keys)
        revoked[fp] = Revocation(
            fp, principal, seq, _after(payload.get("after")), by=signer_principal
        )
    elif kind == "remove_person":
        principal = text_field(payload, "person")
        if principal not in persons:
            raise RosterLogError(f"{principal} is not on the roster")
        if principal == state.owner:
            raise RosterLogError("the owner cannot be removed")
        if persons[principal].admin and signer_principal != state.owner:
            raise RosterLogError("only the owner removes an admin")
        del persons[principal]
        removed[principal] = (
            *removed.get(principal, ()),
            Removal(principal, seq, _after(payload.get("after")), by=signer_principal),
        )
        # Her consent goes with her: a person added back later must give it again.
        consents = {m: c for m, c in consents.items() if c.principal != principal}
    elif kind == "policy":
        tables = payload.get("policy")
        if not isinstance(tables, Mapping) or set(tables) - set(POLICY_TABLES):
            raise RosterLogError(f"policy must be a table of {', '.join(POLICY_TABLES)}")
        if signer_principal != state.owner:
            _check_anchors_kept(state, tables)
        if signer_principal != state.owner and _likeness_table(tables) != _likeness_table(
            state.policy.tables if state.policy is not None else {}
        ):
            # The face check decides whose word an image that looks like a model needs: turned
            # off or loosened by an admin, a look-alike model would speak for another's face.
            raise RosterLogError(
                "only the owner changes the likeness check ([similarity.likeness])"
            )
        policy = PolicySetting(dict(tables), signer_principal, seq, str(payload.get("ts")))
    elif kind == "consent":
        consents[text_field(payload, "model")] = _consent(state, payload, signer_principal, seq, h)
    elif kind == "accept_head":
        log = text_field(payload, "target_log")
        head_seq, head_hash = payload.get("target_seq"), payload.get("target_hash")
        if (
            not isinstance(head_seq, int)
            or isinstance(head_seq, bool)
            or head_seq < -1
            or not (head_hash is None or isinstance(head_hash, str))
            or (head_seq == -1) != (head_hash is None)
        ):
            raise RosterLogError(
                "accept_head needs target_seq (>= -1) and target_hash (null only for -1)"
            )
        _check_accept(state, log, signer_principal)
        accepted[log] = (head_seq, head_hash, seq)
    asked = payload.get("reset") is True
    if reset_of and changed is not None:
        name = f"{changed.display_name}'s" if changed.display_name else "her"
        if signer_principal != state.owner:
            raise RosterLogError(
                f"this would reset {name} key (a key she never signed would speak for her): "
                "only the owner resets a model"
            )
        if not asked:
            raise RosterLogError(
                f"this would reset {name} key (a key she never signed would speak for her); the "
                "owner does that with 'twinreview roster reset', which everyone is shown"
            )
        before = state.persons.get(changed.principal) if kind == "add_key" else None
        new_fps = tuple(sorted(set(changed.keys) - set(before.keys if before else ())))
        if before is not None:
            # Her old keys stop speaking for her: a lost laptop, in other hands, signs nothing
            # as her from the reset on. What they signed before still counts (her rejects stand):
            # up to what the owner's device had verified of their logs ("after"), or, in a
            # reset that names no such point, what was signed under a roster from before it.
            cut = payload.get("after")
            for fp in before.keys:
                revoked[fp] = Revocation(
                    fp,
                    changed.principal,
                    seq,
                    _after(cut),
                    head_only=cut is None,
                    by=signer_principal,
                )
            changed = replace(changed, keys={f: k for f, k in changed.keys.items() if f in new_fps})
            persons[changed.principal] = changed
        models = tuple(m for m in reset_of if m)
        resets = (
            *resets,
            Reset(
                changed.principal,
                changed.display_name,
                models or changed.models,
                new_fps,
                seq,
                str(payload.get("ts")),
                signer_principal,
            ),
        )
        # Her consent from before does not carry over: she gives it again, with her new key.
        lapsed = set(models or changed.models)
        consents = {m: c for m, c in consents.items() if m not in lapsed}
    elif asked:
        raise RosterLogError("nothing to reset: this change gives no model a key she did not sign")
    model_of = dict(state.model_of)
    holders = dict(state.holders)
    were_models = state.were_models
    if changed is not None:
        model_of.update(_models_of(changed))
        for fp in changed.keys:
            holders.setdefault(fp, changed.principal)
        were_models = _were_models(were_models, changed)
    return RosterState(
        seq,
        h,
        state.owner,
        persons,
        consents,
        policy,
        revoked,
        removed,
        accepted,
        model_of=model_of,
        resets=resets,
        holders=holders,
        were_models=were_models,
    )


#: The policy keys that decide which C2PA signers are trusted: the owner's alone.
TRUST_ANCHOR_KEYS = ("trust_anchors", "trust_anchor_certs")


def trust_anchor_setting(tables: Mapping[str, Any] | None) -> dict[str, Any]:
    """The trust anchor keys of policy tables (``disclosure.trust_anchors`` and their certs)."""
    disclosure = tables.get("disclosure") if isinstance(tables, Mapping) else None
    if not isinstance(disclosure, Mapping):
        return {}
    return {k: disclosure[k] for k in TRUST_ANCHOR_KEYS if k in disclosure}


def _check_anchors_kept(state: RosterState, tables: Mapping[str, Any]) -> None:
    # A trust anchor decides whose Content Credentials pass as the brand's: an admin who could
    # add one could sign any forgery with a CA of her own. She may change the rest of the policy.
    before = state.policy.tables if state.policy is not None else None
    if trust_anchor_setting(tables) != trust_anchor_setting(before):
        raise RosterLogError(
            "only the owner sets the trust anchors (disclosure.trust_anchors): an admin's "
            "policy must keep the owner's"
        )


def _likeness_table(tables: Mapping[str, Any]) -> object:
    """The ``[similarity.likeness]`` table of a signed policy (None: not set)."""
    similarity = tables.get("similarity")
    return similarity.get("likeness") if isinstance(similarity, Mapping) else None


def _were_models(
    were: Mapping[str, tuple[str, ...]], person: RosterPerson
) -> Mapping[str, tuple[str, ...]]:
    """``were`` with the model ids ``person`` is the model person of now added."""
    if person.role != "model" or not person.models:
        return were
    before = were.get(person.principal, ())
    after = tuple(dict.fromkeys((*before, *person.models)))
    return were if after == before else {**were, person.principal: after}


def _check_accept(state: RosterState, log: str, signer: str) -> None:
    """Who may accept that a log now ends where it does (``RosterLogError`` otherwise)."""
    holder = state.holders.get(log)
    refusal = accept_refusal(
        holder=holder,
        # Ever a model, not a model now: a reset that gives her model id to someone else leaves
        # her log (and the veto it may hold) hers alone to vouch for.
        holder_is_model=holder is not None and holder in state.were_models,
        owner=state.owner,
        signer=signer,
    )
    if refusal is not None:
        raise RosterLogError(refusal)


def accept_refusal(
    *, holder: str | None, holder_is_model: bool, owner: str | None, signer: str
) -> str | None:
    """Why ``signer`` may not accept a gap in the log whose key ``holder`` holds (None: may).

    A gap may hide a decision: in a model's log, her veto. Only she says that nothing of hers is
    missing (from any of her keys); a gap in anyone else's log is accepted by that person or by
    the owner, never by an admin. The app asks the same question before it offers the button.

    Args:
        holder: Whose key the log is (None: a key the roster never named).
        holder_is_model: ``holder`` is a model person (the log may hold her veto).
        owner: The workspace owner's principal.
        signer: Who would sign the acceptance.
    """
    if holder is not None and holder_is_model:
        if signer != holder:
            return (
                f"a gap in a model's log ({holder}) may hide her veto: only she accepts it, "
                "signing with one of her own keys"
            )
        return None
    if signer != owner and signer != holder:
        if holder is None:
            return "only the owner accepts a gap in another person's log (an admin may not)"
        return f"only the owner or {holder} accepts a gap in {holder}'s log (an admin may not)"
    return None


def _models_of(person: RosterPerson) -> dict[str, str]:
    """The model ids ``person`` is the model person of (model id -> principal)."""
    if person.role != "model":
        return {}
    return {m: person.principal for m in person.models}


def _re_added(state: RosterState, new: RosterPerson) -> tuple[str, ...]:
    """The model ids a new model person takes over from an earlier one (a reset when any).

    Re-adding a model who was removed (in any role: her principal speaks for her), or giving a
    model id that had its model person to someone new: either way keys she never signed would
    speak for her.
    """
    if new.role != "model":
        return state.were_models.get(new.principal, ())
    taken = tuple(m for m in new.models if m in state.model_of)
    if taken:
        return taken
    if new.principal in state.model_of.values():
        return new.models or ("",)  # a removed model comes back
    return ()


def _moved_to(state: RosterState, old: RosterPerson, new: RosterPerson) -> tuple[str, ...]:
    """The model ids a model person gains that another person was the model person of."""
    if new.role != "model":
        return ()
    gained = [m for m in new.models if m not in old.models]
    return tuple(m for m in gained if state.model_of.get(m, new.principal) != new.principal)


def _target(
    state: RosterState, payload: Mapping[str, Any], signer: str, owner_only: str
) -> tuple[str, RosterPerson]:
    """The person an entry changes; only the owner changes the owner."""
    principal = text_field(payload, "person")
    person = state.persons.get(principal)
    if person is None:
        raise RosterLogError(f"{principal} is not on the roster")
    if principal == state.owner and signer != state.owner:
        raise RosterLogError(f"only the owner {owner_only}")
    return principal, person


def _keys(value: object, state: RosterState) -> dict[str, SshPublicKey]:
    if not isinstance(value, list) or not value:
        raise RosterLogError("keys must be a non-empty list of OpenSSH public keys")
    out: dict[str, SshPublicKey] = {}
    for text in value:
        try:
            key = SshPublicKey.parse(str(text))
        except SshsigError as exc:
            raise RosterLogError(f"bad key: {exc}") from None
        holder = state.principal_of(key)
        if holder is not None:
            raise RosterLogError(f"key {key.fingerprint} already belongs to {holder}")
        if key.fingerprint in state.revoked:
            raise RosterLogError(f"key {key.fingerprint} was revoked and cannot come back")
        out[key.fingerprint] = key
    return out


def _check_one_model_person(state: RosterState, new: RosterPerson) -> None:
    if new.role != "model":
        return
    for mid in new.models:
        other = state.model_person(mid)
        if other is not None and other.principal != new.principal:
            raise RosterLogError(
                f"model {mid!r} already has her own person on the roster ({other.principal})"
            )


def _consent(
    state: RosterState, payload: Mapping[str, Any], signer: str, seq: int, h: str
) -> Consent:
    model_id = text_field(payload, "model")
    rp = state.persons.get(signer)
    if rp is None or rp.role != "model" or model_id not in rp.models:
        raise RosterLogError(
            f"{signer} is not the model {model_id!r}: only she can give or change her consent"
        )
    uses_raw = payload.get("uses")
    uses: tuple[str, ...] | None = None
    if uses_raw is not None:
        if not isinstance(uses_raw, list) or not all(isinstance(u, str) for u in uses_raw):
            raise RosterLogError("consent uses must be a list of uses or null")
        uses = tuple(dict.fromkeys(u.strip().lower() for u in uses_raw if u.strip()))
    expires = payload.get("expires")
    if expires is not None and (not isinstance(expires, str) or not _DATE.match(expires)):
        raise RosterLogError("consent expires must be YYYY-MM-DD or null")
    require_raw = payload.get("require", ["model", "agent"])
    if not isinstance(require_raw, list) or not require_raw:
        raise RosterLogError("consent require must name at least one role")
    require = tuple(dict.fromkeys(role_field(r) for r in require_raw))
    if "model" not in require:
        # Her consent is hers: approving her likeness always needs her own approval.
        raise RosterLogError("consent require must include the model herself")
    # Purpose, pay terms, exclusions and an explicit "no end date": see core.approval.consent.
    terms = parse_terms(payload)
    return Consent(
        model_id,
        signer,
        uses,
        expires if isinstance(expires, str) else None,
        require,
        payload.get("veto", True) is not False,
        payload.get("withdrawn") is True,
        seq,
        str(payload.get("ts")),
        purpose=terms.purpose,
        pay_terms=terms.pay_terms,
        exclude=terms.exclude,
        no_expiry=terms.no_expiry,
        entry_hash=h,
    )
