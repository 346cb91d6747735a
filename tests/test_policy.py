"""Consent policy: the policy a signed consent sets and the pure status evaluation."""

from __future__ import annotations

import datetime as dt

import pytest

from twinreview.core.approval.consent import (
    CONSENT_EXPIRED,
    UNREADABLE_CATEGORIES,
    UNREADABLE_USE,
    USE_NOT_ALLOWED,
    consent_problems,
)
from twinreview.core.approval.policy import (
    Decision,
    Evaluation,
    ModelPolicy,
    PolicyError,
    State,
    decision_from_payload,
    declared_categories,
    declared_uses,
    evaluate,
    parse_timestamp,
    policy_from_consent,
    suggest_reasons,
    validate_reasons,
)
from twinreview.core.findings import (
    DUPLICATE_IN_BATCH,
    MATCHES_OTHER_MODEL,
    NEAR_COPY_OF_REFERENCE,
    RESUBMITTED_REJECTED,
    Finding,
    Severity,
)
from twinreview.core.roster.model import Consent

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
ASSET = "assets/ava/look1.jpg"
SHA = "a" * 64
OTHER_SHA = "b" * 64
ELIGIBLE = {"ava@x": "model", "agent@x": "agent", "agent2@x": "agent", "brand@x": "brand"}
POLICY = ModelPolicy(model_id="ava")


def dec(
    principal: str,
    verdict: str,
    *,
    minutes: int = 0,
    sha: str = SHA,
    seq: int = 1,
    log: str | None = None,
    asset: str = ASSET,
    reasons: tuple[str, ...] = (),
    role: str | None = None,
    seen: dict[str, int] | None = None,
) -> Decision:
    return Decision(
        principal=principal,
        role=role or ELIGIBLE.get(principal, "brand"),
        ts=NOW + dt.timedelta(minutes=minutes),
        asset=asset,
        sha256=sha,
        model_id="ava",
        decision=verdict,
        reasons=reasons,
        log=log or f"SHA256:{principal}",
        seq=seq,
        seen=seen or {},
    )


def run(decisions: list[Decision], **kw: object) -> Evaluation:
    args: dict[str, object] = {
        "asset": ASSET,
        "current_sha256": SHA,
        "decisions": decisions,
        "policy": POLICY,
        "eligible": ELIGIBLE,
        "now": NOW,
    }
    args.update(kw)
    return evaluate(**args)  # type: ignore[arg-type]


# --- parsing -------------------------------------------------------------------------------------


def _consent(**kw: object) -> Consent:
    fields: dict[str, object] = {
        "model_id": "ava",
        "principal": "ava@x",
        "uses": None,
        "expires": None,
        "require": ("model", "agent"),
        "veto": True,
        "withdrawn": False,
        "seq": 3,
        "ts": "2026-01-01T00:00:00Z",
    }
    fields.update(kw)
    return Consent(**fields)  # type: ignore[arg-type]


def test_policy_from_a_signed_consent() -> None:
    p = policy_from_consent(
        "ava",
        _consent(require=("model", "brand"), veto=False, expires="2027-06-30", uses=("social",)),
    )
    assert isinstance(p, ModelPolicy)
    assert p.required_roles == ("model", "brand")
    assert p.model_veto is False
    # A bare date holds through the whole day (UTC), and is shown as written.
    assert p.expires == dt.datetime(2027, 7, 1, tzinfo=dt.UTC)
    assert p.expires_label == "2027-06-30"
    assert p.to_json()["expires"] == "2027-06-30"
    assert p.to_json()["expires_at"] == "2027-07-01T00:00:00Z"
    assert p.allowed_uses == ("social",)


def test_no_withdrawn_or_unreadable_consent_is_a_policy_error() -> None:
    waiting = policy_from_consent("ava", None)
    assert isinstance(waiting, PolicyError) and "waiting for the model's consent" in str(waiting)
    withdrawn = policy_from_consent("ava", _consent(withdrawn=True))
    assert isinstance(withdrawn, PolicyError) and "withdrew" in str(withdrawn)
    bad = policy_from_consent("ava", _consent(expires="next year"))
    assert isinstance(bad, PolicyError) and "must be a date" in str(bad)


def test_expiry_forms() -> None:
    p = policy_from_consent("a", _consent(expires="2026-03-01T10:00:00Z"))
    assert isinstance(p, ModelPolicy)
    assert p.expires == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
    naive = policy_from_consent("a", _consent(expires="2026-03-01T10:00:00"))
    assert isinstance(naive, ModelPolicy)
    assert naive.expires == dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)


def test_declared_uses() -> None:
    assert declared_uses(None) is None
    assert declared_uses({}) is None
    assert declared_uses({"intended_use": "Social"}) == ("social",)
    assert declared_uses({"use": ["print", "social", "print"]}) == ("print", "social")
    assert declared_uses({"intended_use": "", "use": "print"}) == ("print",)
    # Both fields count; anything but strings reads as a use no consent allows.
    assert declared_uses({"intended_use": "Social", "use": ["print"]}) == ("social", "print")
    assert declared_uses({"use": ["print", 3]}) == (UNREADABLE_USE,)
    assert declared_uses({"intended_use": {"odd": 1}, "use": "print"}) == (UNREADABLE_USE, "print")


def test_declared_categories_reads_only_a_list_of_strings() -> None:
    assert declared_categories(None) == ()
    assert declared_categories({}) == ()
    assert declared_categories({"categories": [" Nudity", "nudity", ""]}) == ("nudity",)
    for odd in ("nudity, alcohol", {"nudity": True}, ["nudity", 1], 3):
        assert declared_categories({"categories": odd}) == (UNREADABLE_CATEGORIES,)


def test_parse_timestamp() -> None:
    assert parse_timestamp("2026-03-01T12:00:00Z") == NOW
    assert parse_timestamp("2026-03-01T13:00:00+01:00") == NOW
    with pytest.raises(ValueError, match="isoformat"):
        parse_timestamp("yesterday")
    with pytest.raises(TypeError):
        parse_timestamp(12)


# --- reason codes --------------------------------------------------------------------------------


def test_validate_reasons() -> None:
    assert validate_reasons(["quality", "other", "quality"]) == ("quality", "other")
    with pytest.raises(ValueError, match="unknown reason code 'ugly'"):
        validate_reasons(["ugly"])


def test_suggest_reasons_from_findings() -> None:
    findings = [
        Finding(NEAR_COPY_OF_REFERENCE, Severity.BLOCK, "copy"),
        Finding(MATCHES_OTHER_MODEL, Severity.WARN, "other model"),
        Finding("missing_disclosure", Severity.BLOCK, "no label"),
        Finding(DUPLICATE_IN_BATCH, Severity.INFO, "dup"),
        Finding(
            RESUBMITTED_REJECTED,
            Severity.BLOCK,
            "again",
            {"reasons": ["quality", "not-a-code"]},
        ),
    ]
    assert suggest_reasons(findings) == [
        "likeness_wrong",
        "copy_of_reference",
        "no_disclosure",
        "previously_rejected",
        "quality",
    ]


def test_info_findings_suggest_nothing() -> None:
    assert suggest_reasons([Finding(NEAR_COPY_OF_REFERENCE, Severity.INFO, "x")]) == []
    assert suggest_reasons([]) == []


# --- evaluation ----------------------------------------------------------------------------------


def test_no_decisions_is_pending_on_both_default_roles() -> None:
    ev = run([])
    assert ev.state is State.PENDING
    assert ev.missing_roles == ("model", "agent")


def test_model_and_agent_approval_clears() -> None:
    ev = run([dec("ava@x", "approve"), dec("agent@x", "approve", minutes=1)])
    assert ev.state is State.CLEARED
    assert {d.principal for d in ev.approvals} == {"ava@x", "agent@x"}
    assert ev.summary() == "cleared"


def test_only_agent_approved_is_pending_on_model() -> None:
    ev = run([dec("agent@x", "approve")])
    assert ev.state is State.PENDING
    assert ev.missing_roles == ("model",)
    assert ev.summary() == "pending: model"


def test_brand_approval_does_not_stand_in_for_a_required_role() -> None:
    ev = run([dec("ava@x", "approve"), dec("brand@x", "approve")])
    assert ev.state is State.PENDING
    assert ev.missing_roles == ("agent",)


def test_later_decision_supersedes_earlier_one() -> None:
    ev = run(
        [
            dec("ava@x", "reject", minutes=0, seq=1, reasons=("quality",)),
            dec("ava@x", "approve", minutes=5, seq=2),
            dec("agent@x", "approve"),
        ]
    )
    assert ev.state is State.CLEARED

    ev = run(
        [
            dec("ava@x", "approve", minutes=0, seq=1),
            dec("ava@x", "reject", minutes=5, seq=2, reasons=("likeness_wrong",)),
            dec("agent@x", "approve"),
        ]
    )
    assert ev.state is State.REJECTED
    assert [d.principal for d in ev.rejections] == ["ava@x"]
    assert ev.rejections[0].reasons == ("likeness_wrong",)
    assert "ava@x (not the right person)" in ev.summary()


def test_within_one_log_seq_orders_even_when_the_clock_stepped_back() -> None:
    ev = run(
        [
            dec("ava@x", "approve", minutes=10, seq=1),
            dec("ava@x", "reject", minutes=0, seq=2),  # clock stepped back, but later in the log
            dec("agent@x", "approve"),
        ]
    )
    assert ev.state is State.REJECTED


def test_across_device_logs_causal_order_decides_not_the_clock() -> None:
    # The phone's approval was signed after its device had seen the laptop's reject (its heads
    # name the laptop's log at seq 7): it supersedes the reject.
    ev = run(
        [
            dec("ava@x", "reject", minutes=0, seq=7, log="SHA256:laptop"),
            dec("ava@x", "approve", seq=1, log="SHA256:phone", seen={"SHA256:laptop": 7}),
            dec("agent@x", "approve"),
        ]
    )
    assert ev.state is State.CLEARED


def test_a_self_dated_future_entry_does_not_beat_a_real_reject() -> None:
    # Dated 2099 but signed on a device that never saw the reject: concurrent, so the reject
    # stands (issue 9: the latest decision is picked by causal order, never by asserted time).
    ev = run(
        [
            dec("ava@x", "reject", minutes=0, seq=7, log="SHA256:laptop"),
            dec("ava@x", "approve", minutes=40_000_000, seq=1, log="SHA256:phone"),
            dec("agent@x", "approve"),
        ]
    )
    assert ev.state is State.REJECTED
    # And one that saw only an older head of the laptop does not supersede the later reject.
    ev = run(
        [
            dec("ava@x", "reject", seq=7, log="SHA256:laptop"),
            dec("ava@x", "approve", seq=1, log="SHA256:phone", seen={"SHA256:laptop": 6}),
            dec("agent@x", "approve"),
        ]
    )
    assert ev.state is State.REJECTED


def test_decision_about_other_bytes_does_not_count() -> None:
    ev = run([dec("ava@x", "approve", sha=OTHER_SHA), dec("agent@x", "approve")])
    assert ev.state is State.PENDING
    assert ev.missing_roles == ("model",)
    assert [d.principal for d in ev.stale] == ["ava@x"]


def test_reject_of_other_bytes_does_not_reject_current_file() -> None:
    ev = run(
        [
            dec("ava@x", "reject", sha=OTHER_SHA, minutes=9, seq=9),
            dec("ava@x", "approve", seq=1),
            dec("agent@x", "approve"),
        ]
    )
    assert ev.state is State.CLEARED


def test_decisions_about_other_assets_are_ignored() -> None:
    ev = run([dec("ava@x", "reject", asset="assets/ava/other.jpg"), dec("agent@x", "approve")])
    assert ev.state is State.PENDING
    assert ev.stale == ()
    assert ev.rejections == ()


def test_model_veto_stands_even_when_model_role_not_required() -> None:
    policy = ModelPolicy("ava", required_roles=("agent",), model_veto=True)
    ev = run([dec("agent@x", "approve"), dec("ava@x", "reject")], policy=policy)
    assert ev.state is State.REJECTED

    no_veto = ModelPolicy("ava", required_roles=("agent",), model_veto=False)
    ev = run([dec("agent@x", "approve"), dec("ava@x", "reject")], policy=no_veto)
    assert ev.state is State.CLEARED


def test_one_of_two_agents_rejecting_rejects() -> None:
    ev = run([dec("ava@x", "approve"), dec("agent@x", "approve"), dec("agent2@x", "reject")])
    assert ev.state is State.REJECTED
    assert [d.principal for d in ev.rejections] == ["agent2@x"]


def test_reject_by_a_role_that_is_not_required_is_advisory() -> None:
    ev = run([dec("ava@x", "approve"), dec("agent@x", "approve"), dec("brand@x", "reject")])
    assert ev.state is State.CLEARED
    assert any(d.principal == "brand@x" for d in ev.counting)


def test_principal_not_allowed_for_the_model_does_not_count() -> None:
    ev = run([dec("ava@x", "approve"), dec("stranger@x", "approve", role="agent")])
    assert ev.state is State.PENDING
    assert [d.principal for d, _ in ev.ignored] == ["stranger@x"]


def test_role_mismatch_with_roster_does_not_count() -> None:
    ev = run([dec("ava@x", "approve"), dec("brand@x", "approve", role="agent")])
    assert ev.state is State.PENDING
    assert "roster lists brand" in ev.ignored[0][1]


def test_expired_consent_blocks_even_when_approved() -> None:
    policy = ModelPolicy("ava", expires=NOW - dt.timedelta(seconds=1))
    ev = run([dec("ava@x", "approve"), dec("agent@x", "approve")], policy=policy)
    assert ev.state is State.BLOCKED
    assert ev.blocked_by == "policy"
    assert "consent ran until 2026-03-01T11:59:59Z" in ev.problems[0]

    policy = ModelPolicy("ava", expires=NOW + dt.timedelta(days=1))
    ev = run([dec("ava@x", "approve"), dec("agent@x", "approve")], policy=policy)
    assert ev.state is State.CLEARED


def test_allowed_uses() -> None:
    policy = ModelPolicy("ava", allowed_uses=("ecommerce",))
    both = [dec("ava@x", "approve"), dec("agent@x", "approve")]
    assert run(both, policy=policy, uses=("ecommerce",)).state is State.CLEARED
    ev = run(both, policy=policy, uses=("ecommerce", "billboard"))
    assert ev.state is State.BLOCKED
    assert "'billboard'" in ev.problems[0]
    ev = run(both, policy=policy, uses=None)
    assert ev.state is State.BLOCKED
    assert "does not say what it is for" in ev.problems[0]


def test_consent_problem_kinds() -> None:
    policy = ModelPolicy("ava", expires=NOW, allowed_uses=())
    kinds = [k for k, _ in consent_problems(policy, ["social"], NOW)]
    assert kinds == [CONSENT_EXPIRED, USE_NOT_ALLOWED]
    assert consent_problems(ModelPolicy("ava"), None, NOW) == []


def test_rejection_wins_over_policy_block() -> None:
    policy = ModelPolicy("ava", expires=NOW - dt.timedelta(days=1))
    ev = run([dec("ava@x", "reject", reasons=("quality",))], policy=policy)
    assert ev.state is State.REJECTED


def test_verification_problem_blocks_everything() -> None:
    ev = run(
        [dec("ava@x", "approve"), dec("agent@x", "approve")],
        verification_problems=["logs/a.dlog seq 3: bad signature"],
    )
    assert ev.state is State.BLOCKED
    assert ev.blocked_by == "verification"
    assert ev.summary().startswith("blocked (verification)")


def test_broken_policy_blocks() -> None:
    ev = run([], policy=PolicyError("unknown key 'x'"))
    assert ev.state is State.BLOCKED
    assert ev.blocked_by == "policy"
    assert "unknown key" in ev.problems[0]


def test_required_role_nobody_may_sign_blocks() -> None:
    ev = run([dec("ava@x", "approve")], eligible={"ava@x": "model"})
    assert ev.state is State.BLOCKED
    assert "sign as agent" in ev.problems[0]


def test_sha_compare_is_case_insensitive_and_json_is_plain() -> None:
    ev = run([dec("ava@x", "approve", sha=SHA.upper())], current_sha256=SHA)
    assert ev.state is State.PENDING
    data = ev.to_json()
    assert data["state"] == "pending"
    assert data["missing_roles"] == ["agent"]
    assert data["approvals"][0]["ts"] == "2026-03-01T12:00:00Z"


# --- decision payloads ---------------------------------------------------------------------------

PAYLOAD = {
    "v": 1,
    "log": "SHA256:abc",
    "seq": 4,
    "prev": "0" * 64,
    "ts": "2026-03-01T12:00:00.000Z",
    "principal": "ava@x",
    "role": "model",
    "kind": "decision",
    "asset": ASSET,
    "sha256": SHA.upper(),
    "phash": "00ff00ff00ff00ff",
    "model": "ava",
    "decision": "reject",
    "reasons": ["quality"],
    "note": "hands",
    "findings": [],
    "override": False,
}


def test_decision_from_payload() -> None:
    d = decision_from_payload(PAYLOAD)
    assert (d.principal, d.role, d.ts, d.asset, d.model_id) == ("ava@x", "model", NOW, ASSET, "ava")
    assert d.sha256 == SHA  # normalised to lower case
    assert (d.decision, d.reasons, d.note, d.override) == ("reject", ("quality",), "hands", False)
    assert (d.log, d.seq, d.phash) == ("SHA256:abc", 4, "00ff00ff00ff00ff")


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        ({"asset": None}, "asset is missing"),
        ({"sha256": 5}, "sha256 is missing"),
        ({"reasons": "quality"}, "reasons must be a list"),
        ({"note": ["x"]}, "note and phash must be text"),
        ({"ts": "yesterday"}, "ts is not an ISO 8601 time"),
        ({"ts": None}, "ts is not an ISO 8601 time"),
        ({"seq": "4"}, "seq must be an integer"),
    ],
)
def test_malformed_decision_payload(edit: dict[str, object], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        decision_from_payload({**PAYLOAD, **edit})


def test_override_must_be_literally_true() -> None:
    assert decision_from_payload({**PAYLOAD, "override": "yes"}).override is False
    assert decision_from_payload({**PAYLOAD, "override": True}).override is True


def test_empty_roster_names_every_role_nobody_may_sign_as() -> None:
    ev = run([], eligible={})
    assert ev.state is State.BLOCKED
    assert ev.problems == (
        "No one on the roster may sign as model or agent for model 'ava' (the signed roster).",
    )


def test_her_reject_stands_while_her_consent_is_missing() -> None:
    # After the owner resets her key, her consent lapses until she signs it again; a reject she
    # signed before the reset still decides the image (the model's veto needs no consent).
    waiting = PolicyError("waiting for the model's consent")
    ev = run([dec("ava@x", "reject", reasons=("likeness_wrong",))], policy=waiting)
    assert ev.state is State.REJECTED
    assert [d.principal for d in ev.rejections] == ["ava@x"]
    # Another role's reject does not: without her consent nobody says which roles decide.
    ev = run([dec("agent@x", "reject")], policy=waiting)
    assert ev.state is State.BLOCKED and ev.blocked_by == "policy"
